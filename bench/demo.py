"""Wall time and peak memory of `nas-lt demo` (and `--quick`), each in a fresh process.

usage: python bench/demo.py [--quick] [--full]   (default: both)
Peak memory is the child's maximum resident set size (getrusage RUSAGE_CHILDREN), so it counts
everything the process touched: Python, torch, the data and the models.
"""
import resource, subprocess, sys, time, tempfile, os, shutil

def run(extra):
    out = tempfile.mkdtemp()
    cmd = [shutil.which('nas-lt') or 'nas-lt', 'demo', '--out', out, *extra]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'NAS_LT_PROGRESS': '0'})
    wall = time.time() - t0
    if r.returncode: print(r.stdout[-2000:], r.stderr[-2000:]); sys.exit(r.returncode)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB (Linux)
    shutil.rmtree(out, ignore_errors=True)
    return wall, peak

if __name__ == '__main__':
    modes = [a for a in sys.argv[1:] if a in ('--quick', '--full')] or ['--quick', '--full']
    import torch
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, cuda={torch.cuda.is_available()}')
    for m in modes:
        wall, peak = run(['--quick'] if m == '--quick' else [])
        print(f'nas-lt demo {m if m == "--quick" else ""}: wall {wall:.1f} s, peak RSS {peak:.0f} MiB')
