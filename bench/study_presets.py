"""Which data scale and adaptation epochs should `nas-lt supernet study` use on a CPU? (issue 12)

    OMP_NUM_THREADS=1 python bench/study_presets.py --part targets --size 16     # stand-alone on the long-tailed targets
    OMP_NUM_THREADS=1 python bench/study_presets.py --part p1 --size 16          # P1 head epochs on a source supernet
    python bench/study_presets.py --table

`targets`: the first `--archs` of the study's 24 architectures (seed 0), each trained alone (the study's recipe:
CE + DRW from 80% of the run, cosine LR 0.1, as many steps as 12 epochs on the 5,000 source images, or 12 epochs with
--no-match) on the synthetic target (data seed 1) at ratios 10 and 100;
mean balanced accuracy on the balanced test set, and process CPU seconds per network. The source side (balanced,
all 24 architectures, two seeds) is in `bench/supernet_heuristics.py` at the same sizes.
`p1`: a source supernet with the study's settings, then P1 (frozen backbone, class-balanced head on cached
features) at the target ratio 100 with several head epochs, and P3 for comparison, each over 2 seeds: the mean
balanced accuracy of 8 sampled subnets and the CPU seconds of the adaptation. Results: bench/out/study_presets.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import numpy as np, torch
from nas_lt.study import StudyConfig, train_standalone, matched_epochs
from nas_lt.supernet import Supernet, train_supernet
from nas_lt.adapt import adapt

OUT = Path(__file__).parent / 'out' / 'study_presets.jsonl'

def targets(a):
    cfg = StudyConfig.make(size=a.size)
    sn = Supernet(cfg.space, 10, a.size, **cfg.space_kw)
    archs = sn.sample_distinct(24, 0)[:a.archs]
    for r in (10, 100):
        train, test = cfg.target_config(r).load()
        ep = matched_epochs(cfg.standalone_epochs, 5000, len(train), a.match)
        res = [train_standalone(x, cfg.space, cfg.space_kw, train, test, ep, cfg.standalone_lr, seed=i)
               for i, x in enumerate(archs)]
        yield dict(part='targets', size=a.size, ratio=r, n_images=len(train), archs=len(archs), epochs=ep,
                   balanced=[x['balanced_accuracy'] for x in res], few=[x['few_shot'] for x in res], cpu_s=[x['cpu_s'] for x in res])

def p1(a):
    cfg = StudyConfig.make(size=a.size)
    src = cfg.source_config().load()
    c0 = time.process_time()
    sn = train_supernet(data=src, space=cfg.space, space_kw=cfg.space_kw, sampling=cfg.sampling, n_paths=cfg.n_paths, epochs=cfg.epochs,
                        lr=cfg.lr, schedule='cosine', valid=False, progress=False)
    sn_cpu = time.process_time() - c0
    tgt = cfg.target_config(100).load()
    p3 = matched_epochs(cfg.epochs, len(src[0]), round(0.8 * len(tgt[0])), a.match)
    runs = [('p0', None)] + [('p1', e) for e in (25, 50, 100, 200)] + [('p3', p3)]
    for p, e in runs:
        ms = []
        for s in range(2):
            kw = dict(epochs=e, lr=cfg.head_lr) if p == 'p1' else dict(epochs=e, lr=cfg.lr, sampling=cfg.sampling) if p == 'p3' else {}
            _, m = adapt(supernet=sn, data=tgt, imb_ratio=1., strategy=p, seed=s, progress=False, **kw)
            ms.append(m)
        yield dict(part='p1', size=a.size, strategy=p, epochs=e, supernet_cpu_s=sn_cpu, balanced=[m['balanced_accuracy'] for m in ms],
                   few=[m['few_shot'] for m in ms], cpu_s=[m['cpu_time_s'] for m in ms])

def table(rows):
    out = ['| part | size | setting | images | mean balanced acc. | mean few-shot | CPU s each |', '|---|---:|---|---:|---:|---:|---:|']
    for r in rows:
        setting = f"target {r['ratio']}×, {r['archs']} architectures alone, {r.get('epochs', 12)} epochs" if r['part'] == 'targets' else f"{r['strategy'].upper()}" + (
            f", {r['epochs']} epochs" if r['epochs'] else '') + ' (2 seeds)'
        few = [x for x in r['few'] if x is not None]
        out.append(f"| {r['part']} | {r['size']} | {setting} | {r.get('n_images', '')} | {np.mean(r['balanced']):.3f} | "
                   f"{np.mean(few) if few else float('nan'):.3f} | {np.mean(r['cpu_s']):.1f} |")
    return '\n'.join(out)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--part', choices=('targets', 'p1'))
    p.add_argument('--size', type=int, default=16)
    p.add_argument('--archs', type=int, default=6)
    p.add_argument('--no-match', dest='match', action='store_false', help='the same epochs on the targets (not the same steps)')
    p.add_argument('--table', action='store_true')
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    load = lambda: [json.loads(l) for l in OUT.read_text().splitlines() if l.strip()] if OUT.exists() else []
    if a.table or a.part is None: print(table(load())); raise SystemExit
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for r in (targets if a.part == 'targets' else p1)(a):
        with OUT.open('a') as f: f.write(json.dumps(r) + '\n')
        print(table([r]).splitlines()[-1], flush=True)
