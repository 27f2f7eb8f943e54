"DARTS: mixed ops, network, architect (first/second order), genotypes, evaluation network"
import os, json, pytest, torch
import torch.nn as nn, torch.nn.functional as F
from nas_lt.core import LTError, save_json
from nas_lt.darts import (DARTS_OPS, MixedOp, DartsNetwork, Architect, search_step, Genotype, derive_genotype,
                          genotype_to_dict, genotype_from_dict, save_genotype, load_genotype, plot_cell,
                          plot_alpha_history, EvalNetwork, network_from_genotype, DropPathSchedule,
                          _ce_loss, loss_and_grads)

torch.set_num_threads(1)

def tiny(**kw):
    torch.manual_seed(0)
    return DartsNetwork(C=4, n_classes=3, layers=3, **kw)

def small(**kw):
    "A cheaper network (2 nodes per cell, 5 edges) for the tests that run many passes"
    torch.manual_seed(0)
    return DartsNetwork(C=3, n_classes=3, layers=3, steps=2, multiplier=2, stem_multiplier=2, **kw)

def batch(n=6, size=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, 3, (n,), generator=g)

def test_shapes_and_structure():
    net = DartsNetwork(C=2, n_classes=5, layers=8)
    assert [c.reduction for c in net.cells] == [False, False, True, False, False, True, False, False]
    assert net.alphas_normal.shape == (14, 8) and net.alphas_reduce.shape == (14, 8)
    assert net.alphas_normal.abs().max() < 1e-2                      # 1e-3 * randn
    assert net.stem[0].out_channels == 6                              # 3C
    assert len(net.cells[0]._ops) == 14
    ids = {id(p) for p in net.weights()}
    assert all(id(a) not in ids for a in net.alphas()) and len(ids) + 2 == len(list(net.parameters()))
    x, _ = batch(2, 8)
    assert net(x).shape == (2, 5) and net.features(x).shape == (2, net.classifier.in_features)

def test_mixed_op_none_only_and_subset():
    m = MixedOp(4, 1, ['none', 'skip_connect'])
    x = torch.randn(2, 4, 5, 5); w = torch.tensor([0.3, 0.7])
    assert torch.allclose(m(x, w), 0.7 * x)
    assert m.__class__(4, 2, ['none'])(x, torch.ones(1)).abs().sum() == 0

def test_first_order_step_moves_alphas_only_by_val_grad():
    net = small(); x, y = batch(); xv, yv = batch(seed=2)
    arch = Architect(net, arch_lr=0.1)
    g, _ = arch.grads(x, y, xv, yv, 0.025)
    ref = torch.autograd.grad(_ce_loss(net, xv, yv), net.alphas())
    for a, b in zip(g, ref): assert torch.allclose(a, b, atol=1e-6)
    w0 = [w.detach().clone() for w in net.weights()]
    a0 = net.alphas_normal.detach().clone()
    arch.step(x, y, xv, yv, 0.025)
    assert not torch.equal(a0, net.alphas_normal)
    assert all(torch.equal(a, b) for a, b in zip(w0, net.weights()))   # the architecture step leaves the weights
    assert all(w.grad is None for w in net.weights())

@pytest.mark.parametrize('kw', [{}, {'checkpoint': True}, {'channels_last': False}])
def test_constant_params_same_grads_and_restored(kw):
    "Holding the weights (or the alphas) constant changes no gradient, and requires_grad comes back, also after an error"
    net = small(**kw); x, y = batch()
    ws, alphas = net.weights(), net.alphas()
    ref = torch.autograd.grad(_ce_loss(net, x, y), alphas + ws)
    _, ga = loss_and_grads(_ce_loss, net, x, y, alphas, ws)
    _, gw = loss_and_grads(_ce_loss, net, x, y, ws, alphas)
    for a, b in zip(ga + gw, ref): assert torch.allclose(a, b, atol=1e-6)
    assert all(p.requires_grad for p in ws + alphas)
    def boom(m, x, y): raise ValueError('boom')
    with pytest.raises(ValueError): loss_and_grads(boom, net, x, y, alphas, ws)
    assert all(p.requires_grad for p in ws + alphas)

def test_second_order_xi0_equals_first_order_and_restores_weights():
    net = small(); x, y = batch(); xv, yv = batch(seed=2)
    w_opt = torch.optim.SGD(net.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    search_step(net, Architect(net), w_opt, x, y, xv, yv)           # fills the momentum buffers
    g1, _ = Architect(net, order=1).grads(x, y, xv, yv, 0.)
    g2, _ = Architect(net, order=2)._second_order(x, y, xv, yv, 0., w_opt)
    for a, b in zip(g1, g2): assert torch.allclose(a, b, atol=1e-6)
    w0 = [w.detach().clone() for w in net.weights()]
    g3, _ = Architect(net, order=2).grads(x, y, xv, yv, 0.025, w_opt)
    assert all(torch.equal(a, b) for a, b in zip(w0, net.weights()))
    assert any((a - b).abs().max() > 1e-6 for a, b in zip(g1, g3))  # the unrolled gradient differs

def test_second_order_matches_manual_unrolled():
    "The unrolled gradient equals a direct computation on a copied network (no momentum)"
    torch.manual_seed(0)
    net = DartsNetwork(C=2, n_classes=3, layers=3, steps=2, multiplier=2, stem_multiplier=1).double()
    x, y = batch(); xv, yv = batch(seed=2); x, xv = x.double(), xv.double()
    xi, wd = 0.01, 3e-4
    arch = Architect(net, order=2, w_wd=wd)
    g, _ = arch.grads(x, y, xv, yv, xi, None)
    # manual: w' on a copy, then dalpha - xi * finite-difference HVP at w
    cp = net.new().double(); cp.load_state_dict(net.state_dict())
    gw = torch.autograd.grad(_ce_loss(cp, x, y), cp.weights())
    with torch.no_grad():
        for w, gg in zip(cp.weights(), gw): w.sub_(xi * (gg + wd * w))
    gv = torch.autograd.grad(_ce_loss(cp, xv, yv), cp.alphas() + cp.weights())
    da, dw = gv[:2], gv[2:]
    hvp = Architect(net).hvp(x, y, list(dw))
    for a, d, h in zip(g, da, hvp): assert torch.allclose(a, d - xi * h, atol=1e-8)

def test_hvp_matches_double_backward_on_smooth_net():
    torch.manual_seed(0)
    net = DartsNetwork(C=2, n_classes=3, layers=3, steps=2, multiplier=2, stem_multiplier=1,
                       ops=['none', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'dil_conv_3x3']).double()
    for mod in list(net.modules()):
        for name, child in list(mod.named_children()):
            if isinstance(child, nn.ReLU): setattr(mod, name, nn.Softplus())
    x, y = batch(4); x = x.double()
    ws = net.weights(); v = [torch.randn_like(w) for w in ws]
    gw = torch.autograd.grad(_ce_loss(net, x, y), ws, create_graph=True, allow_unused=True)
    exact = torch.autograd.grad(sum((g * t).sum() for g, t in zip(gw, v) if g is not None), net.alphas())
    approx = Architect(net).hvp(x, y, v, eps=1e-4)
    for a, b in zip(exact, approx): assert torch.allclose(a, b, atol=1e-4)
    assert max(a.abs().max() for a in exact) > 1e-3                  # not trivially zero

def test_bad_arguments():
    net = tiny()
    with pytest.raises(LTError, match='order must be 1'): Architect(net, order=3)
    with pytest.raises(LTError, match="unknown op 'conv9'"): DartsNetwork(ops=['none', 'conv9'])
    with pytest.raises(LTError, match='at least 3 layers'): DartsNetwork(layers=2)

def test_genotype_derivation_by_hand():
    ops = DARTS_OPS
    wn = torch.zeros(14, 8); wn[:, 0] = 0.9                                # 'none' dominates everywhere: ignored
    wn[0, ops.index('sep_conv_5x5')] = 0.5; wn[1, ops.index('skip_connect')] = 0.4; wn[1, ops.index('max_pool_3x3')] = 0.3
    wn[3, ops.index('dil_conv_3x3')] = 0.6; wn[4, ops.index('avg_pool_3x3')] = 0.2
    g = derive_genotype(wn, wn.clone())
    assert g.normal[:2] == [('sep_conv_5x5', 0), ('skip_connect', 1)]
    assert g.normal[2] == ('dil_conv_3x3', 1) and g.normal[3] == ('avg_pool_3x3', 2)
    assert g.normal_concat == [2, 3, 4, 5] and len(g.reduce) == 8
    assert all(op != 'none' for op, _ in g.normal)
    # each node keeps two distinct inputs that exist
    for i in range(4): assert g.normal[2 * i][1] != g.normal[2 * i + 1][1] and max(g.normal[2 * i][1], g.normal[2 * i + 1][1]) < 2 + i

def test_genotype_json_roundtrip_and_errors(tmp_path):
    g = tiny().genotype()
    save_genotype(g, tmp_path / 'g.json')
    assert load_genotype(tmp_path / 'g.json') == g
    save_json({'genotype': genotype_to_dict(g), 'x': 1}, tmp_path / 'metrics.json')
    assert load_genotype(tmp_path / 'metrics.json') == g
    (tmp_path / 'bad.json').write_text('{"normal": ')
    with pytest.raises(LTError, match='not valid JSON'): load_genotype(tmp_path / 'bad.json')
    with pytest.raises(LTError, match='file not found'): load_genotype(tmp_path / 'nope.json')
    d = genotype_to_dict(g); d['normal'][0][0] = 'conv_9x9'
    with pytest.raises(LTError, match="unknown operation 'conv_9x9'"): genotype_from_dict(d)
    d = genotype_to_dict(g); d['normal'][0][0] = 'none'
    with pytest.raises(LTError, match="unknown operation 'none'"): genotype_from_dict(d)
    d = genotype_to_dict(g); d['reduce'][2][1] = 3
    with pytest.raises(LTError, match='can only read nodes'): genotype_from_dict(d)
    with pytest.raises(LTError, match='missing field'): genotype_from_dict({'normal': d['normal']})
    with pytest.raises(LTError, match='JSON object'): genotype_from_dict([1, 2])
    d = genotype_to_dict(g); d['normal'][1] = ['sep_conv_3x3']
    with pytest.raises(LTError, match='each edge is'): genotype_from_dict(d)

def test_plots():
    g = tiny().genotype()
    fig = plot_cell(g, 'reduce')
    assert len(fig.layout.annotations) == 8 + 1                       # 8 edges and the title
    both = plot_cell(g)                                               # both cells by default (`nas-lt darts show --html`)
    assert len(both.layout.annotations) == 2 * 9 and {'<b>normal cell</b>', '<b>reduction cell</b>'} <= {a.text for a in both.layout.annotations}
    with pytest.raises(LTError, match="cell must be"): plot_cell(g, 'middle')
    net = tiny()
    hist = [dict(epoch=e, **net.alpha_snapshot()) for e in range(3)]
    fig = plot_alpha_history(hist, 'reduce')
    assert len(fig.data) == 14 * 8 and list(fig.data[0].x) == [0, 1, 2]
    with pytest.raises(LTError, match='non-empty list'): plot_alpha_history([{'epoch': 0}])

def test_eval_network_aux_droppath_and_learner(tmp_path):
    os.environ['NAS_LT_PROGRESS'] = '0'
    g = tiny().genotype(); save_genotype(g, tmp_path / 'g.json')
    torch.manual_seed(0)
    net = network_from_genotype(tmp_path / 'g.json', n_classes=3, C=4, layers=5, auxiliary=True, drop_path=0.3)
    x, y = batch(4, 16)
    logits, aux = net(x)
    assert logits.shape == aux.shape == (4, 3)
    net.eval(); assert net(x).shape == (4, 3)
    assert network_from_genotype(g, 3, C=4, layers=3, auxiliary=False).train()(x).shape == (4, 3)
    with pytest.raises(LTError, match='drop_path'): network_from_genotype(g, 3, drop_path=1.5)
    from nas_lt.learner import Learner
    from nas_lt.data import make_synthetic, BatchLoader
    train, test = make_synthetic(n_classes=3, n_train=12, n_test=6, size=16)
    learn = Learner(net, BatchLoader(train, 12, sampler='instance'), BatchLoader(test, 12, sampler=None), epochs=2,
                    lr=0.01, cbs=[DropPathSchedule()], progress=False)
    hist = learn.fit()
    assert len(hist) == 2 and abs(net.drop_path_prob - 0.15) < 1e-9

def test_search_step_decreases_loss_on_fixed_batch():
    net = small(); x, y = batch(8); xv, yv = batch(8, seed=2)
    w_opt = torch.optim.SGD(net.weights(), lr=0.05, momentum=0.9)
    arch = Architect(net)
    first = search_step(net, arch, w_opt, x, y, xv, yv)['train_loss']
    for _ in range(5): last = search_step(net, arch, w_opt, x, y, xv, yv)['train_loss']
    assert last < first
