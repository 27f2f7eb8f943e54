"""Dev helper: compute the units of a DARTS study in reverse order (last seed, last arm first) into folder B, while
`darts_study(out=A)` runs forward in another process, so that two cores share one study. The units are the study's own
(`_search_unit`, `train_genotype`, same settings, same keys). Stops when it reaches a unit that A already holds; then merge
B's units.json and search folders into A and resume A (it computes nothing new and writes study.json).
Usage: python .dev/study_reverse.py A B '{"json": "settings"}'"""
import sys, json
from pathlib import Path
from nas_lt.darts_study import DartsStudyConfig, _search_unit, _train_unit, _unit_keys
from nas_lt.study import Units
from nas_lt.core import load_json, get_device

A, B = Path(sys.argv[1]), Path(sys.argv[2]); kw = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
cfg = DartsStudyConfig.make(out=str(B), progress=False, resume=True, **kw)
units = Units(B, True, cfg.to_dict())
train, test = cfg.load(); device = get_device(cfg.device)
def in_a(key): return (A/'units.json').is_file() and key in load_json(A/'units.json')
for s in reversed(range(cfg.seeds)):
    for arm in reversed(cfg.arms):
        keys = _unit_keys(cfg, arm, s)
        if in_a(keys[0]): print('A has', keys[0], '- stopping'); sys.exit(0)
        print('computing', keys[0], flush=True)
        sr = units(keys[0], lambda: _search_unit(cfg, arm, s, (train, test), B))
        for t, k in enumerate(keys[1:]): units(k, lambda t=t: _train_unit(cfg, sr['genotype'], train, test, t, device))
print('B finished every unit')
