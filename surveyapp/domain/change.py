"""Change in a domain score from the baseline to a follow-up, paired where residents linked.

``estimate_change(before, after, pairs)`` takes every baseline score and every follow-up
score of a group (a site, or all sites) and the pairs that are the same resident, and
chooses the interval honestly:

* no pairs: Welch's t interval (unequal variances, Welch-Satterthwaite df);
* every score paired: the paired t interval on the differences;
* some paired, some not (residents who did not come back, newcomers, a missing score
  on one side): the partially overlapping samples t interval of Derrick, Russ, Toher &
  White (2017), "Test statistics for the comparison of means for two samples that
  include both paired and independent observations", *Journal of Modern Applied
  Statistical Methods* 16(1), 137-157: their T_new2 (unequal variances) and its df, as
  in their R package Partiallyoverlapping (``Partover.test``). It uses every score,
  which neither of the other two can.

T_new2 reduces exactly to Welch with no pairs and to the paired t with no unpaired
score, so one formula (``change_interval``) serves all three. Coverage of its 95% CI is
checked by simulation in tests/domain/test_change.py: 0.94-0.96 from 10 to 500
residents, rho 0 to 0.8, with missing scores, on normal and on Likert-based scores. The
one place it strays is on the cautious side: about 10 pairs correlating strongly
(rho = 0.8) beside a few unpaired scores cover about 0.965, as T_new2's df runs low.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple, Sequence

from surveyapp.domain.statistics import (
    CONFIDENCE, alike, as_score, check_confidence, d_z, hedges_g, mean_and_variance)


@dataclass(frozen=True)
class ChangeEstimate:
    """Follow-up minus baseline, with its CI, effect size and the counts behind them.

    ``method``: ``"welch"`` (no complete pairs), ``"paired"`` (every score in a complete
    pair) or ``"combined"`` (Derrick et al.'s T_new2). ``n_before`` and ``n_after``
    count every score present on each side, paired or not; ``n_paired`` the pairs with
    both scores. ``correlation`` is Pearson's r of the complete pairs (None with fewer
    than 2); ``df`` the t interval's degrees of freedom; ``p_value`` the two-sided p of
    no change, from the same t (what ``statistics.benjamini_hochberg`` takes).

    ``effect_size`` is d_z (``effect_kind`` ``"d_z"``) for "paired", else Hedges' g of
    all baseline against all follow-up scores (``"g"``, see ``statistics.hedges_g``).
    For "combined", g's CI treats the two waves as independent: too wide (cautious)
    when, as with the same residents asked twice, the pairs correlate positively.

    Degenerate groups give None, never NaN: ``difference`` is None when a side has
    no score; the CI is None with fewer than 2 scores on a side (fewer than 2 pairs for
    "paired") or when no score varies (every difference alike for "paired").
    """
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    standard_error: float | None
    p_value: float | None
    method: str
    effect_size: float | None
    effect_ci_low: float | None
    effect_ci_high: float | None
    effect_kind: str
    n_before: int
    n_after: int
    n_paired: int
    correlation: float | None
    confidence: float = CONFIDENCE


def estimate_change(before: Sequence[Any], after: Sequence[Any],
                    pairs: Iterable[tuple[int, int]] = (), *,
                    confidence: float = CONFIDENCE) -> ChangeEstimate:
    """The change from ``before`` (baseline scores) to ``after`` (follow-up scores).

    Scores are numbers, or None (NaN too) when missing. ``pairs`` holds ``(i, j)``: the
    resident of ``before[i]`` is the resident of ``after[j]``. A pair with a missing
    score on either side counts as unpaired on the side that has one. Every other score
    is unpaired. Raises ValueError when an index is out of range (negative ones too:
    they would silently alias), not an integer, or used in two pairs, or when a score
    is not a number.
    """
    check_confidence(confidence)
    a_scores = [as_score(s) for s in before]
    b_scores = [as_score(s) for s in after]
    pairs = _checked_pairs(pairs, len(a_scores), len(b_scores))
    complete = [(i, j) for i, j in pairs if a_scores[i] is not None and b_scores[j] is not None]
    a_all = [s for s in a_scores if s is not None]
    b_all = [s for s in b_scores if s is not None]
    n_a, n_b, n_paired = len(a_all), len(b_all), len(complete)
    paired_a = [a_scores[i] for i, _ in complete]
    paired_b = [b_scores[j] for _, j in complete]
    if n_paired == 0:
        method = "welch"
    elif n_paired == n_a == n_b:
        method = "paired"
    else:
        method = "combined"
    correlation = _pearson(paired_a, paired_b)
    if method == "paired":
        effect = d_z(paired_a, paired_b, confidence=confidence)
    else:
        effect = hedges_g(a_all, b_all, confidence=confidence)
    mean_a, var_a = mean_and_variance(a_all)
    mean_b, var_b = mean_and_variance(b_all)
    difference = mean_b - mean_a if n_a and n_b else None
    low = high = df = standard_error = p_value = None
    if _has_interval(method, a_all, b_all, paired_a, paired_b):
        # r = 0 when it cannot be computed (one pair, or a side of the pairs that does
        # not vary), as Partover.test does: there is no covariance to subtract then.
        interval = change_interval(n_a, n_b, n_paired, mean_a, mean_b, var_a, var_b,
                                   correlation or 0.0, confidence)
        if interval.standard_error > 0:
            _, low, high, df, standard_error = interval
            from scipy.stats import t as student_t  # lazy: see change_interval
            p_value = float(2 * student_t.sf(abs(difference) / standard_error, df))
    return ChangeEstimate(difference, low, high, df, standard_error, p_value, method,
                          effect.value, effect.ci_low, effect.ci_high, effect.kind, n_a, n_b,
                          n_paired, correlation, confidence)


class Interval(NamedTuple):
    """What ``change_interval`` returns: floats, or numpy arrays given arrays."""
    difference: Any
    ci_low: Any
    ci_high: Any
    df: Any
    standard_error: Any


def change_interval(n_before, n_after, n_paired, mean_before, mean_after, var_before,
                    var_after, correlation, confidence: float = CONFIDENCE) -> Interval:
    """Difference, CI, df and SE of Derrick et al.'s T_new2 from summaries.

    ``n_*`` count all scores of a side, ``n_paired`` the complete pairs among them;
    means and sample variances are over all scores of a side; ``correlation`` is r of
    the complete pairs. With n_u the unpaired scores of both sides together:

        SE² = s1²/n1 + s2²/n2 - 2 r s1 s2 n12 / (n1 n2)
        df  = (n12 - 1) + (γ - n12 + 1) n_u / (n_u + 2 n12),  γ = Welch's df

    n12 = 0 gives Welch's interval, n_u = 0 the paired t interval. Arithmetic only, so
    it runs elementwise on numpy arrays as well as on floats (the coverage simulation
    feeds it thousands of datasets at once). The caller rules out degenerate input
    (a side with fewer than 2 scores, no variance): ``estimate_change`` does.
    """
    # Imported here: scipy.stats costs ~1.5 s of CPU at import (see scoring._t_quantile).
    from scipy.stats import t as student_t
    se_before, se_after = var_before / n_before, var_after / n_after
    variance = se_before + se_after - (2 * correlation * (var_before * var_after) ** 0.5
                                       * n_paired / (n_before * n_after))
    welch_df = (se_before + se_after) ** 2 / (
        se_before ** 2 / (n_before - 1) + se_after ** 2 / (n_after - 1))
    unpaired = n_before + n_after - 2 * n_paired
    df = (n_paired - 1) + (welch_df - n_paired + 1) * unpaired / (unpaired + 2 * n_paired)
    difference = mean_after - mean_before
    # Clamped (elementwise too): rounding can take a near-zero variance a hair below 0.
    standard_error = (variance * (variance > 0)) ** 0.5
    half = student_t.ppf(0.5 + confidence / 2, df) * standard_error
    if getattr(half, "ndim", 0) == 0:  # one dataset: plain floats, not numpy scalars
        half, df, standard_error = float(half), float(df), float(standard_error)
    return Interval(difference, difference - half, difference + half, df, standard_error)


def _has_interval(method: str, a_all: list[float], b_all: list[float],
                  paired_a: list[float], paired_b: list[float]) -> bool:
    """Whether the data can carry a CI (else None fields rather than NaN or a zero width)."""
    if method == "paired":
        # Checked on the differences: r s1 s2 would leave a rounding-sized width for a
        # constant shift.
        return len(paired_a) >= 2 and not alike([b - a for a, b in zip(paired_a, paired_b)])
    if len(a_all) < 2 or len(b_all) < 2:
        return False
    # Welch and T_new2 have zero variance only when neither side varies.
    return not (alike(a_all) and alike(b_all))


def _pearson(a: list[float], b: list[float]) -> float | None:
    """Pearson's r, None with fewer than 2 pairs or a side that does not vary."""
    if len(a) < 2 or alike(a) or alike(b):
        return None
    mean_a, var_a = mean_and_variance(a)
    mean_b, var_b = mean_and_variance(b)
    covariance = math.fsum((x - mean_a) * (y - mean_b) for x, y in zip(a, b)) / (len(a) - 1)
    # Clamped: rounding can take a perfect correlation a hair past 1.
    return max(-1.0, min(1.0, covariance / math.sqrt(var_a * var_b)))


def _checked_pairs(pairs: Iterable[tuple[int, int]], n_before: int, n_after: int
                   ) -> list[tuple[int, int]]:
    checked, used_before, used_after = [], set(), set()
    for pair in pairs:
        try:
            i, j = pair
        except (TypeError, ValueError):
            raise ValueError(f"a pair is two indexes (before, after), not {pair!r}") from None
        for index, size, side in ((i, n_before, "before"), (j, n_after, "after")):
            if type(index) is not int and (  # numpy integers are fine, bools are not
                    isinstance(index, bool) or not isinstance(index, numbers.Integral)):
                raise ValueError(f"pair {pair!r}: {side} index is not an integer")
            if not 0 <= index < size:
                raise ValueError(f"pair {pair!r}: {side} index out of range (0 to {size - 1})")
        if i in used_before:
            raise ValueError(f"pair {pair!r}: before[{i}] is already in a pair")
        if j in used_after:
            raise ValueError(f"pair {pair!r}: after[{j}] is already in a pair")
        used_before.add(i)
        used_after.add(j)
        checked.append((int(i), int(j)))
    return checked
