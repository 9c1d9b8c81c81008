"""Which numbers a dashboard reader gets: exact ones for the project's analysts, protected
ones (domain.disclosure) for everyone else, i.e. its partners. One switch per page, not a
check per chart: the dashboard asks ``figures_for(...)`` for every count, bar, rate and
capacity table, and the same code draws both."""
from __future__ import annotations

from surveyapp import queries
from surveyapp.domain import dashboard as numbers
from surveyapp.domain.disclosure import Disclosure
from surveyapp.models import Project


class ExactFigures:
    """What analysts read: exact counts, small ones suppressed chart by chart."""
    protected = False

    def __init__(self, project: Project):
        self.min_cell_size = project.min_cell_size

    def responses_per_day(self, *args):
        return queries.dashboard.responses_per_day(*args)

    def status_counts(self, *args):
        return queries.dashboard.status_counts(*args)

    def drop_off(self, *args):
        return queries.dashboard.drop_off(*args)

    def answer_counts(self, *args):
        return queries.dashboard.answer_counts(*args)

    def choice_counts(self, question, rows, *args, **kwargs):
        return numbers.choice_counts(question, rows, *args, **kwargs)

    def count_bars(self, pairs, min_cell_size: int):
        return numbers.count_bars(pairs, min_cell_size)

    def completion_rate(self, complete, partial, min_cell_size: int):
        return numbers.completion_rate(complete, partial, min_cell_size)

    def capacity_table(self, project: Project, instrument_id: str):
        return queries.scores.capacity_table(project, instrument_id)


class _Choices(list):
    """A question's (label, tally) pairs, and how many respondents answered it (a
    select_multiple respondent is in several pairs)."""
    people: int = 0


class ProtectedFigures(ExactFigures):
    """What partners read: every count a protected cell (tallies from queries.protected,
    rounded by domain.disclosure); totals and rates from protected counts; capacity means
    with the protected n. The min_cell_size arguments are the project's, as the layer's."""
    protected = True

    def __init__(self, project: Project):
        super().__init__(project)
        self.layer = Disclosure(project.min_cell_size)

    def responses_per_day(self, *args):
        return queries.protected.responses_per_day(*args)

    def status_counts(self, *args):
        return queries.protected.status_counts(*args)

    def drop_off(self, *args):
        return queries.protected.drop_off(*args)

    def answer_counts(self, *args):
        return queries.protected.answer_counts(*args)

    def choice_counts(self, question, rows, *args, **kwargs):
        choices = _Choices(numbers.choice_counts(question, rows, *args, **kwargs))
        choices.people = sum(tally.n for _value, tally in rows)
        return choices

    def count_bars(self, pairs, min_cell_size: int):
        return numbers.protected_bars(pairs, self.layer, people=getattr(pairs, "people", None))

    def completion_rate(self, complete, partial, min_cell_size: int):
        return numbers.protected_rate(complete, partial, self.layer)

    def capacity_table(self, project: Project, instrument_id: str):
        return queries.scores.capacity_table(project, instrument_id, protected=True)


def figures_for(project: Project, *, protected: bool) -> ExactFigures:
    """The figures of ``project`` for a reader: ``protected`` for anyone who is not one of
    its analysts (``not may_in(project.id, "analyst")``)."""
    return ProtectedFigures(project) if protected else ExactFigures(project)
