"""The dashboard of a campaign or a project: charts with their text and tables. Thin.

The counts come from grouped selects (queries), become bars (domain.dashboard,
where small cells are suppressed) and are drawn by domain.charts. Analysts and the
project's partners read it: every number on it is a count or a mean of a group, small
ones suppressed, and nothing links to a response.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, render_template, request, url_for
from flask_babel import get_locale, gettext as _

from surveyapp import operations, queries
from surveyapp.access import may_in, require_project, requester, roles_required
from surveyapp.domain import charts
from surveyapp.domain import dashboard as numbers
from surveyapp.domain.charts import Bar
from surveyapp.domain.instruments import localise
from surveyapp.domain.labels import format_fixed, format_range, format_signed
from surveyapp.extensions import db
from surveyapp.i18n import text_direction, wave_name
from surveyapp.models import Campaign, Project
from surveyapp.staff import bp
from surveyapp.staff.capacity import ANALYSIS
from surveyapp.staff.figures import figures_for


READERS = ("analyst", "partner")  # aggregates, suppressed: partners too


@bp.get("/campaigns/<int:campaign_id>/dashboard")
@roles_required(*ANALYSIS, "partner")
def campaign_dashboard(campaign_id):
    """One campaign's dashboard; its site's domain scores across the project's waves."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    require_project(campaign.project_id, *READERS)
    return _dashboard(campaign.project, campaign, campaign.instrument_id)


@bp.get("/projects/<int:project_id>/dashboard")
@roles_required(*ANALYSIS, "partner")
def project_dashboard(project_id):
    """A project's dashboard over all its campaigns; questions of one questionnaire."""
    project = db.session.get(Project, project_id) or abort(404)
    require_project(project.id, *READERS)
    instruments = queries.campaigns.project_instruments(project.id)
    chosen = request.args.get("instrument", "")
    if chosen not in instruments:
        chosen = instruments[0] if instruments else None
    return _dashboard(project, None, chosen, instruments)


def _dashboard(project: Project, campaign: Campaign | None, instrument_id: str | None,
               instruments: list[str] = ()):
    locale = str(get_locale())
    rtl = text_direction(locale) == "rtl"
    n = project.min_cell_size
    words = dict(suppressed=_("suppressed"), suppressed_cell=_("suppressed (fewer than %(num)s)", num=n),
                 language=locale, rtl=rtl)
    campaign_id = campaign.id if campaign else None
    # A partner reads the same charts, less what the choice lists do not name.
    aggregates_only = not may_in(project.id, "analyst")
    # Partners read every number through the disclosure-control layer (staff/figures.py).
    source = figures_for(project, protected=aggregates_only)

    # Every count follows the questionnaire chosen: a project deploys several.
    periods, weekly = numbers.by_period(
        source.responses_per_day(project.id, campaign_id, instrument_id))
    over_time = charts.column_chart(
        _("Responses started per week") if weekly else _("Responses started per day"),
        source.count_bars(periods, n),
        headers=(_("Week of") if weekly else _("Day"), _("Responses")), **words)

    counts = source.status_counts(project.id, campaign_id, instrument_id)
    completion = charts.bar_chart(
        _("Complete and partial responses"),
        source.count_bars([(_("complete"), counts["complete"]),
                            (_("partial"), counts["partial"])], n),
        headers=(_("Status"), _("Responses")), **words)
    rate = source.completion_rate(counts["complete"], counts["partial"], n)

    # A campaign's questions are its pinned version's; a project's, the newest version's.
    version = (queries.campaigns.campaign_version(campaign) if campaign else
               queries.instruments.latest_version(instrument_id) if instrument_id else None)
    instrument = queries.instruments.instrument_of(version) if version else None
    language = instrument.language_for(locale) if instrument else locale
    fallback = instrument.default_language if instrument else locale
    pages = {p.id: localise(p.title, language, fallback) if p.title else p.id
             for p in instrument.pages} if instrument else {}
    drop = charts.bar_chart(
        _("Partial responses by the last page reached"),
        source.count_bars([(pages.get(page, page) if page else _("not recorded"), count)
                            for page, count in source.drop_off(
                                project.id, campaign_id, instrument_id)], n),
        headers=(_("Page"), _("Partial responses")), **words)

    question_charts = []
    if instrument:
        closed = [(q, key) for q in instrument.questions if q.choices is not None and not q.pii
                  for key in q.answer_keys if not key.endswith(".other")]
        stored = source.answer_counts(project.id, instrument.id, [key for _q, key in closed],
                                       campaign_id)
        for question, key in closed:
            title = localise(question.label, language, fallback)
            item = next((i for i in question.items if f"{question.id}.{i.id}" == key), None)
            if item:
                title = f"{title} – {localise(item.label, language, fallback)}"
            frequencies = source.choice_counts(question, stored.get(key, []), language, fallback,
                                                other_label=_("Other"), known_only=aggregates_only)
            question_charts.append(charts.bar_chart(
                title, source.count_bars(frequencies, n),
                headers=(_("Choice"), _("Responses")), **words))

    score_charts, table, labels = [], None, {}
    if instrument_id and instrument_id in queries.scores.scored_instruments(project.id):
        table, scored = source.capacity_table(project, instrument_id)
        labels = {d.id: localise(d.label, language, fallback)
                  for d in scored.scoring.domains} if scored and scored.scoring else {}
        sites = [campaign.site.name] if campaign else [*table.sites, None]
        for domain in table.domains:
            groups = []
            for site in sites:
                bars = []
                for wave in table.waves:
                    cell = table.cell(site, wave, domain)
                    if cell is None:
                        bars.append(Bar(wave_name(wave), None))
                    else:
                        bars.append(Bar(wave_name(wave), cell.mean, suppressed=cell.suppressed,
                                        low=cell.ci_low, high=cell.ci_high))
                groups.append((site if site is not None else _("All sites"), bars))
            score_charts.append(charts.grouped_bar_chart(
                labels.get(domain, domain), groups, series=[wave_name(w) for w in table.waves],
                headers=(_("Site"), _("Wave"), _("Mean score (0–100)"), _("%(num)s%% CI", num=95)),
                digits=1, maximum=100, **words))
    summary = _change_summary(table, labels, campaign.site.name if campaign else None,
                              locale, rtl) if table is not None else None
    open_questions = []
    if instrument:
        analyst = may_in(project.id, "analyst")
        for question in queries.themes.themeable_questions(instrument):
            # Analysts open the theme page; partners the quote-free summary of every theme.
            url = (url_for("analysis.themes", project_id=project.id, instrument_id=instrument.id,
                           item_id=question.id, campaign=campaign_id) if analyst
                   else url_for("analysis.theme_summary", project_id=project.id))
            open_questions.append((localise(question.label, language, fallback), url))
    charts_shown = 3 + len(question_charts) + len(score_charts)  # over time, completion, drop-off
    operations.transaction(lambda: operations.audit.viewed(
        "dashboard.read", campaign or project, scope=instrument_id, count=charts_shown, **requester()))
    return render_template(
        "staff/dashboard.html", project=project, campaign=campaign, instruments=instruments,
        titles=queries.instruments.titles(
            instruments or ([instrument_id] if instrument_id else []), locale),
        analyst=may_in(project.id, "analyst"),
        chosen=instrument_id, over_time=over_time, completion=completion, rate=rate,
        drop=drop, question_charts=question_charts, score_charts=score_charts, table=table,
        summary=summary, open_questions=open_questions,
        panel=_panel_lines(project, instrument_id, labels, campaign.site.name if campaign else None,
                           locale, rtl) if table is not None and may_in(project.id, "analyst") else None,
        sites=[campaign.site.name] if campaign else None, min_cell_size=n)


def _q_text(q: float | None, locale: str) -> str:
    """A q-value to three decimals; below 0.001 as "< 0.001", never a bare 0.000."""
    if q is None:
        return "–"
    return "< " + format_fixed(0.001, locale, 3) if q < 0.001 else format_fixed(q, locale, 3)


@dataclass(frozen=True)
class PanelLine:
    """One domain's change among residents who linked both waves, beside the unpaired one."""
    domain: str
    pairs: int
    method: str
    paired: str
    unpaired: str
    returned: str
    bias: bool


def _panel_lines(project, instrument_id, labels: dict, site: str | None, locale: str, rtl: bool
                 ) -> list[PanelLine] | None:
    """Paired against unpaired change per domain at ``site`` (None: all sites), for
    analysts only (a partner never sees linkage); None when no one linked."""
    panel = queries.scores.panel_table(project, instrument_id)
    if not panel.linked:
        return None
    methods = {"paired": _("paired t"), "combined": _("partially overlapping t"), "welch": _("Welch")}
    attrition = {(a.site, a.domain): a for a in panel.attrition}
    follow_up = max((c.follow_up for c in panel.changes), default=None,
                    key=lambda wave: project.waves.index(wave) if wave in project.waves else 99)
    lines = []
    for change in panel.changes:
        if change.site != site or change.follow_up != follow_up or change.suppressed:
            continue
        p, w = change.paired, change.unpaired

        def shown(estimate) -> str:
            if estimate.difference is None:
                return "–"
            interval = (format_range(estimate.ci_low, estimate.ci_high, locale, rtl=rtl)
                        if estimate.ci_low is not None else "–")
            return f"{format_signed(estimate.difference, locale)} {interval}"
        left = attrition.get((site, change.domain))
        returned = (_("%(returned)s of %(baseline)s", returned=left.n_returned, baseline=left.n_baseline)
                    if left and not left.suppressed else "–")
        lines.append(PanelLine(labels.get(change.domain, change.domain), p.n_paired,
                               methods[p.method], shown(p), shown(w), returned,
                               bool(left and left.flagged)))
    return lines


@dataclass(frozen=True)
class ChangeLine:
    """One domain's answer to "did it change?": the figures as shown and a sentence."""
    domain: str
    baseline: str
    follow_up: str
    change: str
    interval: str
    effect: str
    q: str
    sentence: str


@dataclass(frozen=True)
class ChangeSummary:
    baseline: str
    follow_up: str
    site: str | None
    covers: tuple[str, ...]
    lines: tuple[ChangeLine, ...]


def _change_summary(table, labels: dict, site: str | None, locale: str, rtl: bool
                    ) -> ChangeSummary | None:
    """The baseline-to-latest-follow-up change of every domain at ``site`` (None: all
    sites, over the sites measured in both waves), worded for a board member."""
    if len(table.waves) < 2:
        return None
    baseline, follow_up = table.waves[0], table.waves[-1]
    lines, covers = [], ()
    for domain in table.domains:
        change = table.change(site, follow_up, domain)
        if change is None:
            continue
        covers = covers or change.sites
        label = labels.get(domain, domain)
        figures = dict(domain=label, baseline="–", follow_up="–", change="–", interval="–",
                       effect="–", q="–")
        if change.suppressed:
            sentence = _("%(domain)s: too few respondents to compare.", domain=label)
        elif not change.comparable:
            sentence = _("%(domain)s: not compared, because the wording of its questions changed.",
                         domain=label)
        elif change.difference is None:
            sentence = _("%(domain)s: no change can be given.", domain=label)
        else:
            low, high = change.ci_low, change.ci_high
            figures.update(
                baseline=format_fixed(change.baseline_mean, locale),
                follow_up=format_fixed(change.baseline_mean + change.difference, locale),
                change=format_signed(change.difference, locale),
                interval=format_range(low, high, locale, rtl=rtl) if low is not None else "–",
                effect=format_signed(change.effect.value, locale, 2)
                if change.effect and change.effect.value is not None else "–",
                q=_q_text(change.q_value, locale))
            words = dict(domain=label, points=format_fixed(abs(change.difference), locale),
                         low=format_fixed(low, locale) if low is not None else "–",
                         high=format_fixed(high, locale) if high is not None else "–")
            if low is not None and low > 0:
                sentence = _("%(domain)s rose by %(points)s points (95%% CI %(low)s to %(high)s).", **words)
            elif high is not None and high < 0:
                sentence = _("%(domain)s fell by %(points)s points (95%% CI %(low)s to %(high)s).", **words)
            else:
                sentence = _("%(domain)s: no clear change (95%% CI %(low)s to %(high)s points).", **words)
        lines.append(ChangeLine(sentence=sentence, **figures))
    if not lines:
        return None
    return ChangeSummary(wave_name(baseline), wave_name(follow_up), site, covers, tuple(lines))
