import os
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import pytest, torch
from nas_lt.core import LTError
from nas_lt.models import MODELS, get_model, resnet32, n_params, ResNetCifar, BasicBlock


@pytest.mark.parametrize('name,millions', [('resnet20', 0.27), ('resnet32', 0.46), ('resnet44', 0.66), ('resnet56', 0.85)])
def test_param_counts(name, millions):
    assert abs(n_params(get_model(name)) / 1e6 - millions) < 0.005


def test_structure_and_shapes():
    m = resnet32(n_classes=7)
    assert [len(s) for s in m.stages] == [5, 5, 5]
    assert all(isinstance(b, BasicBlock) for s in m.stages for b in s)
    x = torch.randn(2, 3, 32, 32)
    assert m(x).shape == (2, 7)
    assert m.features(x).shape == (2, 64)
    assert m.fc.in_features == 64


def test_width_and_input_size():
    m = resnet32(n_classes=3, width=8)
    assert m.features(torch.randn(2, 3, 16, 16)).shape == (2, 32)


def test_trains_on_cpu():
    torch.manual_seed(0)
    m = get_model('resnet20', n_classes=2, width=4)
    x = torch.randn(16, 3, 8, 8); y = (x.mean((1, 2, 3)) > 0).long()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    first = None
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad(); loss.backward(); opt.step()
    assert loss.item() < first


def test_bad_input():
    with pytest.raises(LTError, match="unknown model"): get_model('resnet18')
    with pytest.raises(LTError, match="at least 1 block"): ResNetCifar(0)
