"""Preparing a campaign's published results: the "what happens next" text, the quotes
approved for publication, publish and unpublish. Thin: forms in, operations.results out.

Who: admins, and analysts of the campaign's project (they review the themes, so they
approve the quotes; they also publish and unpublish). Facilitators and partners do not.
Every form carries a CSRF token (FlaskForm).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from surveyapp import operations, queries
from surveyapp.access import may_in, require_project, requester, roles_required
from surveyapp.queries import results as figures
from surveyapp.domain import results as rules
from surveyapp.extensions import db
from surveyapp.forms import ActionForm, Form
from surveyapp.i18n import LANGUAGE_NAMES
from surveyapp.models import Campaign, Theme
from surveyapp.operations.results import PublishRefused
from surveyapp.staff import bp
from surveyapp.urls import MAX_ID

PREPARE = ("admin", "analyst")


class QuoteForm(Form):
    # An id a row can have: 2**63 would overflow the query below (a 500, not a refusal).
    theme_id = IntegerField(validators=[DataRequired(), NumberRange(min=0, max=MAX_ID)])
    digest = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])


def next_steps_form(languages, data=None, formdata=None):
    """A form with one text area per instrument language (``text_<lang>``)."""
    class NextStepsForm(Form):
        pass
    for lang in languages:
        setattr(NextStepsForm, f"text_{lang}", TextAreaField(
            LANGUAGE_NAMES.get(lang, lang), validators=[Optional(), Length(max=rules.MAX_NEXT_STEPS)]))
    if formdata is None:
        return NextStepsForm(data={f"text_{lang}": (data or {}).get(lang, "") for lang in languages})
    return NextStepsForm()


def describe(problem: rules.Problem) -> str:
    """A refusal in words, for the staff page."""
    names = ", ".join(LANGUAGE_NAMES.get(str(lang), str(lang)) for lang in problem.detail)
    if problem.code == "missing_translations":
        return _("The “what happens next” text is missing in: %(languages)s.", languages=names)
    if problem.code == "too_few_responses":
        return _("Only %(count)s complete responses: below the minimum of %(num)s, every number "
                 "would be hidden.", count=problem.detail[0], num=problem.detail[1])
    if problem.code == "quote_in_small_theme":
        return _("An approved quote belongs to a theme of fewer answers than the minimum "
                 "(%(themes)s): unapprove it first.", themes=", ".join(problem.detail))
    if problem.code == "too_long":
        return _("The text is too long (at most %(num)s characters) in: %(languages)s.",
                 num=rules.MAX_NEXT_STEPS, languages=names)
    if problem.code == "not_a_quote":
        return _("That quote is not one of this campaign's theme quotes any more.")
    return problem.code


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    require_project(campaign.project_id, "analyst")
    return campaign


def _page(campaign: Campaign, *, form=None, status: int = 200):
    publication = queries.results.publication_of(campaign)
    instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
    # The staff read the figures in the instrument's language closest to their interface.
    language = instrument.language_for(str(get_locale()))
    results = figures.build(campaign, publication, language, all_quotes=True)
    problems = queries.results.publish_problems(campaign, publication)
    if request.method == "GET":  # a post's form shown again is not a new reading
        operations.transaction(lambda: operations.audit.viewed(
            "results.read", campaign, count=sum(len(t.quotes) for q in results.themes for t in q.themes),
        **requester()))
    return render_template(
        "staff/results.html", campaign=campaign, publication=publication, r=results,
        problems=[describe(p) for p in problems],
        form=form or next_steps_form(instrument.languages, publication.next_steps if publication else {}),
        languages=instrument.languages, action=ActionForm(), quote_form=QuoteForm(formdata=None),
        language_names=LANGUAGE_NAMES, max_next_steps=rules.MAX_NEXT_STEPS,
        max_quotes=rules.MAX_QUOTES), status


@bp.get("/campaigns/<int:campaign_id>/results")
@roles_required(*PREPARE)
def results(campaign_id):
    """The publication's state, what blocks publishing, the text and quotes to prepare."""
    return _page(_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/results/next-steps")
@roles_required(*PREPARE)
def results_next_steps(campaign_id):
    campaign = _campaign(campaign_id)
    instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
    form = next_steps_form(instrument.languages, formdata=request.form)
    if not form.validate_on_submit():
        return _page(campaign, form=form, status=400)
    texts = {lang: getattr(form, f"text_{lang}").data or "" for lang in instrument.languages}

    def work():
        publication = operations.results.get_or_create(campaign)
        operations.results.set_next_steps(publication, texts, user=current_user._get_current_object(),
                                          ip=request.remote_addr)
    try:
        operations.transaction(work)
    except PublishRefused as refused:
        for problem in refused.problems:
            flash(describe(problem))
        return _page(campaign, form=form, status=400)
    flash(_("Text saved."))
    return redirect(url_for(".results", campaign_id=campaign.id))


def _quote_change(campaign_id: int, approve: bool):
    campaign = _campaign(campaign_id)
    form = QuoteForm()
    if not form.validate_on_submit():
        flash(_("The form had expired or was incomplete; nothing was changed."))
        return _page(campaign, status=400)
    theme = db.session.get(Theme, form.theme_id.data)
    digest = form.digest.data

    def work():
        publication = operations.results.get_or_create(campaign)
        user = current_user._get_current_object()
        if approve:
            quote = next((q for q in (theme.quotes if theme else [])
                          if rules.quote_digest(q) == digest), None)
            if theme is None or quote is None:
                raise PublishRefused([rules.Problem("not_a_quote")])
            operations.results.approve_quote(publication, theme, quote, user=user,
                                             ip=request.remote_addr)
        else:
            operations.results.unapprove_quote(publication, form.theme_id.data, digest,
                                               user=user, ip=request.remote_addr)
    try:
        operations.transaction(work)
    except PublishRefused as refused:
        for problem in refused.problems:
            flash(describe(problem))
        return _page(campaign, status=400)
    flash(_("Quote approved for publication.") if approve else _("Quote no longer approved."))
    return redirect(url_for(".results", campaign_id=campaign.id) + "#quotes")


@bp.post("/campaigns/<int:campaign_id>/results/quotes/approve")
@roles_required(*PREPARE)
def results_approve_quote(campaign_id):
    return _quote_change(campaign_id, approve=True)


@bp.post("/campaigns/<int:campaign_id>/results/quotes/unapprove")
@roles_required(*PREPARE)
def results_unapprove_quote(campaign_id):
    return _quote_change(campaign_id, approve=False)


@bp.post("/campaigns/<int:campaign_id>/results/publish")
@roles_required(*PREPARE)
def results_publish(campaign_id):
    campaign = _campaign(campaign_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form had expired; nothing was changed."))
        return _page(campaign, status=400)

    def work():
        publication = operations.results.get_or_create(campaign)
        operations.results.publish(publication, user=current_user._get_current_object(),
                                   ip=request.remote_addr)
    try:
        operations.transaction(work)
    except PublishRefused as refused:
        for problem in refused.problems:
            flash(describe(problem))
        return _page(campaign, status=400)
    flash(_("Results published."))
    return redirect(url_for(".results", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/results/unpublish")
@roles_required(*PREPARE)
def results_unpublish(campaign_id):
    campaign = _campaign(campaign_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form had expired; nothing was changed."))
        return _page(campaign, status=400)

    def work():
        publication = operations.results.get_or_create(campaign)
        operations.results.unpublish(publication, user=current_user._get_current_object(),
                                     ip=request.remote_addr)
    operations.transaction(work)
    flash(_("Results unpublished: the public page is down."))
    return redirect(url_for(".results", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>/results/preview")
@roles_required("admin", "analyst", "partner")
def results_preview(campaign_id):
    """The campaign's summary as the public page shows it (approved quotes only, every
    number protected the same way), published or not: the partner's unpublished summary.
    A partner reads no resident's words before publication: quotes appear once it is
    published (analysts, who approved them, see them before)."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    require_project(campaign.project_id, "analyst", "partner")
    instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
    language = instrument.language_for(str(get_locale()))
    publication = queries.results.publication_of(campaign)
    published = publication is not None and publication.state == "published"
    results = figures.build(campaign, publication, language,
                            quotes=published or may_in(campaign.project_id, "analyst"))
    operations.transaction(lambda: operations.audit.viewed(
        "results.preview", campaign, count=sum(len(t.quotes) for q in results.themes for t in q.themes),
        **requester()))
    return render_template("results/page.html", r=results, campaign=campaign,
                           languages=instrument.languages, preview=True, published=published)
