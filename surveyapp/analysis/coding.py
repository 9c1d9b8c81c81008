"""Coding you can defend (issue 24): double coding of a sample and the classifier's
proposals, on a theme page's source (same URL scheme as views.py). Thin views: reads are
queries.coding, writes operations.coding; analysts and admins only, never partners.

    .../coding                          the source's samples; draw a new one
    .../coding/<sample>/code            one coder's blind page (their codes only)
    .../coding/<sample>                 the results, once every coder is done
    .../coding/<sample>/resolve         settle one disagreement
    .../proposals                       the classifier: readiness, held-out kappa, proposals
"""
from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import operations
from surveyapp.access import requester, roles_required
from surveyapp.analysis import bp
from surveyapp.analysis.views import ANALYSIS, _page
from surveyapp.domain.coder import DEFAULT_THRESHOLD
from surveyapp.domain.reliability import NO_THEME
from surveyapp.extensions import db
from surveyapp.forms import ActionForm
from surveyapp.models import Theme
from surveyapp.operations import coding as coding_operations
from surveyapp.operations.coding import CodingRefused
from surveyapp.queries import coding as coding_queries
from surveyapp.urls import database_id

REFUSALS = {
    "bad_size": lambda: _("Choose a sample size from 1 to %(max)s.", max=coding_operations.MAX_SAMPLE),
    "few_coders": lambda: _("Choose at least two coders."),
    "not_analyst": lambda: _("Every coder must be an analyst of this project."),
    "no_items": lambda: _("There are no texts to sample yet."),
    "not_coder": lambda: _("You are not one of this sample's coders."),
    "already_done": lambda: _("You have finished coding this sample: your codes are final."),
    "not_finished": lambda: _("Not every coder has finished yet."),
    "unknown_item": lambda: _("That text is not one of this sample's texts."),
    "other_theme": lambda: _("That theme is not one of this page's themes."),
    "nothing_to_accept": lambda: _("No proposal to accept."),
    "not_ready": lambda: _("Not enough texts are coded by analysts yet."),
}


def _sample(page, sample_id):
    return coding_queries.sample_of(page.source, sample_id) or abort(404)


def _code(value: str) -> int | None:
    """A form's code: "" not coded, "none" no theme, else a theme id."""
    if value == "none":
        return NO_THEME
    return database_id(value) if value else None


def _refused(refusal: CodingRefused) -> None:
    flash(REFUSALS[refusal.code]())


@bp.route("/<instrument_id>/<item_id>/coding", methods=["GET", "POST"])
@roles_required(*ANALYSIS)
def coding(project_id, instrument_id, item_id):
    """The source's double-coding samples with each coder's progress; a form to draw a
    new sample (size, seed, coders)."""
    page = _page(project_id, instrument_id, item_id)
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            flash(_("This form had expired, so nothing was saved yet. Please try again."))
            return redirect(page.url("analysis.coding"))
        form = request.form
        ids = {i for i in (database_id(v) for v in form.getlist("coders")) if i}
        coders = [u for u in coding_queries.analysts_of(page.project.id) if u.id in ids]
        if len(coders) < len(ids):
            coders.append(None)     # someone not an analyst here: refused below
        seed = form.get("seed", "").strip()
        try:
            if any(c is None for c in coders):
                raise CodingRefused("not_analyst")
            sample_id = operations.transaction(lambda: coding_operations.draw_sample(
                page.source, form.get("size", 0, type=database_id) or 0, coders,
                seed=int(seed) if seed.isdigit() and len(seed) < 10 else None,
                user=current_user._get_current_object(), **requester()).id)
            flash(_("Sample drawn: each coder can now code it."))
            return redirect(page.url("analysis.coding_results", sample_id=sample_id))
        except CodingRefused as refusal:
            _refused(refusal)
        return redirect(page.url("analysis.coding"))
    samples = coding_queries.samples_of(page.source)
    return render_template("analysis/coding_samples.html", page=page, samples=samples,
                           analysts=coding_queries.analysts_of(page.project.id),
                           finished=coding_queries.finished, action=ActionForm(),
                           max_sample=coding_operations.MAX_SAMPLE)


@bp.route("/<instrument_id>/<item_id>/coding/<int:sample_id>/code", methods=["GET", "POST"])
@roles_required(*ANALYSIS)
def coding_code(project_id, instrument_id, item_id, sample_id):
    """One coder's page: the sample's texts, the source's themes and "no theme" as
    choices, and their own codes only. ``action`` "save" or "done" (saves, then final).
    To anyone else of the project, the texts alone (saving is refused: not_coder)."""
    page = _page(project_id, instrument_id, item_id)
    sample = _sample(page, sample_id)
    # Another analyst (or an admin) sees the texts only: nobody's codes, no form.
    coder = coding_queries.coder_of(sample, current_user.id)
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            flash(_("This form had expired, so nothing was saved yet. Please try again."))
            return redirect(page.url("analysis.coding_code", sample_id=sample.id))
        codes = {ref: _code(request.form.get(f"code-{ref}", "")) for ref in sample.refs
                 if f"code-{ref}" in request.form}
        user = current_user._get_current_object()
        try:
            operations.transaction(lambda: coding_operations.save_codes(
                sample, user, codes, **requester()))
            if request.form.get("action") == "done":
                operations.transaction(lambda: coding_operations.finish(sample, user, **requester()))
                flash(_("Thank you: your codes are final."))
                return redirect(page.url("analysis.coding_results", sample_id=sample.id))
            flash(_("Codes saved."))
        except CodingRefused as refusal:
            _refused(refusal)
        return redirect(page.url("analysis.coding_code", sample_id=sample.id))
    _viewed(page, sample)
    return render_template("analysis/coding_code.html", page=page, sample=sample, coder=coder,
                           items=coding_queries.sample_items(sample),
                           choices=coding_queries.choices(page.source),
                           codes=coding_queries.own_codes(sample, current_user.id) if coder else {},
                           no_theme=NO_THEME, action=ActionForm())


def _viewed(page, sample) -> None:
    """A sample's texts were read: recorded like the theme page (operations.audit.viewed)."""
    source = page.source
    operations.transaction(lambda: operations.audit.viewed(
        "themes.read", (source.kind, f"{source.instrument_id}/{source.item_id}", source.project_id),
        scope=f"sample {sample.id}", count=len(sample.refs), **requester()))


@bp.get("/<instrument_id>/<item_id>/coding/<int:sample_id>")
@roles_required(*ANALYSIS)
def coding_results(project_id, instrument_id, item_id, sample_id):
    """Who has finished; once all have: kappa, alpha and percent agreement with their
    CIs, per code and overall, the disagreements to resolve, the machine's score."""
    page = _page(project_id, instrument_id, item_id)
    sample = _sample(page, sample_id)
    results = coding_queries.results(sample)
    _viewed(page, sample)
    return render_template("analysis/coding_results.html", page=page, sample=sample,
                           results=results, choices=coding_queries.choices(page.source),
                           me=coding_queries.coder_of(sample, current_user.id),
                           no_theme=NO_THEME, action=ActionForm(), defined=_defined)


@bp.post("/<instrument_id>/<item_id>/coding/<int:sample_id>/resolve")
@roles_required(*ANALYSIS)
def coding_resolve(project_id, instrument_id, item_id, sample_id):
    """Settle one disagreement (``item``, ``theme``: an id or "none")."""
    page = _page(project_id, instrument_id, item_id)
    sample = _sample(page, sample_id)
    target = page.url("analysis.coding_results", sample_id=sample.id)
    if not ActionForm().validate_on_submit():
        flash(_("This form had expired, so nothing was saved yet. Please try again."))
        return redirect(target)
    code = _code(request.form.get("theme", ""))
    theme = None
    if code not in (None, NO_THEME):
        theme = db.session.get(Theme, code)
    try:
        if code is None or (code != NO_THEME and theme is None):
            raise CodingRefused("other_theme")
        operations.transaction(lambda: coding_operations.resolve(
            sample, request.form.get("item", ""), theme, user=current_user._get_current_object(),
            **requester()))
        flash(_("Resolution saved: it is now the text's theme."))
    except CodingRefused as refusal:
        _refused(refusal)
    return redirect(target)


def _threshold(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD
    return min(max(number, 0.0), 1.0) if math.isfinite(number) else DEFAULT_THRESHOLD


@bp.route("/<instrument_id>/<item_id>/proposals", methods=["GET", "POST"])
@roles_required(*ANALYSIS)
def proposals(project_id, instrument_id, item_id):
    """Codes learnt from the analysts': readiness (codes with enough coded texts), the
    model's held-out kappa with its CI, and a proposal per uncoded text; POST accepts all
    at or above ``min_confidence``, or the ticked ``items``."""
    page = _page(project_id, instrument_id, item_id)
    if request.method == "POST":
        target = page.url("analysis.proposals")
        if not ActionForm().validate_on_submit():
            flash(_("This form had expired, so nothing was saved yet. Please try again."))
            return redirect(target)
        chosen = request.form.getlist("items")
        minimum = _threshold(request.form.get("min_confidence"))
        try:
            count = operations.transaction(lambda: coding_operations.accept_proposals(
                page.source, user=current_user._get_current_object(),
                refs=chosen or None, min_confidence=None if chosen else minimum, **requester()))
            flash(_("%(num)s proposals accepted.", num=count))
        except CodingRefused as refusal:
            _refused(refusal)
        return redirect(target)
    threshold = _threshold(request.args.get("threshold", DEFAULT_THRESHOLD))
    found = coding_queries.proposals(page.source, threshold=threshold)
    themes = {t.id: t.label for t in coding_queries.choices(page.source)}
    return render_template("analysis/coding_proposals.html", page=page, found=found,
                           themes=themes, action=ActionForm(), defined=_defined)


def _defined(value) -> bool:
    return value is not None and not math.isnan(value)
