"""Cost of the long-tail losses, the metrics and the widget figures.

Run: OMP_NUM_THREADS=1 python bench/losses_metrics.py
Prints markdown tables: forward+backward time of every registered loss against bare F.cross_entropy
(batch 128, 10 and 100 classes, CPU), metric times on 10,000 predictions, and the build time and HTML
size of the static widget figures.
"""
import os, time, math
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
import torch.nn.functional as F
torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
from nas_lt.losses import LOSSES, get_loss
from nas_lt.metrics import lt_metrics, confusion_matrix
from nas_lt.stats import kendall_tau, spearman_rho
from nas_lt.core import fig_html, md_table
from nas_lt.data import lt_counts


def timeit(f, reps):
    f()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps): f()
    return (time.perf_counter() - t0) / reps


def bench_losses(reps=300, batch=128):
    rows = []
    for C in (10, 100):
        counts = lt_counts(500, C, 100)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(batch, C, generator=g, requires_grad=True)
        y = torch.randint(0, C, (batch,), generator=g)
        def bare():
            x.grad = None; F.cross_entropy(x, y).backward()
        base = timeit(bare, reps)
        rows.append({'classes': C, 'loss': 'F.cross_entropy (bare)', 'us/call': base * 1e6, 'vs bare': 1.0})
        for name in LOSSES:
            loss = get_loss(name, counts, **({'drw': True} if name == 'ldam' else {}))
            loss.set_epoch(199, 200)  # DRW weights on
            def step():
                x.grad = None; loss(x, y).backward()
            t = timeit(step, reps)
            rows.append({'classes': C, 'loss': name, 'us/call': t * 1e6, 'vs bare': t / base})
    return rows


def bench_metrics(n=10_000, C=100, reps=20):
    g = torch.Generator().manual_seed(0)
    p, t = torch.randint(0, C, (n,), generator=g), torch.randint(0, C, (n,), generator=g)
    counts = lt_counts(500, C, 100)
    a, b = torch.rand(1000, generator=g).numpy(), torch.rand(1000, generator=g).numpy()
    return [{'metric': 'lt_metrics (10k preds, 100 classes)', 'ms': timeit(lambda: lt_metrics(p, t, counts), reps) * 1e3},
            {'metric': 'confusion_matrix (10k preds, 100 classes)', 'ms': timeit(lambda: confusion_matrix(p, t, C), reps) * 1e3},
            {'metric': 'kendall_tau (1000 architectures)', 'ms': timeit(lambda: kendall_tau(a, b), 5) * 1e3},
            {'metric': 'spearman_rho (1000 architectures)', 'ms': timeit(lambda: spearman_rho(a, b), reps) * 1e3}]


def bench_figures():
    from nas_lt.widgets import imbalance_figure, lr_figure
    rows = []
    for name, make in (('imbalance_figure()', imbalance_figure), ('lr_figure()', lr_figure)):
        t0 = time.perf_counter(); fig = make(); t = time.perf_counter() - t0
        rows.append({'figure': name, 'build s': t, 'HTML KiB (show)': len(fig_html(fig).encode()) / 1024})
    return rows


if __name__ == '__main__':
    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, device cpu\n')
    print(md_table(bench_losses(), floatfmt='{:.2f}'), '\n')
    print(md_table(bench_metrics(), floatfmt='{:.2f}'), '\n')
    print(md_table(bench_figures(), floatfmt='{:.2f}'))
