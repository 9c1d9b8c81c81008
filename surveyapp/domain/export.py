"""What an export holds: the columns and rows of each sheet, from plain data. No I/O.

The read path (surveyapp.analysis.export) streams ``ResponseRecord``s out of the
database; this module turns them into rows, and ``workbook.write_workbook`` (or
``write_csv_zip``) writes them. One column per answer key:

* a matrix gives one column per item (``trust.police``);
* a select_multiple gives the joined labels (``programmes``), then a 0/1 column per
  choice (``programmes/mentoring``: empty when the question was not answered, so
  "not asked" never reads as "not chosen"), then its ``other`` text;
* a select_one with ``other`` gives the choice and the ``other`` text;
* numbers are numbers, dates are dates, ranking and select_multiple lists read
  in the order given.

Labels (the default) come from ``labels.answer_text``, so they read as on the
response page; with ``codes`` the stored values are written instead. The same choice
holds for the response's own wave, language and status: "Follow-up 1", "Arabic",
"Complete" as labels (the workbook is English), "follow-up 1", "ar", "complete" as codes. Answers to
``pii`` questions are columns only when ``include_pii`` is asked for, and then
they are read from the record's ``private_answers``, never from ``answers``.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from surveyapp.domain.instruments import OTHER_VALUE, Instrument, Question, localise
from surveyapp.domain.labels import answer_text
from surveyapp.domain.scoring import ALPHA_FLOOR, CapacityTable, required_share
from surveyapp.domain.statistics import Reliability
from surveyapp.domain.words import language_name
from surveyapp.domain.workbook import Column, ColumnChartSpec, Sheet

CLOSED_TYPES = frozenset({"select_one", "likert", "matrix", "select_multiple", "ranking"})
NUMERIC_TYPES = frozenset({"integer", "decimal"})
RESPONSE_FIELDS = ("id", "campaign", "site", "wave", "language", "status", "started", "submitted")
# The fixed columns' second header row: what a person reads above the variable name's values.
RESPONSE_FIELD_LABELS = ("Response id", "Campaign code", "Site", "Wave", "Language", "Status",
                         "Started (UTC)", "Submitted (UTC)")
STATUS_LABELS = {"complete": "Complete", "partial": "Partial"}
LIST_SEPARATOR = ", "  # as labels.answer_text joins a list
CODE_SEPARATOR = " "  # as XLSForm tools write select_multiple codes


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One response as the export reads it. Times are UTC: aware, or naive as SQLite
    hands them back (the row leaves those as they are)."""
    id: int
    campaign: str
    site: str
    wave: str
    language: str
    status: str
    started_at: dt.datetime | None
    submitted_at: dt.datetime | None
    answers: Mapping[str, Any]
    private_answers: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ThemeRow:
    """One theme of a question or prompt as the analyst last left it: the analyst's label
    and assignments over the machine's. ``percent`` is of the items assigned a theme or
    "no theme"; ``sentiment`` is (positive, neutral, negative) shares, English only."""
    kind: str                 # "question" or "prompt"
    item: str                 # the question's or prompt's id
    text: str                 # its wording in the export's language
    theme: str
    count: int | None         # None: suppressed (aggregate_theme_rows)
    percent: float | None = None
    key_phrases: tuple[str, ...] = ()
    sentiment: tuple[float, float, float] | None = None
    quotes: tuple[str, ...] = ()
    # Of ``count``: the texts whose theme a person set (on the theme page, or settled
    # after double coding), and the classifier's proposals an analyst accepted; None
    # where not counted (codebook rows, aggregates-only files).
    confirmed: int | None = None
    accepted: int | None = None


@dataclass(frozen=True)
class SegmentRecord:
    """One segment of a finalised focus-group session, with its session and its speaker's
    attributes (a pseudonym: real names are never read)."""
    session_id: int
    held_on: dt.date
    site: str
    wave: str
    guide: str
    session_language: str
    prompt_id: str
    prompt: str
    position: int
    speaker: str
    age_band: str
    gender: str
    role: str
    text: str


# ----------------------------------------------------------------------------- responses

class _Cells(dict):
    """Stored value -> cell for one column: the expected values (and None) looked up at C
    speed, anything else through ``other``. An unhashable value (a list where one value
    belongs) raises TypeError; ``cell`` handles it."""
    __slots__ = ("other",)

    def __init__(self, known: Mapping[Any, Any], other: Callable[[Any], Any]):
        super().__init__(known)
        self[None] = None
        self.other = other

    def __missing__(self, value):
        return self.other(value)

    def cell(self, value):
        try:
            return self[value]
        except TypeError:
            return self.other(value)


class _Memo(dict):
    """A code -> label table filled on first use (a few distinct waves, languages and
    statuses among 100,000 rows: one call each, then a dict lookup)."""
    __slots__ = ("make",)

    def __init__(self, make: Callable[[str], Any]):
        super().__init__()
        self.make = make

    def __missing__(self, code):
        label = self[code] = self.make(code) if code is not None else None
        return label


@dataclass
class ResponseLayout:
    """The Responses sheet's columns and a function from a record to its row.

    Why the row is built this way: it is made once per response and 100,000 responses is
    ordinary, so the single-valued columns (most of them) are one ``map`` over the keys and
    one over their ``_Cells`` tables, the multi-valued questions one call each, and
    ``itemgetter`` puts everything in column order; no Python call per cell."""
    columns: list[Column]
    _public: tuple[tuple[str, ...], tuple[_Cells, ...]] = field(repr=False)
    _private: tuple[tuple[str, ...], tuple[_Cells, ...]] = field(repr=False)
    _blocks: tuple[tuple[bool, Callable[[Mapping[str, Any]], list]], ...] = field(repr=False)
    _order: Callable[[Sequence], tuple] = field(repr=False)
    # wave, language, status: code -> what the cell shows (the code itself with ``codes``)
    _meta: tuple[_Memo, _Memo, _Memo] = field(repr=False, default=None)

    def row(self, record: ResponseRecord) -> tuple:
        public, private = record.answers, record.private_answers or {}
        started, submitted = record.started_at, record.submitted_at
        # Inline, not a call per time: this runs once per response (see the class docstring).
        if started is not None and started.tzinfo is not None:
            started = _naive_utc(started)
        if submitted is not None and submitted.tzinfo is not None:
            submitted = _naive_utc(submitted)
        waves, languages, statuses = self._meta
        cells = [record.id, record.campaign, record.site, waves[record.wave],
                 languages[record.language], statuses[record.status], started, submitted]
        for answers, (keys, tables) in ((public, self._public), (private, self._private)):
            if keys:
                start = len(cells)
                try:
                    cells.extend(map(dict.__getitem__, tables, map(answers.get, keys)))
                except TypeError:  # a stored list or dict in a single-valued column
                    del cells[start:]
                    cells.extend(table.cell(answers.get(key)) for key, table in zip(keys, tables))
        for from_private, block in self._blocks:
            cells.extend(block(private if from_private else public))
        return self._order(cells)


def response_layout(instrument: Instrument, language: str, *, codes: bool = False,
                    include_pii: bool = False, other_label: str = "Other") -> ResponseLayout:
    """The columns (variable name, then question text in ``language``) and row maker."""
    fallback = instrument.default_language
    t = lambda text: localise(text, language, fallback)  # noqa: E731
    columns = [Column(name, label) for name, label in zip(RESPONSE_FIELDS, RESPONSE_FIELD_LABELS)]
    # Where each column's value sits in the row as built (fixed, public single-valued,
    # private single-valued, then the blocks); ``_order`` puts them in column order.
    places: list[tuple[int, int]] = [(0, i) for i in range(len(RESPONSE_FIELDS))]
    singles: dict[bool, tuple[list[str], list[_Cells]]] = {False: ([], []), True: ([], [])}
    blocks: list[tuple[bool, Callable, int]] = []

    def add(name, label, cells, *, wrap=False, private=False):
        columns.append(Column(name, label, wrap=wrap))
        keys, tables = singles[private]
        places.append((2 if private else 1, len(keys)))
        keys.append(name)
        tables.append(cells)

    def add_block(names_labels, block, *, private=False):
        for name, label in names_labels:
            columns.append(Column(name, label))
        places.extend((3, (len(blocks), i)) for i in range(len(names_labels)))
        blocks.append((private, block, len(names_labels)))

    for question in instrument.questions:
        if question.type == "note" or (question.pii and not include_pii):
            continue
        private = question.pii
        label = t(question.label)
        labels = _labels(question, language, fallback, other_label, codes)
        if question.type == "matrix":
            for item in question.items:
                add(f"{question.id}.{item.id}", f"{label}: {t(item.label)}", labels, private=private)
        elif question.type in ("select_multiple", "ranking"):
            heads = [(question.id, label)]
            chosen: list = []
            if question.type == "select_multiple":
                chosen = [choice.value for choice in question.choices.choices]
                heads += [(f"{question.id}/{choice.value}", f"{label}: {t(choice.label)}")
                          for choice in question.choices.choices]
                if question.other:
                    chosen.append(OTHER_VALUE)
                    heads.append((f"{question.id}/{OTHER_VALUE}", f"{label}: {other_label}"))
            add_block(heads, _multiple(question.id, labels, codes, tuple(chosen)), private=private)
        elif question.choices is not None:
            add(question.id, label, labels, private=private)
        elif question.type in NUMERIC_TYPES:
            add(question.id, label, _Cells({}, _number), private=private)
        elif question.type == "date":
            add(question.id, label, _Cells({}, _date), private=private)
        else:
            add(question.id, label, _Cells({}, str), wrap=question.type == "textarea",
                private=private)
        if question.other:
            key = f"{question.id}.{OTHER_VALUE}"
            add(key, f"{label}: {other_label} ({key})", _Cells({}, str), wrap=True, private=private)

    # Positions in the built row: fixed fields, then public singles, private singles, blocks.
    starts = [0, len(RESPONSE_FIELDS), len(RESPONSE_FIELDS) + len(singles[False][0])]
    block_start, block_starts = starts[2] + len(singles[True][0]), []
    for _private, _block, width in blocks:
        block_starts.append(block_start)
        block_start += width
    order = [starts[part] + at if part < 3 else block_starts[at[0]] + at[1] for part, at in places]
    return ResponseLayout(columns, (tuple(singles[False][0]), tuple(singles[False][1])),
                          (tuple(singles[True][0]), tuple(singles[True][1])),
                          tuple((private, block) for private, block, _ in blocks),
                          itemgetter(*order), _response_meta(codes))


def _response_meta(codes: bool) -> tuple[_Memo, _Memo, _Memo]:
    """The wave, language and status cells: codes as stored, or labels in English."""
    if codes:
        return _Memo(str), _Memo(str), _Memo(str)
    return (_Memo(wave_label), _Memo(language_name),
            _Memo(lambda status: STATUS_LABELS.get(status, status)))


def _labels(question: Question, language: str, fallback: str, other_label: str,
            codes: bool) -> _Cells:
    """Value -> what the cell shows: the stored code, or its label as answer_text reads it."""
    if codes or question.choices is None:
        return _Cells({value: value for value in question.choice_values}
                      if question.choices is not None else {}, _as_is)
    return _Cells({value: answer_text(question, question.id, value, language, fallback,
                                      other_label=other_label).text
                   for value in question.choice_values}, str)


def _as_is(value):
    return value


def _multiple(key, labels: _Cells, codes: bool, chosen: tuple):
    """The joined labels (or codes) of a select_multiple or ranking, then a 0/1 cell per
    choice in ``chosen`` (all empty when the question was not answered)."""
    separator = CODE_SEPARATOR if codes else LIST_SEPARATOR
    nothing = [None] * (1 + len(chosen))

    def block(answers):
        value = answers.get(key)
        if value is None:
            return nothing
        values = value if type(value) is list else [value]
        try:
            # ``map``s, not a Python call per value: this runs for every response.
            joined = separator.join(map(str, map(labels.__getitem__, values)))
            picked = set(values)
        except TypeError:  # a list holding a list or a dict
            joined = separator.join(str(labels.cell(v)) for v in values)
            picked = list(values)
        return [joined, *map(int, map(picked.__contains__, chosen))]
    return block


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value)  # an unexpected stored form is shown as it is, not hidden


def _date(value):
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


# ----------------------------------------------------------------------------- codebook

CODEBOOK_COLUMNS = [Column("variable"), Column("question", wrap=True), Column("type"),
                    Column("choices", wrap=True), Column("relevant"), Column("domain"),
                    Column("pii")]


def codebook_rows(instrument: Instrument, language: str, *, include_pii: bool = False,
                  other_label: str = "Other") -> Iterator[list]:
    """One row per answer key: variable, question text, type, choices (code = label),
    relevance rule, capacity domain (``(reversed)`` for negatively worded items)."""
    fallback = instrument.default_language
    t = lambda text: localise(text, language, fallback)  # noqa: E731
    domains: dict[str, list[str]] = {}
    for domain in instrument.scoring.domains if instrument.scoring else ():
        for item in domain.items:
            domains.setdefault(item, []).append(
                domain.id + (" (reversed)" if item in domain.reverse else ""))
    for question in instrument.questions:
        if question.type == "note" or (question.pii and not include_pii):
            continue
        choices = "; ".join(f"{c.value} = {t(c.label)}" for c in question.choices.choices) \
            if question.choices else ""
        if question.other:
            choices += f"; {OTHER_VALUE} = {other_label}"
        relevant = question.relevant.source if question.relevant else ""
        for key in question.answer_keys:
            item_id = key.partition(".")[2]
            text = t(question.label)
            if question.type == "matrix":
                text += ": " + next(t(i.label) for i in question.items if i.id == item_id)
            kind = "text (other)" if item_id == OTHER_VALUE and question.other else question.type
            yield [key, text, kind, "" if kind == "text (other)" else choices, relevant,
                   ", ".join(domains.get(key, [])), "yes" if question.pii else ""]


# ----------------------------------------------------------------------------- summary

SUMMARY_COLUMNS = [Column("variable"), Column("question", wrap=True), Column("value"),
                   Column("label"), Column("count"), Column("percent_of_valid"), Column("valid"),
                   Column("missing"), Column("n"), Column("mean"), Column("median"), Column("sd"),
                   Column("min"), Column("max")]


class _Numbers:
    """n, mean, SD (Welford), min, max and an exact median from counts of each value:
    memory grows with the distinct values, not with the responses."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.counts: Counter = Counter()

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)
        self.counts[value] += 1

    def median(self):
        if not self.n:
            return None
        ordered = sorted(self.counts.items())
        lower_at, upper_at = (self.n - 1) // 2, self.n // 2
        lower = upper = None
        seen = 0
        for value, count in ordered:
            if lower is None and seen + count > lower_at:
                lower = value
            if seen + count > upper_at:
                upper = value
                break
            seen += count
        return (lower + upper) / 2 if lower != upper else lower


SUMMARY_BATCH = 1000  # responses whose single values are counted together


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def summarised_questions(instrument: Instrument, *, include_pii: bool = False
                         ) -> tuple[list[tuple[Question, str]], list[Question]]:
    """What a Summary counts: (question, answer key) of every closed question (a matrix
    per item) and every numeric question, in order; private questions only when asked."""
    closed: list[tuple[Question, str]] = []
    numeric: list[Question] = []
    for question in instrument.questions:
        if question.pii and not include_pii:
            continue
        if question.type in CLOSED_TYPES:
            keys = question.answer_keys if question.type == "matrix" else (question.id,)
            closed.extend((question, key) for key in keys)
        elif question.type in NUMERIC_TYPES:
            numeric.append(question)
    return closed, numeric


class SummaryAccumulator:
    """Frequencies of every closed question and statistics of every numeric one, added
    one response at a time (the export streams; nothing here keeps the responses)."""

    def __init__(self, instrument: Instrument, *, include_pii: bool = False):
        self.instrument = instrument
        self.closed, self.numeric = summarised_questions(instrument, include_pii=include_pii)
        self.responses = 0
        self.counts: dict[str, Counter] = {key: Counter() for _, key in self.closed}
        self.valid: Counter = Counter()
        self.numbers: dict[str, _Numbers] = {q.id: _Numbers() for q in self.numeric}
        # Single-valued keys: each response's values are kept as one tuple, and every
        # ``SUMMARY_BATCH`` responses the batch is turned into columns and each column
        # counted in one Counter.update (C speed), then folded into ``counts`` and
        # ``valid``. The list-valued ones (select_multiple, ranking) are counted one by one.
        self.single_keys = [key for question, key in self.closed
                            if question.type not in ("select_multiple", "ranking")]
        self.list_keys = [key for question, key in self.closed
                          if question.type in ("select_multiple", "ranking")]
        self.batch: list[tuple] = []
        self.numeric_keys = [(q.id, self.numbers[q.id]) for q in self.numeric]

    def add(self, answers: Mapping[str, Any]) -> None:
        self.responses += 1
        get = answers.get
        self.batch.append(tuple(map(get, self.single_keys)))
        if len(self.batch) >= SUMMARY_BATCH:
            self._fold()
        if self.list_keys:
            self._count(answers, self.list_keys)
        for key, numbers in self.numeric_keys:
            value = get(key)
            if type(value) in (int, float) and math.isfinite(value):
                numbers.add(value)

    def _count(self, answers: Mapping[str, Any], keys: Iterable[str]) -> None:
        get = answers.get
        for key in keys:
            self._count_value(key, get(key))

    def _count_value(self, key: str, value: Any) -> None:
        if value is None:
            return
        self.valid[key] += 1
        if type(value) is list:
            counts = self.counts[key]
            try:
                counts.update(value)
            except TypeError:  # a stored list holding a list or a dict: those are skipped
                # update counted the elements before the first unhashable one; count the rest.
                first = next(i for i, v in enumerate(value) if not _hashable(v))
                counts.update(v for v in value[first + 1:] if _hashable(v))
        elif isinstance(value, (str, int)):
            self.counts[key][value] += 1

    def _fold(self) -> None:
        """Count the batched single values into ``counts`` and ``valid``. (A stored 1.0 and
        a 1 are one Counter key: a float never comes from a choice.)"""
        for key, column in zip(self.single_keys, zip(*self.batch)):
            seen: Counter = Counter()
            try:
                seen.update(column)
            except TypeError:  # a list or a dict where one value belongs: value by value
                for value in column:
                    self._count_value(key, value)
                continue
            valid, counts = self.valid, self.counts[key]
            for value, n in seen.items():
                if value is None:
                    continue
                valid[key] += n
                if isinstance(value, (str, int)):
                    counts[value] += n
        self.batch.clear()

    def rows(self, language: str, *, codes: bool = False, other_label: str = "Other",
             min_cell_size: int | None = None) -> Iterator[list]:
        """Frequency rows (every choice, chosen or not, then any unexpected value), then
        one statistics row per numeric question.

        With ``min_cell_size`` (an aggregates-only reader) a count or a statistic of fewer
        respondents is left empty with "suppressed" in its label cell, unexpected values
        (they may be one resident's own words) are left out, and min and max (each is one
        resident's answer) are never given."""
        if min_cell_size is not None:
            yield from self._suppressed(self.rows(language, codes=codes, other_label=other_label),
                                        min_cell_size)
            return
        self._fold()
        fallback = self.instrument.default_language
        t = lambda text: localise(text, language, fallback)  # noqa: E731
        for question, key in self.closed:
            text = t(question.label)
            item_id = key.partition(".")[2]
            if item_id:
                text += ": " + next(t(i.label) for i in question.items if i.id == item_id)
            valid, counts = self.valid[key], self.counts[key]
            values = list(question.choice_values) + [v for v in counts if v not in question.choice_values]
            for value in values:
                label = answer_text(question, question.id, value, language, fallback,
                                    other_label=other_label).text
                count = counts.get(value, 0)
                yield [key, text, value, label, count,
                       round(100 * count / valid, 1) if valid else None, valid,
                       self.responses - valid, None, None, None, None, None, None]
        for question in self.numeric:
            numbers = self.numbers[question.id]
            sd = math.sqrt(numbers.m2 / (numbers.n - 1)) if numbers.n > 1 else None
            yield [question.id, t(question.label), None, None, None, None, numbers.n,
                   self.responses - numbers.n, numbers.n,
                   numbers.mean if numbers.n else None, numbers.median(), sd,
                   min(numbers.counts) if numbers.n else None,
                   max(numbers.counts) if numbers.n else None]


    def _suppressed(self, rows: Iterable[list], min_cell_size: int) -> Iterator[list]:
        # A key's counts are suppressed together (dashboard.suppressed_counts): its valid
        # count is shown, so one hidden count alone would be valid minus the others.
        from surveyapp.domain.dashboard import suppressed_counts
        expected = {key: set(question.choice_values) for question, key in self.closed}
        note = f"suppressed: fewer than {min_cell_size}"

        def frequencies(group: list[list]) -> Iterator[list]:
            small = 0 < group[0][6] < min_cell_size if group else False
            hidden = suppressed_counts([row[4] for row in group], min_cell_size)
            for row, hide in zip(group, hidden):
                if hide or small:
                    row[3] = f"{row[3]} ({note})"
                    row[4] = row[5] = None
                if small:
                    row[6] = row[7] = None
                yield row

        group: list[list] = []
        for row in rows:
            row = list(row)
            if row[0] in expected and row[4] is not None:      # a frequency row
                if group and group[0][0] != row[0]:
                    yield from frequencies(group)
                    group = []
                if row[2] in expected[row[0]]:
                    group.append(row)
                continue
            yield from frequencies(group)
            group = []
            row[12] = row[13] = None                             # a statistics row
            if 0 < (row[8] or 0) < min_cell_size:
                row[9:12] = [None, None, None]
                row[3] = note
            yield row
        yield from frequencies(group)


# ----------------------------------------------------------------------------- other sheets

_SCORE = "0.0"   # scores and their intervals to one decimal; the cell keeps every digit
CAPACITY_COLUMNS = [Column("site"), Column("wave"), Column("domain"), Column("label"),
                    Column("n"), Column("mean", number_format=_SCORE),
                    Column("sd", number_format=_SCORE), Column("ci_low", number_format=_SCORE),
                    Column("ci_high", number_format=_SCORE), Column("baseline"),
                    Column("change", number_format="+0.0;\u22120.0;0.0"),
                    Column("change_ci_low", number_format=_SCORE),
                    Column("change_ci_high", number_format=_SCORE),
                    Column("hedges_g", number_format="0.00"), Column("g_ci_low", number_format="0.00"),
                    Column("g_ci_high", number_format="0.00"), Column("p", number_format="0.000"),
                    Column("q_bh", number_format="0.000"), Column("alpha", number_format="0.00"),
                    Column("note", wrap=True)]
# What the About sheet says of the statistics (the workbook states its rules).
STATISTICS_RULES = (
    ("change", "follow-up mean minus baseline mean, with Welch's 95% CI"),
    ("hedges_g", "standardised change (Hedges' g, pooled SD, small-sample corrected) with its "
                 "95% CI (Hedges & Olkin variance)"),
    ("p, q_bh", "Welch's two-sided p; q = Benjamini-Hochberg adjusted p across every change "
                "in the Capacity sheet: a change with q <= 0.05 holds at a 5% false discovery rate"),
    ("alpha", "Cronbach's alpha of the domain's items in that wave (all sites, complete answers); "
              f"under 0.7 is flagged, naming the items whose removal would raise it"),
)
ALL_SITES = "All sites"
THEME_COLUMNS = [Column("source"), Column("item"), Column("text", wrap=True), Column("theme", wrap=True),
                 Column("count"), Column("percent"), Column("key_phrases", wrap=True),
                 Column("positive"), Column("neutral"), Column("negative"), Column("quotes", wrap=True),
                 Column("confirmed_by_a_person"), Column("accepted_proposals")]
FOCUS_GROUP_COLUMNS = [Column("session"), Column("held_on"), Column("site"), Column("wave"),
                       Column("guide"), Column("session_language"), Column("prompt_id"),
                       Column("prompt", wrap=True), Column("position"), Column("speaker"),
                       Column("age_band"), Column("gender"), Column("role"),
                       Column("text", wrap=True)]


def wave_label(wave: str) -> str:
    """A wave as a person reads it: "baseline" -> "Baseline", "follow-up 2" -> "Follow-up 2";
    a custom name as written."""
    name, _space, number = wave.rpartition(" ")
    if wave in ("baseline", "follow-up") or (name == "follow-up" and number.isdigit()):
        return wave[:1].upper() + wave[1:]
    return wave


def capacity_rows(table: CapacityTable, labels: Mapping[str, str],
                  reliability: Mapping[tuple[str, str], Reliability] | None = None,
                  sites: Sequence[str] | None = None) -> Iterator[list]:
    """One row per site (then all sites), wave and domain: the cell's n, mean, SD and 95% CI
    on the 0-100 scale, and for a later wave the change from the baseline with its Welch
    95% CI. Suppression and comparability come from scoring (``capacity_table``), so the
    sheet hides exactly what the screen hides: a suppressed cell or change shows no number
    and says why. Sites, waves and domains are written as people read them. Each change
    carries Hedges' g, Welch's p and its Benjamini-Hochberg q across the table;
    ``reliability`` ((wave, domain) -> Cronbach's alpha) fills the all-sites rows.
    ``sites`` keeps only those sites' rows and leaves out all sites (a one-campaign export)."""
    baseline = table.waves[0] if table.waves else None
    for site in _sites(table, sites):
        for wave in table.waves:
            for domain in table.domains:
                cell = table.cell(site, wave, domain)
                if cell is None:
                    continue
                place = site if site is not None else ALL_SITES
                label = labels.get(domain, domain)
                notes = []
                if cell.complementary:
                    notes.append(f"suppressed: another site has fewer than {table.min_cell_size} "
                                 f"respondents, and this cell with all sites would give it away")
                elif cell.suppressed:
                    notes.append(f"suppressed: fewer than {table.min_cell_size} respondents")
                row = [place, wave_label(wave), domain, label,
                       None if cell.suppressed else cell.n, cell.mean, cell.sd,
                       cell.ci_low, cell.ci_high]
                change = table.change(site, wave, domain) if wave != baseline else None
                if change is None:
                    row += [None] * 9
                else:
                    effect = change.effect
                    row += [wave_label(change.baseline), change.difference, change.ci_low,
                            change.ci_high, effect and effect.value, effect and effect.ci_low,
                            effect and effect.ci_high, change.p_value, change.q_value]
                    if not change.comparable:
                        notes.append("no change: items worded differently in the two waves ("
                                     + ", ".join(change.changed_items) + ")")
                    elif change.suppressed and not cell.suppressed:
                        notes.append(f"change suppressed: a wave has fewer than "
                                     f"{table.min_cell_size} respondents")
                    if site is None and change.sites != table.sites:
                        notes.append("change over the sites measured in both waves: "
                                     + (", ".join(change.sites) or "none"))
                consistency = (reliability or {}).get((wave, domain)) if site is None else None
                alpha = consistency.alpha if consistency is not None else None
                if alpha is not None and alpha < ALPHA_FLOOR:
                    notes.append(f"alpha under {ALPHA_FLOOR}"
                                 + (": items lowering it: " + ", ".join(map(str, consistency.lowering))
                                    if consistency.lowering else ""))
                yield row + [alpha, "; ".join(notes)]


def _sites(table: CapacityTable, sites: Sequence[str] | None) -> tuple:
    """The sites to write, all sites (None) last; only ``sites`` when given."""
    if sites is None:
        return (*table.sites, None)
    return tuple(site for site in table.sites if site in set(sites))


def capacity_sheet(table: CapacityTable, labels: Mapping[str, str],
                   reliability: Mapping[tuple[str, str], Reliability] | None = None, *,
                   sites: Sequence[str] | None = None) -> Sheet:
    """The capacity table, one row per site, wave and domain (see ``capacity_rows``)."""
    return Sheet("Capacity", CAPACITY_COLUMNS, capacity_rows(table, labels, reliability, sites),
                 landscape=True)


# A chart sits under its block's table: 9 cm is about 17 rows of 15 points.
_CHART_ROWS = 19


def capacity_chart_sheet(table: CapacityTable, labels: Mapping[str, str], *,
                         sites: Sequence[str] | None = None) -> Sheet:
    """"Capacity charts": per site (then all sites) a small table (domains down, waves
    across, the mean score) with a clustered column chart under it: one series per
    wave, domains on the axis, the whole 0-100 scale. Each block prints on a page of its
    own (landscape, one page wide). A suppressed mean is left blank (no bar) and named."""
    waves = list(table.waves)
    width = 2 + len(waves)                       # domain, one column per wave, note
    rows: list[list] = []
    charts, breaks = [], []
    for site in _sites(table, sites):
        domains = [d for d in table.domains
                   if any(table.cell(site, w, d) is not None for w in waves)]
        if not domains:
            continue
        place = site if site is not None else ALL_SITES
        start = len(rows) + 2                    # sheet row of the block's title (row 1: header)
        rows.append([f"{place}: mean scores (0-100) by domain and wave"] + [None] * (width - 1))
        rows.append(["Domain"] + [wave_label(w) for w in waves] + ["Note"])
        for domain in domains:
            means, hidden = [], []
            for wave in waves:
                cell = table.cell(site, wave, domain)
                shown = cell is not None and not cell.suppressed
                means.append(cell.mean if shown else None)
                if cell is not None and cell.suppressed:
                    hidden.append(wave_label(wave))
            note = (f"{', '.join(hidden)}: fewer than {table.min_cell_size} respondents"
                    if hidden else None)
            rows.append([labels.get(domain, domain)] + means + [note])
        first, last = start + 2, start + 1 + len(domains)
        if all(value is None for row in rows[-len(domains):] for value in row[1:-1]):
            # Every mean suppressed: the notes say so; an empty chart would say nothing.
            while len(rows) + 2 - start < len(domains) + 3:
                rows.append([None] * width)
            breaks.append(len(rows) + 1)
            continue
        charts.append(ColumnChartSpec(
            f"{place}: capacity by domain (0-100)", categories=(1, first, last),
            series=tuple((2 + i, start + 1, first, last) for i in range(len(waves))),
            anchor=f"A{last + 2}", y_title="mean score (0-100)", y_min=0, y_max=100,
            width=18.0, height=9.0))
        rows.extend([None] * width for _ in range(_CHART_ROWS + 1))
        breaks.append(len(rows) + 1)
    columns = [Column("Capacity charts", width=30)] + [
        Column("", width=12, number_format=_SCORE) for _ in waves] + [Column("", width=40)]
    return Sheet("Capacity charts", columns, rows, charts=tuple(charts), table=False,
                 page_breaks=tuple(breaks[:-1]), landscape=True, in_csv=False)


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


PANEL_COLUMNS = [Column("site"), Column("domain"), Column("label"), Column("baseline"),
                 Column("follow_up"), Column("n_baseline"), Column("n_follow_up"),
                 Column("n_paired"), Column("method"), Column("change", number_format="+0.0;\u22120.0;0.0"),
                 Column("ci_low", number_format=_SCORE), Column("ci_high", number_format=_SCORE),
                 Column("effect_size", number_format="0.00"), Column("effect_kind"),
                 Column("unpaired_change", number_format="+0.0;\u22120.0;0.0"),
                 Column("unpaired_ci_low", number_format=_SCORE),
                 Column("unpaired_ci_high", number_format=_SCORE),
                 Column("baseline_respondents"), Column("returned"),
                 Column("returned_share", number_format="0%"),
                 Column("returned_baseline_mean", number_format=_SCORE),
                 Column("others_baseline_mean", number_format=_SCORE),
                 Column("returner_difference", number_format="+0.0;\u22120.0;0.0"),
                 Column("returner_ci_low", number_format=_SCORE),
                 Column("returner_ci_high", number_format=_SCORE), Column("note", wrap=True)]
METHODS = {"paired": "paired t (everyone linked)",
           "combined": "partially overlapping t (Derrick et al. 2017)",
           "welch": "Welch (no one linked)"}


def panel_rows(table, labels: Mapping[str, str], sites: Sequence[str] | None = None) -> Iterator[list]:
    """One row per site (then all sites), follow-up wave and domain: the change using the
    residents' panel links (domain.panel), the same change as if no one were linked
    (Welch), and the site's attrition: how many baseline respondents came back and how
    their baseline scores compare with the others' (flagged when the interval excludes 0).
    ``sites`` keeps only those sites' rows, without all sites (a one-campaign export)."""
    attrition = {(a.site, a.domain): a for a in table.attrition}
    for change in table.changes:
        if sites is not None and change.site not in set(sites):
            continue
        place = change.site if change.site is not None else ALL_SITES
        row = [place, change.domain, labels.get(change.domain, change.domain),
               wave_label(change.baseline), wave_label(change.follow_up)]
        notes = []
        if change.suppressed:
            row += [None] * 12
            notes.append("suppressed: a wave has fewer respondents than the minimum cell size")
        else:
            paired, welch = change.paired, change.unpaired
            row += [paired.n_before, paired.n_after, paired.n_paired, METHODS[paired.method],
                    paired.difference, paired.ci_low, paired.ci_high, paired.effect_size,
                    "d_z" if paired.effect_kind == "d_z" else "Hedges' g",
                    welch.difference, welch.ci_low, welch.ci_high]
        left = attrition.get((change.site, change.domain))
        if left is None or left.suppressed:
            row += [left.n_baseline if left and not left.suppressed else None] + [None] * 7
        else:
            row += [left.n_baseline, left.n_returned, left.share_returned, left.returned_mean,
                    left.left_mean, left.difference, left.ci_low, left.ci_high]
            if left.flagged:
                notes.append("returner bias: those who came back scored differently at baseline; "
                             "the paired change speaks for them")
        yield row + ["; ".join(notes)]


def panel_sheet(table, labels: Mapping[str, str], *, sites: Sequence[str] | None = None) -> Sheet:
    """The Panel sheet (see ``panel_rows``): for analysts, never in an aggregates-only file."""
    return Sheet("Panel", PANEL_COLUMNS, panel_rows(table, labels, sites), landscape=True)


SUPPRESSED_THEME = "suppressed"


def aggregate_theme_rows(rows: Iterable[ThemeRow], min_cell_size: int) -> Iterator[ThemeRow]:
    """Themes as an aggregates-only reader (a partner) may see them: label, count, share
    and sentiment; never quotes or key phrases (both are residents' own words). A theme of
    fewer than ``min_cell_size`` texts keeps no label, count, share or sentiment: its label
    could be one resident's words, its sentiment one resident's tone."""
    for row in rows:
        # None: suppressed already (queries.protected.theme_rows, on the true count).
        if row.count is None or 0 < row.count < max(min_cell_size, 1):
            yield ThemeRow(row.kind, row.item, row.text, SUPPRESSED_THEME, None)
        else:
            yield ThemeRow(row.kind, row.item, row.text, row.theme, row.count, row.percent,
                           (), row.sentiment, ())


def theme_rows(rows: Iterable[ThemeRow], *, quotes: bool = True) -> Iterator[list]:
    """Sentiment cells stay empty where it is not available (outside English), never 0.
    ``quotes=False`` leaves residents' words out (an aggregates-only reader)."""
    for row in rows:
        feeling = row.sentiment or (None, None, None)
        yield [row.kind, row.item, row.text, row.theme, row.count, row.percent,
               "; ".join(row.key_phrases), *feeling,
               "\n\n".join(row.quotes) if quotes else "", row.confirmed, row.accepted]


def segment_rows(segments: Iterable[SegmentRecord]) -> Iterator[list]:
    for s in segments:
        yield [s.session_id, s.held_on, s.site, s.wave, s.guide, s.session_language, s.prompt_id,
               s.prompt, s.position, s.speaker, s.age_band, s.gender, s.role, s.text]


ABOUT_COLUMNS = [Column("item", width=28), Column("value", wrap=True, width=90)]


def scoring_note(instrument: Instrument, language: str) -> str:
    """How the capacity scores are defined, from the instrument's scoring section."""
    scoring = instrument.scoring
    if scoring is None:
        return "This instrument defines no capacity scores."
    fallback = instrument.default_language
    parts = [f"{localise(d.label, language, fallback)} ({d.id}): {len(d.items)} items"
             for d in scoring.domains]
    return (f"Each domain's score is the mean of its answered items on the "
            f"{scoring.scale_min}-{scoring.scale_max} scale, rescaled to 0-100; reversed items "
            f"(negatively worded, see the Codebook's domain column) count as "
            f"{scoring.scale_min + scoring.scale_max} minus the answer. A score needs at least "
            f"{required_share(scoring):.0%} of its items answered, else it is missing. "
            + "; ".join(parts) + ".")


def about_rows(pairs: Sequence[tuple[str, Any]]) -> Iterator[list]:
    for name, value in pairs:
        yield [name, value]
