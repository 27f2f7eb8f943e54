"""Supernet overhead: a training step of the supernet on one path against the extracted standalone subnet's step.

Both run the same architecture on the same batch (forward, cross-entropy, backward, SGD step with momentum and weight
decay, channels_last as the Learner uses). The supernet's step also activates the path (`set_active`, with its
validation) and its optimiser holds every weight of the supernet, most of them without a gradient in the step.
Repeats are interleaved (supernet, subnet, supernet, ...) so that load from other processes hits both alike; the
figures are medians. Both wall-clock time and the process's CPU time are recorded: with one thread on a machine
shared with other jobs, CPU time is the steadier measure. Goal: overhead under 15%.

    OMP_NUM_THREADS=1 python bench/supernet_overhead.py                      # mbv2 and nb201, batch 128, CPU
    OMP_NUM_THREADS=1 python bench/supernet_overhead.py --small --repeats 10  # small supernets: the worst case
    python bench/supernet_overhead.py --spaces nb201 --archs 2 --repeats 5 --device cuda
"""
import argparse, os, random, statistics, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
import torch.nn.functional as F
from nas_lt.supernet import Supernet
from nas_lt.core import get_device, md_table


def make_step(model, opt, x, y, before=None):
    def step():
        if before is not None: before()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def timed(step, n, sync):
    "Wall-clock and process CPU seconds of `n` steps"
    t = []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        step(); sync()
        t.append((time.perf_counter() - w0, time.process_time() - c0))
    return t


def bench_space(space, n_archs, repeats, steps, batch, device, seed=0, **space_kw):
    torch.manual_seed(seed)
    sn = Supernet(space, n_classes=10, **space_kw).to(device).to(memory_format=torch.channels_last).train()
    rng = random.Random(seed)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    sync = (lambda: torch.cuda.synchronize()) if device.type == 'cuda' else (lambda: None)
    sgd = lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True)
    opt_sn = sgd(sn.parameters())
    rows = []
    archs, tries = [], 0
    while len(archs) < n_archs and tries < 1000:   # skip degenerate paths (e.g. nb201 cells cut off from the input)
        a = sn.sample(rng); tries += 1
        if sn.macs(a) > 0.3 * sn.macs(sn.space.max_arch()): archs.append(a)
    for a in archs:
        sub = sn.extract(a).to(memory_format=torch.channels_last).train()
        opt_sub = sgd(sub.parameters())
        s_sn = make_step(sn, opt_sn, x, y, before=lambda: sn.set_active(a))
        s_sub = make_step(sub, opt_sub, x, y)
        timed(s_sn, 1, sync); timed(s_sub, 1, sync)                 # warm-up
        t_sn, t_sub = [], []
        for _ in range(repeats):                                    # interleaved
            t_sn += timed(s_sn, steps, sync); t_sub += timed(s_sub, steps, sync)
        med = lambda ts, i: statistics.median(t[i] for t in ts)
        w_sn, w_sub, c_sn, c_sub = med(t_sn, 0), med(t_sub, 0), med(t_sn, 1), med(t_sub, 1)
        rows.append(dict(space=space, arch=sn.space.to_str(a), mmacs=sn.macs(a) / 1e6,
                         supernet_cpu_ms=1e3 * c_sn, subnet_cpu_ms=1e3 * c_sub, overhead_cpu_pct=100 * (c_sn / c_sub - 1),
                         supernet_wall_ms=1e3 * w_sn, subnet_wall_ms=1e3 * w_sub, overhead_wall_pct=100 * (w_sn / w_sub - 1),
                         n=len(t_sn)))
        print(md_table(rows[-1:]).splitlines()[-1], flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--spaces', default='mbv2,nb201')
    p.add_argument('--archs', type=int, default=3, help='sampled architectures per space')
    p.add_argument('--repeats', type=int, default=5, help='interleaved rounds')
    p.add_argument('--steps', type=int, default=2, help='timed steps per round and network')
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', 1)))
    p.add_argument('--small', action='store_true', help='small supernets (mbv2 width 0.25, nb201 C=8 N=2): python overhead weighs more')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = get_device(a.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, batch {a.batch}, "
          f"{a.repeats} interleaved rounds x {a.steps} steps", flush=True)
    print('| space | arch | mmacs | supernet_cpu_ms | subnet_cpu_ms | overhead_cpu_pct | supernet_wall_ms | subnet_wall_ms | overhead_wall_pct | n |')
    rows = []
    for space in a.spaces.split(','):
        kw = dict(mbv2=dict(width=0.25), nb201=dict(C=8, N=2)).get(space, {}) if a.small else {}
        rows += bench_space(space, a.archs, a.repeats, a.steps, a.batch, device, **kw)
    for kind in ('cpu', 'wall'):
        ov = [r[f'overhead_{kind}_pct'] for r in rows]
        print(f"median overhead ({kind} time) over {len(rows)} architectures: {statistics.median(ov):.1f}% "
              f"(min {min(ov):.1f}%, max {max(ov):.1f}%); goal < 15%")
    return rows


if __name__ == '__main__':
    main()
