"""Training throughput of ResNet-32 (batch 128, CPU, channels_last) through `Learner` against a bare torch loop.

Both loops train the same model (same initial weights) on the same batches from the same `BatchLoader`
(synthetic 32x32 images, on-device crop+flip augmentation), with the same SGD (Nesterov, momentum 0.9, wd 5e-4)
and cross-entropy. The Learner adds what it always does per step: LR from the schedule, callbacks (a no-op one
here), the loss module, loss accumulation; checkpoints are timed separately. The two loops run interleaved
(bare, learner, bare, learner, ...) so that load from other processes hits both alike; medians are reported.

    OMP_NUM_THREADS=2 python bench/learner_overhead.py [--threads 2] [--batches 8] [--repeats 5]
"""
import argparse, os, statistics, time, tempfile
from pathlib import Path
import torch, torch.nn as nn, torch.nn.functional as F

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2, help='torch threads (the machine has 2 cores)')
    ap.add_argument('--batches', type=int, default=8, help='batches of 128 per timed run')
    ap.add_argument('--repeats', type=int, default=5, help='interleaved repeats of each loop')
    ap.add_argument('--bs', type=int, default=128)
    args = ap.parse_args()
    os.environ.setdefault('NAS_LT_PROGRESS', '0')
    torch.set_num_threads(args.threads)
    from nas_lt.core import set_seed, atomic_save
    from nas_lt.data import make_synthetic, BatchLoader
    from nas_lt.models import resnet32
    from nas_lt.learner import Learner, Callback

    tr, _ = make_synthetic(n_classes=10, n_train=(args.batches * args.bs) // 10 + 1, n_test=1, seed=0)
    dl = BatchLoader(tr, args.bs, sampler='instance', augment=True, drop_last=True, device='cpu')
    assert len(dl) == args.batches
    set_seed(0); init = resnet32(10).state_dict()

    def fresh():
        m = resnet32(10); m.load_state_dict(init)
        return m.to(memory_format=torch.channels_last)

    bare_model = fresh()
    bare_opt = torch.optim.SGD(bare_model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    def bare(epoch):
        bare_model.train(); dl.set_epoch(epoch); n = 0
        t = time.perf_counter()
        for x, y in dl:
            x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(bare_model(x), y)
            bare_opt.zero_grad(set_to_none=True); loss.backward(); bare_opt.step(); n += len(y)
        return n / (time.perf_counter() - t)

    class NoOp(Callback):
        def before_batch(self, learn): pass
        def after_batch(self, learn): pass
    learn = Learner(fresh(), dl, None, loss_fn='ce', lr=0.1, epochs=10_000, schedule='cosine', device='cpu',
                    cbs=[NoOp()], progress=False)
    # drive the Learner's own epoch loop (fit minus validation/checkpoint) so timing covers exactly the batches
    from nas_lt.learner import _HOOKS
    learn._hooks = {h: [getattr(c, h) for c in learn.cbs if callable(getattr(c, h, None))] for h in _HOOKS}
    learn.opt = learn._make_opt()
    def through_learner(epoch):
        learn.epoch = epoch; dl.set_epoch(epoch); learn.loss_fn.set_epoch(epoch, learn.epochs)
        t = time.perf_counter()
        learn.train_epoch()
        return args.batches * args.bs / (time.perf_counter() - t)

    bare(0); through_learner(0)  # warm-up (allocator, kernels)
    rb, rl = [], []
    for r in range(args.repeats):
        rb.append(bare(r + 1)); rl.append(through_learner(r + 1))
        print(f"repeat {r + 1}: bare {rb[-1]:.1f} img/s, learner {rl[-1]:.1f} img/s", flush=True)
    mb, ml = statistics.median(rb), statistics.median(rl)
    # a whole fit() epoch adds one checkpoint: time it
    d = Path(tempfile.mkdtemp()); learn.out = d
    t = time.perf_counter(); learn.save_checkpoint(); ck = time.perf_counter() - t
    ratios = sorted(l / b for l, b in zip(rl, rb))
    print(f"\nResNet-32, batch {args.bs}, {args.batches} batches per run, {args.threads} threads, channels_last, CPU")
    print(f"| loop | median img/s | min | max |\n|---|---|---|---|")
    print(f"| bare torch | {mb:.1f} | {min(rb):.1f} | {max(rb):.1f} |")
    print(f"| Learner | {ml:.1f} | {min(rl):.1f} | {max(rl):.1f} |")
    print(f"overhead (1 - median learner/bare): {100 * (1 - ml / mb):+.2f}%; median of per-repeat ratios: "
          f"{100 * (1 - statistics.median(ratios)):+.2f}%")
    print(f"checkpoint (model+SGD state+RNG, {(d / 'ckpt.pt').stat().st_size / 1e6:.2f} MB): {ck * 1000:.0f} ms per epoch")
    fixed_cost(args, Learner, Callback, BatchLoader, make_synthetic, _HOOKS, ms_per_step=1000 * args.bs / mb)

def fixed_cost(args, Learner, Callback, BatchLoader, make_synthetic, _HOOKS, ms_per_step):
    "The Learner's fixed cost per step, measured on a model so small that the loop itself dominates"
    tr, _ = make_synthetic(n_classes=2, n_train=400, n_test=1, size=8, seed=0)
    dl = BatchLoader(tr, 2, sampler='instance', augment=False, drop_last=True, device='cpu')
    mk = lambda: nn.Sequential(nn.Flatten(), nn.Linear(192, 2))
    m = mk(); opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    def bare():
        dl.set_epoch(0); t = time.perf_counter()
        for x, y in dl:
            x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(m(x), y); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return (time.perf_counter() - t) / len(dl)
    class NoOp(Callback):
        def before_batch(self, learn): pass
        def after_batch(self, learn): pass
    learn = Learner(mk(), dl, None, loss_fn='ce', lr=0.1, epochs=10, device='cpu', cbs=[NoOp()], progress=False)
    learn._hooks = {h: [getattr(c, h) for c in learn.cbs if callable(getattr(c, h, None))] for h in _HOOKS}
    learn.opt = learn._make_opt()
    def lrn():
        learn.epoch = 0; dl.set_epoch(0); t = time.perf_counter(); learn.train_epoch()
        return (time.perf_counter() - t) / len(dl)
    bare(); lrn()
    tb, tl = [], []
    for _ in range(max(args.repeats, 5)): tb.append(bare()); tl.append(lrn())
    d = 1e6 * (statistics.median(tl) - statistics.median(tb))
    print(f"\nfixed per-step cost (tiny linear model, batch 2, {len(dl)} steps x {max(args.repeats, 5)} interleaved repeats): "
          f"bare {1e6 * statistics.median(tb):.0f} us, Learner {1e6 * statistics.median(tl):.0f} us per step, "
          f"difference {d:.0f} us = {100 * d / 1000 / ms_per_step:.3f}% of a ResNet-32 step ({ms_per_step:.0f} ms at the median bare rate)")

if __name__ == '__main__': main()
