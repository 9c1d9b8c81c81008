"""Disclosure control: the one layer every partner-visible and public number goes through.

Plain Python, data in and data out. A *cell* is a group of records (who is counted); the
layer turns it into a protected count, and tables, shares and means are built from
protected counts only, never from raw ones. The method (docs/data-safety.md,
"Disclosure control", says why it holds across overlapping views):

* **Record keys.** Each record carries a fixed random key in [0, 2**31), drawn once when
  the row is made (``new_record_key``) and stored beside it (``responses.record_key``,
  ``segments.record_key``). Random, not derived from the id: no one can recompute it, and
  there is no secret to keep or leak.
* **Cell key.** The sum of the cell's record keys mod 2**31. A cell is therefore fully
  described by ``Tally(n, key_sum)``, which a grouped select gives directly
  (``COUNT(*)``, ``SUM(record_key)``), and tallies add: the days of a week, the campaigns
  of a project, the combinations of a select_multiple holding a choice add up to exactly
  the tally of their records. The same records give the same cell key on every page and
  file; one record more or less gives an unrelated one.
* **Perturbation table: random rounding to the base** ``min_cell_size``. A count ``n``
  is moved to the multiple of the base below it or above it, up with probability
  ``(n mod base) / base``, the cell key choosing. Unbiased for every ``n``; zero stays
  zero; never negative; a multiple of the base is shown as it is. Every published count,
  and so every sum or difference of published counts, is a multiple of the base, which
  no count from 1 to ``min_cell_size - 1`` is: subtracting one table from another never
  gives a small cell's exact count, whatever the views.
* **Suppression.** A count of 1 to ``min_cell_size - 1`` is shown as "fewer than N"
  (``shown`` None). It still has a protected value (0 or the base), which totals and
  denominators use: that value is safe to derive, being a rounding like any other.

Two ways in, which agree: ``count_of(n, key_sum)`` for what SQL tallied (the pages), and
``count(records)`` for a set of record ids whose keys the caller supplies (``keys``: the
stored keys, or ``model_keys(seed)`` for a model without a database, as the attack tests
and the bench use).
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Mapping, Sequence

# The capacity table's t quantile: one CONFIDENCE, and scipy imported only when called.
from surveyapp.domain.scoring import _t_quantile

KEY_BITS = 31
KEY_RANGE = 1 << KEY_BITS  # record and cell keys are integers in [0, KEY_RANGE): an SQL INTEGER


def new_record_key() -> int:
    """A new record's key: uniform in [0, KEY_RANGE), from the OS's CSPRNG."""
    return secrets.randbits(KEY_BITS)


def model_keys(seed: bytes | str) -> Callable[[object], int]:
    """Record keys for a model without a database (tests, bench): a stand-in for the stored
    random column, the same for the same ``seed`` and record id, unrelated otherwise."""
    salt = seed.encode("utf-8") if isinstance(seed, str) else bytes(seed)
    if not salt:
        raise ValueError("model keys need a seed")

    def key(record: object) -> int:
        digest = hashlib.blake2b(str(record).encode("utf-8"), key=salt[:64], digest_size=8).digest()
        return int.from_bytes(digest, "big") % KEY_RANGE
    return key


def cell_key(keys: Iterable[int]) -> int:
    """The key of a cell: the sum of its records' keys mod ``KEY_RANGE``."""
    return sum(keys) % KEY_RANGE


def rounded(n: int, key: int, base: int) -> int:
    """The perturbation table: ``n`` rounded to a multiple of ``base``, up when the cell key
    falls in the first ``(n mod base) / base`` of the key range (so E[result] = n)."""
    if base <= 1:
        return n
    remainder = n % base
    # Integers, not floats: the same cell rounds the same way on every CPU.
    up = (key % KEY_RANGE) * base < remainder * KEY_RANGE
    return n - remainder + (base if up else 0)


@dataclass(frozen=True)
class Tally:
    """A cell as a grouped select gives it: how many records, and the sum of their keys.
    Tallies of disjoint groups add up to the tally of their union (``0 + tally`` works, so
    ``sum`` and ``counts.get(x, 0) + tally`` do too)."""
    n: int = 0
    key_sum: int = 0

    def __add__(self, other: "Tally | int") -> "Tally":
        if isinstance(other, Tally):
            return Tally(self.n + other.n, self.key_sum + other.key_sum)
        if other == 0:
            return self
        return NotImplemented

    __radd__ = __add__

    def __int__(self) -> int:
        return self.n


@dataclass(frozen=True)
class ProtectedCount:
    """A count as it may be published. ``value`` is the protected count (a multiple of the
    base), what totals and denominators are made of; ``shown`` is ``value``, or None when
    the cell is suppressed (1 to min_cell_size - 1 records)."""
    value: int
    suppressed: bool = False

    @property
    def shown(self) -> int | None:
        return None if self.suppressed else self.value


@dataclass(frozen=True)
class TableCell:
    """One row of a protected table: its label, protected count and share (None when
    suppressed, or when the denominator is 0)."""
    label: Hashable
    count: ProtectedCount
    percent: float | None


@dataclass(frozen=True)
class ProtectedTable:
    """Cells in the given order; ``total`` is the sum of the cells' protected values
    (suppressed ones included: their values are roundings like the rest); ``denominator``
    is what ``percent`` is of (``total``, or the protected count of the records given as
    ``of``). ``additive``: no cell is suppressed, so ``total`` is the sum of the shown cells."""
    cells: tuple[TableCell, ...]
    total: int
    denominator: int
    additive: bool

    def __getitem__(self, label: Hashable) -> TableCell:
        for cell in self.cells:
            if cell.label == label:
                return cell
        raise KeyError(label)


@dataclass(frozen=True)
class ProtectedMean:
    """A group's mean as it may be published: ``n`` protected, and nothing else when it is
    suppressed (fewer than min_cell_size records). The mean and SD are rounded to the
    layer's ``digits``, and the t-based 95% CI uses the protected n, so that no figure
    gives the exact n back (a mean to 15 digits names its denominator, and SD with a CI
    width would give n too)."""
    n: ProtectedCount
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def suppressed(self) -> bool:
        return self.n.suppressed


Keys = Callable[[object], int] | Mapping[object, int]


class Disclosure:
    """The layer for one project's ``min_cell_size`` (also the rounding base). Stateless
    but for ``keys``: the record keys ``count(records)`` looks up (a mapping or a function
    of the record id; not needed by the tally entry points)."""

    def __init__(self, min_cell_size: int = 5, *, keys: Keys | None = None, digits: int = 1):
        self.min_cell_size = max(int(min_cell_size), 1)
        self.base = self.min_cell_size
        self.digits = digits
        self._keys = keys

    # ------------------------------------------------------------------ tallies (what SQL gives)

    def count_of(self, n: int | Tally, key_sum: int | None = None) -> ProtectedCount:
        """The protected count of the cell of ``n`` records whose keys add to ``key_sum``
        (or of one ``Tally``)."""
        if isinstance(n, Tally):
            n, key_sum = n.n, n.key_sum
        n = int(n)
        value = rounded(n, int(key_sum or 0) % KEY_RANGE, self.base)
        # Suppressed on the true count: a group of 4 rounded up to 5 is still a group of 4.
        return ProtectedCount(value, suppressed=0 < n < self.min_cell_size)

    def table_of(self, cells: Mapping[Hashable, Tally] | Sequence[tuple[Hashable, Tally]], *,
                 of: Tally | None = None, people: int | None = None) -> ProtectedTable:
        """Each cell (label: tally) protected on its own, then the total and the shares
        from the protected values. ``of``: the tally the shares are of (e.g. everyone who
        answered a select_multiple question, or every text of a theme source), protected as
        a cell of its own; else the shares are of ``total``. A share is capped at 100: a
        cell and a larger ``of`` are rounded separately, so 6 of 7 may read 10 of 5.
        ``people``: how many distinct records the table holds (default: the cells' sum, true
        when each record is in one cell); under min_cell_size every cell is suppressed,
        zeros too."""
        pairs = list(cells.items() if isinstance(cells, Mapping) else cells)
        counts = [(label, self.count_of(tally)) for label, tally in pairs]
        everyone = people if people is not None else sum(tally.n for _label, tally in pairs)
        if 0 < everyone < self.min_cell_size:
            # A group this small shows no cell, not even a zero: "no one chose x" beside
            # hidden cells would tell what each of them answered.
            counts = [(label, ProtectedCount(count.value, suppressed=True))
                      for label, count in counts]
        total = sum(count.value for _label, count in counts)
        denominator = self.count_of(of).value if of is not None else total
        rows = tuple(TableCell(label, count, self._percent(count, denominator))
                     for label, count in counts)
        return ProtectedTable(rows, total, denominator,
                              additive=not any(count.suppressed for _label, count in counts))

    def share_of(self, part: Tally, whole: Tally) -> float | None:
        """One protected count as a percentage of another (both cells protected)."""
        return self._percent(self.count_of(part), self.count_of(whole).value)

    def mean_of(self, tally: Tally, mean: float | None, variance: float | None) -> ProtectedMean:
        """A group's mean (e.g. a capacity domain's at a site and wave) from its tally and
        the raw ``mean`` and sample ``variance`` (None for a single record). Means are not
        perturbed: what a mean gives away is the sum it implies, and a sum needs the exact
        n, which no published figure carries. Across a hierarchy (all sites less the shown
        sites) keep complementary suppression: a reader who knows every site's n from
        elsewhere could otherwise difference the means (docs/data-safety.md)."""
        n = self.count_of(tally)
        if n.suppressed or n.value == 0 or mean is None:
            return ProtectedMean(n, None, None, None, None)
        digits = self.digits
        if variance is None or n.value < 2:
            return ProtectedMean(n, round(mean, digits), None, None, None)
        sd = math.sqrt(max(variance, 0.0))
        half = _t_quantile(n.value - 1) * sd / math.sqrt(n.value)
        return ProtectedMean(n, round(mean, digits), round(sd, digits),
                             round(mean - half, digits), round(mean + half, digits))

    # ------------------------------------------------------------------ record sets (models)

    def key(self, record: object) -> int:
        """The stored key of ``record`` (from ``keys``)."""
        if self._keys is None:
            raise ValueError("counting records needs their keys (Disclosure(keys=...))")
        return self._keys[record] if isinstance(self._keys, Mapping) else self._keys(record)

    def tally(self, records: Iterable[object]) -> Tally:
        """The tally of a set of records (duplicates count once)."""
        distinct = {str(record) for record in records}
        return Tally(len(distinct), sum(self.key(r) for r in distinct))

    def count(self, records: Iterable[object]) -> ProtectedCount:
        """The protected count of the cell made of ``records``: ``count_of`` its tally."""
        return self.count_of(self.tally(records))

    def table(self, cells: Mapping[Hashable, Iterable[object]]
              | Sequence[tuple[Hashable, Iterable[object]]],
              *, of: Iterable[object] | None = None) -> ProtectedTable:
        """``table_of`` the cells' tallies; ``people`` is the size of their union (one
        person in several cells of a select_multiple counts once)."""
        pairs = [(label, {str(r) for r in records})
                 for label, records in (cells.items() if isinstance(cells, Mapping) else cells)]
        everyone = set().union(*(records for _label, records in pairs))
        return self.table_of([(label, self.tally(records)) for label, records in pairs],
                             of=self.tally(of) if of is not None else None, people=len(everyone))

    def share(self, records: Iterable[object], of: Iterable[object]) -> float | None:
        return self.share_of(self.tally(records), self.tally(of))

    def mean(self, records: Iterable[object], mean: float | None, variance: float | None
             ) -> ProtectedMean:
        return self.mean_of(self.tally(records), mean, variance)

    def _percent(self, count: ProtectedCount, denominator: int) -> float | None:
        if count.suppressed or denominator <= 0:
            return None
        return round(min(100.0, 100 * count.value / denominator), self.digits)


# ----------------------------------------------------------------------------- capacity tables

def _as_protected(moments, n: int):
    """The same mean and variance on ``n`` records: what Welch and Hedges' g take."""
    from surveyapp.domain.scoring import Moments
    mean, variance = moments.mean, moments.variance
    total = mean * n
    squares = (variance or 0.0) * (n - 1) + total * total / n if n else 0.0
    return Moments(n, total, squares, moments.key_sum)


def protect_capacity(table, groups: Mapping[tuple, object], layer: Disclosure):
    """A ``domain.scoring.CapacityTable`` as partners and the public may read it, from the
    table made on the raw moments and those moments (``groups``: (site, wave, domain) to
    ``Moments`` with key sums). Suppression, complementary suppression and comparability
    stay as the table decided them on the true counts. Every shown n is the cell's
    protected count; means and SDs are rounded to ``layer.digits``; confidence intervals,
    changes (Welch), effect sizes and their p- and q-values are computed with the protected
    n's, so that no interval width gives an exact n back."""
    from surveyapp.domain.scoring import CapacityTable, Cell, Moments, welch, welch_p
    from surveyapp.domain.statistics import benjamini_hochberg, hedges_g_of_summaries

    def merged(sites, wave, domain):
        found = Moments()
        for site in sites:
            part = groups.get((site, wave, domain))
            if part is not None:
                found.merge(part)
        return found

    def moments_of(site, wave, domain):
        return groups.get((site, wave, domain)) if site is not None else merged(
            table.sites, wave, domain)

    digits = layer.digits
    fix = lambda value: None if value is None else round(value, digits)  # noqa: E731
    cells = []
    for cell in table.cells:
        moments = moments_of(cell.site, cell.wave, cell.domain)
        if cell.suppressed or moments is None:
            cells.append(cell)
            continue
        shown = layer.mean_of(Tally(moments.n, moments.key_sum), moments.mean, moments.variance)
        cells.append(Cell(cell.site, cell.wave, cell.domain, shown.n.value, shown.mean, shown.sd,
                          shown.ci_low, shown.ci_high, suppressed=shown.suppressed,
                          complementary=cell.complementary))
    changes = []
    for change in table.changes:
        if change.suppressed or not change.comparable or change.difference is None:
            changes.append(change)
            continue
        before = merged(change.sites or (change.site,), change.baseline, change.domain)
        after = merged(change.sites or (change.site,), change.follow_up, change.domain)
        n_before = layer.count_of(before.n, before.key_sum).value
        n_after = layer.count_of(after.n, after.key_sum).value
        if min(n_before, n_after) < 2:
            changes.append(change)
            continue
        before, after = _as_protected(before, n_before), _as_protected(after, n_after)
        difference, low, high, df = welch(before, after)
        effect = hedges_g_of_summaries(before.n, before.mean, before.variance,
                                       after.n, after.mean, after.variance)
        two = lambda value: None if value is None else round(value, 2)  # noqa: E731
        effect = dataclasses.replace(effect, value=two(effect.value), ci_low=two(effect.ci_low),
                                     ci_high=two(effect.ci_high), n_before=before.n,
                                     n_after=after.n)
        changes.append(dataclasses.replace(
            change, difference=fix(difference), ci_low=fix(low), ci_high=fix(high), df=df,
            baseline_mean=fix(before.mean), effect=effect, p_value=welch_p(before, after),
            q_value=None))
    q_values = benjamini_hochberg([change.p_value for change in changes])
    changes = [dataclasses.replace(change, q_value=q) for change, q in zip(changes, q_values)]
    return CapacityTable(table.waves, table.sites, table.domains, tuple(cells), tuple(changes),
                         table.min_cell_size)
