"Statistics: the rank correlations against hand counts and SciPy, intervals, paired tests, bootstrap, and their errors."
import math
import numpy as np
import pytest
from scipy import stats as st
from nas_lt.core import LTError
from nas_lt.stats import (mean_ci, paired_diff, rank_corr, kendall_tau, spearman_rho, bootstrap_ci, tau_ci, tau_vs_ceiling)


def test_kendall_spearman_textbook():
    # 10 pairs: 6 concordant, 4 discordant -> tau 0.2; d = -2,-2,2,2,0 -> rho = 1 - 6*16/(5*24) = 0.2
    assert kendall_tau([1, 2, 3, 4, 5], [3, 4, 1, 2, 5]) == pytest.approx(0.2)
    assert spearman_rho([1, 2, 3, 4, 5], [3, 4, 1, 2, 5]) == pytest.approx(0.2)
    # ties: nc=5, nd=0, n0=6, n1=1, n2=0 -> 5/sqrt(5*6); avg ranks 1,2.5,2.5,4 -> 4.5/sqrt(4.5*5)
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(5 / math.sqrt(30))
    assert spearman_rho([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / math.sqrt(22.5))
    # ties in both lists: a=[1,1,2,2], b=[1,2,1,2]: pairs (0,1) tie a, (2,3) tie a, (0,2) tie b, (1,3) tie b,
    # (0,3) concordant, (1,2) discordant -> tau_b = 0 / sqrt(4*4) = 0
    assert kendall_tau([1, 1, 2, 2], [1, 2, 1, 2]) == pytest.approx(0.0)
    # perfect and reversed orders, only ranks matter
    assert kendall_tau([0.1, 0.4, 0.35], [3, 9, 8]) == pytest.approx(1.0)
    assert spearman_rho([0.1, 0.4, 0.35], [-3, -9, -8]) == pytest.approx(-1.0)
    assert math.isnan(spearman_rho([2, 2, 2], [1, 2, 3]))


def test_kendall_tau_brute_force():
    "tau-b against a direct count over pairs on random scores with ties"
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 30), rng.integers(0, 5, 30)
    nc = nd = n1 = n2 = 0
    for i in range(30):
        for j in range(i + 1, 30):
            x, y = a[i] - a[j], b[i] - b[j]
            n1 += x == 0; n2 += y == 0
            if x * y > 0: nc += 1
            elif x * y < 0: nd += 1
    n0 = 30 * 29 // 2
    assert kendall_tau(a, b) == pytest.approx((nc - nd) / math.sqrt((n0 - n1) * (n0 - n2)))


def test_rank_errors():
    with pytest.raises(LTError, match="differ in length"): kendall_tau([1, 2], [1])
    with pytest.raises(LTError, match="at least 2"): spearman_rho([1], [2])
    with pytest.raises(LTError, match="nan"): kendall_tau([1, float("nan")], [1, 2])


def test_kendall_tau_long_lists():
    "a long list with ties gives the tau-b of counting all pairs at once"
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 50, 1300).astype(float), rng.normal(size=1300)
    b[:100] = 0.0  # ties in b too
    i, j = np.triu_indices(1300, k=1)
    da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    n0 = len(i)
    exp = (da * db).sum() / math.sqrt((n0 - (da == 0).sum()) * (n0 - (db == 0).sum()))
    assert kendall_tau(a, b) == pytest.approx(exp, rel=1e-12)


def test_against_scipy_small_inputs():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=12), rng.normal(size=12)
    r = rank_corr(a, b)
    assert r['stat'] == pytest.approx(st.kendalltau(a, b).statistic) and r['p_value'] == pytest.approx(st.kendalltau(a, b).pvalue)
    assert rank_corr(a, b, 'spearman')['p_value'] == pytest.approx(st.spearmanr(a, b).pvalue)
    x = [0.61, 0.64, 0.60, 0.66]
    m = mean_ci(x)
    lo, hi = st.t.interval(0.95, 3, loc=np.mean(x), scale=st.sem(x))
    assert m['ci95'] == pytest.approx([lo, hi])
    y = [0.58, 0.60, 0.61, 0.62]
    d = paired_diff(x, y)
    assert d['p_value'] == pytest.approx(st.ttest_rel(x, y).pvalue)
    assert d['diff'] == pytest.approx(np.mean(np.subtract(x, y)))


def test_intervals_need_two_values():
    with pytest.raises(LTError, match="at least 2 values"): mean_ci([0.7])
    with pytest.raises(LTError, match="at least 2"): paired_diff([0.7], [0.6])
    with pytest.raises(LTError, match="nan"): mean_ci([0.7, float('nan')])


def test_bootstrap_interval_covers_and_is_reproducible():
    rng = np.random.default_rng(3)
    x = rng.normal(size=30); y = x + 0.5 * rng.normal(size=30)
    r = tau_ci(x, y)
    assert r['ci95'][0] <= r['tau'] <= r['ci95'][1]
    assert tau_ci(x, y) == r
    assert tau_ci(x, y, seed=1)['ci95'] != r['ci95']
    lo, hi = bootstrap_ci(np.mean, x)
    assert lo < x.mean() < hi
    with pytest.raises(LTError, match="same length"): bootstrap_ci(kendall_tau, x, y[:10])


def test_noise_ceiling_comparison():
    rng = np.random.default_rng(4)
    truth = rng.normal(size=30)
    s0, s1 = truth + 0.2 * rng.normal(size=30), truth + 0.2 * rng.normal(size=30)
    r = tau_vs_ceiling(s0, rng.normal(size=30), s0, s1)
    assert r['ci95'][1] < 0 and r['p_value'] < 0.05
    same = tau_vs_ceiling(s0, s1 + 1e-3 * rng.normal(size=30), s0, s1)
    assert same['p_value'] > 0.05
