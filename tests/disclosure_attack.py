"""The differencing attack of issue 22, as data: a project with a 3-person site, the tables
a partner can read of it, and a curious partner's subtractions.

Used by tests/domain/test_disclosure.py (no count of a protected cell comes out exact) and
bench/disclosure.py (how many do, under each method). No app, no database.

A *publication* maps (scope, filter, variable) to a ``Published`` table: per label the
shown count (None: suppressed) and percentage, and the total shown under the table.
Scopes are the project and its campaigns (one site each); filters are the dashboard's
(everyone, complete responses only, men only, those who attended); variables are
questions, completion, the day started and the headline response count.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Mapping

from surveyapp.domain.dashboard import suppressed_counts
from surveyapp.domain.disclosure import Disclosure
from surveyapp.domain.results import shown

SITES = {"A": 36, "B": 27, "C": 3}          # C: the 3-person site
TARGET, OTHERS = "C", ("A", "B")
SCOPES = ("project", *SITES)
DAYS = ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06")
LABELS = {
    "gender": ("Man", "Woman", "Prefer not to say"),
    "attended": ("yes", "no"),
    "status": ("complete", "partial"),
    "day": DAYS,
    "responses": ("all",),
}
FILTERS: dict[str, Callable[["Person"], bool]] = {
    "everyone": lambda p: True,
    "complete": lambda p: p.status == "complete",
    "men": lambda p: p.gender == "Man",
    "attended": lambda p: p.attended == "yes",
}


@dataclass(frozen=True)
class Person:
    id: int
    site: str
    gender: str
    attended: str
    status: str
    day: str

    @property
    def record(self) -> str:
        return f"r{self.id}"

    def value(self, variable: str) -> str:
        return "all" if variable == "responses" else getattr(self, variable)


@dataclass(frozen=True)
class Published:
    cells: Mapping[str, tuple[int | None, float | None]]  # label: (shown count, percent)
    total: int | None


def people(seed: int = 0) -> list[Person]:
    """The project's respondents: site C's three as in the issue (Man 2, Prefer not to say 1;
    attended yes 1, no 2; all complete). The larger sites have at least 5 of every label
    (so that their cells are shown and the subtraction can be made), combined at random."""
    rng = random.Random(seed)
    found = [Person(1, "C", "Man", "yes", "complete", DAYS[0]),
             Person(2, "C", "Man", "no", "complete", DAYS[1]),
             Person(3, "C", "Prefer not to say", "no", "complete", DAYS[1])]
    for site in OTHERS:
        size = SITES[site]
        columns = []
        for variable, pattern in (("gender", ("Man", "Woman", "Man", "Woman", "Prefer not to say")),
                                  ("attended", ("yes", "no")),
                                  ("status", ("complete", "complete", "complete", "partial")),
                                  ("day", DAYS)):
            column = [pattern[i % len(pattern)] for i in range(size)]
            rng.shuffle(column)
            columns.append(column)
        for values in zip(*columns):
            found.append(Person(len(found) + 1, site, *values))
    return found


def cells(group: list[Person], scope: str, filter_: str, variable: str) -> dict[str, list[str]]:
    """The records of each label of ``variable`` among ``scope``'s people passing ``filter_``."""
    keep = FILTERS[filter_]
    members = [p for p in group if (scope == "project" or p.site == scope) and keep(p)]
    return {label: [p.record for p in members if p.value(variable) == label]
            for label in LABELS[variable]}


Protect = Callable[[dict[str, list[str]]], Published]


def publish(group: list[Person], protect: Protect) -> dict[tuple[str, str, str], Published]:
    """Every table a partner can read: each scope x filter x variable, through ``protect``."""
    return {(scope, filter_, variable): protect(cells(group, scope, filter_, variable))
            for scope in SCOPES for filter_ in FILTERS for variable in LABELS}


def with_layer(layer: Disclosure) -> Protect:
    """Tables through the disclosure-control layer."""
    def protect(table: dict[str, list[str]]) -> Published:
        protected = layer.table(table)
        return Published({c.label: (c.count.shown, c.percent) for c in protected.cells},
                         protected.total)
    return protect


def as_before(min_cell_size: int = 5) -> Protect:
    """Tables as main showed them before the layer: exact counts, small ones suppressed with
    one complement per chart (dashboard.suppressed_counts), percentages of the exact total,
    the total itself shown unless small (the export's "valid" column, the About sheet)."""
    def protect(table: dict[str, list[str]]) -> Published:
        counts = [len(records) for records in table.values()]
        total = sum(counts)
        hidden = suppressed_counts(counts, min_cell_size)
        return Published({label: (None, None) if hide else
                          (n, round(100 * n / total, 1) if total else None)
                          for label, n, hide in zip(table, counts, hidden)},
                         shown(total, min_cell_size))
    return protect


def protected_cells(group: list[Person], min_cell_size: int = 5) -> dict[tuple[str, str, str], int]:
    """The target site's cells a partner must not learn: (filter, variable, label) to its
    true count, 1 to min_cell_size - 1."""
    truth = {}
    for filter_ in FILTERS:
        for variable in LABELS:
            for label, records in cells(group, TARGET, filter_, variable).items():
                if 0 < len(records) < min_cell_size:
                    truth[(filter_, variable, label)] = len(records)
    return truth


def attack(published: Mapping[tuple[str, str, str], Published]) -> dict[tuple[str, str, str], set[int]]:
    """What a partner works out for each of the target site's suppressed cells, by every
    route that applies: (1) the project's count less the other sites' counts; (2) the
    site's own total less its shown counts, when one count is hidden; (3) the same as (1)
    with counts rebuilt from percentages times the totals shown beside them."""
    recovered: dict[tuple[str, str, str], set[int]] = {}
    for (scope, filter_, variable), table in published.items():
        if scope != TARGET:
            continue
        for label, (count, _percent) in table.cells.items():
            if count is not None:
                continue
            found = recovered.setdefault((filter_, variable, label), set())
            whole = published[("project", filter_, variable)]
            parts = [published[(site, filter_, variable)] for site in OTHERS]
            counts = [t.cells[label][0] for t in (whole, *parts)]
            if None not in counts:
                found.add(counts[0] - sum(counts[1:]))
            hidden = [name for name, (n, _p) in table.cells.items() if n is None]
            if table.total is not None and hidden == [label]:
                found.add(table.total - sum(n for n, _p in table.cells.values() if n is not None))
            rebuilt = [round(t.cells[label][1] * t.total / 100)
                       if t.cells[label][1] is not None and t.total is not None else None
                       for t in (whole, *parts)]
            if None not in rebuilt:
                found.add(rebuilt[0] - sum(rebuilt[1:]))
    return recovered


def exact(recovered: Mapping[tuple, set[int]], truth: Mapping[tuple, int]) -> dict[tuple, int]:
    """The protected cells whose true count is among the values the attack recovered."""
    return {cell: n for cell, n in truth.items() if n in recovered.get(cell, ())}
