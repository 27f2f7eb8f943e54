"""Which supernet-training heuristics make a one-shot supernet learn at CPU scale? (issue 12)

    OMP_NUM_THREADS=1 python bench/supernet_heuristics.py --configs spos nested --epochs 12      # supernets only
    OMP_NUM_THREADS=1 python bench/supernet_heuristics.py --standalone --epochs 12             # the ground truth
    python bench/supernet_heuristics.py --table                                                # the table so far
    python bench/supernet_heuristics.py --summary                                              # one row per config, over seeds

Each configuration trains one supernet on the balanced synthetic set (its settings below), then scores the same
`--archs` architectures (sampled once with seed 0) with inherited weights: BatchNorm re-calibrated on 10 training
batches, balanced accuracy on the balanced test set. `--standalone` trains each of those architectures alone
with the same recipe for the same number of optimiser steps (the ground truth). The table reports the mean
inherited accuracy, its gap to the stand-alone mean, Kendall tau-b between the two rankings with a bootstrap 95%
interval over architectures, and the process CPU seconds of the supernet's training. Results are appended to
`bench/out/supernet_heuristics.jsonl` (one line per run; `--out` names another file) and `--table` prints them;
`--summary` gives one row per configuration with its seeds pooled (the τ of each seed against the mean of the
stand-alone seeds, and their mean).
"""
import argparse, copy, json, os, random, time
from pathlib import Path
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import numpy as np, torch
from nas_lt.data import make_synthetic, BatchLoader
from nas_lt.supernet import Supernet, fit_supernet
from nas_lt.evaluate import bn_batches, batches, evaluate_archs
from nas_lt.learner import Learner
from nas_lt.stats import tau_ci, kendall_tau, bootstrap_ci

OUT = Path(__file__).parent / 'out' / 'supernet_heuristics.jsonl'
SPACE = dict(width=0.25, depths=(1, 2, 2, 1), strides=(2, 2, 2, 1), last=64)
BASE = dict(space=SPACE, lr=0.1, wd=5e-4, schedule='cosine', sampling='uniform', n_paths=4, distill=0.)

# one change at a time from the SPOS baseline, then combinations
CONFIGS = {
    'spos': {},
    'fair': dict(sampling='fair'),
    'nested': dict(space=dict(SPACE, sharing='nested')),
    'zero_init': dict(space=dict(SPACE, zero_init_residual=True)),
    'no_affine': dict(space=dict(SPACE, affine=False)),
    'warmup': dict(schedule='warmup_cosine'),
    'lr0.05': dict(lr=0.05),
    'lr0.2': dict(lr=0.2),
    'wd1e-4': dict(wd=1e-4),
    'sandwich': dict(sampling='sandwich'),
    'nested+sandwich': dict(space=dict(SPACE, sharing='nested'), sampling='sandwich'),
    'nested+sandwich+kd': dict(space=dict(SPACE, sharing='nested'), sampling='sandwich', distill=1.),
    'nested+zero_init': dict(space=dict(SPACE, sharing='nested', zero_init_residual=True)),
    'nested+warmup': dict(space=dict(SPACE, sharing='nested'), schedule='warmup_cosine'),
    'nested+lr0.05': dict(space=dict(SPACE, sharing='nested'), lr=0.05),
    'nested+lr0.2': dict(space=dict(SPACE, sharing='nested'), lr=0.2),
    'nested+fair': dict(space=dict(SPACE, sharing='nested'), sampling='fair'),
    'nested+no_affine': dict(space=dict(SPACE, sharing='nested', affine=False)),
    'nested+wd1e-4': dict(space=dict(SPACE, sharing='nested'), wd=1e-4),
    'nested+sandwich+lr0.2': dict(space=dict(SPACE, sharing='nested'), sampling='sandwich', lr=0.2),
    'nested+sandwich+n3': dict(space=dict(SPACE, sharing='nested'), sampling='sandwich', n_paths=3),
    'nested+sandwich+lr0.2+wd1e-4': dict(space=dict(SPACE, sharing='nested'), sampling='sandwich', lr=0.2, wd=1e-4),
}

def settings(name): return {**BASE, **CONFIGS[name]} if name in CONFIGS else dict(BASE)

def data(a):
    return make_synthetic(10, a.n_train, 100, a.size, seed=0)

def archs_of(a):
    sn = Supernet('mbv2', 10, a.size, **SPACE)
    rng, out = random.Random(0), []
    while len(out) < a.archs:
        x = sn.sample(rng)
        if x not in out: out.append(x)
    return out

def score_inherited(sn, archs, train, test, seed=0):
    bn = bn_batches(train, 10, 128, 'cpu', seed)
    ev = evaluate_archs(sn, archs, bn, list(batches(test, 500, 'cpu')), train.counts)
    return [r['balanced_accuracy'] for r in ev['per_arch']]

def run_config(name, a, train, test, archs):
    s = settings(name)
    torch.manual_seed(a.seed)
    sn = Supernet('mbv2', 10, a.size, **s['space'])
    c0, t0 = time.process_time(), time.time()
    fit_supernet(sn, train, None, epochs=a.epochs, lr=s['lr'], wd=s['wd'], schedule=s['schedule'], sampling=s['sampling'],
                 n_paths=s['n_paths'], distill=s['distill'], batch_size=a.batch, seed=a.seed, progress=False, valid_arch=None)
    cpu, wall = time.process_time() - c0, time.time() - t0
    inh = score_inherited(sn, archs, train, test, a.seed)
    return dict(kind='supernet', config=name, settings=s, epochs=a.epochs, n_train=a.n_train, size=a.size, batch=a.batch,
                seed=a.seed, archs=[list(x) for x in archs], inherited=inh, cpu_s=cpu, wall_s=wall,
                steps=a.epochs * (len(train) // a.batch), threads=torch.get_num_threads())

def run_standalone(a, train, test, archs):
    s, res, cpu = BASE, [], []
    for i, arch in enumerate(archs):
        torch.manual_seed(a.seed + i)
        m = Supernet('mbv2', 10, a.size, **SPACE).extract(arch)
        c0 = time.process_time()
        learn = Learner(m, BatchLoader(train, a.batch, 'instance', augment=True, seed=a.seed), BatchLoader(test, 500, None),
                        loss_fn='ce', lr=s['lr'], wd=s['wd'], schedule=s['schedule'], epochs=a.epochs, seed=a.seed, progress=False)
        learn.fit()
        res.append(learn.metrics['balanced_accuracy']); cpu.append(time.process_time() - c0)
        print(f'  standalone {i + 1}/{len(archs)} {"-".join(arch)}: {res[-1]:.3f} ({cpu[-1]:.0f} CPU s)', flush=True)
    return dict(kind='standalone', epochs=a.epochs, n_train=a.n_train, size=a.size, batch=a.batch, seed=a.seed,
                archs=[list(x) for x in archs], standalone=res, cpu_s=sum(cpu), cpu_s_each=cpu, threads=torch.get_num_threads())

def _key(r): return (r['epochs'], r['n_train'], r['size'], r['batch'], json.dumps(r['archs']))

def load(paths=(OUT,)):
    return [json.loads(l) for p in map(Path, paths) if p.exists() for l in p.read_text().splitlines() if l.strip()]

def tau_difference(a_runs, b_runs, truth, n_resamples=2000, seed=0):
    "Mean τ over the seeds of `a_runs` minus that of `b_runs`, against `truth`: a paired bootstrap over architectures (`bootstrap_ci`), interval and two-sided p"
    A, B = [np.array(r['inherited']) for r in a_runs], [np.array(r['inherited']) for r in b_runs]
    na = len(A)
    f = lambda *x: np.mean([kendall_tau(v, x[-1]) for v in x[:na]]) - np.mean([kendall_tau(v, x[-1]) for v in x[na:-1]])
    d0 = f(*A, *B, truth)
    ci, dist = bootstrap_ci(f, *A, *B, np.asarray(truth), n_resamples=n_resamples, seed=seed, distribution=True)
    dist = dist[np.isfinite(dist)]
    return d0, ci, min(1., 2 * min((dist <= 0).mean(), (dist >= 0).mean()))

def summary(rows, vs=None):
    "One row per (setting, configuration): its supernet seeds pooled, τ of each against the mean of the stand-alone seeds (and against config `vs`)"
    key = _key
    sa = {}
    for r in rows:
        if r['kind'] == 'standalone': sa.setdefault(key(r), {})[r['seed']] = np.array(r['standalone'])
    out = ['| config | size | seeds | mean inherited bal. acc. (per seed) | gap to stand-alone | τ vs stand-alone mean (per seed) | mean τ |'
           + (f' mean τ − {vs} (95% CI, p) |' if vs else '') + ' supernet CPU s (mean) |',
           '|---|---:|---:|---|---:|---|---:|' + ('---|' if vs else '') + '---:|']
    groups = {}
    for r in rows:
        if r['kind'] == 'supernet': groups.setdefault((key(r), r['config']), {})[r['seed']] = r
    for (k, c), by_seed in groups.items():
        runs = [by_seed[s] for s in sorted(by_seed)]
        inh = [np.mean(r['inherited']) for r in runs]
        truth = sa.get(k)
        if truth:
            m = np.mean(list(truth.values()), 0)
            taus = [kendall_tau(np.array(r['inherited']), m) for r in runs]
            gap = f"{np.mean(inh) - m.mean():+.3f}"
            tt = f"{', '.join(f'{t:.2f}' for t in taus)} | {np.mean(taus):.2f}"
            if vs and (k, vs) in groups and c != vs:
                d, ci, pv = tau_difference(runs, list(groups[(k, vs)].values()), m)
                tt += f" | {d:+.2f} ({ci[0]:+.2f}, {ci[1]:+.2f}), p {pv:.2f}"
            elif vs: tt += ' | –'
        else: gap, tt = '–', '– | –' + (' | –' if vs else '')
        out.append(f"| {c} | {runs[0]['size']} | {len(runs)} | {np.mean(inh):.3f} ({', '.join(f'{x:.3f}' for x in inh)}) | {gap} | {tt} | "
                   f"{np.mean([r['cpu_s'] for r in runs]):.0f} |")
    for k, truth in sa.items():
        seeds = sorted(truth)
        line = f"| stand-alone, seeds {', '.join(map(str, seeds))} | {k[2]} | {len(seeds)} | – | mean {np.mean(list(truth.values())):.3f} | "
        if len(seeds) >= 2:
            t = tau_ci(truth[seeds[0]], truth[seeds[1]])
            line += f"noise ceiling τ(seed {seeds[0]}, seed {seeds[1]}) = {t['tau']:.2f} ({t['ci95'][0]:.2f}, {t['ci95'][1]:.2f}) | – |"
        else: line += '– | – |'
        line += ' – |' * (2 if vs else 1)
        out.append(line)
    return '\n'.join(out)

def fidelity(rows, config):
    "The fidelity of `config` in detail: τ of each supernet seed and of their mean against the stand-alone mean, with intervals; the noise ceiling; both halves of the architectures"
    out = []
    for k in dict.fromkeys(_key(r) for r in rows if r['kind'] == 'supernet' and r['config'] == config):
        sa = {r['seed']: np.array(r['standalone']) for r in rows if r['kind'] == 'standalone' and _key(r) == k}
        sn = {r['seed']: np.array(r['inherited']) for r in rows if r['kind'] == 'supernet' and r['config'] == config and _key(r) == k}
        m, n = np.mean(list(sa.values()), 0), len(json.loads(k[4]))
        fmt = lambda t: f"{t['tau']:.2f} [{t['ci95'][0]:.2f}, {t['ci95'][1]:.2f}] (p {t['p_value']:.2g})"
        out.append(f"{config}, {n} architectures, {k[2]} px; stand-alone seeds {sorted(sa)}: mean {m.mean():.3f}, sd over architectures {m.std(ddof=1):.3f}")
        for s in sorted(sn): out.append(f"  τ(supernet seed {s}, stand-alone mean) = {fmt(tau_ci(sn[s], m))}")
        out.append(f"  τ(mean of {len(sn)} supernets, stand-alone mean) = {fmt(tau_ci(np.mean(list(sn.values()), 0), m))}")
        if len(sa) >= 2:
            a, b = (sa[s] for s in sorted(sa)[:2])
            out.append(f"  noise ceiling τ(stand-alone seed {sorted(sa)[0]}, seed {sorted(sa)[1]}) = {fmt(tau_ci(a, b))}")
        for name, sl in (('first', slice(0, n // 2)), ('second', slice(n // 2, n))):
            out.append(f"  {name} half: τ per supernet seed " + ', '.join(f'{kendall_tau(sn[s][sl], m[sl]):.2f}' for s in sorted(sn))
                       + (f"; ceiling {kendall_tau(a[sl], b[sl]):.2f}" if len(sa) >= 2 else ''))
    return '\n'.join(out)

def table(rows):
    key = _key
    truth = {key(r): r for r in rows if r['kind'] == 'standalone' and r['seed'] == 0}
    seeds = {}
    for r in rows:
        if r['kind'] == 'standalone': seeds.setdefault(key(r), []).append(r['standalone'])
    out = ['| config | epochs | images | size | mean inherited bal. acc. | stand-alone mean | gap | Kendall τ vs seed 0 (95% CI) | τ vs mean of stand-alone seeds (95% CI) | supernet CPU s |',
           '|---|---:|---:|---:|---:|---:|---:|---|---|---:|']
    for r in rows:
        if r['kind'] != 'supernet': continue
        t = truth.get(key(r))
        inh = np.array(r['inherited'])
        if t is not None:
            sa = np.array(t['standalone']); tau = tau_ci(inh, sa)
            ms = np.mean(seeds[key(r)], 0); tm = tau_ci(inh, ms)
            extra = (f"{sa.mean():.3f} | {inh.mean() - sa.mean():+.3f} | {tau['tau']:.2f} ({tau['ci95'][0]:.2f}, {tau['ci95'][1]:.2f}) | "
                     f"{tm['tau']:.2f} ({tm['ci95'][0]:.2f}, {tm['ci95'][1]:.2f}), {len(seeds[key(r)])} seeds")
        else: extra = '– | – | – | –'
        name = r['config'] if r['seed'] == 0 else f"{r['config']} (seed {r['seed']})"
        out.append(f"| {name} | {r['epochs']} | {r['n_train'] * 10} | {r['size']} | {inh.mean():.3f} | {extra} | {r['cpu_s']:.0f} |")
    for t in truth.values():
        out.append(f"| stand-alone ({len(t['archs'])} archs) | {t['epochs']} | {t['n_train'] * 10} | {t['size']} | – | "
                   f"{np.mean(t['standalone']):.3f} | – | – | – | {np.mean(t['cpu_s_each']):.0f} each |")
        for o in rows:   # the noise ceiling: the same architectures trained alone with another seed
            if o['kind'] == 'standalone' and o['seed'] != 0 and key(o) == key(t):
                tau = tau_ci(np.array(t['standalone']), np.array(o['standalone']))
                out.append(f"| stand-alone seed {o['seed']} vs seed 0 (noise ceiling) | {o['epochs']} | {o['n_train'] * 10} | {o['size']} | – | "
                           f"{np.mean(o['standalone']):.3f} | – | {tau['tau']:.2f} ({tau['ci95'][0]:.2f}, {tau['ci95'][1]:.2f}) | – | {np.mean(o['cpu_s_each']):.0f} each |")

    return '\n'.join(out)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--configs', nargs='*', default=[], help=f'of: {", ".join(CONFIGS)}')
    p.add_argument('--standalone', action='store_true', help='train the architectures alone (the ground truth)')
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--n-train', type=int, default=500, help='training images per class (balanced)')
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--archs', type=int, default=24)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--table', action='store_true')
    p.add_argument('--summary', action='store_true')
    p.add_argument('--fidelity', default=None, help='a configuration: its τ per seed with intervals, the noise ceiling and both halves of the architectures')
    p.add_argument('--vs', default=None, help='with --summary: the configuration each τ is compared with (paired bootstrap over architectures)')
    p.add_argument('--out', nargs='*', default=[str(OUT)], help='results file(s): the first is written, all are read by --table/--summary')
    a = p.parse_args()
    OUT = Path(a.out[0])
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    if a.table: print(table(load(a.out))); raise SystemExit
    if a.summary: print(summary(load(a.out), a.vs)); raise SystemExit
    if a.fidelity: print(fidelity(load(a.out), a.fidelity)); raise SystemExit
    train, test = data(a)
    archs = archs_of(a)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    todo = [('standalone', None)] * a.standalone + [('supernet', c) for c in a.configs]
    for kind, c in todo:
        r = run_standalone(a, train, test, archs) if kind == 'standalone' else run_config(c, a, train, test, archs)
        with OUT.open('a') as f: f.write(json.dumps(r) + '\n')
        if kind == 'supernet': print(summary([r] + [x for x in load(a.out) if x['kind'] == 'standalone']).splitlines()[2], flush=True)
