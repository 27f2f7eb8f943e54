"DARTS compiled kernels (`DartsNetwork(compiled=True)`, `nas-lt darts search --compile`): same results as the eager kernels, and a clean fallback"
import warnings, pytest, torch
import torch.nn.functional as F
import nas_lt.darts as D
from nas_lt.darts import DartsNetwork, Architect, search_step, EagerKernels, CompiledKernels, kernels

torch.set_num_threads(1)

def _pair(**kw):
    torch.manual_seed(0)
    a = DartsNetwork(C=4, n_classes=3, layers=3, **kw)
    b = DartsNetwork(C=4, n_classes=3, layers=3, compiled=True, **kw)
    b.load_state_dict(a.state_dict())
    return a, b

def _data(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(6, 3, 8, 8, generator=g), torch.randint(0, 3, (6,), generator=g)

def _close(a, b, rel=1e-3):
    assert (a - b).abs().max() <= rel * max(1., a.abs().max().item()), (a - b).abs().max()

def test_kernels_choice():
    assert kernels(True) is CompiledKernels and kernels(False) is EagerKernels
    net = DartsNetwork(C=2, n_classes=3, layers=3, compiled=True)
    assert all(m.K is CompiledKernels for m in net.modules() if isinstance(m, D.MixedOp))
    assert net._kw['compiled'] is True and net.new()._kw['compiled'] is True

@pytest.mark.parametrize('order', [1, 2])
def test_search_steps_match_eager(order):
    "Two full search steps (architecture + weight step) on the compiled kernels give the eager kernels' alphas, weights and BN statistics"
    a, b = _pair()
    runs = []
    for net in (a, b):
        arch = Architect(net, order=order)
        opt = torch.optim.SGD(net.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
        for s in range(2):
            xt, yt = _data(2 * s); xv, yv = _data(2 * s + 1)
            search_step(net, arch, opt, xt, yt, xv, yv)
        runs.append(net)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if sa[k].is_floating_point(): _close(sa[k], sb[k])
        else: assert torch.equal(sa[k], sb[k]), k
    assert not torch.equal(sa['alphas_normal'], DartsNetwork(C=4, n_classes=3, layers=3).alphas_normal)

def test_eval_and_checkpoint_paths():
    a, b = _pair(checkpoint=True)
    x, y = _data(0)
    ga = torch.autograd.grad(F.cross_entropy(a(x), y), a.alphas())
    gb = torch.autograd.grad(F.cross_entropy(b(x), y), b.alphas())
    for u, v in zip(ga, gb): _close(u, v)
    a.eval(); b.eval()
    with torch.no_grad(): _close(a(x), b(x), 1e-4)

def test_fallback_when_compiling_fails(monkeypatch):
    "Where TorchInductor cannot compile (no C++ compiler, say), one warning and the eager kernels: same results"
    class Broken:
        def __call__(self, *a): raise RuntimeError('no working C++ compiler found')
    monkeypatch.setattr(D, '_K', {k: Broken() for k in D._K})
    monkeypatch.setitem(D._COMPILE, 'ok', True)
    a, b = _pair()
    x, y = _data(0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        gb = torch.autograd.grad(F.cross_entropy(b(x), y), b.alphas())
    msgs = [str(m.message) for m in w if 'compiled kernels are not available' in str(m.message)]
    assert len(msgs) == 1 and 'no working C++ compiler' in msgs[0]
    assert D._COMPILE['ok'] is False
    ga = torch.autograd.grad(F.cross_entropy(a(x), y), a.alphas())
    for u, v in zip(ga, gb): _close(u, v, 1e-5)

def test_cli_compile_flag():
    import argparse
    from nas_lt.cli_darts import register, search_kwargs
    p = argparse.ArgumentParser(prog='nas-lt'); register(p.add_subparsers(dest='command'))
    assert search_kwargs(p.parse_args(['darts', 'search', '--compile']))['compiled'] is True
    assert search_kwargs(p.parse_args(['darts', 'search']))['compiled'] is False

@pytest.mark.parametrize('k,d,s,size', [(5, 1, 1, 16), (3, 2, 1, 16), (5, 2, 1, 8), (3, 1, 2, 16), (5, 1, 2, 8)])
def test_depthwise_weight_grad_matches_onednn(k, d, s, size):
    "The compiled depthwise weight gradient equals oneDNN's, on 16x16 outputs (per-sample sums first) and 8x8 ones"
    torch.manual_seed(0)
    x = torch.randn(4, 8, size * s, size * s).contiguous(memory_format=torch.channels_last)
    w = torch.randn(8, 1, k, k)
    p = d * (k - 1) // 2
    g = torch.randn_like(F.conv2d(x, w, None, s, p, d, 8))
    _close(EagerKernels.dw_weight_grad(g, x, w, s, p, d), CompiledKernels.dw_weight_grad(g, x, w, s, p, d), 1e-4)

@pytest.mark.parametrize('with_acc', [False, True])
def test_edge_sum_paths_agree(monkeypatch, with_acc):
    "One edge summed in one step (BN-ended ops, plain ops such as the skip, the node's running sum): compiled, its eager branch and the eager kernels agree"
    torch.manual_seed(0)
    cl = lambda t: t.contiguous(memory_format=torch.channels_last).requires_grad_()
    zs, hs = [cl(torch.randn(4, 3, 6, 6)) for _ in range(2)], [cl(torch.randn(4, 3, 6, 6))]
    acc = cl(torch.randn(4, 3, 6, 6)) if with_acc else None
    w = torch.rand(3, requires_grad=True)
    g = torch.randn(4, 3, 6, 6)
    def run(K):
        bns = [torch.nn.BatchNorm2d(3, affine=False) for _ in zs]
        y = D._edge_sum(zs, hs, w, bns, K, acc)
        ins = [w, *zs, *hs] + ([acc] if with_acc else [])
        return [y, *torch.autograd.grad(y, ins, g)] + [bn.running_var for bn in bns]
    ref, comp = run(EagerKernels), run(CompiledKernels)
    real = D._compiled
    monkeypatch.setattr(D, '_compiled', lambda name, *a: None if name.startswith('edge_bn') else real(name, *a))
    branch = run(CompiledKernels)
    for r, c, b in zip(ref, comp, branch): _close(r, c, 1e-5); _close(r, b, 1e-5)

@pytest.mark.parametrize('stride,size', [(1, 8), (1, 7), (2, 8), (2, 7)])
def test_max_pool_ties_follow_pytorch(stride, size):
    "The compiled max pool keeps the first maximum of each window (row-major), as PyTorch: with ties the gradient lands on the same pixels"
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size)
    x[:, :, ::2] = 0.; x[:, 1] = 1.                           # many tied windows, one channel constant
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    ref = F.max_pool2d(x, 3, stride, 1)
    g = torch.randn_like(ref)
    gref, = torch.autograd.grad(ref, x, g)
    out = D._MaxPool3x3.apply(x, stride, CompiledKernels)
    assert torch.equal(out, ref)
    _close(torch.autograd.grad(out, x, g)[0], gref, 1e-5)
