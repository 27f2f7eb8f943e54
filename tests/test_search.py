"Evolutionary / random search: the generic algorithms, and the supernet search end to end on tiny data."
import random, json
from pathlib import Path
import pytest
from nas_lt.core import LTError
from nas_lt.search import random_arch, mutate, crossover, evolution_search, random_search, pareto_front

CH = [[0, 1, 2, 3]] * 8
TARGET = (3, 1, 0, 2, 2, 1, 3, 0)

def fit(a): return dict(balanced_accuracy=sum(x == t for x, t in zip(a, TARGET)) / 8)

def test_moves_stay_in_space():
    rng = random.Random(3)
    for _ in range(50):
        a = random_arch(CH, rng); b = random_arch(CH, rng)
        for c in (mutate(a, CH, 0.3, rng), crossover(a, b, rng)):
            assert len(c) == 8 and all(x in CH[i] for i, x in enumerate(c))
        assert all(x in (p, q) for x, p, q in zip(crossover(a, b, rng), a, b))

def test_evolution_beats_random_on_toy_space():
    evo = evolution_search(CH, fit, population=20, generations=12, n_cross=10, n_mut=10, topk=5, progress=False, seed=2)
    rnd = random_search(CH, fit, population=20, generations=12, progress=False, seed=2)
    assert evo['best']['balanced_accuracy'] > rnd['best']['balanced_accuracy']
    # each architecture evaluated once, and the budget is respected
    archs = [tuple(e['arch']) for e in evo['evaluated']]
    assert len(archs) == len(set(archs)) <= 20 * 12

def test_evaluations_are_cached():
    calls = []
    def f(a): calls.append(a); return fit(a)
    evolution_search([[0, 1]] * 3, f, population=4, generations=6, n_cross=2, n_mut=2, topk=2, progress=False)
    assert len(calls) == len(set(calls)) <= 8   # the whole space has 8 architectures: the search stops there

def test_resume_matches_uninterrupted(tmp_path):
    kw = dict(population=10, generations=5, n_cross=5, n_mut=5, topk=3, seed=4, progress=False)
    full = evolution_search(CH, fit, **kw)
    evolution_search(CH, fit, **{**kw, 'generations': 2}, ckpt=tmp_path/'s.pt')
    res = evolution_search(CH, fit, **kw, ckpt=tmp_path/'s.pt', resume=True)
    assert res['history'] == full['history'] and res['best_arch'] == full['best_arch']

def test_bad_input():
    with pytest.raises(LTError, match='population must be'): evolution_search(CH, fit, population=0)
    with pytest.raises(LTError, match='mutation probability'): evolution_search(CH, fit, mutation_prob=2)
    with pytest.raises(LTError, match='no architecture satisfies'):
        random_search(CH, fit, population=3, generations=1, valid=lambda a: False, progress=False)

def test_pareto_front():
    assert pareto_front([3, 1, 2, 2], [0.9, 0.5, 0.8, 0.7]) == [1, 2, 0]

def test_supernet_random_search_with_limits(tmp_path):
    "Random search on a (tiny, untrained) supernet: every candidate meets the limits, results file written"
    import torch
    from nas_lt.supernet import Supernet
    from nas_lt.search import search, min_cost_arch
    torch.manual_seed(0)
    sn = Supernet('mbv2', 10, width=0.25, depths=(1, 1, 1, 1), strides=(2, 2, 2, 1), last=32)
    ch = [list(c) for c in sn.choices]
    lo = min_cost_arch(ch, lambda a: sn.params(a) / 1e6)[1]
    lim = lo * 1.5
    r = search(sn, 'synthetic', 10, out=tmp_path, method='random', population=4, generations=2, max_mparams=lim, n_bn=1,
               batch_size=64, progress=False, n_train=30, n_test=5)
    assert r['method'] == 'random' and r['n_evaluated'] <= 8
    assert all(e['metrics']['mparams'] <= lim for e in r['evaluated'])
    assert json.loads((tmp_path/'search.json').read_text())['arch'] == r['arch']
    assert r['mparams'] == sn.params(tuple(r['arch'])) / 1e6

def test_min_cost_arch_is_exact_for_additive_costs():
    import itertools
    ch = [[0, 1, 2], [5, 3], [4, 9, 1]]
    cost = lambda a: sum(x * (i + 1) for i, x in enumerate(a))
    best = min(itertools.product(*ch), key=cost)
    from nas_lt.search import min_cost_arch
    assert min_cost_arch(ch, cost) == (best, cost(best))
