"Learner under torchrun: 2 CPU processes (gloo) end with identical weights and metrics close to one process"
import os, sys, json, socket, subprocess, textwrap
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent('''
    import sys, json, torch, torch.nn as nn
    from pathlib import Path
    from nas_lt.core import set_seed, init_distributed, rank, world_size
    from nas_lt.data import make_synthetic, long_tailed, BatchLoader
    from nas_lt.learner import Learner
    out, bs = Path(sys.argv[1]), int(sys.argv[2])
    # no init_distributed() here: the loaders are built before the process group exists and the Learner shards them
    tr, te = make_synthetic(n_classes=4, n_train=24, n_test=15, size=8, seed=0)
    tr = long_tailed(tr, 3.)
    set_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                      nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    learn = Learner(m, BatchLoader(tr, bs, augment=True), BatchLoader(te, 16, sampler=None), loss_fn='cb', lr=0.1,
                    epochs=4, out=out, progress=False)
    learn.fit()
    p, t = learn.get_preds()
    torch.save({'model': learn.model.state_dict(), 'n_preds': len(p), 'targets': t, 'metrics': learn.metrics,
                'world_size': world_size()}, out / f'rank{rank()}.pt')
    learn.save_metrics()
''')

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def run(args, out):
    env = dict(os.environ, OMP_NUM_THREADS='1', NAS_LT_PROGRESS='0')
    r = subprocess.run([sys.executable, *map(str, args)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]

def test_two_processes_match_each_other_and_one_process(tmp_path):
    script = tmp_path / 'train.py'; script.write_text(SCRIPT)
    ddp, single = tmp_path / 'ddp', tmp_path / 'single'
    # 2 processes x batch 8 = the same global batch as 1 process x batch 16
    run(['-m', 'torch.distributed.run', '--nnodes', '1', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
         '--master_port', free_port(), script, ddp, 8], ddp)
    run([script, single, 16], single)
    r0, r1 = (torch.load(ddp / f'rank{i}.pt', weights_only=False) for i in (0, 1))
    s = torch.load(single / 'rank0.pt', weights_only=False)
    assert r0['world_size'] == r1['world_size'] == 2 and s['world_size'] == 1
    # both ranks: identical weights and BatchNorm statistics
    assert all(torch.equal(r0['model'][k], r1['model'][k]) for k in r0['model'])
    # predictions from both ranks are gathered: the whole test set, in the same order on every rank
    assert r0['n_preds'] == r1['n_preds'] == s['n_preds'] == 60
    assert sorted(r0['targets'].tolist()) == sorted(s['targets'].tolist())
    assert r0['metrics'] == r1['metrics']
    # only rank 0 wrote the files; metrics close to the single-process run
    assert (ddp / 'metrics.json').is_file() and (ddp / 'ckpt.pt').is_file()
    md, ms = json.loads((ddp / 'metrics.json').read_text()), json.loads((single / 'metrics.json').read_text())
    assert md['accuracy'] == r0['metrics']['accuracy']
    for m in (md, ms): assert m['history'][-1]['train_loss'] < m['history'][0]['train_loss']  # both learn
    for k in ('accuracy', 'balanced_accuracy'):
        assert abs(md[k] - ms[k]) <= 0.2, (k, md[k], ms[k])
    # the weights themselves moved the same way: close, not equal (BatchNorm sees half batches under DDP)
    w0, ws = r0['model']['8.weight'], s['model']['8.weight']
    cos = torch.nn.functional.cosine_similarity(w0.flatten(), ws.flatten(), dim=0)
    assert cos > 0.8
