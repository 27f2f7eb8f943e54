import os
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import pytest, torch
import torch.nn.functional as F
from nas_lt.core import LTError, set_seed
from nas_lt.data import get_data, get_sampler, BatchLoader
from nas_lt.models import resnet32
from nas_lt.bbn import bbn_mix, bbn_loss, BBN, bbn_resnet32, bbn_from_resnet, BBNLearner, train_bbn


def test_mix_by_hand():
    fc, fr = torch.tensor([[1., -2., 3.]]), torch.tensor([[0.5, 4., -1.]])
    a = 0.3
    expect = torch.tensor([[2 * 0.3 * 1, 2 * 0.3 * -2, 2 * 0.3 * 3, 2 * 0.7 * 0.5, 2 * 0.7 * 4, 2 * 0.7 * -1]])
    assert torch.allclose(bbn_mix(fc, fr, a), expect)
    # alpha 0.5 = plain concatenation (the test-time rule)
    assert torch.allclose(bbn_mix(fc, fr, 0.5), torch.cat([fc, fr], 1))


def test_loss_by_hand():
    z = torch.tensor([[1., 2., 0.], [0., 0., 3.]])
    yc, yr = torch.tensor([1, 2]), torch.tensor([0, 0])
    ls = torch.log_softmax(z, 1)
    ce_c = -(ls[0, 1] + ls[1, 2]) / 2; ce_r = -(ls[0, 0] + ls[1, 0]) / 2
    assert torch.allclose(bbn_loss(z, yc, yr, 0.8), 0.8 * ce_c + 0.2 * ce_r)


def test_structure_resnet32():
    m = bbn_resnet32(10)
    # trunk: stem + 2 stages + 4 blocks; branches: copies of the last block; classifier on 2x64 features
    assert len(m.trunk) == 7 and m.fc.in_features == 128
    assert not torch.equal(m.branch_c.conv1.weight, m.branch_r.conv1.weight)
    s = bbn_from_resnet(resnet32(5), split='stage')
    assert len(s.trunk) == 3 and len(s.branch_c) == 5 and s.fc.out_features == 5
    with pytest.raises(LTError, match="split must be"): bbn_from_resnet(resnet32(5), split='layer')


def test_forward_rules():
    torch.manual_seed(0)
    m = bbn_resnet32(4, width=4).eval()
    x, xr = torch.randn(3, 3, 16, 16), torch.randn(3, 3, 16, 16)
    # equal mixing at test time == bilateral mix with alpha 0.5 on the same images
    assert torch.allclose(m(x), m(x, x, 0.5), atol=1e-5)
    # alpha 0: only the re-balancing branch (on x_r) matters
    assert torch.allclose(m(x, xr, 0.), m(torch.zeros_like(x), xr, 0.), atol=1e-6)
    f = m.features(x)
    assert torch.allclose(f, torch.cat([m.branch_features(x, 'c'), m.branch_features(x, 'r')], 1))
    with pytest.raises(LTError, match="needs alpha"): m(x, xr)
    with pytest.raises(LTError, match="branch must be"): m.branch_features(x, 'x')


def test_reversed_sampler_favours_tail():
    train, _ = get_data('synthetic', imb_ratio=50, n_train=50, n_test=5)
    r = get_sampler('reversed', train.y)
    draws = torch.bincount(train.y[r.indices(0, 5000)], minlength=train.n_classes)
    assert draws[-1] > 10 * draws[0]
    # class probabilities are proportional to 1/n_c
    p = r.class_probs(); c = torch.tensor(train.counts, dtype=torch.float)
    assert torch.allclose(p, (1 / c) / (1 / c).sum(), atol=1e-6)


def test_bbn_learner_trains_and_resumes(tmp_path):
    train, test = get_data('synthetic', imb_ratio=10, n_train=40, n_test=10)
    class Interrupted(BBNLearner):
        def train_epoch(self):
            if self.epoch == 2: raise KeyboardInterrupt
            return super().train_epoch()
    def mk(epochs, out, cls=BBNLearner):
        set_seed(0)
        return cls(bbn_resnet32(10, width=4), BatchLoader(train, 32, sampler='instance', augment=True, seed=0),
                          BatchLoader(test, 100, sampler=None), lr=0.05, epochs=epochs, schedule='cosine', out=out,
                          progress=False, mix='linear')
    full = mk(3, tmp_path / 'a'); h = full.fit()
    assert [r['bbn_alpha'] for r in h] == pytest.approx([1., 2 / 3, 1 / 3])
    assert h[-1]['train_loss'] < h[0]['train_loss']
    assert 'balanced_accuracy' in full.metrics
    # interrupted after 2 epochs, resumed: identical weights
    part = mk(3, tmp_path / 'b', Interrupted)
    with pytest.raises(KeyboardInterrupt): part.fit()
    res = mk(3, tmp_path / 'b'); res.fit(resume=True)
    for (k, a), b in zip(full.model.state_dict().items(), res.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), k
    # a different mix cannot resume that run
    other = BBNLearner(bbn_resnet32(10, width=4), BatchLoader(train, 32, sampler='instance', augment=True, seed=0),
                       BatchLoader(test, 100, sampler=None), lr=0.05, epochs=3, schedule='cosine', out=tmp_path / 'b',
                       progress=False, mix='parabolic')
    with pytest.raises(LTError, match="mix"): other.fit(resume=True)


def test_train_bbn_function(tmp_path):
    train, test = get_data('synthetic', imb_ratio=10, n_train=20, n_test=5)
    learn = train_bbn(train, test, epochs=1, batch_size=32, width=4, out=tmp_path, progress=False)
    assert (tmp_path / 'ckpt.pt').exists() and len(learn.history) == 1


def test_bad_input():
    train, _ = get_data('synthetic', imb_ratio=10, n_train=20, n_test=5)
    with pytest.raises(LTError, match="needs a BBN model"): BBNLearner(resnet32(10), BatchLoader(train, 16))
    with pytest.raises(LTError, match="unknown mix"): BBNLearner(bbn_resnet32(10), BatchLoader(train, 16), mix='beta')
