"Tests of nas_lt.losses against hand computations with plain Python math"
import math
import pytest
import torch
from nas_lt.core import LTError
from nas_lt.losses import (LOSSES, LTLoss, get_loss, parse_loss, cb_weights, inv_weights, log_prior, posthoc_adjust, DRW)

COUNTS = [50, 5, 2]
ROWS = [[1.0, -0.5, 0.25], [0.0, 2.0, -1.0], [0.3, 0.3, 0.3], [-1.0, 0.5, 2.5], [2.0, 1.0, 0.0]]
YS = [0, 1, 2, 2, 1]
LOGITS, Y = torch.tensor(ROWS), torch.tensor(YS)


def nll(row, y):
    "-log softmax(row)[y] in plain Python"
    return math.log(sum(math.exp(v) for v in row)) - row[y]


def wmean(vals, ws):
    return sum(w * v for w, v in zip(ws, vals)) / sum(ws)


CE = [nll(r, y) for r, y in zip(ROWS, YS)]


def test_cb_weights_formula():
    for beta in (0.5, 0.9, 0.99, 0.9999):
        raw = [(1 - beta) / (1 - beta ** n) for n in COUNTS]
        assert cb_weights(COUNTS, beta).tolist() == pytest.approx([3 * r / sum(raw) for r in raw], rel=1e-5)
    # beta=0.5, counts [1, 2]: raw 0.5/0.5=1, 0.5/0.75=2/3 -> normalised to sum 2: 1.2, 0.8
    assert cb_weights([1, 2], 0.5).tolist() == pytest.approx([1.2, 0.8])
    assert cb_weights(COUNTS, 0.0).tolist() == pytest.approx([1, 1, 1])
    assert cb_weights(COUNTS).dtype == torch.float32


def test_inv_weights_formula():
    # 1/4, 1/1 -> sum 1.25 -> normalised to sum 2: 0.4, 1.6
    assert inv_weights([4, 1]).tolist() == pytest.approx([0.4, 1.6])


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.01, "0.9"])
def test_bad_beta(beta):
    with pytest.raises(LTError, match=r"beta must be in \[0, 1\)"): cb_weights(COUNTS, beta)


@pytest.mark.parametrize("counts,msg", [([3, 0, 2], "class 1 has no training images"), ([4], "at least 2 classes"),
                                        ([3, -1], ">= 0"), ([2.5, 3], "whole numbers")])
def test_bad_counts(counts, msg):
    with pytest.raises(LTError, match=msg): get_loss("cb", counts)


def test_ce():
    assert get_loss("ce", COUNTS)(LOGITS, Y).item() == pytest.approx(sum(CE) / 5, rel=1e-6)
    # 3 equal logits -> log 3, and CE does not need positive counts
    assert get_loss("ce", [3, 0, 1])(torch.zeros(2, 3), torch.tensor([0, 1])).item() == pytest.approx(math.log(3))


def test_cb_and_inv():
    raw = [(1 - 0.9999) / (1 - 0.9999 ** n) for n in COUNTS]
    w = [3 * r / sum(raw) for r in raw]
    assert get_loss("cb", COUNTS)(LOGITS, Y).item() == pytest.approx(wmean(CE, [w[y] for y in YS]), rel=1e-5)
    inv = [1 / n for n in COUNTS]; wi = [3 * v / sum(inv) for v in inv]
    assert get_loss("inv", COUNTS)(LOGITS, Y).item() == pytest.approx(wmean(CE, [wi[y] for y in YS]), rel=1e-5)
    raw9 = [(1 - 0.9) / (1 - 0.9 ** n) for n in COUNTS]; w9 = [3 * r / sum(raw9) for r in raw9]
    assert get_loss("cb", COUNTS, beta=0.9)(LOGITS, Y).item() == pytest.approx(wmean(CE, [w9[y] for y in YS]), rel=1e-5)


def test_drw_switch_and_state():
    raw = [(1 - 0.9999) / (1 - 0.9999 ** n) for n in COUNTS]
    w = [3 * r / sum(raw) for r in raw]
    loss = get_loss("drw", COUNTS)
    assert loss(LOGITS, Y).item() == pytest.approx(sum(CE) / 5, rel=1e-6)  # before any set_epoch: CE
    for e in (0, 159):
        loss.set_epoch(e, 200); assert not loss.active
    loss.set_epoch(160, 200); assert loss.active
    assert loss(LOGITS, Y).item() == pytest.approx(wmean(CE, [w[y] for y in YS]), rel=1e-5)
    assert loss.switch_epoch(10) == 8 and get_loss("drw", COUNTS, drw_epoch=3).switch_epoch(200) == 3
    fresh = get_loss("drw", COUNTS); fresh.load_state_dict(loss.state_dict())
    assert fresh.active  # the switch survives a checkpoint
    inv = get_loss("drw", COUNTS, weights="inv", drw_epoch=0); inv.set_epoch(0, 5)
    wi = [3 * (1 / n) / sum(1 / m for m in COUNTS) for n in COUNTS]
    assert inv(LOGITS, Y).item() == pytest.approx(wmean(CE, [wi[y] for y in YS]), rel=1e-5)
    with pytest.raises(LTError, match="drw_epoch"): get_loss("drw", COUNTS, drw_epoch=-1)
    with pytest.raises(LTError, match="drw_frac"): get_loss("drw", COUNTS, drw_frac=2)
    with pytest.raises(LTError, match="'cb' or 'inv'"): get_loss("drw", COUNTS, weights=None)


def test_focal():
    for gamma in (0., 1., 2., 5.):
        fl = [(1 - math.exp(-l)) ** gamma * l for l in CE]
        assert get_loss("focal", COUNTS, gamma=gamma)(LOGITS, Y).item() == pytest.approx(sum(fl) / 5, rel=1e-5)
    fl = [(1 - math.exp(-l)) ** 2 * l for l in CE]
    raw = [(1 - 0.9999) / (1 - 0.9999 ** n) for n in COUNTS]; w = [3 * r / sum(raw) for r in raw]
    assert get_loss("focal", COUNTS, weights="cb")(LOGITS, Y).item() == pytest.approx(wmean(fl, [w[y] for y in YS]), rel=1e-5)
    with pytest.raises(LTError, match="gamma"): get_loss("focal", COUNTS, gamma=-1)


def test_ldam_margins_and_loss():
    m = [n ** -0.25 for n in COUNTS]; m = [v * 0.5 / max(m) for v in m]
    loss = get_loss("ldam", COUNTS)
    assert loss.margins.tolist() == pytest.approx(m, rel=1e-6) and max(m) == pytest.approx(0.5)
    assert m[0] == pytest.approx(0.5 * (2 / 50) ** 0.25) and m[2] == pytest.approx(0.5)  # rarest class: 0.5
    for s in (30., 1.):
        exp = [nll([s * (v - (m[y] if j == y else 0)) for j, v in enumerate(r)], y) for r, y in zip(ROWS, YS)]
        assert get_loss("ldam", COUNTS, s=s)(LOGITS, Y).item() == pytest.approx(sum(exp) / 5, rel=1e-5)
    # LDAM-DRW: weights from the switch epoch
    exp = [nll([30 * (v - (m[y] if j == y else 0)) for j, v in enumerate(r)], y) for r, y in zip(ROWS, YS)]
    raw = [(1 - 0.9999) / (1 - 0.9999 ** n) for n in COUNTS]; w = [3 * r / sum(raw) for r in raw]
    ld = get_loss("ldam", COUNTS, drw=True, drw_epoch=2)
    ld.set_epoch(1, 4); assert ld(LOGITS, Y).item() == pytest.approx(sum(exp) / 5, rel=1e-5)
    ld.set_epoch(2, 4); assert ld(LOGITS, Y).item() == pytest.approx(wmean(exp, [w[y] for y in YS]), rel=1e-5)
    plain = get_loss("ldam", COUNTS); plain.set_epoch(3, 4); assert not plain.active
    with pytest.raises(LTError, match="max_m > 0"): get_loss("ldam", COUNTS, max_m=0)


def test_ldam_no_uint8_mask_any_dtype():
    "the margin is applied with scatter_add (no uint8 mask): works for bf16 logits and many classes"
    loss = get_loss("ldam", list(range(1, 201)))
    x = torch.randn(8, 200, dtype=torch.bfloat16, requires_grad=True)
    v = loss(x, torch.randint(0, 200, (8,))); v.backward()
    assert torch.isfinite(v) and x.grad is not None


def test_balanced_softmax_and_logit_adjust():
    bs = [nll([v + math.log(n) for v, n in zip(r, COUNTS)], y) for r, y in zip(ROWS, YS)]
    assert get_loss("balanced_softmax", COUNTS)(LOGITS, Y).item() == pytest.approx(sum(bs) / 5, rel=1e-5)
    assert get_loss("logit_adjust", COUNTS)(LOGITS, Y).item() == pytest.approx(sum(bs) / 5, rel=1e-5)
    N = sum(COUNTS)
    for tau in (0.5, 2.0):
        la = [nll([v + tau * math.log(n / N) for v, n in zip(r, COUNTS)], y) for r, y in zip(ROWS, YS)]
        assert get_loss("logit_adjust", COUNTS, tau=tau)(LOGITS, Y).item() == pytest.approx(sum(la) / 5, rel=1e-5)


def test_posthoc_adjust():
    assert log_prior([1, 3]).tolist() == pytest.approx([math.log(0.25), math.log(0.75)])
    adj = posthoc_adjust(torch.tensor([[1.0, 1.5]]), [1, 3])
    assert adj[0].tolist() == pytest.approx([1 - math.log(0.25), 1.5 - math.log(0.75)])
    assert adj.argmax(1).item() == 0  # raw argmax 1 (head) -> 0 (tail) after adjustment


def test_registry_and_errors():
    assert set(LOSSES) == {"ce", "cb", "inv", "drw", "focal", "ldam", "balanced_softmax", "logit_adjust"}
    with pytest.raises(LTError, match="unknown loss 'dice'; choose one of"): get_loss("dice", COUNTS)
    with pytest.raises(LTError, match=r"takes no option\(s\) \['tau'\]"): get_loss("cb", COUNTS, tau=1)
    with pytest.raises(LTError, match="built for 3 classes"): get_loss("ce", COUNTS)(torch.zeros(2, 4), torch.tensor([0, 1]))
    for name in LOSSES:
        loss = get_loss(name, COUNTS)
        assert isinstance(loss, LTLoss) and loss.counts == COUNTS
        loss.set_epoch(0, 10)  # every loss accepts set_epoch


@pytest.mark.parametrize("name", sorted(["ce", "cb", "inv", "drw", "focal", "ldam", "balanced_softmax", "logit_adjust"]))
def test_gradients_and_buffers(name):
    loss = get_loss(name, COUNTS)
    x = LOGITS.clone().requires_grad_()
    v = loss(x, Y); v.backward()
    assert v.ndim == 0 and torch.isfinite(v) and torch.isfinite(x.grad).all()
    # weights / margins / priors are buffers (they follow .to() and land in state_dict)
    bufs = dict(loss.named_buffers())
    if name in ("cb", "inv", "drw", "focal", "ldam"): assert "weight" in bufs or name == "focal"
    if name == "ldam": assert "margins" in bufs
    if name in ("balanced_softmax", "logit_adjust"): assert "shift" in bufs


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_buffers_follow_logits():
    for name in LOSSES:
        loss = get_loss(name, COUNTS, **({"drw": True, "drw_epoch": 0} if name == "ldam" else {}))
        loss.set_epoch(199, 200)
        cpu = loss(LOGITS, Y).item()
        assert loss(LOGITS.cuda(), Y.cuda()).item() == pytest.approx(cpu, rel=1e-4)  # built on CPU, used on GPU
        assert loss.cuda()(LOGITS.cuda(), Y.cuda()).item() == pytest.approx(cpu, rel=1e-4)


def test_loss_spec_strings():
    from nas_lt.losses import parse_loss, FocalLoss, LDAMLoss
    assert parse_loss("ce") == ("ce", {})
    assert parse_loss("focal:gamma=0.5,weights=inv") == ("focal", {"gamma": 0.5, "weights": "inv"})
    f = get_loss("focal:gamma=0", COUNTS)
    assert isinstance(f, FocalLoss) and f(LOGITS, Y).item() == pytest.approx(sum(CE) / 5, rel=1e-5)
    l = get_loss("ldam:drw=True,drw_epoch=1", COUNTS, s=1.0)  # spec and keywords combine
    assert isinstance(l, LDAMLoss) and (l.drw, l.drw_epoch, l.s) == (True, 1, 1.0)
    with pytest.raises(LTError, match="key=value"): parse_loss("cb:0.9")
    with pytest.raises(LTError, match="unknown loss 'nope'"): get_loss("nope:beta=0.9", COUNTS)
