"""The DARTS speed layer (`nas_lt.darts_fast`) against the literal network it replaces.

One equivalence test over every operation of `nas_lt.ops.OPS`: a search network whose edges offer that operation (and
`none`), in normal and reduction cells, computes the same forward output, weight gradients, BatchNorm statistics and
architecture gradients (first and second order) through `fast(net)` as through the literal network, on the same
weights. The eager kernels are checked in float64 (differences are then rounding, 1e-9), the compiled kernels in
float32 on the DARTS space. Then the seam itself: same parameters and state_dict keys, DARTS+BBN, the fallbacks.
"""
import copy, warnings
import pytest, torch
import torch.nn.functional as F
from nas_lt.ops import OPS, DARTS_OPS
from nas_lt.darts import DartsNetwork, Architect
from nas_lt.darts_bbn import DartsBBN
import nas_lt.darts_fast as DF
from nas_lt.darts_fast import fast, BACKENDS, default_backend, FastCell, EagerKernels, CompiledKernels

torch.set_num_threads(1)

def _data(seed, n=4, size=8, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g).to(dtype), torch.randint(0, 3, (n,), generator=g)

def _pair(ops, dtype=torch.float64, compiled=False, steps=2, **kw):
    torch.manual_seed(0)
    lit = DartsNetwork(C=4, n_classes=3, layers=3, steps=steps, multiplier=steps, stem_multiplier=2, ops=ops, **kw).to(dtype)
    with torch.no_grad():                                 # alphas away from uniform, so every op weighs differently
        for a in lit.alphas(): a.normal_()
    return lit, fast(copy.deepcopy(lit), compiled=compiled)

def _close(a, b, tol):
    assert (a - b).abs().max().item() <= tol * max(1., a.abs().max().item()), (a - b).abs().max().item()

def _check(lit, fst, tol, dtype=torch.float64):
    (xt, yt), (xv, yv) = _data(1, dtype=dtype), _data(2, dtype=dtype)
    out_l, out_f = lit(xt), fst(xt)                                    # training mode: batch statistics
    _close(out_l, out_f, tol)
    gl = torch.autograd.grad(F.cross_entropy(out_l, yt), list(lit.parameters()))
    gf = torch.autograd.grad(F.cross_entropy(out_f, yt), list(fst.parameters()))
    for a, b in zip(gl, gf): _close(a, b, tol)                        # weight and alpha gradients
    for a, b in zip(lit.buffers(), fst.buffers()): _close(a.to(dtype), b.to(dtype), tol)   # BN running statistics
    opts = [torch.optim.SGD(n.weights(), lr=0.1, momentum=0.9, weight_decay=3e-4) for n in (lit, fst)]
    for n, o in zip((lit, fst), opts):                                  # a weight step, so the unrolled step sees momentum
        o.zero_grad(); F.cross_entropy(n(xt), yt).backward(); o.step()
    for order in (1, 2):
        ga, _ = Architect(lit, order=order).grads(xt, yt, xv, yv, 0.1, opts[0])
        gb, _ = Architect(fst, order=order).grads(xt, yt, xv, yv, 0.1, opts[1])
        for a, b in zip(ga, gb): _close(a, b, tol * 10)               # the finite difference amplifies rounding
    lit.eval(); fst.eval()
    with torch.no_grad(): _close(lit(xt), fst(xt), tol)               # eval mode: running statistics

@pytest.mark.parametrize('op', sorted(o for o in OPS if o != 'none'))
def test_every_op_fast_equals_literal(op):
    "fast(net) == net for each operation of OPS on its own next to `none`, normal and reduction cells"
    lit, fst = _pair(['none', op])
    assert [c.reduction for c in fst.cells] == [False, True, True]
    _check(lit, fst, 1e-8)

def test_darts_space_fast_equals_literal_channels_first_and_checkpointed():
    for kw in (dict(), dict(channels_last=False), dict(checkpoint=True)):
        lit, fst = _pair(DARTS_OPS, **kw)
        _check(lit, fst, 1e-8)

def test_compiled_kernels_match_literal():
    "The compiled kernels in float32 (where the search runs) on the DARTS space, first and second order (one node per cell: fewer shapes to compile)"
    lit, fst = _pair(DARTS_OPS, dtype=torch.float32, compiled=True, steps=1)
    assert all(c.K is CompiledKernels for c in fst.cells)
    _check(lit, fst, 2e-3, dtype=torch.float32)

def test_seam_keeps_parameters_and_names():
    torch.manual_seed(0)
    lit = DartsNetwork(C=4, n_classes=3, layers=4)
    ids = [id(p) for p in lit.parameters()]
    keys = list(lit.state_dict())
    fst = fast(lit)                                                      # in place, the same objects
    assert fst is lit and [id(p) for p in fst.parameters()] == ids and list(fst.state_dict()) == keys
    assert [c.emit_parts for c in fst.cells] == [True, True, True, False]
    assert not any(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in fst.modules())
    fresh = DartsNetwork(C=4, n_classes=3, layers=4)
    fresh.load_state_dict(fst.state_dict())                              # a fast network's checkpoint loads into a literal one

def test_darts_bbn_through_the_seam():
    torch.manual_seed(0)
    lit = DartsBBN(C=2, n_classes=3, layers=4, n_branch=1).double()
    fst = fast(copy.deepcopy(lit))
    assert sum(isinstance(c, FastCell) for c in fst.modules()) == 5 and len(fst.inner_cells()) == 3
    x, _ = _data(3); xr, _ = _data(4)
    _close(lit(x, xr, 0.7), fst(x, xr, 0.7), 1e-8)
    ga = torch.autograd.grad(lit(x, xr, 0.7).sum(), lit.alphas())
    gb = torch.autograd.grad(fst(x, xr, 0.7).sum(), fst.alphas())
    for a, b in zip(ga, gb): _close(a, b, 1e-8)

def test_backends_and_default():
    assert list(BACKENDS) == ['literal', 'fast', 'compiled']
    assert default_backend('cpu') == 'fast' and default_backend(torch.device('cuda')) == 'literal'
    net = DartsNetwork(C=2, n_classes=3, layers=3)
    assert BACKENDS['literal'](net) is net and not any(isinstance(c, FastCell) for c in net.modules())

def test_fallback_when_compiling_fails(monkeypatch):
    "Where TorchInductor cannot compile (no C++ compiler, say): one warning, and the eager kernels give the same results"
    class Broken:
        def __call__(self, *a): raise RuntimeError('no working C++ compiler found')
    monkeypatch.setattr(DF, '_K', {k: Broken() for k in DF._K})
    monkeypatch.setitem(DF._COMPILE, 'ok', True)
    lit, fst = _pair(DARTS_OPS, dtype=torch.float32, compiled=True)
    x, y = _data(0, dtype=torch.float32)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        gb = torch.autograd.grad(F.cross_entropy(fst(x), y), fst.alphas())
    msgs = [str(m.message) for m in w if 'compiled kernels are not available' in str(m.message)]
    assert len(msgs) == 1 and 'no working C++ compiler' in msgs[0] and DF._COMPILE['ok'] is False
    ga = torch.autograd.grad(F.cross_entropy(lit(x), y), lit.alphas())
    for a, b in zip(ga, gb): _close(a, b, 1e-4)

def test_untested_torch_version_falls_back(monkeypatch):
    monkeypatch.setitem(DF._COMPILE, 'ok', True)
    monkeypatch.setattr(DF, 'TESTED_TORCH', ('1.0',))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        assert DF._compiled('bn_relu', torch.randn(2, 3, 4, 4), 1e-5) is None
    assert any('not one the kernels were tested with' in str(m.message) for m in w)
