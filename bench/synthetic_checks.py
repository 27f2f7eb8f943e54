"""Is the embedded synthetic dataset a good benchmark? Train small CNNs on it with a bare torch loop.

    OMP_NUM_THREADS=2 python bench/synthetic_checks.py                 # all runs, one after the other
    OMP_NUM_THREADS=1 python bench/synthetic_checks.py --only k3d3 --out /tmp/sc   # one run (run several at once)
    python bench/synthetic_checks.py --merge /tmp/sc                   # collect into bench/results_synthetic_checks.json

Checks (issue 2, section 2): (a) a small CNN reaches 80-95% test accuracy on the balanced 10-class set in about
a minute on 2 CPU cores; (b) different architectures (kernel size, depth) reach measurably different accuracy;
(c) the long-tailed version (ratio 100) shows the usual head/tail gap.
Setup: `small_cnn` = conv(k)-BN-ReLU-maxpool blocks with 16/32/64 channels, global average pool, linear; SGD
(Nesterov momentum 0.9, weight decay 5e-4), one-cycle LR with peak 0.05, batch 128, crop (pad 2) + flip via
`nas_lt.data.BatchLoader`, 12 epochs of the 5,000 balanced training images (468 steps); the ratio-100 run
(1,236 images) trains for the same number of steps. Test: the 1,000 balanced test images.
"""
import argparse, json, os, time
from pathlib import Path
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import torch, torch.nn as nn, torch.nn.functional as F
from nas_lt.data import make_synthetic, long_tailed, BatchLoader, Augment
from nas_lt.metrics import lt_metrics

def small_cnn(k=3, width=16, depth=3, n_classes=10):
    "conv(k)-BN-ReLU(-maxpool) x depth, channels width*(1, 2, 4, 4, ...), global average pool, linear"
    layers, c = [], 3
    for i in range(depth):
        co = width * 2**min(i, 2)
        layers += [nn.Conv2d(c, co, k, padding=k//2, bias=False), nn.BatchNorm2d(co), nn.ReLU()] + ([nn.MaxPool2d(2)] if i < 3 else [])
        c = co
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))

def fit_eval(train, test, steps, seed=0, lr=0.05, **net_kw):
    "Train `small_cnn(**net_kw)` for `steps` SGD steps with a bare loop; test metrics and timings"
    torch.manual_seed(seed)
    dl, ev = BatchLoader(train, 128, 'instance', augment=Augment(pad=2), seed=seed), BatchLoader(test, 500, None)
    m = small_cnn(**net_kw)
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.15)
    t0, c0, step, epoch = time.time(), time.process_time(), 0, 0
    while step < steps:
        dl.set_epoch(epoch); m.train(); epoch += 1
        for xb, yb in dl:
            loss = F.cross_entropy(m(xb), yb); opt.zero_grad(); loss.backward(); opt.step(); sched.step(); step += 1
            if step == steps: break
    m.eval()
    with torch.no_grad(): preds = torch.cat([m(xb).argmax(1) for xb, _ in ev])
    r = lt_metrics(preds, test.y, train.counts)
    return dict(r, params=sum(p.numel() for p in m.parameters()), steps=steps, train_images=len(train),
                wall_s=time.time() - t0, cpu_s=time.process_time() - c0, threads=torch.get_num_threads())

RUNS = {'k3d3': ('3x3, 3 blocks (the small CNN)', dict(k=3, depth=3), 1),
        'k5d3': ('5x5, 3 blocks', dict(k=5, depth=3), 1),
        'k7d3': ('7x7, 3 blocks', dict(k=7, depth=3), 1),
        'k1d3': ('1x1, 3 blocks (no spatial context)', dict(k=1, depth=3), 1),
        'k3d2': ('3x3, 2 blocks (shallower)', dict(k=3, depth=2), 1),
        'k3d3_lt100': ('3x3, 3 blocks, ratio 100', dict(k=3, depth=3), 100)}

def run(name, epochs=12):
    label, kw, ratio = RUNS[name]
    tr, te = make_synthetic()
    steps = epochs * (len(tr) // 128)
    if ratio > 1: tr = long_tailed(tr, ratio)
    return dict(name=name, label=label, ratio=ratio, **fit_eval(tr, te, steps, **kw))

def table(results):
    rows = ['| model | train images | params | accuracy | balanced acc. | many | medium | few | wall s | CPU s |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    f = lambda v: '-' if v is None else f'{v:.3f}'
    for r in results:
        rows.append(f"| {r['label']} | {r['train_images']} | {r['params']:,} | {f(r['accuracy'])} | {f(r['balanced_accuracy'])} | "
                    f"{f(r['many_shot'])} | {f(r['medium_shot'])} | {f(r['few_shot'])} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} |")
    return '\n'.join(rows)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', nargs='*', default=list(RUNS), choices=list(RUNS))
    p.add_argument('--out', default=None, help='folder for one JSON per run (default: print only)')
    p.add_argument('--merge', default=None, help='collect the JSON files of a folder into bench/results_synthetic_checks.json')
    a = p.parse_args()
    if a.merge:
        res = [json.loads((Path(a.merge)/f'{n}.json').read_text()) for n in RUNS if (Path(a.merge)/f'{n}.json').exists()]
        Path(__file__).with_name('results_synthetic_checks.json').write_text(json.dumps(res, indent=1) + '\n')
        print(table(res))
    else:
        res = []
        for n in a.only:
            r = run(n); res.append(r)
            if a.out: Path(a.out).mkdir(parents=True, exist_ok=True); (Path(a.out)/f'{n}.json').write_text(json.dumps(r))
            print(table([r]).splitlines()[-1], flush=True)
        print(table(res))
