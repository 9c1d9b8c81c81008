"""domain.reliability: the figures of a double-coded sample, from codes alone."""
import math

import pytest

from surveyapp.domain.agreement import (cohen_kappa, krippendorff_alpha, pairwise_agreement,
                                        percent_agreement, presence)
from surveyapp.domain.reliability import (
    NO_THEME, SampleFigures, about_pairs, figures, reliability, reliability_rows, resolved_codes)

A = [1, 1, 2, 2, NO_THEME, 1, 2, 1, 2, 1]
B = [1, 2, 2, 2, NO_THEME, 1, 1, 1, 2, NO_THEME]
C = [1, 1, 2, None, NO_THEME, 1, 2, 1, 2, 1]


def test_two_coders_get_kappa_alpha_and_agreement_as_domain_agreement_computes_them():
    f = figures([A, B], n_boot=200, seed=1)
    assert f.kappa.value == pytest.approx(cohen_kappa(A, B))
    assert f.alpha.value == pytest.approx(krippendorff_alpha([[a, b] for a, b in zip(A, B)]))
    assert f.agreement.value == pytest.approx(percent_agreement(A, B))
    assert [c.code for c in f.per_code] == [NO_THEME, 1, 2]
    for c in f.per_code:
        assert c.kappa.value == pytest.approx(cohen_kappa(presence(A, c.code), presence(B, c.code)))
        assert c.kappa.ci_low <= c.kappa.value <= c.kappa.ci_high


def test_three_coders_with_a_missing_code_get_alpha_and_pairwise_agreement_not_kappa():
    f = figures([A, B, C], n_boot=0)
    units = [list(u) for u in zip(A, B, C)]
    assert f.kappa is None and all(c.kappa is None for c in f.per_code)
    assert f.alpha.value == pytest.approx(krippendorff_alpha(units))
    assert f.agreement.value == pytest.approx(pairwise_agreement(units))


def test_resolved_codes_take_the_agreed_code_else_the_resolution():
    assert resolved_codes([A, B], {1: 1}) == [1, 1, 2, 2, NO_THEME, 1, None, 1, 2, None]
    assert resolved_codes([[1, None], [None, None]], {}) == [1, None]


def test_the_machine_is_scored_against_the_resolved_codes():
    machine = [1, 1, 2, 1, NO_THEME, 1, 2, 2, 2, 1]
    done = reliability([A, B], resolutions={1: 1, 6: 2, 9: 1}, machine=machine, n_boot=0)
    assert done.disagreements == (1, 6, 9)
    assert done.resolved == tuple(A)
    assert done.machine.kappa.value == pytest.approx(cohen_kappa(A, machine))
    assert reliability([A, B], machine=[None] * 10, n_boot=0).machine is None
    with pytest.raises(ValueError):
        reliability([A])


def test_rows_name_every_comparison_code_and_coefficient_and_leave_nan_empty():
    same = [1] * 4
    done = reliability([same, same], machine=[1, 1, 2, 1], n_boot=0)
    assert math.isnan(done.coders.kappa.value)
    rows = list(reliability_rows([SampleFigures(3, "question", "q", 4, 9, ("a", "b"),
                                                {1: "Lights", 2: "Police"}, done)]))
    kappa = next(r for r in rows if r[6] == "coders" and r[7] == "all codes" and r[8] == "Cohen's kappa")
    assert kappa[9] is None and kappa[12] == 4
    assert {r[6] for r in rows} == {"coders", "engine vs resolved codes"}
    assert {r[7] for r in rows if r[6] == "engine vs resolved codes"} == {"all codes", "Lights", "Police"}
    assert about_pairs([]) == []
    assert "kappa not defined" in about_pairs([SampleFigures(3, "question", "q", 4, 9, ("a", "b"),
                                                             {}, done)])[0][1]
