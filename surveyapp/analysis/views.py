"""Themes of one question or prompt: the page, a run, the analyst's edits. Thin views.

A page is named by the project, the instrument (a questionnaire or a focus-group
guide) and the question or prompt; ``?campaign=<id>`` narrows a question to one campaign.
The themes page holds counts, quotes, tone and the crosstab over every text but lists no
texts: they are on its texts pages (``/texts/<theme id|none|check>?page=``), where the
analyst ticks texts to move them, so that the page stays small at 20,000 answers.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import jobs, operations, queries
from surveyapp.operations import audit
from surveyapp.access import may_in, require_project, requester, roles_required
from surveyapp.analysis import bp
from surveyapp.analysis.forms import RunForm
from surveyapp.domain.crosstabs import crosstab
from surveyapp.domain.instruments import localise
from surveyapp.domain.labels import answer_text
from surveyapp.domain.themes_text import language_code
from surveyapp.extensions import db
from surveyapp.focus_groups.forms import GENDERS, PARTICIPANT_ROLES, choice_label
from surveyapp.forms import ActionForm, options
from surveyapp.i18n import LANGUAGE_NAMES, wave_name
from surveyapp.models import Campaign, Project, Theme
from surveyapp.queries.themes import Source, themeable_questions
from surveyapp.operations.themes import ThemeRefused
from surveyapp.urls import database_id

ANALYSIS = ("admin", "analyst")
CLOSED_TYPES = ("select_one",)
# The themes page shows counts, quotes and the crosstab over every text, and no list of
# texts: each theme's texts (and those without a theme, and those to check) are on texts
# pages of TEXTS_PER_PAGE. At 20,000 answers one page listing them all was 7 MB.
TEXTS_PER_PAGE = 50
# Texts to check shown on the themes page itself (the rest are on their texts page).
CHECK_SHOWN = 10


class _Page:
    """The source a URL names, with what the page shows about it; 404 if it names nothing."""

    def __init__(self, project_id: int, instrument_id: str, item_id: str, campaign_id):
        self.project = db.session.get(Project, project_id) or abort(404)
        require_project(self.project.id, "analyst")
        version = queries.instruments.latest_version(instrument_id) or abort(404)
        self.instrument = queries.instruments.instrument_of(version)
        self.language = self.instrument.language_for(str(get_locale()))
        self.campaign = None
        if self.instrument.is_guide:   # a focus-group or interview guide: a prompt
            self.prompt = self.instrument.prompt(item_id) or abort(404)
            self.question = None
            self.label = self._t(self.prompt.label)
            kind = "prompt"
        else:
            self.prompt = None
            self.question = next((q for q in themeable_questions(self.instrument)
                                  if q.id == item_id), None) or abort(404)
            self.label = self._t(self.question.label)
            kind = "question"
            if campaign_id:
                self.campaign = db.session.get(Campaign, campaign_id)
                if (self.campaign is None or self.campaign.project_id != self.project.id
                        or self.campaign.instrument_id != instrument_id):
                    abort(404)
        self.source = Source(kind, self.project.id, instrument_id, item_id,
                             self.campaign.id if self.campaign else None)
        self.title = self._t(self.instrument.title)

    def _t(self, text) -> str:
        return localise(text, self.language, self.instrument.default_language)

    def url(self, endpoint="analysis.themes", **extra) -> str:
        args = {"campaign": self.campaign.id} if self.campaign else {}
        return url_for(endpoint, project_id=self.project.id, instrument_id=self.source.instrument_id,
                       item_id=self.source.item_id, **args, **extra)

    def dimensions(self) -> list[tuple[str, str]]:
        """What the crosstab can group by: site, wave, and each closed question."""
        found = [("site", _("Site")), ("wave", _("Wave"))]
        if self.question is not None:
            found += [(q.id, self._t(q.label)) for q in self.instrument.questions
                      if q.type in CLOSED_TYPES and not q.pii]
        else:       # segments: by what the roster says of their speaker
            found += [("age_band", _("Age band")), ("gender", _("Gender")), ("role", _("Role"))]
        return found

    def group_of(self, item, dimension: str) -> str:
        if dimension == "site":
            return item.site
        if dimension == "wave":
            return wave_name(item.wave)
        value = item.answers.get(dimension)
        if self.question is None:
            if not value:
                return _("Not recorded")
            labels = {"gender": GENDERS, "role": PARTICIPANT_ROLES}.get(dimension)
            return choice_label(labels, value) if labels else value
        if value is None:
            return _("No answer")
        question = self.instrument.question(dimension)
        return answer_text(question, dimension, value, self.language,
                           self.instrument.default_language, other_label=_("Other")).text


def _page(project_id, instrument_id, item_id) -> _Page:
    campaign = request.values.get("campaign", type=database_id)
    return _Page(project_id, instrument_id, item_id, campaign)


def _grouped_by(page: _Page) -> tuple[list[tuple[str, str]], str, tuple[str, ...]]:
    """(dimensions, the one asked for, the answers items must carry to group by it)."""
    dimensions = page.dimensions()
    by = request.args.get("by", "site")
    if by not in dict(dimensions):
        by = "site"
    return dimensions, by, (by,) if page.question is not None and by not in ("site", "wave") else ()


def _render(page: _Page, run_form: RunForm | None = None, status: int = 200):
    dimensions, by, answers = _grouped_by(page)
    review = queries.themes.review(page.source, answers=answers, evidence=False)
    # A theme holding no text has no row: it would read as a theme of nobody.
    rows = [t.theme.id for t in review.themes if t.items] + [None]
    table = crosstab(((i.theme_id, page.group_of(i.item, by)) for i in review.items), rows,
                     min_cell_size=page.project.min_cell_size)
    # Codebook themes: an answer counts once under each code it matches.
    codebook_table = crosstab(((code, page.group_of(item, by)) for code, item in
                               review.codebook_pairs()), [t.theme.id for t in review.codebook],
                              min_cell_size=page.project.min_cell_size) if review.codebook else None
    labels = {t.theme.id: t.theme.label for t in review.themes}
    labels.update({t.theme.id: t.theme.label for t in review.codebook})
    source = page.source
    if request.method == "GET":  # a post's form shown again is not a new reading
        operations.transaction(lambda: audit.viewed(
            "themes.read", (source.kind, f"{source.instrument_id}/{source.item_id}", source.project_id),
            scope=source.campaign_id, count=len(review.items), **requester()))
    return render_template(
        "analysis/themes.html", page=page, review=review, run_form=run_form or _run_form(page),
        action=ActionForm(), table=table, codebook_table=codebook_table, by=by,
        dimensions=dimensions, check_shown=CHECK_SHOWN, labels=labels,
        run_language=_run_language(review, page)), status


@bp.get("/<instrument_id>/<item_id>/texts/<which>")
@roles_required(*ANALYSIS)
def texts(project_id, instrument_id, item_id, which):
    """One page of a list of texts, each with a box to tick: a theme's (``which`` its id;
    move the ticked ones to a new theme or to another theme, merge the theme), a
    codebook theme's (with the keywords that matched), those without a theme ("none") or
    changed since an analyst set their theme ("check"). ``?page=`` from 1."""
    page = _page(project_id, instrument_id, item_id)
    review = queries.themes.review(page.source, evidence=False)
    kind, theme, rows = review.listing(which)
    if not kind:
        abort(404)
    pages = max(1, -(-len(rows) // TEXTS_PER_PAGE))
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    shown = rows[(number - 1) * TEXTS_PER_PAGE:number * TEXTS_PER_PAGE]
    evidence = (queries.themes.evidence_of(page.source, theme, [r.item.ref for r in shown])
                if kind == "codebook" else {})
    source = page.source
    # Residents' words: recorded like the themes page (operations.audit.viewed).
    operations.transaction(lambda: audit.viewed(
        "themes.read", (source.kind, f"{source.instrument_id}/{source.item_id}", source.project_id),
        scope=source.campaign_id, count=len(shown), **requester()))
    heading = {"none": _("Without a theme"), "check": _("To check")}.get(kind) or theme.label
    return render_template(
        "analysis/theme_texts.html", page=page, review=review, kind=kind, theme=theme, heading=heading,
        which=which, rows=shown, total=len(rows), number=number, pages=pages,
        evidence=evidence, action=ActionForm())


def _run_language(review, page) -> str:
    """The language a promoted theme's keywords are in: the last run's, if declared."""
    language = language_code(review.run.language) if review.run else ""
    return language if language in page.instrument.languages else page.instrument.default_language


def _run_form(page: _Page) -> RunForm:
    form = RunForm(formdata=request.form if request.method == "POST" else None)
    form.language.choices = options(
        [("", _("The texts' most common language"))]
        + [(code, LANGUAGE_NAMES.get(code, code)) for code in page.instrument.languages])
    return form


@bp.get("/<instrument_id>/<item_id>")
@roles_required(*ANALYSIS)
def themes(project_id, instrument_id, item_id):
    """Themes with quotes and counts, unthemed items, flagged items, a crosstab."""
    return _render(_page(project_id, instrument_id, item_id))


@bp.post("/<instrument_id>/<item_id>/run")
@roles_required(*ANALYSIS)
def run(project_id, instrument_id, item_id):
    """Run the engine and store the run: inline for up to THEMES_INLINE_MAX_TEXTS texts on
    a single server; else, or whenever there is a job queue (REDIS_URL, several servers), as
    a "themes" job whose page shows its progress and links back here."""
    page = _page(project_id, instrument_id, item_id)
    form = _run_form(page)
    if not form.validate_on_submit():
        return _render(page, form, 422)
    language = form.language.data or None
    # Not the texts themselves: reading 20,000 of them took seconds before the job even
    # started. The job counts them (its "theme.run" event says how many).
    if (current_app.config.get("REDIS_URL") or queries.themes.may_exceed(
            page.source, current_app.config["THEMES_INLINE_MAX_TEXTS"])):
        params = jobs.theme_parameters(
            page.source, k=form.chosen_k(), user=current_user,
            language=language_code(language) if language else None)
        job = jobs.enqueue("themes", params, user=current_user,
                                      project_id=page.project.id)
        operations.transaction(lambda: audit.record(
            "theme.run_started", **requester(), project_id=page.source.project_id, target_type="job",
            target_id=job.id, details={"source": page.source.key}))
        return redirect(url_for("staff.job", job_id=job.id))

    operations.transaction(lambda: operations.themes.run_themes(
        page.source, k=form.chosen_k(), language=language_code(language) if language else None,
        user=current_user, **requester()))
    flash(_("Themes found."))
    return redirect(page.url())


REFUSALS = {
    "empty_label": lambda: _("Give the theme a name."),
    "unknown_item": lambda: _("That text is not one of this page's texts."),
    "same_theme": lambda: _("Choose another theme to merge with."),
    "nothing_chosen": lambda: _("Choose at least one text of this theme to move."),
    "other_source": lambda: _("That theme is not one of this page's themes."),
    "no_codebook": lambda: _("This instrument has no codebook yet: add a theme to the codebook to start one."),
    "no_keywords": lambda: _("Give at least one keyword."),
    "no_description": lambda: _("Describe what answers the theme covers."),
    "codebook_invalid": lambda: _("The codebook would not pass its check, so it was not changed."),
    "codebook_theme": lambda: _("That theme is already the codebook's."),
}


@bp.post("/<instrument_id>/<item_id>/codebook")
@roles_required(*ANALYSIS)
def apply_codebook(project_id, instrument_id, item_id):
    """Code every text against the instrument's codebook (replacing the last coding)."""
    page = _page(project_id, instrument_id, item_id)
    if not ActionForm().validate_on_submit():
        flash(_("This form had expired, so nothing was saved yet. Please try again."))
        return redirect(page.url())
    try:
        applied = operations.transaction(
            lambda: operations.themes.apply_codebook(page.source, **requester()))
    except ThemeRefused as refusal:
        flash(REFUSALS[refusal.code]())
        for problem in refusal.problems[:5]:
            flash(problem)
        return redirect(page.url())
    flash(_("Codebook applied: %(num)s texts matched at least one theme.",
            num=applied.matched))
    return redirect(page.url())


@bp.post("/<instrument_id>/<item_id>/promote")
@roles_required(*ANALYSIS)
def promote(project_id, instrument_id, item_id):
    """Write one theme into the instrument's codebook file, with the keywords given."""
    page = _page(project_id, instrument_id, item_id)
    if not ActionForm().validate_on_submit():
        flash(_("This form had expired, so nothing was saved yet. Please try again."))
        return redirect(page.url())
    source, form = page.source, request.form
    theme = db.session.get(Theme, form.get("theme", type=database_id) or 0)
    language = form.get("language", "")
    if language not in page.instrument.languages:
        language = page.instrument.default_language
    keywords = [k for k in form.get("keywords", "").replace("\n", ",").split(",")]
    try:
        if theme is None or theme.source_key != source.key:
            raise ThemeRefused("other_source")
        code = operations.transaction(lambda: operations.themes.promote_theme(
            source, theme, language=language, keywords=keywords,
            description=form.get("description", ""), languages=page.instrument.languages,
            **requester()))
    except ThemeRefused as refusal:
        flash(REFUSALS[refusal.code]())
        for problem in refusal.problems[:5]:
            flash(problem)
        return redirect(page.url())
    flash(_("Theme written to the codebook as %(code)s. Apply the codebook to code the texts with it.",
            code=code))
    return redirect(page.url())


@bp.post("/<instrument_id>/<item_id>/edit")
@roles_required(*ANALYSIS)
def edit(project_id, instrument_id, item_id):
    """One analyst edit, named by ``action``: rename, merge, split or assign (one
    ``item``, or the ticked ``items`` of a texts page, to ``into`` or ``theme``). Back to
    the texts page it came from (``back``: its list, ``page``), else the themes page."""
    page = _page(project_id, instrument_id, item_id)
    source, form = page.source, request.form
    back = form.get("back", "")
    target = page.url()
    if back == "none" or back == "check" or (back.isdigit() and len(back) < 19):
        target = page.url("analysis.texts", which=back, page=form.get("page", 1, type=int) or 1)
    if not ActionForm().validate_on_submit():
        flash(_("This form had expired, so nothing was saved yet. Please try again."))
        return redirect(target)

    def theme(name) -> Theme | None:
        value = form.get(name, type=database_id)
        found = db.session.get(Theme, value) if value else None
        if found is None or found.source_key != source.key:
            raise ThemeRefused("other_source")
        return found

    action = form.get("action")
    try:
        if action == "rename":
            operations.transaction(lambda: operations.themes.rename_theme(
                source, theme("theme"), form.get("label", ""), **requester()))
            flash(_("Theme renamed."))
        elif action == "merge":
            operations.transaction(lambda: operations.themes.merge_themes(
                source, theme("theme"), theme("into"), **requester()))
            flash(_("Themes merged."))
        elif action == "split":
            operations.transaction(lambda: operations.themes.split_theme(
                source, theme("theme"), form.getlist("items"), form.get("label", ""),
                **requester()))
            flash(_("New theme made from the chosen texts."))
        elif action == "assign":
            field = "into" if "into" in form else "theme"
            chosen = form.get(field, "")
            refs = form.getlist("items") or [form.get("item", "")]
            if field == "into" and not form.getlist("items"):
                raise ThemeRefused("nothing_chosen")
            operations.transaction(lambda: operations.themes.assign(
                source, refs, None if chosen in ("", "none") else theme(field), **requester()))
            flash(_("Theme saved for this text."))
        else:
            abort(400)
    except ThemeRefused as refusal:
        flash(REFUSALS[refusal.code]())
    return redirect(target)


# ----------------------------------------------------------------------------- links in
# The campaign page and the focus-group session page link here through these globals, so
# their views need not know about themes.

@bp.app_template_global()
def theme_questions(campaign: Campaign) -> list[tuple[str, str]]:
    """(question id, label) of the campaign's free-text questions, for an analyst or admin
    of its project; empty for anyone else."""
    if not may_in(campaign.project_id, "analyst"):
        return []
    version = queries.campaigns.campaign_version(campaign)
    instrument = queries.instruments.instrument_of(version)
    language = instrument.language_for(str(get_locale()))
    return [(q.id, localise(q.label, language, instrument.default_language))
            for q in themeable_questions(instrument)]


@bp.app_template_global()
def may_see_prompt_themes(focus_group) -> bool:
    """Prompt themes read finalised focus groups, for the project's analysts and admins."""
    return focus_group.status == "finalised" and may_in(focus_group.project_id, "analyst")


# ----------------------------------------------------------------------------- partners

@bp.get("/summary")
@roles_required(*ANALYSIS, "partner")
def theme_summary(project_id):
    """Every stored theme of the project, quote-free: per question and focus-group prompt,
    each theme's label, count, share and sentiment. No quotes, key phrases, unthemed
    texts or segments; a theme of fewer than the project's minimum cell size is
    suppressed. For partners (aggregates only) and analysts alike."""
    from surveyapp.queries.export import project_theme_rows
    from surveyapp.domain.export import aggregate_theme_rows
    project = db.session.get(Project, project_id) or abort(404)
    require_project(project.id, "analyst", "partner")
    groups: dict[tuple[str, str], dict] = {}
    # A partner's counts, shares and labels go through disclosure control (queries.protected).
    protected = not may_in(project.id, "analyst")
    for row in aggregate_theme_rows(project_theme_rows(project, str(get_locale()), protected=protected),
                                    project.min_cell_size):
        group = groups.setdefault((row.kind, row.item), {"kind": row.kind, "text": row.text,
                                                         "themes": [], "suppressed": 0})
        if row.count is None:
            group["suppressed"] += 1
        else:
            group["themes"].append(row)
    operations.transaction(lambda: audit.viewed("themes.summary", project, count=sum(
        len(g["themes"]) for g in groups.values()), **requester()))
    return render_template("analysis/theme_summary.html", project=project,
                           groups=list(groups.values()), min_cell_size=project.min_cell_size)
