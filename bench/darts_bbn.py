"""DARTS+BBN step cost: one search step of DARTS+BBN (nas_lt.darts_bbn.DartsBBN) against one plain DARTS step
(nas_lt.darts.DartsNetwork), same sizes, both first order, as `darts_search` runs them.

    OMP_NUM_THREADS=1 python bench/darts_bbn.py [--batch 32] [--layers 8] [--C 16] [--size 32] [--rounds 3]
                                                [--arch-step uniform|reversed|bbn] [--device cpu|cuda]

A plain step = architecture step (CE on a validation batch) + weight step (CE on a training batch).
A DARTS+BBN step = architecture step (`--arch-step`: CE of the test-time network on one validation batch, or the
BBN loss on two) + weight step (BBN loss: the trunk on a uniform and on a reversed batch, each branch once).
The two take turns, one step each per round after a warm-up step, so that load from other processes hits them
alike; printed: median wall and process-CPU seconds per step and the BBN/plain ratio (goal: at most 2).
"""
import argparse, os, time, resource, statistics
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import torch

def _cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--layers', type=int, default=8)
    p.add_argument('--C', type=int, default=16)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--arch-step', default='uniform', choices=['uniform', 'reversed', 'bbn'])
    p.add_argument('--device', default=None)
    a = p.parse_args()
    from nas_lt.core import get_device
    from nas_lt.darts import DartsNetwork, Architect, search_step
    from nas_lt.darts_bbn import DartsBBN, SearchLoss
    dev = get_device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    torch.manual_seed(0)
    B, S = a.batch, a.size
    rnd = lambda: (torch.randn(B, 3, S, S, device=dev), torch.randint(0, 10, (B,), device=dev))
    (xt, yt), (xr, yr), (xv, yv), (xv2, yv2) = rnd(), rnd(), rnd(), rnd()
    steps = {}
    for kind in ('plain', 'bbn'):
        model = (DartsBBN(a.C, 10, a.layers) if kind == 'bbn' else DartsNetwork(C=a.C, n_classes=10, layers=a.layers)).to(dev)
        loss = SearchLoss(torch.nn.CrossEntropyLoss()); loss.alpha = 0.5
        arch = Architect(model, loss_fn=loss, order=1)
        w_opt = torch.optim.SGD(model.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        if kind == 'bbn':
            val = ((xv, xv2), (yv, yv2)) if a.arch_step == 'bbn' else (xv, yv)
            steps[kind] = lambda m=model, ar=arch, o=w_opt, l=loss, v=val: search_step(m, ar, o, (xt, xr), (yt, yr), *v, loss_fn=l)
        else:
            steps[kind] = lambda m=model, ar=arch, o=w_opt, l=loss: search_step(m, ar, o, xt, yt, xv, yv, loss_fn=l)
    times = {k: [] for k in steps}
    for r in range(a.rounds + 1):
        for k, f in steps.items():
            sync(); t, c = time.perf_counter(), _cpu()
            f(); sync()
            if r: times[k].append((time.perf_counter() - t, _cpu() - c))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    for k, (w, c) in med.items(): print(f'{k:6s} step: {w:7.2f} s wall, {c:7.2f} s CPU (median of {a.rounds})')
    print(f"BBN / plain: {med['bbn'][0] / med['plain'][0]:.2f}x wall, {med['bbn'][1] / med['plain'][1]:.2f}x CPU "
          f"(batch {B}, {a.layers} cells, {a.C} channels, {S}x{S}, arch step {a.arch_step!r}, {dev})")
    print(f'peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (both networks in one process)')

if __name__ == '__main__': main()
