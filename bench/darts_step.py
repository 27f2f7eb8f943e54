"""DARTS search-step benchmark: time and peak memory of ONE search step (architecture step + weight step) at
batch 64, 8 cells, 16 channels, 32x32 images, 10 classes, for nas_lt and for a classic-style implementation.

    OMP_NUM_THREADS=1 python bench/darts_step.py [--threads 1] [--steps 2] [--configs classic1 fast1 ...]
                                                 [--batch 64] [--layers 8] [--C 16] [--device cpu|cuda]
                                                 [--malloc tuned|default]
    OMP_NUM_THREADS=1 python bench/darts_step.py --interleave 3 --configs classic1 fast1   # relative speed

Each configuration runs in a fresh subprocess (so that its peak resident memory, `ru_maxrss`, is its own):
`--steps` search steps on random data, the first two a warm-up (oneDNN builds its kernels then, the compiled
configurations compile theirs); printed: the median wall time and process CPU time of steps 3 to `--steps`
(the last step if `--steps` < 3) and the fastest of them (the CPU time is less disturbed when other processes share
the cores) and the peak RSS of the whole process (torch + model + data + all steps; on CUDA the peak allocated
GPU memory instead).

With `--malloc tuned` (the default) glibc's malloc is told to keep freed memory (`nas_lt.core.tune_malloc`, which
`nas-lt darts search --tune-malloc` opts into); `--malloc default` leaves glibc's settings, under which a step can
spend a second page-faulting its freed activations back in.

Configurations (order 1 = first order, 2 = second order):
- classic1/classic2: the classic public implementation's way: the literal mixed op (all 8 ops including
  `none`, a python-loop weighted sum, NCHW), `loss.backward()` over all parameters in the architecture step, and,
  for the second order, a copy of the network for the unrolled weights (as pt.darts / the DARTS code do);
- literal1: nas_lt's literal network (`nas_lt.darts.DartsNetwork`, channels_last) with nas_lt's `Architect`;
- fast1/fast2: nas_lt's eager speed layer (`nas_lt.darts_fast.fast(net)`, the `fast` backend) with `Architect`;
- ckpt1/ckpt2: `fast(DartsNetwork(checkpoint=True))` (each cell recomputed in the backward pass);
- bbn1: DARTS+BBN (nas_lt.darts_bbn.DartsBBN, if present) first order, weight step on a uniform and a
  reversed batch with the BBN loss, architecture step on one validation batch;
- pc1/pc2: PC-DARTS (`nas_lt.pc_darts.PCDartsNetwork`, K=4, edge normalisation) on the literal network with `Architect`,
  the same network size; compare with literal1/literal2 (PC-DARTS runs on the literal backend only);
- comp1/comp2/compckpt1/bbncomp1: the same as fast1/fast2/ckpt1/bbn1 with `fast(net, compiled=True)` (the `compiled` backend: TorchInductor-compiled
  CPU kernels). The first step compiles the kernels (or loads them from inductor's disk cache): it is
  reported as `first_step_wall_s`; the timed step is a later one.
"""
import argparse, json, os, subprocess, sys, time, resource
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = ['classic1', 'literal1', 'fast1', 'ckpt1', 'classic2', 'fast2', 'ckpt2', 'bbn1', 'comp1', 'comp2', 'compckpt1', 'bbncomp1',
           'literal2', 'pc1', 'pc2']

def _cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime

# ---- the classic implementation's architecture step (pt.darts / quark0/darts style), for the baseline ----
class ClassicArchitect:
    "Architecture step as in the classic code: full backward, and a network copy for the unrolled model"
    def __init__(self, model, order, arch_lr=3e-4, arch_wd=1e-3, w_momentum=0.9, w_wd=3e-4):
        self.model, self.order, self.w_momentum, self.w_wd = model, order, w_momentum, w_wd
        self.opt = torch.optim.Adam(model.alphas(), lr=arch_lr, betas=(0.5, 0.999), weight_decay=arch_wd)
    def _loss(self, m, x, y): return F.cross_entropy(m(x), y)
    def step(self, xt, yt, xv, yv, eta, w_opt):
        self.opt.zero_grad()
        if self.order == 1: self._loss(self.model, xv, yv).backward()
        else: self._unrolled(xt, yt, xv, yv, eta, w_opt)
        self.opt.step()
    def _unrolled(self, xt, yt, xv, yv, eta, w_opt):
        m = self.model
        loss = self._loss(m, xt, yt)
        theta = torch.cat([p.data.view(-1) for p in m.weights()])
        try: moment = torch.cat([w_opt.state[p]['momentum_buffer'].view(-1) for p in m.weights()]) * self.w_momentum
        except KeyError: moment = torch.zeros_like(theta)
        dtheta = torch.cat([g.view(-1) for g in torch.autograd.grad(loss, m.weights())]) + self.w_wd * theta
        unrolled = m.new()                                   # a second network for w'
        new_theta, off, sd = theta - eta * (moment + dtheta), 0, unrolled.state_dict()
        params = dict(m.named_parameters())
        for k, v in m.named_parameters():
            if 'alphas' in k: continue
            sd[k] = new_theta[off:off + v.numel()].view_as(v); off += v.numel()
        for k, b in m.named_buffers(): sd[k] = b
        unrolled.load_state_dict(sd)
        uloss = self._loss(unrolled, xv, yv)
        unrolled.zero_grad(); uloss.backward()
        dalpha = [a.grad for a in unrolled.alphas()]
        vector = [w.grad if w.grad is not None else torch.zeros_like(w) for w in unrolled.weights()]
        R = 0.01 / torch.cat([v.view(-1) for v in vector]).norm()
        for p, v in zip(m.weights(), vector): p.data.add_(v, alpha=R.item())
        gp = torch.autograd.grad(self._loss(m, xt, yt), m.alphas())
        for p, v in zip(m.weights(), vector): p.data.sub_(v, alpha=2 * R.item())
        gn = torch.autograd.grad(self._loss(m, xt, yt), m.alphas())
        for p, v in zip(m.weights(), vector): p.data.add_(v, alpha=R.item())
        for a, da, x, y in zip(m.alphas(), dalpha, gp, gn): a.grad = da - eta * (x - y) / (2 * R)

def make_step(cfg, a):
    "Build configuration `cfg`; returns (step function, device)"
    torch.set_num_threads(a.threads)
    from nas_lt.darts import DartsNetwork, Architect, search_step
    from nas_lt.darts_fast import fast
    if getattr(a, 'malloc', 'tuned') == 'tuned':   # opt-in in `nas-lt darts search --tune-malloc`
        from nas_lt.core import tune_malloc
        tune_malloc()
    from nas_lt.core import get_device
    dev = get_device(a.device)
    torch.manual_seed(0)
    order = int(cfg[-1])
    kind = cfg[:-1]
    xt, xv = torch.randn(a.batch, 3, 32, 32, device=dev), torch.randn(a.batch, 3, 32, 32, device=dev)
    yt, yv = torch.randint(0, 10, (a.batch,), device=dev), torch.randint(0, 10, (a.batch,), device=dev)
    compiled = kind.startswith('comp') or kind == 'bbncomp'
    speed = (lambda net: fast(net, compiled=compiled)) if kind not in ('classic', 'literal', 'pc') else (lambda net: net)
    if kind.startswith('bbn'):
        from nas_lt.darts_bbn import DartsBBN, SearchLoss
        model = speed(DartsBBN(C=a.C, n_classes=10, layers=a.layers)).to(dev)
        xr, yr = torch.randn_like(xt), torch.randint(0, 10, (a.batch,), device=dev)
        loss = SearchLoss(nn.CrossEntropyLoss()); loss.alpha = 0.5
        arch = Architect(model, loss_fn=loss, order=order)
        w_opt = torch.optim.SGD(model.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        def step(): search_step(model, arch, w_opt, (xt, xr), (yt, yr), xv, yv, loss_fn=loss)
    else:
        if kind == 'pc':                                  # PC-DARTS: the literal backend only
            from nas_lt.pc_darts import PCDartsNetwork
            model = PCDartsNetwork(C=a.C, n_classes=10, layers=a.layers, k=4).to(dev)
        else: model = speed(DartsNetwork(C=a.C, n_classes=10, layers=a.layers, channels_last=kind != 'classic',
                                         checkpoint=kind in ('ckpt', 'compckpt'))).to(dev)
        w_opt = torch.optim.SGD(model.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        if kind == 'classic':
            arch = ClassicArchitect(model, order)
            def step():
                arch.step(xt, yt, xv, yv, 0.025, w_opt)
                w_opt.zero_grad()
                F.cross_entropy(model(xt), yt).backward()
                nn.utils.clip_grad_norm_(model.weights(), 5.); w_opt.step()
        else:
            arch = Architect(model, order=order)
            def step(): search_step(model, arch, w_opt, xt, yt, xv, yv)
    return step, dev

def run_one(cfg, a):
    "Run configuration `cfg` in this process; returns a dict of figures"
    step, dev = make_step(cfg, a)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    times = []
    rss0 = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**30 if dev.type == 'cpu' else 0.
    for i in range(a.steps):
        sync(); t, c = time.perf_counter(), _cpu()
        step(); sync()
        times.append((time.perf_counter() - t, _cpu() - c))
    peak = (torch.cuda.max_memory_allocated() / 2**30 if dev.type == 'cuda'
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    import statistics
    timed = times[2:] or times[-1:]   # the first two steps are warm-up (compiling, oneDNN's kernel builds)
    return {'config': cfg, 'wall_s': statistics.median(t for t, _ in timed), 'wall_min_s': min(t for t, _ in timed),
            'cpu_s': statistics.median(c for _, c in timed), 'timed_steps': len(timed), 'first_step_wall_s': times[0][0],
            'peak_GiB': peak, 'rss_before_GiB': rss0, 'step_GiB': peak - rss0, 'threads': a.threads, 'device': dev.type, 'malloc': a.malloc}

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--configs', nargs='*', default=CONFIGS, choices=CONFIGS)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--steps', type=int, default=2,
                   help='search steps per configuration: the median of steps 3.. is reported (of the last one if fewer)')
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--layers', type=int, default=8)
    p.add_argument('--C', type=int, default=16)
    p.add_argument('--device', default='cpu')
    p.add_argument('--malloc', default='tuned', choices=['tuned', 'default'],
                   help="tuned: glibc keeps freed memory (nas_lt.core.tune_malloc, as the nas-lt commands do); default: glibc's own settings")
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)
    p.add_argument('--interleave', type=int, default=0, metavar='ROUNDS',
                   help='time the configs in ONE process, one step each in turn for ROUNDS rounds (fair under shared load; no memory figures)')
    a = p.parse_args()
    if a.interleave:
        import statistics
        steps = {c: make_step(c, a)[0] for c in a.configs}
        for c, f in steps.items(): f()                        # warm-up
        t = {c: [] for c in a.configs}
        for r in range(a.interleave):
            for c, f in steps.items():
                t0 = time.perf_counter(); f(); t[c].append(time.perf_counter() - t0)
            print('round', r + 1, ' '.join(f'{c} {t[c][-1]:.2f}s' for c in a.configs), flush=True)
        base = statistics.median(t[a.configs[0]])
        for c in a.configs:
            m = statistics.median(t[c])
            print(f"{c:9s} median step {m:6.2f} s wall over {a.interleave} rounds; {m / base:.2f}x {a.configs[0]}")
        return
    if a.one:
        print('RESULT ' + json.dumps(run_one(a.one, a))); return
    rows = []
    for cfg in a.configs:
        if cfg.startswith('bbn'):
            try: import nas_lt.darts_bbn  # noqa
            except ImportError: print(f'{cfg}: nas_lt.darts_bbn not available, skipped'); continue
        cmd = [sys.executable, __file__, '--one', cfg] + [f'--{k}={v}' for k, v in
               dict(threads=a.threads, steps=a.steps, batch=a.batch, layers=a.layers, C=a.C, device=a.device,
                                                      malloc=a.malloc).items()]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': str(a.threads)})
        line = [l for l in out.stdout.splitlines() if l.startswith('RESULT ')]
        if not line: print(f'{cfg}: failed\n{out.stderr[-2000:]}'); continue
        r = json.loads(line[0][7:]); rows.append(r)
        print(f"{cfg:9s} step {r['wall_s']:6.2f} s wall (median of {r['timed_steps']}, min {r['wall_min_s']:.2f} s), "
              f"{r['cpu_s']:6.2f} s CPU (first step {r['first_step_wall_s']:.2f} s), "
              f"peak {r['peak_GiB']:.2f} GiB (+{r['step_GiB']:.2f} GiB over the process before the first step)", flush=True)
    if rows:
        from nas_lt.core import md_table
        print(md_table([{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]))

if __name__ == '__main__': main()
