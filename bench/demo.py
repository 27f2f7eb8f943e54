"""Wall time and peak memory of `nas-lt demo` (and `--quick`), each in a fresh process.

usage: python bench/demo.py [--quick | --full]   (default: both, one after the other)
Peak memory is the demo process's maximum resident set size (getrusage RUSAGE_CHILDREN of a
wrapper that runs only that one demo), so it counts everything the run touched: Python, torch,
the data and the models.
"""
import resource, subprocess, sys, time, tempfile, os, shutil

def run(quick:bool):
    out = tempfile.mkdtemp()
    cmd = [sys.executable, '-m', 'nas_lt.cli', 'demo', '--out', out] + (['--quick'] if quick else [])
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'NAS_LT_PROGRESS': '0'})
    wall = time.time() - t0
    if r.returncode: print(r.stdout[-2000:], r.stderr[-2000:]); sys.exit(r.returncode)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB (Linux)
    parts = [l for l in r.stdout.splitlines() if l.startswith('## ')]
    shutil.rmtree(out, ignore_errors=True)
    return wall, peak, parts

if __name__ == '__main__':
    modes = [a for a in sys.argv[1:] if a in ('--quick', '--full')]
    if len(modes) != 1:   # one wrapper process per mode, so that each peak is its own
        for m in modes or ['--quick', '--full']: subprocess.run([sys.executable, __file__, m], check=True)
        sys.exit(0)
    import torch
    wall, peak, parts = run(modes[0] == '--quick')
    print(f'nas-lt demo {"--quick" if modes[0] == "--quick" else "(full)"}: wall {wall:.1f} s, peak RSS {peak:.0f} MiB '
          f'(torch {torch.__version__}, {torch.get_num_threads()} threads, cuda={torch.cuda.is_available()})')
    for p in parts: print('   ', p[3:])
