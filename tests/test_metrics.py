"Hand-checked tests of nas_lt.metrics"
import json, math
import numpy as np
import pytest
import torch
from nas_lt.core import LTError
from nas_lt.metrics import (accuracy, per_class_accuracy, balanced_accuracy, confusion_matrix, shot_groups,
                            shot_accuracy, lt_metrics)


def test_accuracy_per_class_balanced():
    p, t = torch.tensor([0, 1, 1, 2, 2, 2, 0]), torch.tensor([0, 1, 0, 2, 2, 1, 0])
    assert accuracy(p, t) == pytest.approx(5 / 7)
    # class 0: 3 images (idx 0, 2, 6), right at 0 and 6 -> 2/3; class 1: idx 1, 5 -> 1/2; class 2: idx 3, 4 -> 1
    assert per_class_accuracy(p, t, 3) == pytest.approx([2 / 3, 1 / 2, 1.0])
    assert balanced_accuracy(p, t, 3) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    pc = per_class_accuracy(p, t, 4)  # class 3 absent -> nan, not in the balanced mean
    assert math.isnan(pc[3])
    assert balanced_accuracy(p, t, 4) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)


def test_inputs_numpy_and_lists():
    assert accuracy(np.array([1, 2, 3]), [1, 2, 0]) == pytest.approx(2 / 3)
    assert accuracy(torch.tensor([1., 2.]), torch.tensor([1, 2])) == 1.0


@pytest.mark.parametrize("call,msg", [
    (lambda: accuracy([0, 1], [0]), "differ in length"),
    (lambda: accuracy([], []), "empty"),
    (lambda: per_class_accuracy([0, 5], [0, 1], 3), "outside 0..2"),
    (lambda: per_class_accuracy([0, -1], [0, 1], 3), "outside 0..2"),
    (lambda: accuracy(torch.zeros(2, 3), [0, 1]), "1-D"),
    (lambda: accuracy([0.5, 1.0], [0, 1]), "integer"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(LTError, match=msg): call()


def test_confusion_matrix():
    p, t = torch.tensor([0, 1, 1, 2, 0]), torch.tensor([0, 0, 1, 2, 2])
    cm = confusion_matrix(p, t, 3)
    assert cm.dtype == torch.long
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert (cm.diag().double() / cm.sum(1).double()).tolist() == pytest.approx(per_class_accuracy(p, t, 3))


def test_shot_groups_absolute_and_thirds():
    g = shot_groups([500, 101, 100, 20, 19, 1])
    assert g == dict(many=[0, 1], medium=[2, 3], few=[4, 5])
    c100 = [math.floor(500 * 100 ** (-i / 99)) for i in range(100)]
    assert [len(v) for v in shot_groups(c100).values()] == [35, 35, 30]
    # CIFAR-10-LT ratio 100: the absolute thresholds leave few-shot empty; thirds are only used when asked for
    c10 = [math.floor(5000 * 100 ** (-i / 9)) for i in range(10)]
    assert shot_groups(c10)["few"] == []
    assert shot_groups(c10, groups='thirds') == dict(many=[0, 1, 2, 3], medium=[4, 5, 6], few=[7, 8, 9])
    # ties in count broken by class index; thirds ignore the thresholds
    assert shot_groups([5, 5, 5, 9], groups='thirds') == dict(many=[0, 3], medium=[1], few=[2])
    assert shot_groups([40] * 5) == dict(many=[], medium=[0, 1, 2, 3, 4], few=[])
    assert shot_groups([500, 500, 10, 10]) == dict(many=[0, 1], medium=[], few=[2, 3])
    assert shot_groups([500, 500, 10, 10], groups='thirds') == dict(many=[0, 1], medium=[2], few=[3])
    assert shot_groups(torch.tensor([200, 50, 5]), many=40, few=10)["few"] == [2]  # tensors work


def test_shot_groups_custom_thresholds():
    assert shot_groups([200, 50, 5], many=40, few=10) == dict(many=[0, 1], medium=[], few=[2])
    with pytest.raises(LTError, match="few <= many"): shot_groups([1, 2], many=5, few=10)
    with pytest.raises(LTError, match="grouping"): shot_groups([1, 2], groups="auto")
    with pytest.raises(LTError, match="empty"): shot_groups([])


def test_shot_accuracy_and_lt_metrics():
    assert shot_accuracy([0.9, 0.7, 0.5, 0.1, 0.3], [300, 150, 60, 10, 5]) == \
        pytest.approx(dict(many_shot=0.8, medium_shot=0.5, few_shot=0.2))
    r = shot_accuracy([1.0, 0.0], [500, 400])
    assert r == dict(many_shot=0.5, medium_shot=None, few_shot=None)
    p, t = torch.tensor([0, 1, 1, 1, 2, 0]), torch.tensor([0, 1, 1, 2, 2, 2])
    m = lt_metrics(p, t, [150, 60, 3, 2])  # class 3 absent from the test set
    assert set(m) == {"accuracy", "balanced_accuracy", "per_class_accuracy", "many_shot", "medium_shot", "few_shot", "shot_groups"}
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class_accuracy"][:3] == pytest.approx([1.0, 1.0, 1 / 3]) and m["per_class_accuracy"][3] is None
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 + 1 / 3) / 3)
    assert (m["many_shot"], m["medium_shot"]) == (1.0, 1.0)
    assert m["few_shot"] == pytest.approx(1 / 3)  # class 3 has no test images: left out
    json.dumps(m, allow_nan=False)
    assert all(isinstance(m[k], float) for k in ("accuracy", "balanced_accuracy"))


def test_figures():
    from nas_lt.metrics import per_class_figure, confusion_figure
    counts = [300, 150, 60, 30, 10, 5]
    pc = [0.9, 0.8, 0.5, float("nan"), 0.2, 0.1]
    f = per_class_figure(pc, counts, classes=list("abcdef"))
    g = shot_groups(counts)
    assert [list(t.x) for t in f.data[:3]] == [[c for i, c in enumerate("abcdef") if i in g[k]] for k in g]
    assert sum((list(t.y) for t in f.data[:3]), []) == [0.9, 0.8, 0.5, None, 0.2, 0.1]
    assert list(f.data[3].y) == counts
    with pytest.raises(LTError, match="class counts"): per_class_figure([0.5], counts)
    cm = torch.tensor([[3, 1], [2, 2]])
    h = confusion_figure(cm, classes=["x", "y"])
    assert [list(r) for r in h.data[0].z] == [[0.75, 0.25], [0.5, 0.5]]
    assert [list(r) for r in confusion_figure(cm, normalize=False).data[0].z] == [[3, 1], [2, 2]]
