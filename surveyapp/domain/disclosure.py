"""Disclosure control: the one layer every partner-visible and public number goes through.

Plain Python, data in and data out. A *cell* is a set of records (who is counted); the
layer turns it into a protected count, and tables, shares and means are built from
protected counts only, never from raw ones. The method (docs/data-safety.md,
"Disclosure control", says why it holds across overlapping views):

* **Record keys.** Each record has a fixed key, ``HMAC-SHA256(secret, record id)``
  (first 64 bits), so no column is stored and the key never changes while the secret
  does not. A record id is the stable id of the unit counted: ``"r<response id>"`` for
  anything counted in responses (choices, days, completion, themes of a question's
  answers, capacity scores), so that the same group of respondents gets the same key
  whichever chart it comes from; ``"s<segment id>"`` for focus-group segments.
* **Cell key.** The sum of the cell's record keys mod 2**64: the same set of records
  gives the same cell key on every page and file, in any order, and a different set
  (one record more or less) an unrelated one.
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

Make one ``Disclosure`` per request or job (it caches record keys) with the deployment's
secret: the same secret always, since two roundings of the same cell under two secrets
would narrow its count down.
"""
from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping, Sequence

# The capacity table's t quantile: one CONFIDENCE, and scipy imported only when called.
from surveyapp.domain.scoring import _t_quantile

KEY_RANGE = 1 << 64  # record and cell keys are integers in [0, KEY_RANGE)


def record_key(secret: bytes, record: object) -> int:
    """The fixed key of ``record`` (its id, as ``str``) under ``secret``: 64 bits of HMAC-SHA256.

    Keyed, so that no one without the secret can tell which way a cell was rounded
    (a plain hash of a response id would let anyone recompute every perturbation)."""
    return int.from_bytes(hmac.digest(secret, str(record).encode("utf-8"), "sha256")[:8], "big")


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
    up = key * base < remainder * KEY_RANGE
    return n - remainder + (base if up else 0)


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


class Disclosure:
    """The layer, for one deployment secret and one project's ``min_cell_size`` (also the
    rounding base). Record ids are anything with a stable ``str`` (see the module docstring);
    a cell's records are counted once each."""

    def __init__(self, secret: bytes | str, min_cell_size: int = 5, *, digits: int = 1):
        if not secret:
            raise ValueError("disclosure control needs the deployment's secret")
        self.secret = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        self.min_cell_size = max(int(min_cell_size), 1)
        self.base = self.min_cell_size
        self.digits = digits
        self._keys: dict[str, int] = {}

    def key(self, record: object) -> int:
        """``record_key`` under this layer's secret, computed once per record."""
        name = str(record)
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = record_key(self.secret, name)
        return key

    def count(self, records: Iterable[object]) -> ProtectedCount:
        """The protected count of the cell made of ``records`` (duplicates count once)."""
        distinct = {str(record) for record in records}
        n = len(distinct)
        value = rounded(n, cell_key(self.key(r) for r in distinct), self.base)
        # Suppressed on the true count: a group of 4 rounded up to 5 is still a group of 4.
        return ProtectedCount(value, suppressed=0 < n < self.min_cell_size)

    def table(self, cells: Mapping[Hashable, Iterable[object]]
              | Sequence[tuple[Hashable, Iterable[object]]],
              *, of: Iterable[object] | None = None) -> ProtectedTable:
        """Each cell (label: records) protected on its own, then the total and the shares
        from the protected values. ``of``: the records the shares are of (e.g. everyone who
        answered a select_multiple question, or every text of a theme source), protected as
        a cell of its own; else the shares are of ``total``. A share is capped at 100: a
        cell and a larger ``of`` are rounded separately, so 6 of 7 may read 10 of 5. When the
        cells hold fewer than min_cell_size records in all, every cell is suppressed, zeros too."""
        pairs = [(label, {str(r) for r in records})
                 for label, records in (cells.items() if isinstance(cells, Mapping) else cells)]
        counts = [(label, self.count(records)) for label, records in pairs]
        everyone = set().union(*(records for _label, records in pairs))
        if 0 < len(everyone) < self.min_cell_size:
            # A group this small shows no cell, not even a zero: "no one chose x" beside
            # hidden cells would tell what each of them answered.
            counts = [(label, ProtectedCount(count.value, suppressed=True))
                      for label, count in counts]
        total = sum(count.value for _label, count in counts)
        denominator = self.count(of).value if of is not None else total
        rows = tuple(TableCell(label, count, self._percent(count, denominator))
                     for label, count in counts)
        return ProtectedTable(rows, total, denominator,
                              additive=not any(count.suppressed for _label, count in counts))

    def share(self, records: Iterable[object], of: Iterable[object]) -> float | None:
        """One protected count as a percentage of another (both cells protected)."""
        return self._percent(self.count(records), self.count(of).value)

    def mean(self, records: Iterable[object], mean: float | None, variance: float | None
             ) -> ProtectedMean:
        """A group's mean (e.g. a capacity domain's at a site and wave) from its records and
        the raw ``mean`` and sample ``variance`` (None for a single record). Means are not
        perturbed: what a mean gives away is the sum it implies, and a sum needs the exact
        n, which no published figure carries. Across a hierarchy (all sites less the shown
        sites) keep complementary suppression: a reader who knows every site's n from
        elsewhere could otherwise difference the means (docs/data-safety.md)."""
        n = self.count(records)
        if n.suppressed or n.value == 0 or mean is None:
            return ProtectedMean(n, None, None, None, None)
        digits = self.digits
        if variance is None or n.value < 2:
            return ProtectedMean(n, round(mean, digits), None, None, None)
        sd = math.sqrt(max(variance, 0.0))
        half = _t_quantile(n.value - 1) * sd / math.sqrt(n.value)
        return ProtectedMean(n, round(mean, digits), round(sd, digits),
                             round(mean - half, digits), round(mean + half, digits))

    def _percent(self, count: ProtectedCount, denominator: int) -> float | None:
        if count.suppressed or denominator <= 0:
            return None
        return round(min(100.0, 100 * count.value / denominator), self.digits)
