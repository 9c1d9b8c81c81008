"""The dashboard's numbers, from grouped rows to chart bars: plain Python, suppression included.

Every count below ``min_cell_size`` becomes a suppressed bar (no number), and a
rate is given only when none of the counts it is made of is suppressed, since
it would give them away. A chart's counts are suppressed together (``count_bars``):
when only one of them is small, the next smallest is hidden too, since the one could
otherwise be worked out from the total shown elsewhere (complete and partial add up to
the responses per day; a question's choices add up to its answers).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

from surveyapp.domain.charts import Bar
from surveyapp.domain.disclosure import Disclosure, Tally
from surveyapp.domain.instruments import OTHER_VALUE, Question, localise


def count_bar(label: str, n: int, min_cell_size: int) -> Bar:
    """A count as a bar; below ``min_cell_size`` (and above zero) suppressed."""
    if 0 < n < max(min_cell_size, 1):
        return Bar(label, None, suppressed=True)
    return Bar(label, n)


def suppressed_counts(counts: Sequence[int], min_cell_size: int) -> list[bool]:
    """Which of a group's counts to hide: each one above zero and below ``min_cell_size``
    (primary), and, when exactly one is, also the smallest other count above zero
    (complementary), so that no hidden count is the total minus the shown ones.
    Zeros are shown: an empty choice gives no one away."""
    small = max(min_cell_size, 1)
    hidden = [0 < n < small for n in counts]
    if sum(hidden) == 1:
        others = [(n, i) for i, n in enumerate(counts) if n > 0 and not hidden[i]]
        if others:
            hidden[min(others)[1]] = True
    return hidden


def count_bars(pairs: Sequence[tuple[str, int]], min_cell_size: int) -> list[Bar]:
    """A chart's (label, count) pairs as bars, suppressed together (``suppressed_counts``)."""
    hidden = suppressed_counts([n for _label, n in pairs], min_cell_size)
    return [Bar(label, None, suppressed=True) if hide else Bar(label, n)
            for (label, n), hide in zip(pairs, hidden)]


def by_period(days: Sequence[tuple[dt.date, int]], *, weekly: bool | None = None
              ) -> tuple[list[tuple[str, int]], bool]:
    """Per-day counts, every day from the first to the last (zeros included), or per
    ISO week (labelled by its Monday) when the span passes 60 days or ``weekly`` says so."""
    if not days:
        return [], bool(weekly)
    first, last = days[0][0], days[-1][0]
    weekly = (last - first).days > 60 if weekly is None else weekly
    counts: dict[dt.date, int] = {}
    for day, n in days:
        key = day - dt.timedelta(days=day.weekday()) if weekly else day
        counts[key] = counts.get(key, 0) + n
    step = dt.timedelta(days=7 if weekly else 1)
    start = first - dt.timedelta(days=first.weekday()) if weekly else first
    periods, moment = [], start
    while moment <= last:
        periods.append((moment.isoformat(), counts.get(moment, 0)))
        moment += step
    return periods, weekly


def completion_rate(complete: int, partial: int, min_cell_size: int) -> float | None:
    """Complete / all, or None when there are none or either count is suppressed."""
    total = complete + partial
    if total == 0 or any(suppressed_counts([complete, partial], min_cell_size)):
        return None
    return complete / total


def choice_counts(question: Question, rows: Iterable[tuple[Any, int]], language: str,
                  fallback: str, *, other_label: str, known_only: bool = False
                  ) -> list[tuple[str, int]]:
    """Each choice's label (in ``language``) with how many responses chose it, in the
    choice list's order; a select_multiple value counts once for each choice in it.
    ``known_only`` leaves out values that are not in the choice list (shown as stored,
    they could be anything a client sent: an aggregates-only reader never sees them)."""
    counts: dict[Any, int] = {}
    for value, n in rows:
        for v in (value if isinstance(value, list) else [value]):
            counts[v] = counts.get(v, 0) + n
    labels = [(c.value, localise(c.label, language, fallback)) for c in question.choices.choices]
    if question.other:
        labels.append((OTHER_VALUE, other_label))
    known = {value for value, _ in labels}
    # Values no longer in the list (an older version's choice) still count, shown as stored.
    if not known_only:
        labels += [(v, str(v)) for v in sorted(counts, key=str) if v not in known]
    return [(label, counts.get(value, 0)) for value, label in labels]


# ----------------------------------------------------------------------------- protected (partners)

def protected_bars(pairs: Sequence[tuple[str, Any]], layer: Disclosure, *,
                   people: int | None = None) -> list[Bar]:
    """A chart's (label, tally) pairs as bars through the disclosure-control layer: each
    bar is its cell's protected count (a multiple of the base), a cell of 1 to
    min_cell_size - 1 suppressed; a chart of fewer than min_cell_size people shows no bar,
    zeros included (``people``: how many distinct respondents the chart counts, when one
    may be in several bars; default the bars' sum). A count of 0 may be given as 0."""
    table = layer.table_of([(label, _tally(value)) for label, value in pairs], people=people)
    return [Bar(cell.label, None, suppressed=True) if cell.count.suppressed
            else Bar(cell.label, cell.count.value) for cell in table.cells]


def protected_rate(complete: Any, partial: Any, layer: Disclosure) -> float | None:
    """Complete / all from the protected counts; None when there are none or either is
    suppressed."""
    done, rest = layer.count_of(_tally(complete)), layer.count_of(_tally(partial))
    if done.suppressed or rest.suppressed or done.value + rest.value == 0:
        return None
    return done.value / (done.value + rest.value)


def _tally(value: Any) -> Tally:
    if isinstance(value, Tally):
        return value
    if value == 0:  # an empty day or choice: by_period and choice_counts fill in 0
        return Tally()
    # A bare count has no key sum: rounding it would be neither consistent nor safe.
    raise TypeError(f"a protected chart needs tallies, not a bare count ({value!r})")
