"Tests of nas_lt.data: image folders, CIFAR loading, errors, synthetic data, samplers and batches (fast, CPU)"
import os, pickle
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import numpy as np, pytest, torch
from PIL import Image
from nas_lt.core import LTError
from nas_lt.data import (lt_counts, LTData, make_synthetic, long_tailed, get_data, load_cifar, read_image_folder,
                         stratified_split, get_sampler, SAMPLERS, Augment, BatchLoader)

torch.set_num_threads(1)

def _write_pngs(folder, spec, shape=(20, 30)):
    "Write PNGs: spec = {class: n_images}; image i of class k has pixel value 10*k + i"
    for k, (c, n) in enumerate(spec.items()):
        (folder/c).mkdir(parents=True, exist_ok=True)
        for i in range(n): Image.fromarray(np.full((*shape, 3), 10*k + i, np.uint8)).save(folder/c/f'{i}.png')

# --- image folders -----------------------------------------------------------------------------------------------

def test_folder_train_test(tmp_path):
    _write_pngs(tmp_path/'train', {'ant': 5, 'bee': 3})
    _write_pngs(tmp_path/'test', {'ant': 2, 'bee': 1})
    tr, te = get_data(str(tmp_path), size=8)
    assert tr.classes == te.classes == ['ant', 'bee']
    assert (tr.counts, te.counts) == ([5, 3], [2, 1])       # natural distribution kept
    assert tr.x.shape == (8, 3, 8, 8) and tr.x.dtype == torch.uint8
    # the resized image keeps the pixel value it was written with (uniform images)
    assert tr.x[tr.y == 1][2].unique().tolist() == [12]
    tr2, _ = get_data(str(tmp_path), imb_ratio=5, size=8)   # a ratio makes it long-tailed
    assert tr2.counts == lt_counts(5, 2, 5)

def test_folder_split_and_resize(tmp_path):
    _write_pngs(tmp_path, {'a': 10, 'b': 4, 'c': 1}, shape=(40, 24))
    tr, te = get_data(str(tmp_path), size=16)
    assert tr.image_size == 16 and te.image_size == 16
    assert (tr.counts, te.counts) == ([8, 3, 1], [2, 1, 0])  # 80/20 per class; a single image stays in train
    assert sorted(torch.cat([tr.x, te.x])[:, 0, 0, 0].tolist()) == sorted([i for i in range(10)] + [10 + i for i in range(4)] + [20])

def test_folder_test_classes_must_match(tmp_path):
    _write_pngs(tmp_path/'train', {'a': 2})
    _write_pngs(tmp_path/'test', {'a': 1, 'zebra': 1})
    with pytest.raises(LTError, match='zebra'): get_data(str(tmp_path))

def test_folder_errors(tmp_path):
    with pytest.raises(LTError, match='image folder not found'): get_data(str(tmp_path/'nope'))
    (tmp_path/'empty_root').mkdir()
    with pytest.raises(LTError, match='no class folders'): get_data(str(tmp_path/'empty_root'))
    _write_pngs(tmp_path/'d', {'a': 2}); (tmp_path/'d'/'b').mkdir()
    with pytest.raises(LTError, match=r'class folder .*b has no images'): get_data(str(tmp_path/'d'))
    (tmp_path/'d'/'b'/'broken.jpg').write_bytes(b'\x00garbage')
    with pytest.raises(LTError, match=r'cannot read image .*broken\.jpg'): get_data(str(tmp_path/'d'))

def test_bad_names_and_ratios():
    with pytest.raises(LTError, match="unknown dataset 'mnist'"): get_data('mnist')
    with pytest.raises(LTError, match='ratio must be >= 1'): get_data('synthetic', imb_ratio=0.5)
    with pytest.raises(LTError, match='ratio must be >= 1'): lt_counts(100, 10, 0)
    with pytest.raises(LTError, match='unknown profile'): get_data('synthetic', profile='linear')

# --- CIFAR ---------------------------------------------------------------------------------------------------------

def test_cifar_absent(tmp_path):
    with pytest.raises(LTError, match=f'CIFAR-10 not found in {tmp_path}; pass --download or put cifar-10-batches-py there'):
        get_data('cifar10', root=tmp_path)
    with pytest.raises(LTError, match='CIFAR-100 not found'): get_data('cifar100', root=tmp_path)

def _pickle(path, d):
    with open(path, 'wb') as f: pickle.dump(d, f)

def _fake_cifar10(root, per_batch_per_class=2, n_test=3, C=10):
    "Tiny files in torchvision's CIFAR-10 pickle format, 5 training batches"
    d = root/'cifar-10-batches-py'; d.mkdir(parents=True)
    rng = np.random.RandomState(1)
    for b in range(1, 6):
        y = rng.permutation(np.repeat(np.arange(C), per_batch_per_class))
        i = np.arange(len(y)) + (b - 1) * len(y)   # red = label, green = global index: every image is unique
        data = np.concatenate([np.repeat(y[:, None], 1024, 1), np.repeat(i[:, None], 2048, 1)], 1).astype(np.uint8)
        _pickle(d/f'data_batch_{b}', {'data': data, 'labels': y.tolist()})
    y = np.repeat(np.arange(C), n_test)
    _pickle(d/'test_batch', {'data': np.repeat(y[:, None], 3072, 1).astype(np.uint8), 'labels': y.tolist()})
    _pickle(d/'batches.meta', {'label_names': [f'class{i}' for i in range(C)]})

@pytest.fixture
def no_md5(monkeypatch):
    # torchvision checks the md5 sums of the real CIFAR files (in _check_integrity and _load_meta, both through
    # torchvision.datasets.cifar.check_integrity); our tiny stand-in files cannot match them, so accept any file
    # that exists. Everything else (paths, unpickling, labels, class names) is torchvision's real code.
    import torchvision.datasets.cifar as tvc
    monkeypatch.setattr(tvc, 'check_integrity', lambda fpath, md5=None: os.path.isfile(fpath))

def test_cifar10_present(tmp_path, no_md5):
    _fake_cifar10(tmp_path)
    tr = load_cifar('cifar10', tmp_path, train=True)
    assert (len(tr), tr.counts, tr.classes[:2]) == (100, [10] * 10, ['class0', 'class1'])
    assert (tr.x[:, 0, 0, 0] == tr.y.to(torch.uint8)).all()        # image i really belongs to its label
    assert torch.equal(tr.x[:, 1, 0, 0], torch.arange(100, dtype=torch.uint8))   # in file order
    tr, te = get_data('cifar10', imb_ratio=10, root=tmp_path)
    assert tr.counts == lt_counts(10, 10, 10)                        # img_max = len(train) / C
    assert te.counts == [3] * 10                                     # balanced test set
    # the LDAM-DRW selection: np.random.seed(0), then per class shuffle its indices and keep the first n
    full = load_cifar('cifar10', tmp_path, train=True).y.numpy()
    np.random.seed(0); keep = []
    for c, n in enumerate(lt_counts(10, 10, 10)):
        idx = np.where(full == c)[0]; np.random.shuffle(idx); keep.append(idx[:n])
    lt = long_tailed(load_cifar('cifar10', tmp_path), 10)
    ref = load_cifar('cifar10', tmp_path).subset(torch.from_numpy(np.sort(np.concatenate(keep))))
    assert torch.equal(lt.y, ref.y) and torch.equal(lt.x, ref.x)
    tr64, _ = get_data('cifar10', root=tmp_path, size=16, n_train=4, n_test=1)
    assert (tr64.image_size, tr64.counts, len(_)) == (16, [4] * 10, 10)

def test_cifar100_present(tmp_path, no_md5):
    d = tmp_path/'cifar-100-python'; d.mkdir()
    y = np.repeat(np.arange(100), 3)
    _pickle(d/'train', {'data': np.zeros((300, 3072), np.uint8), 'fine_labels': y.tolist(), 'coarse_labels': [0]*300})
    _pickle(d/'test', {'data': np.zeros((100, 3072), np.uint8), 'fine_labels': list(range(100)), 'coarse_labels': [0]*100})
    _pickle(d/'meta', {'fine_label_names': [f'c{i}' for i in range(100)], 'coarse_label_names': ['x']})
    tr, te = get_data('cifar100', imb_ratio=3, root=tmp_path)
    assert tr.counts == lt_counts(3, 100, 3) and len(te) == 100 and tr.classes[5] == 'c5'

def test_cifar_corrupted(tmp_path):
    (tmp_path/'cifar-10-batches-py').mkdir()   # folder there, files missing, md5 check real
    with pytest.raises(LTError, match='incomplete or corrupted'): get_data('cifar10', root=tmp_path)

# --- synthetic -------------------------------------------------------------------------------------------------------

def test_synthetic_deterministic():
    a, at = make_synthetic(4, 20, 5, seed=3)
    b, bt = make_synthetic(4, 20, 5, seed=3)
    assert torch.equal(a.x, b.x) and torch.equal(at.x, bt.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, make_synthetic(4, 20, 5, seed=4)[0].x)
    assert not torch.equal(a.x[:5], at.x[:5])                 # train and test are different images
    assert a.x.shape == (80, 3, 32, 32) and a.counts == [20] * 4 and len(set(a.classes)) == 4
    # classes are visually different: per-class mean images differ clearly
    means = torch.stack([a.x[a.y == c].float().mean(0) for c in range(4)])
    assert torch.cdist(means.flatten(1), means.flatten(1)).fill_diagonal_(1e9).min() > 50

def test_synthetic_get_data_lt():
    tr, te = get_data('synthetic', imb_ratio=50, n_train=100, n_test=4, seed=1)
    assert tr.counts == lt_counts(100, 10, 50) and te.counts == [4] * 10
    tr100, _ = get_data('synthetic100', n_train=2, n_test=1)
    assert tr100.n_classes == 100 and len(set(tr100.classes)) == 100

def test_stratified_split_keeps_every_class():
    tr, _ = get_data('synthetic', imb_ratio=100, n_train=100, n_test=1)   # tail class: 1 image
    a, b = stratified_split(tr, 0.5, seed=0)
    assert [x + y for x, y in zip(a.counts, b.counts)] == tr.counts
    assert all(a.counts[c] > 0 and (b.counts[c] > 0 or tr.counts[c] == 1) for c in range(10))

# --- samplers ----------------------------------------------------------------------------------------------------------

def test_sampler_distributions():
    counts = [400, 100, 25, 4]
    y = torch.arange(4).repeat_interleave(torch.tensor(counts))
    n = 40000
    freq = {k: torch.bincount(y[get_sampler(k, y, seed=0).indices(0, n)], minlength=4).float() / n for k in SAMPLERS}
    c = torch.tensor(counts, dtype=torch.float)
    torch.testing.assert_close(freq['instance'], c / c.sum(), atol=0.01, rtol=0)
    torch.testing.assert_close(freq['class_balanced'], torch.full((4,), 0.25), atol=0.01, rtol=0)
    torch.testing.assert_close(freq['sqrt'], c.sqrt() / c.sqrt().sum(), atol=0.01, rtol=0)
    torch.testing.assert_close(freq['reversed'], (1 / c) / (1 / c).sum(), atol=0.01, rtol=0)
    assert freq['reversed'][-1] > freq['reversed'][0] * 50           # reversed favours the tail
    s = get_sampler('reversed', y, seed=5)
    assert torch.equal(s.indices(2), s.indices(2)) and not torch.equal(s.indices(2), s.indices(3))
    assert torch.equal(get_sampler('instance', y).indices(0).sort().values, torch.arange(len(y)))

# --- augmentation and batches -------------------------------------------------------------------------------------------

def test_augment_crop_flip_matches_reference():
    "Each augmented image equals a window of the zero-padded image, flipped or not"
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = Augment(pad=2, flip=True, mean=(0, 0, 0), std=(1/255,)*3)(x, generator=torch.Generator().manual_seed(0))
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2)).float()
    flips = 0
    for i in range(16):
        wins = [xp[i, :, a:a+8, b:b+8] for a in range(5) for b in range(5)]
        plain = any(torch.equal(out[i], w) for w in wins); flipped = any(torch.equal(out[i], w.flip(2)) for w in wins)
        assert plain or flipped
        flips += flipped and not plain
    assert 0 < flips < 16

def test_batchloader_eval_and_determinism():
    tr, te = make_synthetic(3, 10, 7)
    ev = BatchLoader(te, 5, sampler=None)
    ys = [y for _, y in ev]
    assert len(ev) == len(ys) == 5 and torch.equal(torch.cat(ys), te.y)   # sequential, last batch kept
    dl = BatchLoader(tr, 8, 'instance', augment=True, seed=0)
    assert len(dl) == 3 and len(list(dl)) == 3                             # drop_last when training
    a = [x for x, _ in dl]; b = [x for x, _ in dl]
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    dl.set_epoch(1); assert not torch.equal(next(iter(dl))[0], a[0])

@pytest.mark.parametrize('ws', [2, 3])
def test_batchloader_ddp_shards(ws):
    tr, te = make_synthetic(3, 11, 5)    # 33 images: not a multiple of ws
    loaders = [BatchLoader(tr, 4, 'instance', seed=1, rank=r, world_size=ws) for r in range(ws)]
    assert len({len(l) for l in loaders}) == 1                             # same number of batches on each rank
    assert len({len(list(l)) for l in loaders}) == 1
    shards = [l.epoch_indices() for l in loaders]
    assert torch.cat(shards).unique().numel() == len(tr)                  # together they cover the epoch
    full = BatchLoader(tr, 4, 'instance', seed=1).epoch_indices()
    assert torch.equal(shards[0], torch.cat([full, full[:(-len(full)) % ws]])[0::ws])
    ev = [BatchLoader(te, 4, None, rank=r, world_size=ws) for r in range(ws)]
    assert sorted(torch.cat([l.epoch_indices() for l in ev]).tolist()) == list(range(len(te)))  # each test image once
    assert sum(len(l) for l in ev) == sum(len(list(l)) for l in ev)
