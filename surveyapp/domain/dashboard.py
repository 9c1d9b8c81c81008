"""The dashboard's numbers, from grouped rows to chart bars: plain Python, suppression included.

Every count below ``min_cell_size`` becomes a suppressed bar (no number), and a
rate is given only when none of the counts it is made of is suppressed, since
it would give them away.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

from surveyapp.domain.charts import Bar
from surveyapp.domain.instruments import OTHER_VALUE, Question, localise


def count_bar(label: str, n: int, min_cell_size: int) -> Bar:
    """A count as a bar; below ``min_cell_size`` (and above zero) suppressed."""
    if 0 < n < max(min_cell_size, 1):
        return Bar(label, None, suppressed=True)
    return Bar(label, n)


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
    small = lambda n: 0 < n < max(min_cell_size, 1)  # noqa: E731
    if total == 0 or small(complete) or small(partial):
        return None
    return complete / total


def choice_counts(question: Question, rows: Iterable[tuple[Any, int]], language: str,
                  fallback: str, *, other_label: str) -> list[tuple[str, int]]:
    """Each choice's label (in ``language``) with how many responses chose it, in the
    choice list's order; a select_multiple value counts once for each choice in it."""
    counts: dict[Any, int] = {}
    for value, n in rows:
        for v in (value if isinstance(value, list) else [value]):
            counts[v] = counts.get(v, 0) + n
    labels = [(c.value, localise(c.label, language, fallback)) for c in question.choices.choices]
    if question.other:
        labels.append((OTHER_VALUE, other_label))
    known = {value for value, _ in labels}
    # Values no longer in the list (an older version's choice) still count, shown as stored.
    labels += [(v, str(v)) for v in sorted(counts, key=str) if v not in known]
    return [(label, counts.get(value, 0)) for value, label in labels]
