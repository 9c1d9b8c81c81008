"""Counts of themes by a grouping (site, wave, an answer to a closed question). No I/O."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Iterable


@dataclass(frozen=True)
class Crosstab:
    """``counts[row][column]``; ``shown(row, column)`` applies small-cell suppression.

    Rows and columns keep the order given (rows) and first appearance (columns).
    """
    rows: tuple[Hashable, ...]
    columns: tuple[Hashable, ...]
    counts: dict
    column_totals: dict
    min_cell_size: int

    def shown(self, row, column) -> int | None:
        """The count, or None when it is above zero but below ``min_cell_size``: a group of
        two residents of one street could be recognised."""
        count = self.counts.get(row, {}).get(column, 0)
        return None if 0 < count < self.min_cell_size else count


def crosstab(pairs: Iterable[tuple[Hashable, Hashable]], rows: Iterable[Hashable], *,
             min_cell_size: int = 1) -> Crosstab:
    """Count (row, column) pairs; a pair whose row is not in ``rows`` is ignored."""
    wanted = tuple(rows)
    known = set(wanted)
    counts: dict = {row: Counter() for row in wanted}
    columns: dict = {}
    totals: Counter = Counter()
    for row, column in pairs:
        if row not in known:
            continue
        columns.setdefault(column, None)
        counts[row][column] += 1
        totals[column] += 1
    return Crosstab(wanted, tuple(columns), {r: dict(c) for r, c in counts.items()},
                    dict(totals), min_cell_size)
