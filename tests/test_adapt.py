"Adaptation P0-P3 on tiny synthetic data: what each trains, files written, errors, and P2 under torchrun (2 CPU processes)."
import os, subprocess, sys, json, shutil
from pathlib import Path
import pytest, torch
from nas_lt.core import LTError, load_json
from nas_lt.adapt import adapt, get_strategy, fit_head, target_split, load_target, default_paths
from nas_lt.evaluate import bn_batches, evaluate_archs, batches
from nas_lt.supernet import train_supernet, load_supernet, Supernet

KW = dict(n_train=40, n_test=10)
SPACE = dict(width=0.25, depths=(1, 1, 1, 1), strides=(2, 2, 2, 1), last=32)

@pytest.fixture(scope='module')
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp('src')
    train_supernet('synthetic', 1, 'mbv2', epochs=1, out=d, space_kw=SPACE, valid=False, progress=False, **KW, batch_size=64, seed=5)
    return d/'supernet.pt'

def _bb(sn): return dict(sn.backbone.named_parameters())

def test_p1_trains_only_the_head(src, tmp_path):
    sn0 = load_supernet(src)
    sn, m = adapt(src, 'synthetic', 10, 'p1', epochs=2, out=tmp_path, eval_archs=2, n_bn=1, batch_size=64, progress=False, **KW)
    assert all(torch.equal(v, _bb(sn)[k]) for k, v in _bb(sn0).items())
    assert not torch.equal(sn0.head.weight, sn.head.weight)
    assert (tmp_path/'supernet.pt').exists() and load_json(tmp_path/'metrics.json')['strategy'] == 'p1'
    for k in ('accuracy', 'balanced_accuracy', 'many_shot', 'medium_shot', 'few_shot', 'wall_time_s', 'eval_time_s'): assert k in m
    assert len(m['per_arch']) == 2 and 0 <= m['balanced_accuracy'] <= 1
    assert m['n_paths'] == default_paths(2) and m['epochs'] == 2

def test_p1_head_learns_on_cached_features(src):
    "The head fitted on cached features lowers the class-balanced loss and beats chance on its training data"
    sn = load_supernet(src).replace_head(10)
    train, _ = load_target('synthetic', 1, n_train=40, n_test=1)
    archs = [sn.sample() for _ in range(2)]
    bn = bn_batches(train, 2, 64)
    h = fit_head(sn, train, archs, epochs=30, lr=0.1, milestones=(), bn=bn, batch_size=64, show_progress=False)
    assert h[-1]['loss'] < h[0]['loss'] - 0.03
    ev = evaluate_archs(sn, archs, bn, list(batches(train, 128)), train.counts)
    assert ev['mean']['accuracy'] > 0.15   # chance: 0.1 (a 1-epoch supernet has weak features)

def test_p0_keeps_everything_and_p3_starts_fresh(src, tmp_path):
    sn0 = load_supernet(src)
    sn, m = adapt(src, 'synthetic', 10, 'p0', out=tmp_path/'p0', eval_archs=1, n_bn=1, progress=False, **KW)
    assert all(torch.equal(v, sn.state_dict()[k]) for k, v in sn0.state_dict().items() if 'running' not in k and 'num_batches' not in k)
    assert m['epochs'] == 0 and m['accuracy'] is not None
    sn3, m3 = adapt(src, 'synthetic', 10, 'p3', epochs=1, out=tmp_path/'p3', eval_archs=1, n_bn=1, batch_size=64, progress=False, **KW)
    assert not any(torch.equal(v, _bb(sn3)[k]) for k, v in _bb(sn0).items() if v.dim() > 1)
    assert (tmp_path/'p3'/'supernet.pt').exists()

def test_p2_fine_tunes_from_the_source(src, tmp_path):
    sn0 = load_supernet(src)
    sn, m = adapt(src, 'synthetic', 10, 'p2', epochs=1, out=tmp_path, eval_archs=1, n_bn=1, batch_size=64, progress=False, **KW)
    assert m['lr'] == get_strategy('p2').lr == 0.01
    changed = [k for k, v in _bb(sn0).items() if not torch.equal(v, _bb(sn)[k])]
    assert changed and len(changed) < len(_bb(sn0))   # sampled paths moved, the rest kept their source weights

def test_other_classes_p0_has_no_metrics(src):
    from nas_lt.data import make_synthetic
    sn, m = adapt(src, make_synthetic(5, 12, 4), 1, 'p0', eval_archs=1, progress=False)
    assert m['accuracy'] is None and 'P0 is scored by searching on the source' in m['note']

def test_bad_input(src, tmp_path):
    with pytest.raises(LTError, match="unknown adaptation strategy 'p9'; choose one of: p0, p1, p2, p3"): adapt(src, 'synthetic', 10, 'p9')
    with pytest.raises(LTError, match='images are 16x16'): adapt(src, 'synthetic', 10, 'p1', size=16, **KW)
    with pytest.raises(LTError, match='--epochs must be >= 1, got 0'): adapt(src, 'synthetic', 10, 'p1', epochs=0)
    with pytest.raises(LTError, match='not found'): adapt(tmp_path/'none.pt', 'synthetic', 10, 'p1')
    st = torch.load(src, weights_only=False); st['version'] = 99; torch.save(st, tmp_path/'v99.pt')
    with pytest.raises(LTError, match='format version 99'): adapt(tmp_path/'v99.pt', 'synthetic', 10, 'p1')
    with pytest.raises(LTError, match='val_frac'): target_split(load_target('synthetic', 1, **KW)[0], 1.5)

SCRIPT = r'''
import sys, json, torch
from nas_lt.adapt import adapt
from nas_lt.core import rank
sn, m = adapt(sys.argv[1], 'synthetic', 10, 'p2', epochs=1, out=sys.argv[2], eval_archs=1, n_bn=1, batch_size=32,
              progress=False, n_train=40, n_test=10)
torch.save({k: v for k, v in sn.state_dict().items()}, f"{sys.argv[2]}/rank{rank()}.pt")
'''

def test_p2_under_torchrun(src, tmp_path):
    (tmp_path/'run.py').write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'NAS_LT_PROGRESS': '0', 'CUDA_VISIBLE_DEVICES': ''}
    torchrun = Path(sys.executable).parent/'torchrun'
    r = subprocess.run([str(torchrun), '--nproc_per_node', '2', '--master_port', '29531', str(tmp_path/'run.py'), str(src), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    m = load_json(tmp_path/'metrics.json')
    assert m['world_size'] == 2 and m['strategy'] == 'p2'
    s0, s1 = torch.load(tmp_path/'rank0.pt'), torch.load(tmp_path/'rank1.pt')
    assert all(torch.allclose(s0[k].float(), s1[k].float()) for k in s0 if 'running' not in k and 'num_batches' not in k)
