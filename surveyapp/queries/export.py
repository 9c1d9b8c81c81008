"""The response export: read what a filter selects, streaming, and write the workbook.

The CLI (``surveyapp export``) and the download route call ``write_export``.
Responses are read with plain column selects in id order, ``yield_per`` rows at a
time (a server-side cursor on PostgreSQL), never as ORM objects and never through
the paged list the response pages use: memory stays flat however many there are.
The private answers (``pii`` questions) table is joined only when ``include_pii``
is asked for; the caller decides who may ask (admins only).

The download route does not call it while a request waits: it enqueues an export job
(``jobs``), whose body (``jobs.kinds``) calls ``write_export`` with a progress callback.
``write_export`` writes to the stream it is given, never to the database.
"""
from __future__ import annotations

import dataclasses

import datetime as dt
import gc
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable, Iterator

import sqlalchemy as sa

from surveyapp.domain import export
from surveyapp.domain import reliability as domain_reliability
from surveyapp.domain.disclosure import Disclosure
from surveyapp.domain.export import ResponseRecord, SegmentRecord, ThemeRow
from surveyapp.domain.instruments import Instrument, localise, text_direction
from surveyapp.domain.workbook import (EXCEL_MAX_ROWS, Sheet, write_csv_zip, write_workbook)
from surveyapp.domain.words import language_name
from surveyapp.extensions import db
from surveyapp.models import (Campaign, FocusGroup, InstrumentVersion, Participant,
                              PrivateAnswers, Project, Response, Segment, Site)
from surveyapp.queries.campaigns import campaign_by_code, campaign_version, project_instruments
from surveyapp.queries.focus_groups import of_kind
from surveyapp.queries import protected as queries_protected
from surveyapp.queries import coding as queries_coding
from surveyapp.queries.instruments import instrument_of, latest_version
from surveyapp.queries.scores import capacity_table, panel_table, reliability
from surveyapp.queries.themes import (
    Source, codebook_assignments, codebook_themes_of, effective_themes, latest_run, source_items,
    themes_of)

STATUSES = ("complete", "partial", "all")
YIELD_PER = 1000


class ExportError(ValueError):
    """A filter that selects nothing exportable (an unknown campaign, a bad status)."""


@dataclass(frozen=True)
class ExportFilters:
    """What to export. ``instrument_id`` is required (a campaign gives it); the rest
    narrow it down. ``until`` is inclusive. ``language`` is the label language
    (the instrument's default if None or not one of its languages)."""
    instrument_id: str
    project_id: int | None = None
    campaign_id: int | None = None
    site_id: int | None = None
    wave: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    status: str = "complete"
    language: str | None = None
    # Several sites or waves (the project export form); empty: no narrowing. Used with
    # site_id and wave, both must hold.
    site_ids: tuple[int, ...] = ()
    waves: tuple[str, ...] = ()
    codes: bool = False
    include_pii: bool = False
    # A partner's export: About, Summary (suppressed), Capacity and Themes without quotes;
    # never Responses, Codebook or Focus groups, nor any resident's words.
    aggregates_only: bool = False

    def __post_init__(self):
        # A jobs row keeps lists (JSON); a filter keeps tuples, so that it stays hashable.
        object.__setattr__(self, "site_ids", tuple(int(s) for s in self.site_ids or ()))
        object.__setattr__(self, "waves", tuple(str(w) for w in self.waves or ()))
        if self.status not in STATUSES:
            raise ExportError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.aggregates_only and self.include_pii:
            raise ExportError("an aggregates-only export never includes contact details")


@dataclass
class ExportResult:
    rows: dict[str, int] = field(default_factory=dict)
    responses: int = 0


def filters_for(reference: str, **options) -> ExportFilters:
    """Filters for a campaign code or an instrument id (``surveyapp export REFERENCE``)."""
    campaign = campaign_by_code(reference)
    if campaign is not None:
        return ExportFilters(instrument_id=campaign.instrument_id, campaign_id=campaign.id,
                             project_id=campaign.project_id, **options)
    if latest_version(reference) is None:
        raise ExportError(f"{reference!r} is neither a campaign code nor an instrument id")
    return ExportFilters(instrument_id=reference, **options)


def filters_for_campaign(campaign: Campaign, **options) -> ExportFilters:
    return ExportFilters(instrument_id=campaign.instrument_id, campaign_id=campaign.id,
                         project_id=campaign.project_id, **options)


def _where(filters: ExportFilters, scope: set[int] | None) -> list:
    clauses = [Campaign.instrument_id == filters.instrument_id]
    if scope is not None:
        clauses.append(Campaign.project_id.in_(scope))
    for column, value in ((Campaign.project_id, filters.project_id), (Campaign.id, filters.campaign_id),
                          (Campaign.site_id, filters.site_id), (Campaign.wave, filters.wave)):
        if value not in (None, ""):
            clauses.append(column == value)
    if filters.site_ids:
        clauses.append(Campaign.site_id.in_(filters.site_ids))
    if filters.waves:
        clauses.append(Campaign.wave.in_(filters.waves))
    if filters.status != "all":
        clauses.append(Response.status == filters.status)
    when = sa.func.coalesce(Response.submitted_at, Response.started_at)
    if filters.since:
        clauses.append(when >= _midnight(filters.since))
    if filters.until:
        clauses.append(when < _midnight(filters.until + dt.timedelta(days=1)))
    return clauses


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def count_responses(filters: ExportFilters, scope: set[int] | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count(Response.id))
                             .join(Campaign, Response.campaign_id == Campaign.id)
                             .where(*_where(filters, scope)))


def response_records(filters: ExportFilters, scope: set[int] | None = None, *,
                     versions: Counter | None = None) -> Iterator[ResponseRecord]:
    """The selected responses in id order, ``YIELD_PER`` rows per fetch. ``versions``
    (if given) counts the responses per instrument version id as they go by."""
    columns = [Response.id, Campaign.code, Site.name, Campaign.wave, Response.language,
               Response.status, Response.started_at, Response.submitted_at, Response.answers,
               Response.instrument_version_id]
    query = (sa.select(*columns).join(Campaign, Response.campaign_id == Campaign.id)
             .join(Site, Campaign.site_id == Site.id))
    if filters.include_pii:
        query = query.add_columns(PrivateAnswers.answers).outerjoin(
            PrivateAnswers, PrivateAnswers.response_id == Response.id)
    query = query.where(*_where(filters, scope)).order_by(Response.id)
    # On the session's connection, not through the session: plain Core rows, without the
    # ORM's result layer around each fetch (nothing here is an ORM entity).
    result = db.session.connection().execute(
        query.execution_options(yield_per=YIELD_PER, stream_results=True))
    try:
        for row in result:
            if versions is not None:
                versions[row[9]] += 1
            # Times as the driver gives them (naive UTC on SQLite): ResponseRecord takes both.
            yield ResponseRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                                 row[8] or {}, (row[10] or {}) if filters.include_pii else None)
    finally:
        result.close()


def _column_version(filters: ExportFilters, scope) -> InstrumentVersion:
    """The version whose questions make the columns: the newest one answered, else the
    campaign's, else the instrument's latest."""
    newest = db.session.scalar(
        sa.select(sa.func.max(Response.instrument_version_id))
        .join(Campaign, Response.campaign_id == Campaign.id).where(*_where(filters, scope)))
    if newest is not None:
        return db.session.get(InstrumentVersion, newest)
    if filters.campaign_id is not None:
        version = campaign_version(db.session.get(Campaign, filters.campaign_id))
        if version is not None:
            return version
    version = latest_version(filters.instrument_id)
    if version is None:
        raise ExportError(f"no instrument {filters.instrument_id!r}")
    return version


def _session_clauses(filters: ExportFilters, scope: set[int] | None, kind: str) -> list:
    """The finalised sessions of ``kind`` (focus_group or interview: the guide's kind) at
    the export's project, site and wave (and dates)."""
    clauses = [FocusGroup.status == "finalised", of_kind(kind)]
    if scope is not None:
        clauses.append(FocusGroup.project_id.in_(scope))
    project_id, site_id, wave = filters.project_id, filters.site_id, filters.wave
    if filters.campaign_id is not None:
        # A campaign's export holds the focus groups of its project, site and wave.
        campaign = db.session.get(Campaign, filters.campaign_id)
        project_id, site_id, wave = campaign.project_id, site_id or campaign.site_id, wave or campaign.wave
    for column, value in ((FocusGroup.project_id, project_id),
                          (FocusGroup.site_id, site_id), (FocusGroup.wave, wave)):
        if value not in (None, ""):
            clauses.append(column == value)
    if filters.site_ids:
        clauses.append(FocusGroup.site_id.in_(filters.site_ids))
    if filters.waves:
        clauses.append(FocusGroup.wave.in_(filters.waves))
    if filters.since:
        clauses.append(FocusGroup.held_on >= filters.since)
    if filters.until:
        clauses.append(FocusGroup.held_on <= filters.until)
    return clauses


def has_sessions(filters: ExportFilters, scope: set[int] | None, kind: str) -> bool:
    """Whether the export covers any finalised session of ``kind``."""
    return db.session.scalar(sa.select(sa.exists().where(*_session_clauses(filters, scope, kind))))


def segment_records(filters: ExportFilters, scope: set[int] | None, language: str,
                    kind: str = "focus_group") -> Iterator[SegmentRecord]:
    """The segments of the finalised sessions of ``kind`` (focus groups, or interviews) at
    the export's project, site and wave (and dates), in session and guide order. Speakers
    are pseudonyms with the roster's attributes; real names are not selected."""
    clauses = _session_clauses(filters, scope, kind)
    sessions = db.session.execute(
        sa.select(FocusGroup.id, FocusGroup.held_on, Site.name, FocusGroup.wave,
                  FocusGroup.guide_id, FocusGroup.language,
                  FocusGroup.guide_version_id)
        .join(Site, FocusGroup.site_id == Site.id).where(*clauses)
        .order_by(FocusGroup.held_on, FocusGroup.id)).all()
    for session_id, held_on, site, session_wave, guide_id, session_language, version_id in sessions:
        guide = instrument_of(db.session.get(InstrumentVersion, version_id))
        order = {prompt.id: number for number, prompt in enumerate(guide.prompts)}
        labels = {prompt.id: localise(prompt.label, guide.language_for(language), guide.default_language)
                  for prompt in guide.prompts}
        rows = db.session.execute(
            sa.select(Segment.prompt_id, Segment.position, Segment.speaker, Segment.text,
                      Participant.age_band, Participant.gender, Participant.role)
            .outerjoin(Participant, sa.and_(Participant.session_id == Segment.session_id,
                                            Participant.label == Segment.speaker))
            .where(Segment.session_id == session_id)).all()
        rows.sort(key=lambda r: (order.get(r.prompt_id, len(order)), r.prompt_id, r.position))
        for r in rows:
            yield SegmentRecord(session_id, held_on, site, session_wave, guide_id, session_language,
                                r.prompt_id, labels.get(r.prompt_id, r.prompt_id), r.position,
                                r.speaker, r.age_band or "", r.gender or "", r.role or "", r.text)


# The About sheet's filters say which responses in words (the workbook is English).
FILTER_STATUSES = {"complete": "complete responses only", "partial": "partial responses only",
                   "all": "complete and partial responses"}


def _filter_text(filters: ExportFilters) -> str:
    parts = []
    if filters.campaign_id is not None:
        parts.append(f"campaign {db.session.get(Campaign, filters.campaign_id).code}")
    if filters.project_id is not None:
        parts.append(f"project {db.session.get(Project, filters.project_id).name}")
    if filters.site_id is not None:
        site = db.session.get(Site, filters.site_id)
        parts.append(f"site {site.name if site else filters.site_id}")
    if filters.wave:
        parts.append(f"wave {export.wave_label(filters.wave)}")
    if filters.site_ids:
        names = db.session.scalars(sa.select(Site.name).where(Site.id.in_(filters.site_ids))
                                   .order_by(Site.name))
        parts.append("sites " + ", ".join(names))
    if filters.waves:
        parts.append("waves " + ", ".join(map(export.wave_label, filters.waves)))
    if filters.since or filters.until:
        parts.append(f"from {filters.since or '…'} to {filters.until or '…'}")
    parts.append(FILTER_STATUSES.get(filters.status, f"status {filters.status}"))
    return "; ".join(parts)


def _scope_text(filters: ExportFilters) -> str:
    """What the group sheets cover, said plainly (they need not follow every filter)."""
    if filters.campaign_id is None:
        return ("Capacity: every site and wave of the project (a change needs its baseline); "
                "Themes: each question's project-wide theme run, and the prompts of the focus groups and interviews.")
    return ("Capacity: this campaign's site only, every wave (a change needs its baseline); "
            "Themes: this campaign's own theme run of a question where it has one, else the "
            "project-wide run over all its campaigns (marked 'all campaigns' in the source "
            "column), and the prompts of the project's focus groups and interviews.")


def export_sheets(filters: ExportFilters, *, scope: set[int] | None = None, generated_by: str = "",
                  now: dt.datetime | None = None, result: ExportResult | None = None,
                  progress: Callable[[int], None] | None = None) -> list[Sheet]:
    """The sheets of the export, in tab order; their rows are read when written.

    ``scope`` is the project ids the reader may see (None: all). The Capacity sheet is the
    project's capacity table (every site and wave of the project, whatever the other
    filters, since a change needs the baseline); it is left out when the export names no
    project or the instrument defines no scores. The Themes sheet holds every question
    and focus-group prompt of the project that has a stored theme run, as the analyst
    last left it (see ``theme_rows_for``). ``progress`` is called with the number of responses read
    since its last call (size a bar with ``count_responses``).
    """
    result = result if result is not None else ExportResult()
    version = _column_version(filters, scope)
    instrument: Instrument = instrument_of(version)
    language = instrument.language_for(filters.language)
    layout = export.response_layout(instrument, language, codes=filters.codes,
                                    include_pii=filters.include_pii)
    summary = export.SummaryAccumulator(instrument, include_pii=filters.include_pii)
    versions: Counter = Counter()
    statuses: Counter = Counter()
    campaigns: Counter = Counter()

    def responses():
        for record in response_records(filters, scope, versions=versions):
            summary.add({**record.answers, **(record.private_answers or {})}
                        if filters.include_pii else record.answers)
            statuses[record.status] += 1
            campaigns[record.campaign] += 1
            result.responses += 1
            if progress is not None and result.responses % YIELD_PER == 0:
                progress(YIELD_PER)
            yield layout.row(record)
        if progress is not None:
            progress(result.responses % YIELD_PER)

    def about():
        labels = {v.id: v.version_label for v in db.session.scalars(
            sa.select(InstrumentVersion).where(InstrumentVersion.id.in_(list(versions) or [version.id])))}
        project = db.session.get(Project, filters.project_id) if filters.project_id else None
        min_cell = project.min_cell_size if project else 5
        pairs = [
            ("instrument", f"{instrument.id}: {localise(instrument.title, language, instrument.default_language)}"),
            ("versions", "; ".join(f"{labels.get(v, v)} (version id {v}): {n} responses"
                                   for v, n in sorted(versions.items())) or f"{version.version_label} (no responses)"),
            ("columns from version", f"{version.version_label} (version id {version.id})"),
            ("campaigns", "; ".join(f"{code}: {n}" for code, n in sorted(campaigns.items())) or "none"),
            ("filters", _filter_text(filters)),
            ("answers as", "codes" if filters.codes else f"labels ({language_name(language)})"),
            ("contact details (pii)", "included, at an admin's request" if filters.include_pii
             else "not included"),
            ("generated at (UTC)", (now or dt.datetime.now(dt.timezone.utc))),
            ("generated by", generated_by or "command line"),
            ("responses", tallied.shown(tallied.responses) if filters.aggregates_only
             else result.responses),
            *((f"responses {status}", n) for status, n in sorted(statuses.items())),
            ("focus-group segments", result.rows.get("Focus groups", 0)),
            ("interview segments", result.rows.get("Interviews", 0)),
            ("times", "started and submitted are in UTC; submitted is the device's clock"),
            ("scores", export.scoring_note(instrument, language)),
            *export.STATISTICS_RULES,
            ("scope", _scope_text(filters)),
            ("suppression", f"Every count in this file (About, Summary, Capacity, Themes) is "
                            f"rounded to a multiple of {min_cell} (the project's minimum cell "
                            f"size), up or down at random but always the same way for the same "
                            f"group, and totals and percentages are made of the rounded counts: "
                            f"they may differ from a sum of other figures by a few. Groups of 1 "
                            f"to {min_cell - 1} are suppressed, themes of fewer than {min_cell} "
                            f"texts too. Means are given to 0.1. This export holds aggregates "
                            f"only, without quotes or key phrases, and a theme's label only "
                            f"once an analyst confirmed it (else 'Theme N')."
             if filters.aggregates_only else
             f"Group results (Capacity) for fewer than {min_cell} respondents are "
                            f"suppressed (the project's minimum cell size). Responses and Summary "
                            f"are unsuppressed record-level data: keep them within the project."),
            ("missing", "An empty cell is a question not answered or not asked (skip logic); "
                        "0/1 choice columns are empty when the question was not answered."),
            *domain_reliability.about_pairs(double_coded),
        ]
        yield from export.about_rows(pairs)

    def segments(sheet: str, kind: str):
        for row in export.segment_rows(segment_records(filters, scope, language, kind)):
            result.rows[sheet] = result.rows.get(sheet, 0) + 1
            yield row

    project = db.session.get(Project, filters.project_id) if filters.project_id else None
    campaign = db.session.get(Campaign, filters.campaign_id) if filters.campaign_id else None
    # Finished double-coding samples (analysts' files only): every coder's codes are final.
    double_coded = (queries_coding.sample_figures(project.id, instrument.id, filters.campaign_id)
                    if project is not None and not filters.aggregates_only else [])
    if filters.aggregates_only:
        # The responses are read only to tally them; no row is written. Every count of
        # About and Summary is a protected cell (disclosure control: queries.protected).
        min_cell = project.min_cell_size if project else 5
        tallied = queries_protected.ExportTallies(instrument, Disclosure(min_cell))

        def summary_rows():
            tallied.read(_where(filters, scope), progress=progress, every=YIELD_PER)
            result.responses = tallied.responses.n
            for counts, tallies in ((versions, tallied.versions), (statuses, tallied.statuses),
                                    (campaigns, tallied.campaigns)):
                for name, tally in tallies.items():
                    counts[name] = tallied.shown(tally)
            yield from tallied.summary.rows(language)

        sheets = [Sheet("About", export.ABOUT_COLUMNS, about(), deferred=True),
                  Sheet("Summary", export.SUMMARY_COLUMNS, summary_rows())]
    else:
        sheets = [
            Sheet("About", export.ABOUT_COLUMNS, about(), deferred=True),
            Sheet("Responses", layout.columns, responses(), freeze_columns=1,
                  rtl=text_direction(language) == "rtl"),
            Sheet("Codebook", export.CODEBOOK_COLUMNS,
                  export.codebook_rows(instrument, language, include_pii=filters.include_pii)),
            Sheet("Summary", export.SUMMARY_COLUMNS, _after(lambda: summary.rows(language, codes=filters.codes))),
        ]
    if project is not None and instrument.scoring is not None:
        table, _newest = capacity_table(project, instrument.id, protected=filters.aggregates_only)
        labels = {d.id: localise(d.label, language, instrument.default_language)
                  for d in instrument.scoring.domains}
        # A one-campaign export holds that campaign's site only (About says so).
        only = [campaign.site.name] if campaign is not None else None
        sheets += [export.capacity_sheet(table, labels, reliability(project.id, instrument.id),
                                         sites=only),
                   export.capacity_chart_sheet(table, labels, sites=only)]
        if not filters.aggregates_only:
            # Linked residents (panel codes): analysts only, a partner never sees linkage.
            panel = panel_table(project, instrument.id)
            if panel.linked:
                sheets.append(export.panel_sheet(panel, labels, sites=only))
    if project is not None:
        rows = theme_rows_for(project, instrument, filters, language)
        if filters.aggregates_only:
            rows = export.aggregate_theme_rows(rows, project.min_cell_size)
        sheets.append(Sheet("Themes", export.THEME_COLUMNS,
                            export.theme_rows(rows, quotes=not filters.aggregates_only)))
    if double_coded:
        sheets.append(Sheet("Reliability", domain_reliability.RELIABILITY_COLUMNS,
                            domain_reliability.reliability_rows(double_coded)))
    if not filters.aggregates_only:
        sheets.append(Sheet("Focus groups", export.FOCUS_GROUP_COLUMNS, segments("Focus groups", "focus_group")))
        # Interviews have a sheet of their own (same columns) when the export covers any.
        if has_sessions(filters, scope, "interview"):
            sheets.append(Sheet("Interviews", export.FOCUS_GROUP_COLUMNS, segments("Interviews", "interview")))
    return sheets


def theme_rows_for(project: Project, instrument: Instrument, filters: ExportFilters,
                   language: str) -> Iterator[ThemeRow]:
    """The themes of each of the instrument's questions (the campaign's run if it has one,
    else the project-wide one) and of each prompt of the guides of the project's finalised
    sessions, largest first, with the analyst's labels and assignments over the machine's;
    protected (queries.protected.theme_rows) in an aggregates-only export."""
    yield from question_theme_rows(project, instrument, language, campaign_id=filters.campaign_id,
                                   protected=filters.aggregates_only)
    yield from prompt_theme_rows(project, language, protected=filters.aggregates_only)


def _source_theme_rows(source, wording: str, *, protected: bool = False) -> Iterator[ThemeRow]:
    if protected:  # as partners and the public read them
        yield from queries_protected.theme_rows(
            source, wording, db.session.get(Project, source.project_id).min_cell_size)
        return
    chosen = effective_themes(source)
    counts = Counter(theme_id for theme_id in chosen.values() if theme_id is not None)
    total = len(chosen) or 1
    themes = sorted(themes_of(source), key=lambda theme: (-counts[theme.id], theme.id))
    confirmed, accepted = queries_coding.person_counts(source)
    for theme in themes:
        if not counts[theme.id]:
            continue  # merged away, or emptied by the analyst
        feeling = theme.sentiment
        yield ThemeRow(source.kind, source.item_id, wording, theme.label, counts[theme.id],
                       round(100 * counts[theme.id] / total, 1), tuple(theme.key_phrases),
                       (feeling["positive"], feeling["neutral"], feeling["negative"])
                       if feeling else None, tuple(theme.quotes),
                       confirmed[theme.id], accepted[theme.id])
    # Codebook themes follow as "question (codebook)" or "prompt (codebook)" rows: an item
    # counts under each code it matched, the percentage is of all the source's texts.
    coded = Counter(row.theme_id for row in codebook_assignments(source))
    if coded:
        items = len(source_items(source)) or 1
        for theme in sorted(codebook_themes_of(source), key=lambda t: (-coded[t.id], t.id)):
            if coded[theme.id]:
                yield ThemeRow(f"{source.kind} (codebook)", source.item_id, wording,
                               theme.label, coded[theme.id], round(100 * coded[theme.id] / items, 1))


def question_theme_rows(project: Project, instrument: Instrument, language: str, *,
                        campaign_id: int | None = None, protected: bool = False) -> Iterator[ThemeRow]:
    """The themes of the instrument's questions: the campaign's run where it has one, else
    the project-wide one; questions without a run give none."""
    fallback = instrument.default_language
    for question in instrument.questions:
        candidates = [Source("question", project.id, instrument.id, question.id, campaign_id=campaign_id),
                      Source("question", project.id, instrument.id, question.id)]
        source = next((s for s in candidates if latest_run(s) is not None), None)
        if source is None:
            continue
        rows = _source_theme_rows(source, localise(question.label, language, fallback),
                                  protected=protected)
        if campaign_id is not None and source.campaign_id is None:
            # Asked for one campaign, given the run over all of them: the sheet says so.
            rows = (dataclasses.replace(row, kind=f"{row.kind} (all campaigns)") for row in rows)
        yield from rows


def prompt_theme_rows(project: Project, language: str, *, protected: bool = False) -> Iterator[ThemeRow]:
    """The themes of each prompt of the guides of the project's finalised sessions."""
    guide_ids = db.session.scalars(sa.select(FocusGroup.guide_id).distinct().where(
        FocusGroup.project_id == project.id, FocusGroup.status == "finalised"))
    for guide_id in sorted(guide_ids):
        guide = instrument_of(latest_version(guide_id))
        for prompt in guide.prompts:
            source = Source("prompt", project.id, guide_id, prompt.id)
            if latest_run(source) is not None:
                yield from _source_theme_rows(source, localise(prompt.label, guide.language_for(language),
                                                               guide.default_language),
                                              protected=protected)


def project_theme_rows(project: Project, language: str, *, protected: bool = False
                       ) -> Iterator[ThemeRow]:
    """Every stored theme of the project: each questionnaire's questions (project-wide
    runs), then the focus-group prompts; ``protected`` as partners read them."""
    for instrument_id in project_instruments(project.id):
        version = latest_version(instrument_id)
        if version is not None:
            instrument = instrument_of(version)
            yield from question_theme_rows(project, instrument, instrument.language_for(language),
                                           protected=protected)
    yield from prompt_theme_rows(project, language, protected=protected)


def _after(make: Callable[[], Iterable]):
    """Rows made only when the first one is asked for (the summary, once the responses
    have gone by)."""
    yield from make()


def write_export(filters: ExportFilters, stream: str | IO[bytes], *, csv: bool = False,
                 scope: set[int] | None = None, generated_by: str = "",
                 row_limit: int = EXCEL_MAX_ROWS,
                 progress: Callable[[int], None] | None = None,
                 now: dt.datetime | None = None) -> ExportResult:
    """Write the export as .xlsx (or, with ``csv``, a zip of one CSV per sheet)."""
    result = ExportResult()
    with _collector_spared():
        sheets = export_sheets(filters, scope=scope, generated_by=generated_by,
                               now=now,
                               result=result, progress=progress)
        if csv:
            result.rows.update(write_csv_zip(sheets, stream))
        else:
            result.rows.update(write_workbook(sheets, stream, row_limit=row_limit))
    return result


@contextmanager
def _collector_spared():
    """Exclude the objects alive before the export (the app, its modules, a few hundred
    thousand of them) from the cyclic garbage collector while it runs.

    Why: writing a sheet allocates millions of short-lived objects, so the collector
    runs often, and each of its full passes walks every object of the process; the
    export's own objects are freed by reference counting anyway. ``gc.unfreeze`` hands
    the frozen objects back afterwards, so nothing stays uncollectable (no collection
    first either: garbage frozen with them is collected after the export)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
