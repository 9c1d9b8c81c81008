"""Agreement coefficients against published worked examples, against independent
implementations (scikit-learn's kappa, NLTK's alpha), and on their edge cases. No app."""
import math
import random

import pytest

from surveyapp.domain.agreement import (
    LEVELS, Disagreement, alpha_estimate, by_unit, codes_used, cohen_kappa, disagreements,
    kappa_estimate, krippendorff_alpha, pairwise_agreement, per_code_alpha, per_code_kappa,
    percent_agreement, percent_agreement_estimate, presence)

N = None

# Krippendorff, K. (2011) "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers x 12 units, missing values. One list per observer here.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],   # A
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],   # B
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],   # C
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],   # D
]


def from_table(cells: dict) -> tuple[list, list]:
    """Two coders' lists from a table of counts {(code_a, code_b): count}."""
    a, b = [], []
    for (code_a, code_b), count in cells.items():
        a += [code_a] * count
        b += [code_b] * count
    return a, b


# --- published worked examples ---------------------------------------------------------

@pytest.mark.parametrize("level, published", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_reliability_data(level, published):
    assert round(krippendorff_alpha(by_unit(*KRIPPENDORFF_2011), level), 3) == published


def test_krippendorff_2011_leaves_out_the_unit_only_one_observer_coded():
    estimate = alpha_estimate(by_unit(*KRIPPENDORFF_2011), n_boot=0)
    assert estimate.n_units == 11   # unit 12 has B's 3 alone
    assert math.isnan(estimate.ci_low) and estimate.n_boot == 0


def test_krippendorff_2011_binary_data_two_observers():
    """Section A of the same paper: two observers, ten units, alpha = 0.095."""
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(krippendorff_alpha(by_unit(a, b)), 3) == 0.095


def test_kappa_on_a_textbook_two_by_two_table():
    """Gerstman, Epidemiology Kept Simple, ch. 10, Illustrative Example 10.1 (X-ray
    readings, N = 19,790): p_obs = 0.8943, p_exp = 0.7780, kappa = 0.524."""
    a, b = from_table({("+", "+"): 1467, ("+", "-"): 782, ("-", "+"): 1309, ("-", "-"): 16232})
    assert round(percent_agreement(a, b), 4) == 0.8943
    assert round(cohen_kappa(a, b), 3) == 0.524


@pytest.mark.parametrize("cells, published", [
    ({("+", "+"): 40, ("+", "-"): 9, ("-", "+"): 6, ("-", "-"): 45}, 0.70),
    ({("+", "+"): 80, ("+", "-"): 10, ("-", "+"): 5, ("-", "-"): 5}, 0.32)])
def test_kappa_paradox_tables(cells, published):
    """Same book, Table 10.6 (from Feinstein & Cicchetti 1990): agreement 0.85 in both,
    kappa 0.70 and 0.32 because the second table's codes are lopsided."""
    a, b = from_table(cells)
    assert percent_agreement(a, b) == pytest.approx(0.85)
    assert round(cohen_kappa(a, b), 2) == published


# --- independent implementations -------------------------------------------------------

def coders_with_agreement(seed: int, coders: int, units: int, codes: int, p: float,
                          missing: float = 0.0) -> list[list]:
    """Each coder gives a unit's true code with probability p, else a random code."""
    rng = random.Random(seed)
    truth = [rng.randrange(codes) for _ in range(units)]
    return [[None if rng.random() < missing else
             (t if rng.random() < p else rng.randrange(codes)) for t in truth]
            for _ in range(coders)]


@pytest.mark.parametrize("seed", range(12))
def test_kappa_matches_scikit_learn(seed):
    from sklearn.metrics import cohen_kappa_score
    rng = random.Random(seed)
    a, b = coders_with_agreement(seed, 2, rng.randint(5, 300), rng.randint(2, 8), rng.random())
    if len(set(a) | set(b)) == 1:
        pytest.skip("one code throughout")
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_alpha_matches_nltk_with_missing_codes(seed, level):
    from nltk.metrics.agreement import AnnotationTask
    from nltk.metrics.distance import binary_distance, interval_distance
    rng = random.Random(seed)
    coders = coders_with_agreement(seed, rng.randint(2, 5), rng.randint(5, 80),
                                   rng.randint(2, 6), rng.random(), missing=0.3)
    triples = [(c, u, value) for c, codes in enumerate(coders)
               for u, value in enumerate(codes) if value is not None]
    distance = interval_distance if level == "interval" else binary_distance
    theirs = AnnotationTask(triples, distance=distance).alpha()
    assert krippendorff_alpha(by_unit(*coders), level) == pytest.approx(theirs, abs=1e-12)


def test_two_coders_without_missing_codes_alpha_is_scotts_pi_corrected_for_sample_size():
    """alpha = 1 - (2N - 1) / (2N) * (1 - pi), with Scott's pi from pooled proportions."""
    a, b = coders_with_agreement(3, 2, 40, 4, 0.6)
    pooled = a + b
    p_e = sum((pooled.count(c) / len(pooled)) ** 2 for c in set(pooled))
    p_o = percent_agreement(a, b)
    pi = (p_o - p_e) / (1 - p_e)
    assert krippendorff_alpha(by_unit(a, b)) == pytest.approx(1 - (79 / 80) * (1 - pi))


# --- missing codes, degenerate inputs, errors ------------------------------------------

def test_a_unit_either_coder_left_uncoded_is_left_out_of_kappa():
    a = ["x", "y", N, "x", "y", "z"]
    b = ["x", N, "y", "y", "y", "z"]
    assert cohen_kappa(a, b) == cohen_kappa(["x", "x", "y", "z"], ["x", "y", "y", "z"])
    assert percent_agreement(a, b) == 0.75


def test_one_code_throughout_leaves_kappa_and_alpha_undefined():
    same = ["safety"] * 6
    assert math.isnan(cohen_kappa(same, same))
    assert percent_agreement(same, same) == 1.0
    assert math.isnan(krippendorff_alpha(by_unit(same, same, same)))
    assert math.isnan(kappa_estimate(same, same).ci_low)


def test_one_coder_using_one_code_is_not_degenerate_when_the_other_varies():
    # p_e = 0.5, p_o = 0.5: kappa is exactly zero, not undefined
    assert cohen_kappa(["a"] * 4, ["a", "b", "a", "b"]) == 0.0


@pytest.mark.parametrize("a, b", [([], []), ([N, "x"], ["y", N]), ([N], [N])])
def test_nothing_coded_by_both_gives_nan(a, b):
    assert math.isnan(cohen_kappa(a, b)) and math.isnan(percent_agreement(a, b))


def test_no_pairable_unit_gives_nan_alpha():
    assert math.isnan(krippendorff_alpha([[1, N], [N, 2], []]))
    assert math.isnan(pairwise_agreement([[1, N]]))


def test_perfect_agreement_is_one_and_systematic_disagreement_is_negative():
    assert cohen_kappa([1, 2, 3, 1], [1, 2, 3, 1]) == 1.0
    assert krippendorff_alpha([[1, 1], [2, 2], [3, 3, N]]) == 1.0
    assert cohen_kappa(["a", "b"] * 5, ["b", "a"] * 5) == -1.0
    assert krippendorff_alpha(by_unit(["a", "b"] * 5, ["b", "a"] * 5)) < 0


def test_unequal_lists_and_unknown_levels_are_refused():
    with pytest.raises(ValueError, match="equal-length"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1, 2]], level="circular")
    with pytest.raises(ValueError, match="numeric"):
        krippendorff_alpha([["a", "b"]], level="interval")
    with pytest.raises(ValueError, match="one entry per unit"):
        by_unit([1, 2], [1])


def test_every_level_runs_on_codes_it_accepts():
    units = by_unit([1, 2, 3, 4, 2], [1, 2, 4, 4, 3], [2, 2, 3, N, 3])
    assert all(-1 <= krippendorff_alpha(units, level) <= 1 for level in LEVELS)


# --- percent agreement for any number of coders ----------------------------------------

def test_pairwise_agreement_is_percent_agreement_for_two_coders():
    a = ["x", "y", N, "x", "y", "z", "z"]
    b = ["x", N, "y", "y", "y", "z", "x"]
    assert pairwise_agreement(by_unit(a, b)) == pytest.approx(percent_agreement(a, b))


def test_pairwise_agreement_counts_pairs_within_a_unit():
    # unit 1: 3 coders, two say "a": 2 of the 6 ordered pairs agree; unit 2: all agree
    assert pairwise_agreement([["a", "a", "b"], ["c", "c", "c"]]) == pytest.approx((2 + 6) / 12)


# --- several codes per answer ----------------------------------------------------------

def test_presence_keeps_missing_apart_from_coded_with_nothing():
    codings = [{"safety", "trust"}, set(), N, "safety", ["trust"]]
    assert presence(codings, "safety") == [True, False, None, True, False]
    assert codes_used(codings, [{"youth"}]) == ["safety", "trust", "youth"]


def test_per_code_kappa_judges_each_code_as_present_or_absent():
    a = [{"safety"}, {"safety", "trust"}, {"trust"}, set(), {"safety"}, N]
    b = [{"safety"}, {"safety"}, {"trust"}, {"trust"}, set(), {"trust"}]
    figures = per_code_kappa(a, b, n_boot=0)
    assert list(figures) == ["safety", "trust"]
    # five units coded by both; safety: a = 1,1,0,0,1 b = 1,1,0,0,0
    assert figures["safety"].value == pytest.approx(
        cohen_kappa([1, 1, 0, 0, 1], [1, 1, 0, 0, 0]))
    assert figures["trust"].value == pytest.approx(
        cohen_kappa([0, 1, 1, 0, 0], [0, 0, 1, 1, 0]))
    assert figures["safety"].n_units == 5


def test_per_code_kappa_reports_a_codebook_code_nobody_used_as_undefined():
    figures = per_code_kappa([{"a"}, {"b"}], [{"a"}, {"a"}], codes=["a", "b", "unused"], n_boot=0)
    assert math.isnan(figures["unused"].value)


def test_code_sets_agree_whatever_their_order_and_a_bare_code_is_a_set_of_one():
    a = [["safety", "trust"], ("youth",), "youth", set()]
    b = [{"trust", "safety"}, {"youth"}, {"youth"}, []]
    assert percent_agreement(a, b) == 1.0
    assert disagreements(by_unit(a, b)) == []
    assert krippendorff_alpha(by_unit(a, b)) == 1.0


def test_per_code_alpha_is_binary_alpha_of_presence():
    units = [[{"a", "b"}, {"a"}, N], [{"b"}, {"b"}, {"a"}], [set(), {"a"}, {"a", "b"}],
             [{"a"}, {"a"}, {"a"}]]
    figures = per_code_alpha(units, n_boot=0)
    for code in ("a", "b"):
        expected = krippendorff_alpha([presence(unit, code) for unit in units])
        assert figures[code].value == pytest.approx(expected)


# --- the disagreement list -------------------------------------------------------------

def test_disagreements_list_units_with_each_coders_codes():
    found = disagreements(by_unit(*KRIPPENDORFF_2011))
    assert found == [Disagreement(1, (2, 2, 3, 2)), Disagreement(5, (1, 2, 3, 4)),
                     Disagreement(7, (1, 1, 2, 1))]


def test_a_unit_one_coder_skipped_is_not_a_disagreement():
    assert disagreements([["a", N], [N, N], ["a", "a", N]]) == []


# --- bootstrap intervals ---------------------------------------------------------------

def test_intervals_are_seeded_and_bracket_the_estimate():
    a, b = coders_with_agreement(1, 2, 120, 4, 0.7)
    first = kappa_estimate(a, b, seed=7, n_boot=500)
    assert first == kappa_estimate(a, b, seed=7, n_boot=500)
    assert first != kappa_estimate(a, b, seed=8, n_boot=500)
    assert first.ci_low < first.value < first.ci_high
    assert first.n_units == 120 and first.n_boot == 500


def test_intervals_narrow_as_the_sample_grows():
    small = alpha_estimate(by_unit(*coders_with_agreement(2, 3, 60, 4, 0.7, 0.2)), n_boot=400)
    large = alpha_estimate(by_unit(*coders_with_agreement(2, 3, 960, 4, 0.7, 0.2)), n_boot=400)
    # the width goes as 1/sqrt(n): a quarter here, give or take
    assert (large.ci_high - large.ci_low) < 0.45 * (small.ci_high - small.ci_low)


def test_percent_agreement_interval_stays_within_zero_and_one():
    a, b = coders_with_agreement(5, 2, 30, 3, 0.9)
    estimate = percent_agreement_estimate(a, b, n_boot=300)
    assert 0 <= estimate.ci_low <= estimate.value <= estimate.ci_high <= 1


@pytest.mark.parametrize("statistic", ["kappa", "alpha"])
def test_intervals_cover_the_true_coefficient_about_95_times_in_100(statistic):
    """Coders copy the true code with probability p, else pick one of k uniformly. Two
    values of a unit agree beyond chance only when both were copied, so the population
    kappa and alpha are both p squared. 200 samples of 150 units: a 95% interval should
    miss about 10 of them (binomial sd about 3)."""
    p, k, samples = 0.7, 4, 200
    covered = 0
    for seed in range(samples):
        if statistic == "kappa":
            a, b = coders_with_agreement(seed, 2, 150, k, p)
            estimate = kappa_estimate(a, b, n_boot=400, seed=seed)
        else:
            coders = coders_with_agreement(seed, 3, 150, k, p, missing=0.2)
            estimate = alpha_estimate(by_unit(*coders), n_boot=400, seed=seed)
        covered += estimate.ci_low <= p * p <= estimate.ci_high
    assert 0.89 <= covered / samples <= 0.99
