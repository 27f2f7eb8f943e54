"""IMB-NAS benchmarks: P1 against P3 wall time for the same epochs, and subnets evaluated per second in search.

    OMP_NUM_THREADS=1 python bench/imbnas.py [--epochs 10] [--width 0.5] [--device cpu]

1. P1 (frozen backbone, class-balanced head on cached per-path features) and P3 (whole supernet trained on
   the target with DRW) run for the same number of epochs on the same long-tailed target. The goal is
   P1 <= 1/20 of P3. Wall time is the adaptation only (`wall_time_s`); the scoring of sampled subnets
   afterwards is the same for both and is reported separately.
2. Search throughput: evolutionary search on the target, architectures scored per second, BN
   re-calibration (10 batches of 128) and validation on the held-out split included.
"""
import argparse, os, sys, time, tempfile, json, platform
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('NAS_LT_PROGRESS', '0')
import torch

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=10, help='epochs of both P1 and P3')
    p.add_argument('--width', type=float, default=0.5, help='mbv2 width multiplier of the supernet')
    p.add_argument('--n-train', type=int, default=500, help='head-class images of the synthetic target (ratio 100)')
    p.add_argument('--population', type=int, default=10); p.add_argument('--generations', type=int, default=2)
    p.add_argument('--device', default=None)
    p.add_argument('--json', default=None, help='also write the figures to this JSON file')
    a = p.parse_args(argv)
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    from nas_lt.supernet import Supernet
    from nas_lt.adapt import adapt, load_target
    from nas_lt.search import search
    d = Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    sn = Supernet('mbv2', 10, width=a.width)                      # the source supernet (weights do not matter for timing)
    sn.save(d/'src.pt')
    tgt = load_target('synthetic', 100, n_train=a.n_train, n_test=50)
    print(f'supernet: {sn}\ntarget: {tgt[0]}\ndevice: {a.device or "auto"}, torch threads {torch.get_num_threads()}, {platform.processor() or platform.machine()}')
    # warm-up (imports, allocator) so that neither run pays one-time costs
    adapt(d/'src.pt', tgt, 1, 'p1', epochs=1, eval_archs=1, n_bn=1, progress=False, device=a.device)
    res = {}
    for s in ('p1', 'p3'):
        _, m = adapt(d/'src.pt', tgt, 1, s, epochs=a.epochs, eval_archs=2, progress=False, device=a.device)
        res[s] = m
        print(f"{s}: {a.epochs} epochs, adaptation {m['wall_time_s']:.1f} s wall, {m['cpu_time_s']:.1f} s CPU "
              f"(scoring 2 subnets afterwards {m['eval_time_s']:.1f} s)"
              + (f", {m['n_paths']} cached paths" if m.get('n_paths') else ''))
    ratio = res['p3']['wall_time_s'] / res['p1']['wall_time_s']
    cratio = res['p3']['cpu_time_s'] / res['p1']['cpu_time_s']
    print(f"P1 / P3 wall time = 1/{ratio:.1f}, CPU time = 1/{cratio:.1f}  (goal: at most 1/20)")
    sn1, _ = adapt(d/'src.pt', tgt, 1, 'p1', epochs=2, eval_archs=1, out=d/'p1', progress=False, device=a.device)
    r = search(d/'p1'/'supernet.pt', tgt, 1, population=a.population, generations=a.generations, n_cross=a.population // 2,
               n_mut=a.population // 2, topk=max(2, a.population // 5), progress=False, device=a.device)
    from nas_lt.adapt import target_split
    n_val = len(target_split(tgt[0])[1])
    print(f"search: {r['n_evaluated']} subnets in {r['search_time_s']:.1f} s = {r['evals_per_s']:.2f} subnets/s "
          f"(each: BN re-calibration on 10 batches of 128 training images + the {n_val}-image validation split)")
    out = dict(epochs=a.epochs, width=a.width, p1_s=res['p1']['wall_time_s'], p3_s=res['p3']['wall_time_s'], p3_over_p1=ratio, p1_cpu_s=res['p1']['cpu_time_s'], p3_cpu_s=res['p3']['cpu_time_s'], p3_over_p1_cpu=cratio,
               p1_n_paths=res['p1']['n_paths'], search_evals=r['n_evaluated'], search_s=r['search_time_s'], evals_per_s=r['evals_per_s'])
    if a.json: Path(a.json).write_text(json.dumps(out, indent=2))
    return out

if __name__ == '__main__': main()
