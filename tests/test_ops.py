"Shapes, registry and errors of nas_lt.ops"
import pytest, torch
import torch.nn.functional as F
from nas_lt.core import LTError
from nas_lt.ops import (OPS, NB201_OPS, DARTS_OPS, check_ops, FactorizedReduce, Identity, Zero, SepConv, DilConv,
                        ReLUConvBN, ResNetBasicBlock, InvertedResidual)

torch.set_num_threads(1)

@pytest.mark.parametrize('name', sorted(OPS))
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('c_out', [6, 8])
def test_every_op_shape(name, stride, c_out):
    x = torch.randn(2, 6, 9, 9)   # odd size on purpose
    y = OPS.get(name, 6, c_out, stride, affine=False)(x)
    s = (9 + stride - 1) // stride
    assert y.shape == (2, c_out, s, s)
    y.float().sum().backward() if y.requires_grad else None

def test_spaces_registered():
    assert set(NB201_OPS) <= set(OPS) and set(DARTS_OPS) <= set(OPS)
    assert len(DARTS_OPS) == 8 and DARTS_OPS[0] == 'none' and len(NB201_OPS) == 5

def test_skip_connect_kinds():
    assert isinstance(OPS.get('skip_connect', 8, 8, 1), Identity)
    assert isinstance(OPS.get('skip_connect', 8, 8, 2), FactorizedReduce)
    assert isinstance(OPS.get('skip_connect', 8, 16, 1), FactorizedReduce)
    x = torch.randn(1, 8, 4, 4)
    assert torch.equal(OPS.get('skip_connect', 8, 8, 1)(x), x)

def test_zero_is_zero():
    assert OPS.get('none', 4, 4, 2)(torch.randn(2, 4, 8, 8)).abs().sum() == 0

def test_factorized_reduce_matches_darts_on_even_sizes():
    fr = FactorizedReduce(4, 8).eval()
    x = torch.randn(2, 4, 8, 8)
    r = torch.relu(x)
    conv = lambda c, t: F.conv2d(t, c.weight, stride=2)               # DARTS: two stride-2 1x1 convs, the second shifted one pixel
    ref = fr.bn(torch.cat([conv(fr.convs[0], r), conv(fr.convs[1], r[:, :, 1:, 1:])], 1))
    assert torch.allclose(fr(x), ref, atol=1e-6)

def test_pool_ops_count_exclude_pad():
    x = torch.ones(1, 2, 4, 4)
    assert torch.allclose(OPS.get('avg_pool_3x3', 2, 2, 1)(x), x)   # corners not diluted by padding

def test_dilation_and_affine():
    d = OPS.get('dil_conv_5x5', 4, 4, 1, affine=False)
    assert d[1].dilation == (2, 2) and d[-1].weight is None
    s = OPS.get('sep_conv_3x3', 4, 4, 2)
    assert [m.stride for m in s if isinstance(m, torch.nn.Conv2d)] == [(2, 2), (1, 1), (1, 1), (1, 1)]

def test_blocks_residuals():
    x = torch.randn(2, 8, 8, 8)
    assert ResNetBasicBlock(8, 16, 2)(x).shape == (2, 16, 4, 4)
    assert InvertedResidual(8, 8, 1, 3, 3).use_res and not InvertedResidual(8, 8, 2, 3, 3).use_res

def test_errors():
    with pytest.raises(LTError, match="unknown op 'conv_9x9'"): OPS.get('conv_9x9', 8, 8, 1)
    with pytest.raises(LTError, match="unknown op 'bad'"): check_ops(['sep_conv_3x3', 'bad'])
    with pytest.raises(LTError, match="stride 1 or 2"): FactorizedReduce(8, 8, 3)
    with pytest.raises(LTError, match="odd kernel"): InvertedResidual(8, 8, kernel=4)
