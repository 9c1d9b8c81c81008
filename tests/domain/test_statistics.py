"""Effect sizes, Cronbach's alpha and Benjamini-Hochberg: published examples and scipy. No app."""
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from surveyapp.domain.statistics import (
    as_score, benjamini_hochberg, cronbach_alpha, d_z, hedges_correction, hedges_g)


def exactly(mean, sd, n, seed):
    """n scores whose sample mean and SD are exactly ``mean`` and ``sd``."""
    x = np.random.default_rng(seed).standard_normal(n)
    x = (x - x.mean()) / x.std(ddof=1)
    return (mean + sd * x).tolist()


# ----------------------------------------------------------------------------- Hedges' g

def test_hedges_g_matches_borenstein_et_al_worked_example():
    # Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to Meta-Analysis,
    # ch. 4: treated 103 (SD 5.5), control 100 (SD 4.5), n = 50 each:
    # d = 0.5970, J = 0.9923, g = 0.5924.
    control, treated = exactly(100, 4.5, 50, seed=1), exactly(103, 5.5, 50, seed=2)
    effect = hedges_g(control, treated)
    assert effect.kind == "g" and (effect.n_before, effect.n_after) == (50, 50)
    assert hedges_correction(98) == pytest.approx(0.9923, abs=5e-5)
    assert effect.value == pytest.approx(0.5924, abs=5e-5)
    assert effect.value / hedges_correction(98) == pytest.approx(0.5970, abs=5e-5)
    # Hedges & Olkin's variance at g: 100/2500 + g²/200 (Borenstein's V_d = 0.0418
    # is the same formula at d; they then take J² V_d = 0.0411 for g).
    variance = 0.04 + effect.value ** 2 / 200
    assert variance == pytest.approx(0.0418, abs=5e-5)
    half = stats.norm.ppf(0.975) * math.sqrt(variance)
    assert (effect.ci_low, effect.ci_high) == pytest.approx(
        (effect.value - half, effect.value + half), rel=1e-12)


def test_hedges_g_is_signed_follow_up_minus_baseline():
    low, high = exactly(40, 10, 20, seed=3), exactly(50, 10, 20, seed=4)
    assert hedges_g(low, high).value > 0
    assert hedges_g(high, low).value == pytest.approx(-hedges_g(low, high).value)


@pytest.mark.parametrize("df", [2, 3, 10, 100, 1000])
def test_hedges_correction_is_exact_and_close_to_the_usual_approximation(df):
    exact = math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2)) \
        if df < 300 else None
    if exact is not None:
        assert hedges_correction(df) == pytest.approx(exact, rel=1e-12)
    # The approximation is off by O(1/df²).
    assert hedges_correction(df) == pytest.approx(1 - 3 / (4 * df - 1), abs=0.05 / df ** 2)


def test_hedges_g_ci_holds_the_true_effect_at_small_n():
    rng = np.random.default_rng(5)
    runs, hits = 1500, 0
    for _ in range(runs):
        effect = hedges_g(rng.normal(0, 1, 10).tolist(), rng.normal(0.5, 1, 10).tolist())
        hits += effect.ci_low <= 0.5 <= effect.ci_high
    # Measured 0.956 at n = 10 per group on 20,000 datasets: slightly cautious.
    assert abs(hits / runs - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / runs)


@pytest.mark.parametrize("before, after", [
    ([1.0], [2.0, 3.0]),
    ([], [2.0, 3.0]),
    ([5.0, 5.0], [5.0, 5.0, 5.0]),
    ([None, 5.0], [1.0, 2.0]),
])
def test_hedges_g_of_degenerate_groups_is_none(before, after):
    effect = hedges_g(before, after)
    assert (effect.value, effect.ci_low, effect.ci_high) == (None, None, None)


# ----------------------------------------------------------------------------- d_z

def test_d_z_is_mean_difference_over_sd_of_differences():
    before = [52.0, 61.0, 48.0, 70.0, 55.0, None, 43.0, 58.0]
    after = [60.0, 64.0, 55.0, 71.0, 63.0, 69.0, None, 66.0]
    differences = np.array([8.0, 3.0, 7.0, 1.0, 8.0, 8.0])
    effect = d_z(before, after)
    assert effect.kind == "d_z" and effect.n_before == 6
    value = differences.mean() / differences.std(ddof=1)
    assert effect.value == pytest.approx(value, rel=1e-12)
    # d_z sqrt(n) is the paired t statistic.
    assert effect.value * math.sqrt(6) == pytest.approx(
        stats.ttest_rel([60, 64, 55, 71, 63, 66], [52, 61, 48, 70, 55, 58]).statistic)
    half = stats.norm.ppf(0.975) * math.sqrt(1 / 6 + value ** 2 / 12)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((value - half, value + half))


def test_d_z_ci_coverage_at_small_n_is_as_documented():
    rng = np.random.default_rng(6)
    runs, hits = 1500, 0
    for _ in range(runs):
        before = rng.normal(50, 15, 10)
        effect = d_z(before.tolist(), (before + rng.normal(5, 10, 10)).tolist())
        hits += effect.ci_low <= 0.5 <= effect.ci_high
    # The docstring says 0.945 at n = 10 (on 20,000 datasets).
    assert 0.92 <= hits / runs <= 0.965


def test_d_z_needs_aligned_pairs_and_spread():
    with pytest.raises(ValueError, match="length"):
        d_z([1.0, 2.0], [1.0])
    assert d_z([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]).value is None  # every difference alike
    assert d_z([1.0, None], [2.0, 3.0]).value is None          # one complete pair


# ----------------------------------------------------------------------------- Cronbach's alpha

# Statology, "How to Calculate Cronbach's Alpha in R": ten respondents, three items;
# ltm::cronbach.alpha gives 0.773.
STATOLOGY = {"Q1": [1, 2, 2, 3, 2, 2, 3, 3, 2, 3],
             "Q2": [1, 1, 1, 2, 3, 3, 2, 3, 3, 3],
             "Q3": [1, 1, 2, 1, 2, 3, 3, 3, 2, 3]}


def _exact_alpha(columns):
    """Alpha in exact fractions: a second computation, for comparison."""
    def var(values):
        values = [Fraction(v) for v in values]
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    k = len(columns)
    totals = [sum(row) for row in zip(*columns)]
    return Fraction(k, k - 1) * (1 - sum(var(c) for c in columns) / var(totals))


def test_alpha_of_a_published_example_with_alpha_if_item_deleted():
    rows = [dict(zip(STATOLOGY, values)) for values in zip(*STATOLOGY.values())]
    result = cronbach_alpha(rows)
    assert result.items == ("Q1", "Q2", "Q3")
    assert (result.n_respondents, result.n_excluded) == (10, 0)
    assert round(result.alpha, 3) == 0.773
    assert result.alpha == pytest.approx(float(_exact_alpha(list(STATOLOGY.values()))), rel=1e-12)
    # By hand (fractions): without Q1 192/241, without Q2 27/41, without Q3 32/55.
    assert result.if_deleted == pytest.approx({"Q1": 192 / 241, "Q2": 27 / 41, "Q3": 32 / 55})
    assert result.lowering == ("Q1",)  # deleting Q1 raises alpha from 0.773 to 0.797


def test_alpha_of_the_statsbase_covariance_example():
    # StatsBase.jl's cronbachalpha docs: items with this covariance matrix give alpha
    # 0.8136 and, dropping each item in turn, 0.7500, 0.7606, 0.7714, 0.7826. Alpha
    # depends on the data only through it, so data with exactly this sample
    # covariance must give the same.
    target = np.array([[10, 6, 6, 6], [6, 11, 6, 6], [6, 6, 12, 6], [6, 6, 6, 13]], float)
    x = np.random.default_rng(8).standard_normal((40, 4))
    x -= x.mean(0)
    whitened = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)).T)
    data = 3 + whitened @ np.linalg.cholesky(target).T
    assert np.cov(data, rowvar=False) == pytest.approx(target)
    result = cronbach_alpha(data.tolist())
    assert result.items == (0, 1, 2, 3)
    assert result.alpha == pytest.approx(0.8136, abs=5e-5)
    assert [result.if_deleted[k] for k in range(4)] == pytest.approx(
        [0.7500, 0.7606, 0.7714, 0.7826], abs=5e-5)
    assert result.lowering == ()


def test_alpha_equals_hoyts_anova_reliability():
    # Hoyt (1941): alpha = 1 - MS(residual) / MS(respondents) in a two-way ANOVA
    # without interaction. An independent route to the same number.
    rng = np.random.default_rng(9)
    data = rng.integers(1, 6, (60, 5)) + rng.integers(0, 3, (60, 1))
    n, k = data.shape
    grand = data.mean()
    ss_people = k * ((data.mean(1) - grand) ** 2).sum()
    ss_items = n * ((data.mean(0) - grand) ** 2).sum()
    ss_residual = ((data - grand) ** 2).sum() - ss_people - ss_items
    hoyt = 1 - (ss_residual / ((n - 1) * (k - 1))) / (ss_people / (n - 1))
    assert cronbach_alpha(data.tolist()).alpha == pytest.approx(hoyt, rel=1e-10)


def test_alpha_uses_complete_cases_and_names_the_item_that_lowers_it():
    rng = np.random.default_rng(10)
    trait = rng.normal(0, 1, 200)
    rows = []
    for person, level in enumerate(trait):
        row = {f"item{k}": round(3 + level + rng.normal(0, 0.6)) for k in range(4)}
        row["noise"] = int(rng.integers(1, 6))  # unrelated to the others
        if person % 10 == 0:
            row["item2"] = None
        if person % 25 == 1:
            del row["noise"]
        rows.append(row)
    result = cronbach_alpha(rows)
    assert result.n_excluded == 20 + 8
    assert result.n_respondents == 200 - 28
    assert result.lowering[0] == "noise"
    assert result.if_deleted["noise"] > result.alpha
    complete = [r for r in rows if r.get("item2") is not None and "noise" in r]
    columns = [[r[item] for r in complete] for item in result.items]
    assert result.alpha == pytest.approx(float(_exact_alpha(columns)), rel=1e-12)


@pytest.mark.parametrize("rows", [
    [],
    [[1, 2, 3]],                       # one respondent
    [[1], [2], [3]],                   # one item
    [[1, 2], [2, 1], [3, 0]],          # every total the same
    [[1, None], [2, None], [3, 4]],    # one complete respondent
])
def test_alpha_of_degenerate_data_is_none(rows):
    assert cronbach_alpha(rows).alpha is None
    assert cronbach_alpha(rows).lowering == ()


def test_alpha_if_deleted_needs_three_items():
    result = cronbach_alpha([[1, 2], [2, 3], [3, 3], [4, 5]])
    assert result.alpha is not None
    assert result.if_deleted == {0: None, 1: None}


@pytest.mark.parametrize("rows, message", [
    ([[1, 2], [1, 2, 3]], "differ in length"),
    ([{"a": 1}, [1]], "mix"),
    ([["x", 2], [1, 2]], "not a score"),
])
def test_alpha_refuses_malformed_rows(rows, message):
    with pytest.raises(ValueError, match=message):
        cronbach_alpha(rows)


# ----------------------------------------------------------------------------- Benjamini-Hochberg

# Benjamini & Hochberg (1995), section 4: fifteen p-values; at q = 0.05 the procedure
# rejects the four smallest (Bonferroni only the first three).
BH_1995 = [0.0201, 0.7590, 0.0001, 0.0278, 0.0004, 0.0298, 0.0019, 0.0344, 0.0095,
           0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 1.0000]


def test_bh_on_the_papers_example_by_hand():
    q = benjamini_hochberg(BH_1995)
    by_p = dict(zip(BH_1995, q))
    # m p_(i) / i, then the running minimum from the largest p down, worked by hand:
    # p_(6) = 0.0278 gives 15 x 0.0278 / 6 = 0.0695, but p_(7) gives 0.063857 < it.
    expected = {0.0001: 0.0015, 0.0004: 0.003, 0.0019: 0.0095, 0.0095: 0.035625,
                0.0201: 0.0603, 0.0278: 15 * 0.0298 / 7, 0.0298: 15 * 0.0298 / 7,
                0.0344: 0.0645, 0.0459: 0.0765, 0.3240: 0.486, 0.4262: 15 * 0.4262 / 11,
                0.5719: 15 * 0.5719 / 12, 0.6528: 15 * 0.6528 / 13, 0.7590: 15 * 0.7590 / 14,
                1.0: 1.0}
    assert by_p == pytest.approx(expected, rel=1e-12)
    assert sorted(p for p, value in by_p.items() if value <= 0.05) == [0.0001, 0.0004, 0.0019, 0.0095]


@pytest.mark.parametrize("seed", range(5))
def test_bh_agrees_with_scipy(seed):
    rng = random.Random(seed)
    p = [rng.choice([rng.random(), rng.random() ** 4, 0.04, 1.0]) for _ in range(rng.randint(1, 40))]
    assert benjamini_hochberg(p) == pytest.approx(
        stats.false_discovery_control(p, method="bh").tolist(), rel=1e-12)


def test_bh_keeps_order_passes_none_and_is_monotone():
    p = [0.03, None, 0.001, 0.2, None, 0.03, 0.9]
    q = benjamini_hochberg(p)
    assert q[1] is None and q[4] is None
    present = [(pi, qi) for pi, qi in zip(p, q) if pi is not None]
    # m = 5, not 7: a suppressed change is not a test.
    assert q == pytest.approx([0.05, None, 0.005, 0.25, None, 0.05, 0.9])
    for (p1, q1), (p2, q2) in zip(sorted(present), sorted(present)[1:]):
        assert q1 <= q2
    assert all(pi <= qi <= 1 for pi, qi in present)


def test_bh_edge_cases():
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([None, None]) == [None, None]
    assert benjamini_hochberg([0.02]) == [0.02]
    assert benjamini_hochberg([0.9, 0.95, 0.99]) == pytest.approx([0.99, 0.99, 0.99])


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bh_refuses_what_is_not_a_p_value(bad):
    with pytest.raises(ValueError, match="p-value"):
        benjamini_hochberg([0.1, bad])


# ----------------------------------------------------------------------------- scores

@pytest.mark.parametrize("value, expected", [
    (None, None), (float("nan"), None), (3, 3.0), (2.5, 2.5), (np.float64(4.5), 4.5),
    (np.int64(7), 7.0)])
def test_as_score(value, expected):
    assert as_score(value) == expected


@pytest.mark.parametrize("value", ["3", b"3", float("inf"), [3], object()])
def test_as_score_refuses_what_is_not_a_number(value):
    with pytest.raises(ValueError):
        as_score(value)


def test_importing_the_statistics_layer_does_not_import_scipy_stats():
    """scipy.stats costs ~1.5 s of CPU at import, which every web worker would pay at
    boot: the modules import it inside the functions that need it."""
    import subprocess
    import sys
    code = ("import sys, surveyapp.domain.change, surveyapp.domain.statistics; "
            "print('scipy.stats' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
