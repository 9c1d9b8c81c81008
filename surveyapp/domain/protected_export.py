"""The aggregates-only export's Summary sheet through the disclosure-control layer.

Plain Python, data in and data out: responses go in one at a time with their stored
record key (``add``); ``rows`` gives the Summary sheet's rows (``export.SUMMARY_COLUMNS``)
with every count a protected cell (domain.disclosure), so that a partner's file reads the
same as the partner's dashboard for the same records, and no total, share or missing
count gives a small cell back:

* a choice's count is its respondents' protected count, suppressed (empty, "suppressed"
  in the label) for 1 to min_cell_size - 1; values not in the choice list are left out
  (they may be one resident's own words);
* ``valid`` and ``missing`` are the protected counts of those who answered and of those
  who did not; ``percent_of_valid`` is the protected count over the protected ``valid``;
* a numeric question gives its protected n, and mean, median and SD to 0.1 when n is at
  least min_cell_size; never min or max (each is one resident's answer).
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from surveyapp.domain.disclosure import Disclosure, Tally
from surveyapp.domain.export import _Numbers, summarised_questions
from surveyapp.domain.instruments import Instrument, localise
from surveyapp.domain.labels import answer_text


class ProtectedSummary:
    """Tallies of every closed question's choices and every numeric question's answers
    (private questions never), added one response at a time."""

    def __init__(self, instrument: Instrument, layer: Disclosure):
        self.instrument = instrument
        self.layer = layer
        self.closed, self.numeric = summarised_questions(instrument)
        self.responses = Tally()
        self.valid: dict[str, Tally] = {}
        self.counts: dict[str, dict[Any, Tally]] = {key: {} for _q, key in self.closed}
        self.numbers: dict[str, _Numbers] = {q.id: _Numbers() for q in self.numeric}
        self.answered: dict[str, Tally] = {}
        self._known = {key: set(question.choice_values) for question, key in self.closed}

    def add(self, answers: Mapping[str, Any], key: int) -> None:
        one = Tally(1, int(key))
        self.responses += one
        for _question, answer_key in self.closed:
            value = answers.get(answer_key)
            if value is None:
                continue
            self.valid[answer_key] = self.valid.get(answer_key, Tally()) + one
            known, counts = self._known[answer_key], self.counts[answer_key]
            for v in (set(value) if isinstance(value, list) and all(_hashable(x) for x in value)
                      else [value]):
                if _hashable(v) and v in known:
                    counts[v] = counts.get(v, Tally()) + one
        for question in self.numeric:
            value = answers.get(question.id)
            if type(value) in (int, float) and math.isfinite(value):
                self.numbers[question.id].add(value)
                self.answered[question.id] = self.answered.get(question.id, Tally()) + one

    def rows(self, language: str, *, other_label: str = "Other") -> Iterator[list]:
        layer, fallback = self.layer, self.instrument.default_language
        note = f"suppressed: fewer than {layer.min_cell_size}"
        t = lambda text: localise(text, language, fallback)  # noqa: E731
        for question, key in self.closed:
            text = t(question.label)
            item_id = key.partition(".")[2]
            if item_id:
                text += ": " + next(t(i.label) for i in question.items if i.id == item_id)
            valid = self.valid.get(key, Tally())
            missing = Tally(self.responses.n - valid.n, self.responses.key_sum - valid.key_sum)
            values = list(question.choice_values)
            table = layer.table_of([(v, self.counts[key].get(v, Tally())) for v in values],
                                   of=valid, people=valid.n)
            shown_valid = layer.count_of(valid).shown
            shown_missing = layer.count_of(missing).shown
            for value, cell in zip(values, table.cells):
                label = answer_text(question, question.id, value, language, fallback,
                                    other_label=other_label).text
                if cell.count.suppressed:
                    yield [key, text, value, f"{label} ({note})", None, None, shown_valid,
                           shown_missing, None, None, None, None, None, None]
                else:
                    yield [key, text, value, label, cell.count.value, cell.percent, shown_valid,
                           shown_missing, None, None, None, None, None, None]
        for question in self.numeric:
            numbers = self.numbers[question.id]
            answered = self.answered.get(question.id, Tally())
            missing = Tally(self.responses.n - answered.n,
                            self.responses.key_sum - answered.key_sum)
            variance = numbers.m2 / (numbers.n - 1) if numbers.n > 1 else None
            mean = layer.mean_of(answered, numbers.mean if numbers.n else None, variance)
            n = mean.n.shown
            if mean.suppressed:
                yield [question.id, t(question.label), None, note, None, None, n,
                       layer.count_of(missing).shown, n, None, None, None, None, None]
                continue
            median = numbers.median()
            yield [question.id, t(question.label), None, None, None, None, n,
                   layer.count_of(missing).shown, n, mean.mean,
                   round(median, layer.digits) if median is not None else None, mean.sd,
                   None, None]


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
