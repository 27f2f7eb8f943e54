"""Batch pipeline benchmark: nas_lt's whole-batch augmentation on the device against torchvision's per-image
PIL transforms in a DataLoader, on the same 32x32 uint8 images.

    OMP_NUM_THREADS=1 python bench/batch_pipeline.py [--rounds 5] [--device cpu|cuda] [--n 500]

Both pipelines do the same work per training image: random crop 32 with 4 pixels of zero padding, random
horizontal flip, conversion to float and normalisation, in batches of 128, over a shuffled epoch.
The pipelines take turns, one epoch each per round, so that load from other processes on a shared machine
hits them alike; printed: images/s of each (best and median epoch) and the speed-up.
"""
import argparse, os, time, sys
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import torch
from nas_lt.data import make_synthetic, BatchLoader, Augment, CIFAR_MEAN, CIFAR_STD

class PILDataset(torch.utils.data.Dataset):
    "What torchvision.datasets.CIFAR10 does per item: a HWC uint8 array -> PIL image -> transform"
    def __init__(self, x, y, transform):
        self.data, self.targets, self.transform = x.permute(0, 2, 3, 1).contiguous().numpy(), y.tolist(), transform
    def __len__(self): return len(self.targets)
    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.data[i])), self.targets[i]

def _epoch_ips(make_iter, e, sync):
    "Images/s of one full pass (all batches consumed)"
    t, n = time.perf_counter(), 0
    for xb, yb in make_iter(e): n += len(xb)
    sync()
    return n / (time.perf_counter() - t)

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rounds', type=int, default=5, help='rounds; each times one epoch of every pipeline, interleaved')
    p.add_argument('--n', type=int, default=500, help='synthetic images per class (10 classes)')
    p.add_argument('--device', default=None)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--workers', type=int, nargs='*', default=[0, 2])
    a = p.parse_args()
    import torchvision.transforms as T
    tr, _ = make_synthetic(10, a.n, 1)
    dev = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    sync = (lambda: torch.cuda.synchronize()) if dev.type == 'cuda' else (lambda: None)
    print(f'{len(tr)} images 3x32x32, batch {a.batch_size}, device {dev}, torch threads {torch.get_num_threads()}, '
          f'cpus {os.cpu_count()}, {a.rounds} interleaved rounds')
    pipes = {}
    dl = BatchLoader(tr, a.batch_size, 'instance', augment=Augment(pad=4, flip=True), device=dev, drop_last=False)
    def ours(e): dl.set_epoch(e); return iter(dl)
    pipes['nas_lt BatchLoader + Augment (whole batch)'] = ours
    aug, x = Augment(pad=4, flip=True), tr.x.to(dev)
    def aug_only(e):
        g = torch.Generator().manual_seed(e)
        for i in range(0, len(x), a.batch_size): yield aug(x[i:i+a.batch_size], generator=g), None
    pipes['nas_lt Augment alone (pads each batch)'] = aug_only
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)])
    ds = PILDataset(tr.x, tr.y, tf)
    for w in a.workers:
        tdl = torch.utils.data.DataLoader(ds, a.batch_size, shuffle=True, num_workers=w, persistent_workers=w > 0,
                                          pin_memory=dev.type == 'cuda')
        pipes[f'torchvision PIL transforms + DataLoader(num_workers={w})'] = (
            lambda e, tdl=tdl: ((xb.to(dev, non_blocking=True), yb) for xb, yb in tdl))
    for f in pipes.values(): _epoch_ips(f, 0, sync)   # warm-up: workers started, images on the device
    res = {k: [] for k in pipes}
    for r in range(a.rounds):
        for k, f in pipes.items(): res[k].append(_epoch_ips(f, r + 1, sync))
    best = {k: max(v) for k, v in res.items()}; med = {k: sorted(v)[len(v)//2] for k, v in res.items()}
    ref = max(v for k, v in best.items() if k.startswith('torchvision'))
    refm = max(v for k, v in med.items() if k.startswith('torchvision'))
    print("\n| pipeline | images/s (best epoch) | images/s (median) | speed-up vs best torchvision (best / median) |")
    print("|---|---:|---:|---:|")
    for k in pipes: print(f'| {k} | {best[k]:,.0f} | {med[k]:,.0f} | {best[k]/ref:.1f}x / {med[k]/refm:.1f}x |')
    return res

if __name__ == '__main__':
    main()
