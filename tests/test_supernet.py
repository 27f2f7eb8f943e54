import os, random, subprocess, sys, textwrap
os.environ.setdefault('NAS_LT_PROGRESS', '0')
from pathlib import Path
import pytest, torch
import torch.nn.functional as F
from nas_lt.core import LTError, atomic_save, save_json, load_json, set_seed
from nas_lt.supernet import (SPACES, Supernet, PathSampler, recalibrate_bn, load_supernet, count_macs, count_params,
                             build_subnet_from_json, save_arch_json, train_supernet, NB201Space)

TINY = dict(mbv2=dict(width=0.25, depths=(1, 2, 2, 1), last=32), nb201=dict(C=8, N=1))


def tiny(space, n_classes=5, seed=0):
    torch.manual_seed(seed)
    return Supernet(space, n_classes=n_classes, **TINY[space])


def test_registry():
    assert {'mbv2', 'nb201'} <= set(SPACES)
    with pytest.raises(LTError, match="unknown space 'darts9'"): Supernet('darts9')


@pytest.mark.parametrize('space', ['mbv2', 'nb201'])
def test_extract_equals_active_path(space):
    sn = tiny(space)
    x = torch.randn(4, 3, 32, 32)
    rng = random.Random(0)
    archs = [sn.sample(rng) for _ in range(4)] + [sn.space.max_arch(), sn.space.min_arch()]
    for a in archs:
        sub = sn.extract(a)
        sn.set_active(a)
        for train in (True, False):
            sn.train(train); sub.train(train)
            with torch.no_grad(): assert torch.equal(sub(x), sn(x)), (a, train)
    # gradients of the inherited weights are the same too
    a = archs[0]; sn.set_active(a).train(); sub = sn.extract(a).train()
    y = torch.tensor([0, 1, 2, 3])
    F.cross_entropy(sn(x), y).backward(); F.cross_entropy(sub(x), y).backward()
    assert torch.equal(sn.head.weight.grad, sub.head.weight.grad)
    # the copy is independent: changing it leaves the supernet untouched
    with torch.no_grad(): sub.head.weight.add_(1)
    assert not torch.equal(sub.head.weight, sn.head.weight)


def test_macs_monotonic_and_exact():
    sn = Supernet('mbv2', n_classes=10)
    base = sn.space.max_arch()
    for pos, cs in enumerate(sn.choices):
        f = lambda c: sn.macs(base[:pos] + (c,) + base[pos + 1:])
        p = lambda c: sn.params(base[:pos] + (c,) + base[pos + 1:])
        for e in (3, 6):
            assert f(f'k3e{e}') < f(f'k5e{e}') < f(f'k7e{e}')
            assert p(f'k3e{e}') < p(f'k5e{e}') < p(f'k7e{e}')
        for k in (3, 5, 7): assert f(f'k{k}e3') < f(f'k{k}e6')
        if 'skip' in cs: assert f('skip') < f('k3e3')
    assert sn.macs(sn.space.min_arch()) < sn.macs(sn.sample(random.Random(0))) < sn.macs(sn.space.max_arch())
    for a in [sn.sample(random.Random(i)) for i in range(3)]:
        sub = sn.extract(a)
        assert sn.macs(a) == count_macs(sub) and sn.params(a) == count_params(sub)
    # the head belongs to the dataset: its cost follows replace_head
    before = sn.macs(base)
    sn.replace_head(100)
    assert sn.macs(base) - before == 90 * sn.head.in_features


def test_nb201_costs_match_benchmark():
    sn = Supernet('nb201', n_classes=10)          # NATS-Bench CIFAR-10: 7.78 - 220.11 MMACs, 0.07 - 1.53 M params
    assert abs(sn.macs(('nor_conv_3x3',) * 6) / 1e6 - 220.11) < 0.02
    assert abs(sn.macs(('none',) * 6) / 1e6 - 7.78) < 0.02
    assert abs(sn.params(('nor_conv_3x3',) * 6) / 1e6 - 1.53) < 0.005
    a = ('nor_conv_1x1', 'avg_pool_3x3', 'skip_connect', 'none', 'nor_conv_3x3', 'none')
    assert sn.macs(a) == count_macs(sn.extract(a))


def test_nb201_strings():
    s = NB201Space()
    a = ('avg_pool_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_1x1', 'skip_connect', 'skip_connect')
    txt = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'
    assert s.to_str(a) == txt and s.from_str(txt) == a
    for bad in ['|avg_pool_3x3~0|', '|a~0|+|b~0|c~2|+|d~0|e~1|f~2|', 'x']:
        with pytest.raises(LTError, match='not a NAS-Bench-201'): s.from_str(bad)


def test_strict_fair_coverage():
    sn = tiny('mbv2')
    lens = {len(c) for c in sn.choices}
    assert lens == {6, 7}
    ps = PathSampler(sn.choices, 'fair', seed=1)
    paths = [ps() for _ in range(84)]
    for pos, cs in enumerate(sn.choices):
        m = len(cs)
        for s in range(0, 84, m):
            assert sorted(p[pos] for p in paths[s:s + m]) == sorted(cs)
    # nb201: all 5 ops of every edge within each block of 5 steps
    ps = PathSampler(tiny('nb201').choices, 'fair', seed=0)
    for _ in range(3):
        block = [ps() for _ in range(5)]
        assert all(len({p[e] for p in block}) == 5 for e in range(6))


def test_uniform_sampler_seeded_and_resumable():
    sn = tiny('mbv2')
    a = PathSampler(sn.choices, 'uniform', 7); b = PathSampler(sn.choices, 'uniform', 7)
    first = [a() for _ in range(20)]
    assert first == [b() for _ in range(20)]
    st = a.state_dict(); nxt = [a() for _ in range(5)]
    c = PathSampler(sn.choices, 'uniform', 0); c.load_state_dict(st)
    assert [c() for _ in range(5)] == nxt
    assert len(set(first)) > 15
    with pytest.raises(LTError, match='unknown path sampling'): PathSampler(sn.choices, 'random')
    with pytest.raises(LTError, match="sampled with 'uniform', not 'fair'"): PathSampler(sn.choices, 'fair').load_state_dict(st)


def test_validate_arch():
    sn = tiny('mbv2')
    a = sn.sample(random.Random(0))
    assert sn.validate_arch(list(a)) == a                # JSON lists are accepted
    with pytest.raises(LTError, match='has 3 positions'): sn.set_active(a[:3])
    with pytest.raises(LTError, match="'k4e6' is not a choice"): sn.set_active(('k4e6',) + a[1:])
    with pytest.raises(LTError, match="'skip' is not a choice"): sn.macs(('k3e3', 'skip') + a[2:])  # stride-2 layer
    with pytest.raises(LTError, match='tuple/list'): sn.set_active(5)


def test_save_load_round_trip_and_errors(tmp_path):
    sn = tiny('nb201', n_classes=7)
    sn.set_active(('nor_conv_3x3', 'skip_connect', 'none', 'avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3')).eval()
    sn.save(tmp_path/'sn.pt')
    sn2 = load_supernet(tmp_path/'sn.pt').eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad(): assert torch.equal(sn(x), sn2(x))
    assert (sn2.arch, sn2.n_classes, sn2.space.kw, sn2.image_size) == (sn.arch, 7, sn.space.kw, 32)
    for k, v in sn.state_dict().items(): assert torch.equal(v, sn2.state_dict()[k])
    # a new head for a target with other classes
    sn3 = load_supernet(tmp_path/'sn.pt', n_classes=100)
    assert sn3.n_classes == 100 and torch.equal(sn3.backbone.stem[0].weight, sn.backbone.stem[0].weight)
    with pytest.raises(LTError, match="holds a 'nb201' supernet, not 'mbv2'"): load_supernet(tmp_path/'sn.pt', space='mbv2')
    with pytest.raises(LTError, match='images are 64x64 but the supernet was built for 32x32'): load_supernet(tmp_path/'sn.pt', image_size=64)
    st = sn.state(); st['version'] = 2; atomic_save(st, tmp_path/'v2.pt')
    with pytest.raises(LTError, match='format version 2'): load_supernet(tmp_path/'v2.pt')
    st = sn.state(); st['arch'] = ['sep_conv_9x9'] * 6; atomic_save(st, tmp_path/'arch.pt')
    with pytest.raises(LTError, match="'sep_conv_9x9' is not a choice"): load_supernet(tmp_path/'arch.pt')
    st = sn.state(); st['space_kw'] = dict(st['space_kw'], N=2); atomic_save(st, tmp_path/'kw.pt')
    with pytest.raises(LTError, match='do not fit'): load_supernet(tmp_path/'kw.pt')
    atomic_save({'model': {}}, tmp_path/'learner.pt')
    with pytest.raises(LTError, match='not a nas_lt supernet file'): load_supernet(tmp_path/'learner.pt')
    with pytest.raises(LTError, match='not found'): load_supernet(tmp_path/'missing.pt')
    # every error is one line
    try: load_supernet(tmp_path/'v2.pt')
    except LTError as e: assert '\n' not in str(e)


def test_recalibrate_bn():
    sn = tiny('mbv2')
    a = sn.space.max_arch()
    sn.set_active(a)
    stem_bn, act_bn = sn.backbone.stem[1], sn.backbone.layers[0][a[0]].conv[1]
    other_bn = sn.backbone.layers[0]['k3e3'].conv[1]
    batches = [torch.randn(8, 3, 32, 32) * 3 + 2 for _ in range(4)]
    old_other = other_bn.running_var.clone()
    recalibrate_bn(sn, [(b, None) for b in batches], n_batches=3)
    assert not torch.allclose(act_bn.running_mean, torch.zeros_like(act_bn.running_mean))
    assert int(stem_bn.num_batches_tracked) == 3 and stem_bn.momentum == 0.1
    assert torch.equal(other_bn.running_var, old_other)
    # cumulative average: the running mean is the mean over the 3 batches (equal sizes)
    with torch.no_grad(): pre = torch.cat([sn.backbone.stem[0](b) for b in batches[:3]])
    assert torch.allclose(stem_bn.running_mean, pre.mean((0, 2, 3)), atol=1e-4)
    # works on an extracted subnet, and on bare tensors
    sub = sn.extract(a)
    recalibrate_bn(sub, batches, 1)
    assert int(sub.backbone.stem[1].num_batches_tracked) == 1
    with pytest.raises(LTError, match='no batches'): recalibrate_bn(sub, [], 2)


def test_replace_head_and_build_from_json(tmp_path):
    sn = tiny('mbv2', n_classes=10)
    a = sn.sample(random.Random(3))
    save_arch_json(tmp_path/'search.json', sn, a)
    js = load_json(tmp_path/'search.json')
    assert js['space'] == 'mbv2' and js['best_arch'] == list(a)
    sub = build_subnet_from_json(tmp_path/'search.json', n_classes=100)
    assert sub.arch == a and sub(torch.randn(2, 3, 32, 32)).shape == (2, 100)
    # the search module's layout: best architecture nested under 'best'
    save_json({'space': 'nb201', 'space_kw': {'C': 8, 'N': 1}, 'best': {'arch': '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'}},
              tmp_path/'s2.json')
    assert build_subnet_from_json(tmp_path/'s2.json', 3).arch == ('nor_conv_3x3', 'none', 'none', 'skip_connect', 'none', 'none')
    save_json({'space': 'mbv2', 'space_kw': js['space_kw'], 'best_arch': ['k3e3']}, tmp_path/'bad.json')
    with pytest.raises(LTError, match='has 1 positions'): build_subnet_from_json(tmp_path/'bad.json', 10)
    with pytest.raises(LTError, match="n_classes must be >= 1"): sn.replace_head(0)


def test_train_supernet_resume(tmp_path):
    from nas_lt.data import make_synthetic
    from nas_lt.learner import Callback
    data = make_synthetic(n_classes=3, n_train=8, n_test=4, size=16, seed=0)
    kw = dict(space='nb201', epochs=2, space_kw=dict(C=4, N=1), batch_size=8, lr=0.05, progress=False, recal_batches=1)
    class Crash(Callback):
        def __init__(self, at=None): self.at = at
        def before_epoch(self, learn):
            if learn.epoch == self.at: raise KeyboardInterrupt
    full = train_supernet(data, out=tmp_path/'a', cbs=[Crash()], **kw)
    with pytest.raises(KeyboardInterrupt): train_supernet(data, out=tmp_path/'b', cbs=[Crash(1)], **kw)
    resumed = train_supernet(data, out=tmp_path/'b', cbs=[Crash()], resume=True, **kw)
    for k, v in full.state_dict().items(): assert torch.equal(v, resumed.state_dict()[k]), k
    assert load_json(tmp_path/'a'/'metrics.json')['space'] == 'nb201'
    assert full.image_size == 16
    with pytest.raises(LTError, match='images are 16x16'): train_supernet(data, supernet=Supernet('nb201', 3, C=4, N=1), **kw)


DDP_SCRIPT = textwrap.dedent('''
    import sys, torch
    from pathlib import Path
    from nas_lt.core import rank
    from nas_lt.data import make_synthetic
    from nas_lt.supernet import train_supernet
    out = Path(sys.argv[1])
    data = make_synthetic(n_classes=3, n_train=16, n_test=4, size=16, seed=0)
    sn = train_supernet(data, space='mbv2', epochs=2, out=out, sampling='uniform', seed=3, batch_size=8, lr=0.05,
                        space_kw=dict(width=0.25, depths=(1, 2, 1, 1), last=0), recal_batches=1, progress=False)
    torch.save({k: v.detach().clone().contiguous() for k, v in sn.state_dict().items()}, out / f'rank{rank()}.pt')
''')


def test_torchrun_two_processes_identical(tmp_path):
    script = tmp_path/'ddp.py'; script.write_text(DDP_SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'NAS_LT_PROGRESS': '0', 'PYTHONWARNINGS': 'ignore'}
    torchrun = Path(sys.executable).parent/'torchrun'
    r = subprocess.run([str(torchrun), '--standalone', '--nproc_per_node', '2', str(script), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    w0, w1 = torch.load(tmp_path/'rank0.pt'), torch.load(tmp_path/'rank1.pt')
    assert w0.keys() == w1.keys()
    for k in w0: assert torch.equal(w0[k], w1[k]), k
    # single-path semantics under DDP: the choices that were never sampled kept their initial weights
    # (their gradient stayed None, so neither weight decay nor momentum moved them)
    set_seed(3)
    init = Supernet('mbv2', n_classes=3, image_size=16, width=0.25, depths=(1, 2, 1, 1), last=0)
    ps = PathSampler(init.choices, 'uniform', 3)
    steps = 2 * (3 * 16 // 2 // 8)                 # epochs x batches per process
    used = {(pos, c) for _ in range(steps) for pos, c in enumerate(ps())}
    unused = [(pos, c) for pos, cs in enumerate(init.choices) for c in cs if (pos, c) not in used and c != 'skip']
    assert unused and len(used) > 3
    trained = {k for k in w0 if not torch.equal(w0[k], init.state_dict()[k])}
    for pos, c in unused:
        assert not any(k.startswith(f'backbone.layers.{pos}.{c}.') and k.endswith('weight') and k in trained for k in w0), (pos, c)
    for pos, c in used:
        if c != 'skip': assert any(k.startswith(f'backbone.layers.{pos}.{c}.') for k in trained), (pos, c)
    assert (tmp_path/'supernet.pt').exists() and load_supernet(tmp_path/'supernet.pt').n_classes == 3
