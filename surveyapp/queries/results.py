"""The figures of a campaign's published results, for the public page, its printable
one-pager and the staff page that prepares them (one read, three callers).

Everything shown is aggregate and goes through the disclosure-control layer
(domain.disclosure): the response count and the theme counts are protected counts (rounded
by their records' stored keys, suppressed below the project's minimum cell size), the
capacity domain scores of the campaign's site at its wave (and at the baseline, with the
change, for a follow-up) have a protected n; a theme is named only by a label an analyst
confirmed. Quotes come only
with ``approved`` (the staff page asks for every candidate instead). Strings are
translated here (``gettext``) because the caller's locale is the page's language.

The reads behind publishing are here too: a campaign's publication, the themes it may
show (``campaign_themes``) and why it may not go up yet (``publish_problems``); the writes
are operations.results.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import format_date, gettext as _

from surveyapp.domain import charts
from surveyapp.domain import results as rules
from surveyapp.domain.charts import Bar
from surveyapp.domain.disclosure import Disclosure, Tally
from surveyapp.domain.instruments import Instrument, localise, text_direction
from surveyapp.domain.labels import format_fixed, format_signed
from surveyapp.extensions import db
from surveyapp.i18n import wave_name
from surveyapp.models import Campaign, Publication, Theme
from surveyapp.queries.campaigns import campaign_version, response_counts, response_period
from surveyapp.queries.instruments import instrument_of
from surveyapp.queries.protected import (
    confirmed, item_tallies, neutral_label, response_tallies)
from surveyapp.queries.scores import capacity_table, scored_instruments
from surveyapp.queries.themes import Source, effective_themes, themeable_questions, themes_of


@dataclass
class Quote:
    text: str
    digest: str
    approved: bool


@dataclass
class ThemeLine:
    theme_id: int
    label: str
    count: int | None          # None: suppressed
    quotes: list[Quote]


@dataclass
class QuestionThemes:
    question: str              # the question's label in the page's language
    themes: list[ThemeLine]


@dataclass
class Results:
    campaign: Campaign
    instrument: Instrument
    language: str
    title: str
    responses: int | None      # complete responses; None: suppressed
    first_day: str
    last_day: str
    wave: str
    baseline: str | None       # the baseline wave's name when this is a follow-up with one
    chart: charts.Chart | None
    changes: list[tuple[str, str, str, str]]  # domain, baseline, this wave, change
    themes: list[QuestionThemes]
    next_steps: str
    min_cell_size: int
    suppressed_any: bool = False
    problems: list = field(default_factory=list)


def _mean(cell, language: str, suppressed: str) -> str:
    if cell is None:
        return "–"
    if cell.suppressed:
        return suppressed
    return format_fixed(cell.mean, language)


def _signed(value: float, language: str) -> str:
    return format_signed(value, language)


def build(campaign: Campaign, publication: Publication | None, language: str, *,
          all_quotes: bool = False, quotes: bool = True) -> Results:
    """The results of ``campaign`` in ``language`` (one of its instrument's languages).

    ``all_quotes`` lists every candidate quote with its approval (the staff page); else
    only approved quotes of unsuppressed themes, at most MAX_QUOTES per theme.
    ``quotes=False`` gives no quote at all (a partner's preview of unpublished results:
    no resident's words before publication)."""
    instrument = instrument_of(campaign_version(campaign))
    fallback = instrument.default_language
    n = campaign.project.min_cell_size
    suppressed_cell = _("fewer than %(num)s", num=n)
    rtl = text_direction(language) == "rtl"
    suppressed_any = False

    # Disclosure control: every published count is its cell's protected count.
    layer = Disclosure(n)
    responses = layer.count_of(response_tallies(campaign.id)["complete"]).shown
    suppressed_any |= responses is None
    first, last = response_period(campaign.id)

    chart, changes, baseline = None, [], None
    if campaign.instrument_id in scored_instruments(campaign.project_id):
        table, scored = capacity_table(campaign.project, campaign.instrument_id, protected=True)
        labels = {d.id: localise(d.label, language, fallback)
                  for d in scored.scoring.domains} if scored and scored.scoring else {}
        site = campaign.site.name
        first_wave = table.waves[0] if table.waves else None
        waves = [campaign.wave]
        if first_wave and first_wave != campaign.wave:
            baseline = first_wave
            waves = [first_wave, campaign.wave]
        groups = []
        for domain in table.domains:
            bars = []
            for wave in waves:
                cell = table.cell(site, wave, domain)
                if cell is None:
                    bars.append(Bar(wave_name(wave), None))
                else:
                    suppressed_any |= cell.suppressed
                    bars.append(Bar(wave_name(wave), cell.mean, suppressed=cell.suppressed,
                                    low=cell.ci_low, high=cell.ci_high))
            if any(b.value is not None or b.suppressed for b in bars):
                groups.append((labels.get(domain, domain), bars))
            if baseline:
                change = table.change(site, campaign.wave, domain)
                if change is None:
                    shown = "–"
                elif change.suppressed:
                    shown = suppressed_cell
                elif not change.comparable:
                    shown = _("not comparable: the questions were reworded")
                else:
                    shown = _signed(change.difference, language)
                changes.append((labels.get(domain, domain),
                                _mean(table.cell(site, baseline, domain), language, suppressed_cell),
                                _mean(table.cell(site, campaign.wave, domain), language, suppressed_cell),
                                shown))
        if groups:
            chart = charts.grouped_bar_chart(
                _("Average score by area of community life (0 to 100)"), groups,
                series=[wave_name(w) for w in waves],
                headers=(_("Area"), _("Survey round"), _("Average score (0 to 100)"),
                         _("%(num)s%% range", num=95)),
                suppressed=_("hidden"), suppressed_cell=suppressed_cell,
                language=language, digits=1, maximum=100, rtl=rtl)

    approved = approved_digests(publication)
    show_quotes = quotes
    by_question: dict[str, list[ThemeLine]] = {}
    for found in campaign_themes(campaign, instrument):
        suppressed_any |= found.count is None
        quotes = []
        for text in found.quotes:
            digest = rules.quote_digest(text)
            ok = (found.theme.id, digest) in approved
            if all_quotes or (ok and show_quotes):
                quotes.append(Quote(text, digest, ok))
        if not all_quotes:
            quotes = quotes[:rules.MAX_QUOTES]
        # The staff page names every theme as the analyst sees it; published pages only
        # by a confirmed label (campaign_themes).
        by_question.setdefault(found.question_id, []).append(
            ThemeLine(found.theme.id, found.theme.label if all_quotes else found.label,
                      found.count, quotes))
    questions = instrument.questions_by_id
    themes = [QuestionThemes(localise(questions[qid].label, language, fallback),
                             lines if all_quotes else lines[:rules.MAX_THEMES])
              for qid, lines in by_question.items()]

    next_steps = (publication.next_steps or {}).get(language, "") if publication else ""
    day = lambda d: format_date(d, "long") if d else ""  # noqa: E731
    return Results(
        campaign=campaign, instrument=instrument, language=language,
        title=localise(instrument.title, language, fallback), responses=responses,
        first_day=day(first), last_day=day(last), wave=wave_name(campaign.wave),
        baseline=wave_name(baseline) if baseline else None, chart=chart, changes=changes,
        themes=themes, next_steps=next_steps, min_cell_size=n, suppressed_any=suppressed_any)


def published_elsewhere(campaign: Campaign) -> Campaign | None:
    """The newest earlier-wave campaign of the same instrument and site whose results are
    published (what a follow-up's flyer links to), or None."""
    waves = campaign.project.waves
    earlier = set(waves[:waves.index(campaign.wave)]) if campaign.wave in waves else set()
    candidates = db.session.scalars(
        sa.select(Campaign).join(Publication, Publication.campaign_id == Campaign.id)
        .where(Campaign.instrument_id == campaign.instrument_id,
               Campaign.site_id == campaign.site_id, Campaign.id != campaign.id,
               Publication.state == "published")
        .order_by(Campaign.created_at.desc()))
    for candidate in candidates:
        if candidate.wave in earlier:
            return candidate
    return None


# ----------------------------------------------------------------------------- publishing

@dataclass
class ThemeCount:
    """One theme of the campaign as it may be published: ``count`` its protected count,
    None when suppressed; ``label`` the analyst's confirmed label, else "Theme N"."""
    theme: Theme
    question_id: str
    count: int | None
    quotes: list[str]
    label: str = ""


def publication_of(campaign: Campaign) -> Publication | None:
    return db.session.scalar(sa.select(Publication).where(Publication.campaign_id == campaign.id))


def is_published(campaign: Campaign) -> bool:
    publication = publication_of(campaign)
    return publication is not None and publication.state == "published"


def campaign_themes(campaign: Campaign, instrument: Instrument) -> list[ThemeCount]:
    """The themes of the campaign's own theme sources, largest first per question, with
    their protected counts (disclosure control: the themed answers' record keys; from the
    analyst's and machine's assignments, the analyst's winning), suppressed below the
    project's minimum cell size. ``quotes`` are the engine's quotes (the candidates an
    analyst may approve); none for a suppressed theme. ``label``: the theme's label once an
    analyst confirmed it (renamed, or a codebook code) and the theme is not suppressed,
    else "Theme N": the engine's label is made of a few answers' own words."""
    found = []
    layer = Disclosure(campaign.project.min_cell_size)
    for question in themeable_questions(instrument):
        source = Source("question", campaign.project_id, campaign.instrument_id, question.id,
                        campaign_id=campaign.id)
        chosen = effective_themes(source)
        keys = item_tallies(chosen)
        tallies: dict[int, Tally] = {}
        for ref, theme_id in chosen.items():
            if theme_id is not None:
                tallies[theme_id] = tallies.get(theme_id, Tally()) + keys.get(ref, Tally(1, 0))
        themes = [t for t in themes_of(source) if t.id in tallies]
        themes.sort(key=lambda t: (-tallies[t.id].n, t.id))
        for number, theme in enumerate(themes, start=1):
            count = layer.count_of(tallies[theme.id]).shown
            label = theme.label if count is not None and confirmed(theme) else neutral_label(number)
            found.append(ThemeCount(theme, question.id, count,
                                    list(theme.quotes) if count is not None else [], label))
    return found


def approved_digests(publication: Publication | None) -> set[tuple[int, str]]:
    """(theme id, quote digest) of every approval the publication holds."""
    if publication is None:
        return set()
    return {(a.theme_id, a.digest) for a in publication.approved_quotes}


def publish_problems(campaign: Campaign, publication: Publication | None = None) -> list[rules.Problem]:
    """Why the campaign's publication (None: not prepared yet) may not go up now (see
    domain.results)."""
    instrument = instrument_of(campaign_version(campaign))
    responses = response_counts(campaign.id)["complete"]
    approved = approved_digests(publication)
    small = []
    if approved:
        shown = {t.theme.id for t in campaign_themes(campaign, instrument) if t.count is not None}
        small = [db.session.get(Theme, theme_id).label for theme_id, _ in sorted(approved)
                 if theme_id not in shown and db.session.get(Theme, theme_id) is not None]
    return rules.publish_problems(
        languages=instrument.languages,
        next_steps=(publication.next_steps or {}) if publication else {},
        responses=responses, min_cell_size=campaign.project.min_cell_size,
        approved_in_small_themes=small)
