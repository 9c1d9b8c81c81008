"""Agreement between coders: Cohen's kappa, Krippendorff's alpha, percent agreement,
bootstrap intervals, and the list of units the coders disagree on. Data in, numbers out.

Shapes
    *Two coders*: two equal-length lists, one entry per unit (an answer or a segment).
    *Any number of coders*: ``units``, one list per unit of the codings each coder gave
    (keep one coder order in every unit if the disagreement list is to name coders).

Entries
    ``None`` means "this coder did not code this unit" (missing), never a code.
    A code is any hashable (a theme id, a label) other than a set-like value.
    Multi-code coding, where an answer may carry several codes: the entry is a set,
    frozenset, list or tuple of codes, and an *empty* one means "coded: no code applies"
    (which is not missing); once any entry is a set, a bare code counts as a set of one.
    The overall coefficients treat each distinct set as one category (agreement = the
    same set of codes); per-code figures turn every code into present/absent
    (:func:`presence`), which is what a multi-code codebook should be judged by.

Undefined coefficients are ``nan``, never a guess. Kappa and alpha are 0/0 when every
coded value is one and the same code (both coders said "safety" every time): chance
alone predicts that agreement, so the data cannot show reliability, and 1 would claim it
while 0 would deny it. The same holds with no pairable data at all. Callers show nan as
"not defined" and say why (:attr:`Estimate.n_units`, and the codes used).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

LEVELS = ("nominal", "ordinal", "interval", "ratio")
N_BOOT = 2000
_NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """A coefficient with a bootstrap percentile interval.

    ``value`` is the coefficient on the data as given. ``ci_low``/``ci_high`` bound the
    interval; both are nan when no bootstrap ran (``n_boot=0``) or when fewer than half
    the resamples gave a defined coefficient (an interval from the lucky rest would be too
    narrow). ``n_units``: units that entered the coefficient (both coders coded them, or
    at least two coders did). ``n_boot``: resamples whose coefficient was defined.
    """
    value: float
    ci_low: float
    ci_high: float
    n_units: int
    n_boot: int


@dataclass(frozen=True)
class Disagreement:
    """Unit ``unit`` (its index in the input) and each coder's coding, as given."""
    unit: int
    codes: tuple


# --- inputs ----------------------------------------------------------------------------

def _coding(value):
    """The comparable form of one coder's entry: None, a code, or a frozenset of codes."""
    if value is None or isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (set, frozenset, list, tuple)):
        return frozenset(value)
    return value


def _codings(*lists: Iterable) -> list[list]:
    """Each list's entries in comparable form. Once any entry is a set, a bare code is
    read as the set of that one code, so "safety" and {"safety"} agree."""
    converted = [[_coding(entry) for entry in entries] for entries in lists]
    if any(isinstance(entry, frozenset) for entries in converted for entry in entries):
        converted = [[frozenset([entry]) if entry is not None and not isinstance(entry, frozenset)
                      else entry for entry in entries] for entries in converted]
    return converted


def _ordered(values: Iterable) -> list:
    """Distinct values, sorted when they sort (stable output), else in first-seen order."""
    distinct = list(dict.fromkeys(values))
    try:
        return sorted(distinct)
    except TypeError:
        return distinct


def by_unit(*coders: Sequence) -> list[list]:
    """Turn one list per coder (equal lengths) into ``units``: one list per unit."""
    if len({len(codes) for codes in coders}) > 1:
        raise ValueError("every coder's list must have one entry per unit")
    return [list(unit) for unit in zip(*coders)]


def presence(codings: Sequence, code: Hashable) -> list[bool | None]:
    """Each entry as "``code`` present?": None stays None (not coded); a set-like entry
    holds the code or not; a single code is present when it equals ``code``."""
    result = []
    for entry in map(_coding, codings):
        if entry is None:
            result.append(None)
        elif isinstance(entry, frozenset):
            result.append(code in entry)
        else:
            result.append(entry == code)
    return result


def codes_used(*codings: Iterable) -> list:
    """Every code that appears in any entry of the given lists (sets opened up)."""
    seen = []
    for codes in codings:
        for entry in map(_coding, codes):
            if isinstance(entry, frozenset):
                seen.extend(entry)
            elif entry is not None:
                seen.append(entry)
    return _ordered(seen)


# --- the bootstrap ---------------------------------------------------------------------

def _estimate(statistic: Callable[[np.ndarray], float], n_units: int, *, n_boot: int,
              seed: int, confidence: float) -> Estimate:
    """Point value and percentile interval of ``statistic(weights)``, where ``weights[u]``
    is how many times unit ``u`` is in the sample (all ones for the data as given).

    Units are what was sampled, and the codes within a unit are not independent, so the
    bootstrap resamples whole units with replacement.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    value = statistic(np.ones(n_units)) if n_units else _NAN
    if n_boot <= 0 or n_units == 0:
        return Estimate(value, _NAN, _NAN, n_units, 0)
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    for b in range(n_boot):
        draws[b] = statistic(np.bincount(rng.integers(0, n_units, n_units),
                                         minlength=n_units).astype(float))
    defined = draws[~np.isnan(draws)]
    if len(defined) * 2 < n_boot:
        return Estimate(value, _NAN, _NAN, n_units, len(defined))
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail])
    return Estimate(value, float(low), float(high), n_units, len(defined))


# --- two coders: kappa and percent agreement -------------------------------------------

def _pairs(codes_a: Sequence, codes_b: Sequence) -> tuple[np.ndarray, int]:
    """Cell index (a * k + b) in the k x k agreement table for each unit both coded."""
    if len(codes_a) != len(codes_b):
        raise ValueError(f"two coders, two equal-length lists: {len(codes_a)} != {len(codes_b)}")
    pairs = [(a, b) for a, b in zip(*_codings(codes_a, codes_b))
             if a is not None and b is not None]
    categories = _ordered(value for pair in pairs for value in pair)
    index = {category: i for i, category in enumerate(categories)}
    k = len(categories)
    return np.array([index[a] * k + index[b] for a, b in pairs], dtype=np.intp), k


def _table(cells: np.ndarray, k: int, weights: np.ndarray) -> np.ndarray:
    return np.bincount(cells, weights=weights, minlength=k * k).reshape(k, k)


def _kappa_of(table: np.ndarray) -> float:
    # In counts, (N * agreed - sum r_c c_c) / (N^2 - sum r_c c_c): integer-valued floats, so
    # the degenerate denominator is exactly zero rather than 1e-17 (a kappa of -3e15).
    n = table.sum()
    chance = float(table.sum(axis=1) @ table.sum(axis=0))
    denominator = n * n - chance
    if denominator == 0:
        return _NAN
    return float((n * np.trace(table) - chance) / denominator)


def _agreement_of(table: np.ndarray) -> float:
    n = table.sum()
    return float(np.trace(table) / n) if n else _NAN


def cohen_kappa(codes_a: Sequence, codes_b: Sequence) -> float:
    """Cohen's (1960) kappa between two coders: (p_o - p_e) / (1 - p_e).

    Only units both coders coded count (a None on either side drops the unit). nan when
    no unit is left or when both coders used one and the same code throughout.
    """
    cells, k = _pairs(codes_a, codes_b)
    return _kappa_of(_table(cells, k, np.ones(len(cells)))) if len(cells) else _NAN


def percent_agreement(codes_a: Sequence, codes_b: Sequence) -> float:
    """Share of the units both coders coded on which they gave the same coding, as a
    proportion from 0 to 1 (shown as a percentage). nan when no unit was coded by both."""
    cells, k = _pairs(codes_a, codes_b)
    return _agreement_of(_table(cells, k, np.ones(len(cells)))) if len(cells) else _NAN


def kappa_estimate(codes_a: Sequence, codes_b: Sequence, *, n_boot: int = N_BOOT,
                   seed: int = 0, confidence: float = 0.95) -> Estimate:
    """:func:`cohen_kappa` with a percentile bootstrap interval over units (seeded)."""
    cells, k = _pairs(codes_a, codes_b)
    return _estimate(lambda w: _kappa_of(_table(cells, k, w)), len(cells),
                     n_boot=n_boot, seed=seed, confidence=confidence)


def percent_agreement_estimate(codes_a: Sequence, codes_b: Sequence, *, n_boot: int = N_BOOT,
                               seed: int = 0, confidence: float = 0.95) -> Estimate:
    """:func:`percent_agreement` with a percentile bootstrap interval over units (seeded)."""
    cells, k = _pairs(codes_a, codes_b)
    return _estimate(lambda w: _agreement_of(_table(cells, k, w)), len(cells),
                     n_boot=n_boot, seed=seed, confidence=confidence)


def per_code_kappa(codes_a: Sequence, codes_b: Sequence, codes: Iterable | None = None, *,
                   n_boot: int = N_BOOT, seed: int = 0,
                   confidence: float = 0.95) -> dict[Hashable, Estimate]:
    """Kappa for each code judged as present/absent (see :func:`presence`), with intervals.

    ``codes`` defaults to every code either coder used; pass the codebook to report codes
    nobody used too (their kappa is nan: absent throughout). Every code is resampled with
    the same seed over the same units, so the intervals come from the same resamples.
    """
    wanted = codes_used(codes_a, codes_b) if codes is None else list(codes)
    return {code: kappa_estimate(presence(codes_a, code), presence(codes_b, code),
                                 n_boot=n_boot, seed=seed, confidence=confidence)
            for code in wanted}


# --- any number of coders: Krippendorff's alpha ----------------------------------------

@dataclass(frozen=True)
class _Coincidences:
    """Reliability data reduced to pairable units, as flat arrays for fast reweighting.

    Entry e adds ``weight[e]`` to cell ``cell[e]`` of the k x k coincidence matrix for unit
    ``entry_unit[e]``; value v is category ``category[v]`` of unit ``value_unit[v]``.
    """
    categories: list
    cell: np.ndarray
    entry_unit: np.ndarray
    weight: np.ndarray
    category: np.ndarray
    value_unit: np.ndarray
    n_units: int


def _coincidences(units: Iterable[Sequence]) -> _Coincidences:
    pairable = []
    for unit in _codings(*units):
        values = [value for value in unit if value is not None]
        if len(values) >= 2:  # a lone value has nothing to be compared with
            pairable.append(values)
    categories = _ordered(value for values in pairable for value in values)
    index = {category: i for i, category in enumerate(categories)}
    k = len(categories)
    cell, entry_unit, weight, category, value_unit = [], [], [], [], []
    for u, values in enumerate(pairable):
        counts: dict[int, int] = {}
        for value in values:
            counts[index[value]] = counts.get(index[value], 0) + 1
            category.append(index[value])
            value_unit.append(u)
        # Krippendorff's o_ck: each ordered pair of values from different coders in this
        # unit, over m_u - 1, so that each value contributes 1 in all.
        for c, n_c in counts.items():
            for k2, n_k in counts.items():
                pairs = n_c * (n_k - (c == k2))
                if pairs:
                    cell.append(c * k + k2)
                    entry_unit.append(u)
                    weight.append(pairs / (len(values) - 1))
    return _Coincidences(categories, np.array(cell, dtype=np.intp),
                         np.array(entry_unit, dtype=np.intp), np.array(weight, dtype=float),
                         np.array(category, dtype=np.intp), np.array(value_unit, dtype=np.intp),
                         len(pairable))


def _interval_distances(categories: list, level: str) -> np.ndarray:
    try:
        v = np.array([float(c) for c in categories])
    except (TypeError, ValueError):
        raise ValueError(f"{level} alpha needs numeric codes") from None
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if (v < 0).any():
        raise ValueError("ratio alpha needs codes of zero or more")
    total = v[:, None] + v[None, :]
    difference = v[:, None] - v[None, :]
    ratio = np.divide(difference, total, out=np.zeros_like(total), where=total != 0)
    return ratio ** 2


def _ordinal_distances(n_c: np.ndarray) -> np.ndarray:
    # (sum of n_g for g from c to k, minus (n_c + n_k) / 2) squared; with S the running sum
    # that is S_k - S_c + (n_c - n_k) / 2, antisymmetric, so one expression serves c > k.
    running = np.cumsum(n_c)
    m = running[None, :] - running[:, None] + (n_c[:, None] - n_c[None, :]) / 2
    return m ** 2


def _alpha_statistic(data: _Coincidences, level: str) -> Callable[[np.ndarray], float]:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    k = len(data.categories)
    if level == "nominal":
        fixed = 1.0 - np.eye(k)
    elif level == "ordinal":
        if any(isinstance(c, frozenset) for c in data.categories):
            raise ValueError("ordinal alpha needs single, ordered codes")
        try:
            sorted(data.categories)
        except TypeError:
            raise ValueError("ordinal alpha needs codes that sort in their order") from None
        fixed = None
    else:
        fixed = _interval_distances(data.categories, level)

    def alpha(weights: np.ndarray) -> float:
        observed = np.bincount(data.cell, weights=weights[data.entry_unit] * data.weight,
                               minlength=k * k).reshape(k, k)
        n_c = np.bincount(data.category, weights=weights[data.value_unit], minlength=k)
        n = n_c.sum()
        delta = _ordinal_distances(n_c) if fixed is None else fixed
        expected = float(n_c @ delta @ n_c)
        if n < 2 or expected == 0:  # one value throughout: alpha is 0/0
            return _NAN
        return float(1.0 - (n - 1) * float((observed * delta).sum()) / expected)

    return alpha


def krippendorff_alpha(units: Iterable[Sequence], level: str = "nominal") -> float:
    """Krippendorff's alpha, 1 - D_o / D_e, by coincidence matrices (Krippendorff 2011).

    ``units``: one list per unit of the codings each coder gave, None for missing; a unit
    with fewer than two codings is not pairable and is left out. ``level``: nominal,
    ordinal (codes must sort), interval or ratio (numeric codes). nan when no unit is
    pairable or every pairable value is the same.
    """
    data = _coincidences(units)
    return _alpha_statistic(data, level)(np.ones(data.n_units)) if data.n_units else _NAN


def alpha_estimate(units: Iterable[Sequence], level: str = "nominal", *, n_boot: int = N_BOOT,
                   seed: int = 0, confidence: float = 0.95) -> Estimate:
    """:func:`krippendorff_alpha` with a percentile bootstrap interval over pairable units.

    This is a plain unit bootstrap, not Hayes & Krippendorff's (2007) algorithm, which
    resamples pairs of values with the expected disagreement held fixed; units are what
    was sampled, and resampling them keeps each unit's codes together.
    """
    data = _coincidences(units)
    statistic = _alpha_statistic(data, level)
    return _estimate(statistic, data.n_units, n_boot=n_boot, seed=seed, confidence=confidence)


def pairwise_agreement(units: Iterable[Sequence]) -> float:
    """Percent agreement for any number of coders: the share of pairable values whose
    pair partners in the same unit agree (Krippendorff's observed agreement; with two
    coders, plain percent agreement over the units both coded). nan with nothing pairable."""
    return pairwise_agreement_estimate(units, n_boot=0).value


def pairwise_agreement_estimate(units: Iterable[Sequence], *, n_boot: int = N_BOOT,
                                seed: int = 0, confidence: float = 0.95) -> Estimate:
    """:func:`pairwise_agreement` with a percentile bootstrap interval over pairable units."""
    data = _coincidences(units)
    k = len(data.categories)

    def agreement(weights: np.ndarray) -> float:
        observed = np.bincount(data.cell, weights=weights[data.entry_unit] * data.weight,
                               minlength=k * k).reshape(k, k)
        return _agreement_of(observed)

    return _estimate(agreement, data.n_units, n_boot=n_boot, seed=seed, confidence=confidence)


def per_code_alpha(units: Sequence[Sequence], codes: Iterable | None = None, *,
                   n_boot: int = N_BOOT, seed: int = 0,
                   confidence: float = 0.95) -> dict[Hashable, Estimate]:
    """Nominal alpha for each code judged as present/absent, with intervals (as
    :func:`per_code_kappa`, for any number of coders and missing codings)."""
    units = [list(unit) for unit in units]
    wanted = codes_used(*units) if codes is None else list(codes)
    return {code: alpha_estimate([presence(unit, code) for unit in units], "nominal",
                                 n_boot=n_boot, seed=seed, confidence=confidence)
            for code in wanted}


# --- what to resolve together ----------------------------------------------------------

def disagreements(units: Iterable[Sequence]) -> list[Disagreement]:
    """The units whose codings (at least two of them) are not all the same, in input
    order, with every coder's coding as given (None where a coder did not code).

    Set-like codings compare as sets: ["a", "b"] and {"b", "a"} agree, and so do "a"
    and {"a"}.
    """
    units = [tuple(unit) for unit in units]
    found = []
    for index, unit in enumerate(_codings(*units)):
        codings = [value for value in unit if value is not None]
        if len(codings) >= 2 and any(value != codings[0] for value in codings[1:]):
            found.append(Disagreement(index, units[index]))
    return found
