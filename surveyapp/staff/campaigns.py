"""Campaigns: make, open and close them, read their responses, delete what a person
asks to be deleted, download the export, print the flyer and its QR code."""
from __future__ import annotations

import datetime as dt
import io
import ipaddress
import tempfile
from urllib.parse import urlsplit

import segno
from flask import Response as HttpResponse
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import operations, queries
from surveyapp.operations import audit
from surveyapp.access import may_in, requester, roles_required
from surveyapp.queries.results import published_elsewhere
from surveyapp.domain.instruments import localise, text_direction
from surveyapp.domain.labels import answered_questions
from surveyapp.extensions import db
from surveyapp.i18n import isolate, wave_name
from surveyapp.models import Campaign, Site
from surveyapp.models import Response as ResponseRow
from surveyapp.results.views import page_link
from surveyapp.staff import bp
from surveyapp.staff.common import (ANALYSIS, STAFF, campaign_export_filters, campaign_or_404,
                                    public_link)
from surveyapp.forms import DeleteForm
from surveyapp.staff.forms import ActionForm, CampaignForm, options


def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.instrument.choices = options((v.instrument_id, v.title)
                                      for v in queries.instruments.latest_versions("survey"))
    projects = queries.projects.projects()
    several = len(projects) > 1
    form.site.choices = options((s.id, f"{s.name} ({s.project.name})" if several else s.name)
                                for s in queries.projects.all_sites())
    # Every project's waves; the operation checks the wave belongs to the site's project.
    form.wave.choices = options((w, wave_name(w)) for w in dict.fromkeys(
        w for p in projects for w in p.waves))
    return form


def _campaigns_page(form, status=200):
    scope = queries.projects.scope_of(current_user)
    return render_template("staff/campaigns.html",
                           campaigns=queries.campaigns.campaign_summaries(scope),
                           form=form, action=ActionForm()), status


@bp.get("/campaigns")
@roles_required(*STAFF)
def campaigns():
    return _campaigns_page(_campaign_form())


@bp.post("/campaigns")
@roles_required("admin")
def create_campaign():
    form = _campaign_form()
    if form.validate_on_submit():
        site = db.session.get(Site, form.site.data) or abort(400)
        try:
            campaign = operations.transaction(lambda: operations.campaigns.create_campaign(
                form.instrument.data, site, form.wave.data, unlisted=form.unlisted.data,
                opens_at=_start_of(form.opens_on.data), closes_at=_start_of(form.closes_on.data),
                **requester()))
        except operations.campaigns.CampaignRefused as refusal:
            form.wave.errors.append(_refusal_message(refusal, site))
        else:
            flash(_("Campaign created: %(link)s", link=isolate(public_link(campaign))))
            return redirect(url_for(".campaign", campaign_id=campaign.id))
    return _campaigns_page(form, 422)


def _refusal_message(refusal, site: Site) -> str:
    """Why a campaign was refused. A duplicate (or the second post of a double-tapped
    "Create campaign") names the campaign that is open already."""
    if refusal.code == "duplicate":
        return _("A campaign is open already for this questionnaire, site and wave: %(code)s.",
                 code=refusal.existing.code)
    return _("This wave is not one of the waves of %(project)s.", project=isolate(site.project.name))


def _start_of(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) if day else None


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(*STAFF)
def campaign(campaign_id):
    campaign = campaign_or_404(campaign_id, *STAFF)
    version = queries.campaigns.campaign_version(campaign)
    return render_template("staff/campaign.html", campaign=campaign, version=version,
                           counts=queries.campaigns.response_counts(campaign.id), link=public_link(campaign),
                           is_open=queries.campaigns.is_open(campaign), action=ActionForm(),
                           title=queries.campaigns.campaign_title(campaign),
                           may_read_responses=may_in(campaign.project_id, "analyst"))


@bp.post("/campaigns/<int:campaign_id>/status")
@roles_required("admin")
def campaign_status(campaign_id):
    campaign = campaign_or_404(campaign_id, "admin")
    status = request.form.get("status")
    if ActionForm().validate_on_submit() and status in ("open", "closed"):
        try:
            operations.transaction(lambda: operations.campaigns.set_campaign_status(
                campaign, status, **requester()))
        except operations.campaigns.CampaignRefused as refusal:
            flash(_refusal_message(refusal, campaign.site))
        else:
            flash(_("Campaign opened.") if status == "open" else _("Campaign closed."))
    return redirect(url_for(".campaign", campaign_id=campaign_id))


PER_PAGE = 50


@bp.get("/campaigns/<int:campaign_id>/responses")
@roles_required(*ANALYSIS)
def responses(campaign_id):
    """The campaign's responses, for analysts (facilitators and respondents never see them)."""
    campaign = campaign_or_404(campaign_id, *ANALYSIS)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = queries.campaigns.campaign_responses(campaign.id, page=page, per_page=PER_PAGE)
    operations.transaction(lambda: audit.viewed("responses.list", campaign, count=len(rows), **requester()))
    return render_template("staff/responses.html", campaign=campaign, rows=rows, total=total,
                           page=page, pages=max(1, -(-total // PER_PAGE)))


@bp.get("/campaigns/<int:campaign_id>/responses/<int:response_id>")
@roles_required(*ANALYSIS)
def response(campaign_id, response_id):
    """One response's answers with their questions. Answers to pii questions are kept in
    their own table and are not shown here."""
    campaign = campaign_or_404(campaign_id, *ANALYSIS)
    row = db.session.get(ResponseRow, response_id)
    if row is None or row.campaign_id != campaign.id:
        abort(404)
    instrument = queries.instruments.instrument_of(row.instrument_version)
    answered = answered_questions(instrument, row.answers, instrument.language_for(str(get_locale())),
                                  other_label=_("Other"))
    operations.transaction(lambda: audit.viewed("response.read", row, count=len(answered), **requester()))
    return render_template("staff/response.html", campaign=campaign, row=row, answered=answered)


def _response_or_404(campaign: Campaign, response_id: int) -> ResponseRow:
    row = db.session.get(ResponseRow, response_id)
    if row is None or row.campaign_id != campaign.id:
        abort(404)
    return row


def _confirm_page(form, *, heading: str, explanation: str, goes: list[str], back: str):
    return render_template("staff/confirm_delete.html", form=form, heading=heading,
                           explanation=explanation, goes=goes, back=back), (
        422 if request.method == "POST" else 200)


@bp.route("/campaigns/<int:campaign_id>/responses/<int:response_id>/delete", methods=["GET", "POST"])
@roles_required("admin")
def delete_response(campaign_id, response_id):
    """Confirm, then delete one response and everything kept with it (admins only)."""
    campaign = campaign_or_404(campaign_id, "admin")
    row = _response_or_404(campaign, response_id)
    form = DeleteForm()
    if form.validate_on_submit():
        operations.transaction(lambda: operations.deletion.delete_response(row, **requester()))
        flash(_("Response deleted."))
        return redirect(url_for(".responses", campaign_id=campaign_id))
    return _confirm_page(
        form, heading=_("Delete response %(id)s?", id=row.id),
        explanation=_("Deleting it removes:"),
        goes=[_("its answers, contact details, unfinished page drafts and scores"),
              _("its theme assignments, and theme quotes taken from its answers")],
        back=url_for(".response", campaign_id=campaign_id, response_id=row.id))


@bp.route("/campaigns/<int:campaign_id>/responses/<int:response_id>/contact/delete",
          methods=["GET", "POST"])
@roles_required("admin")
def delete_contact_details(campaign_id, response_id):
    """Confirm, then delete a respondent's contact details on their request, keeping their
    other answers (admins only)."""
    campaign = campaign_or_404(campaign_id, "admin")
    row = _response_or_404(campaign, response_id)
    form = DeleteForm()
    if form.validate_on_submit():
        operations.transaction(
            lambda: operations.deletion.delete_contact_details(row, **requester()))
        flash(_("Contact details deleted; the other answers are kept."))
        return redirect(url_for(".response", campaign_id=campaign_id, response_id=response_id))
    return _confirm_page(
        form, heading=_("Delete the contact details of response %(id)s?", id=row.id),
        explanation=_("The answers to questions that identify the respondent (such as contact "
                      "details) are deleted; the other answers are kept."),
        goes=[], back=url_for(".response", campaign_id=campaign_id, response_id=row.id))


@bp.route("/campaigns/<int:campaign_id>/delete", methods=["GET", "POST"])
@roles_required("admin")
def delete_campaign(campaign_id):
    """Confirm, then delete a campaign with all its responses (admins only)."""
    campaign = campaign_or_404(campaign_id, "admin")
    form = DeleteForm()
    if form.validate_on_submit():
        operations.transaction(lambda: operations.deletion.delete_campaign(campaign, **requester()))
        flash(_("Campaign deleted."))
        return redirect(url_for(".campaigns"))
    counts = queries.campaigns.response_counts(campaign.id)
    return _confirm_page(
        form, heading=_("Delete campaign %(code)s?", code=campaign.code),
        explanation=_("Its link stops working. Deleting it removes:"),
        goes=[_("%(complete)s complete and %(partial)s partial responses, with their contact "
                "details, drafts, scores and theme assignments",
                complete=counts["complete"], partial=counts["partial"]),
              _("the themes found in this campaign's answers, and its export files")],
        back=url_for(".campaign", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>/export")
@roles_required(*ANALYSIS, "partner")
def export_campaign(campaign_id):
    """The campaign's responses, codebook, summary and finalised focus groups as an .xlsx
    (``?format=csv``: a zip of CSV files). Query: status (complete, partial, all), lang,
    codes=1; pii=1 (contact details) for admins only.

    Written while the request waits, into a temporary file rather than memory (the
    export-job route below runs the same export in the background)."""
    campaign = campaign_or_404(campaign_id, *ANALYSIS, "partner")
    # A partner (who is not also an analyst here) gets the aggregate sheets only, whatever
    # the query asks: export_sheets enforces it, this view only says who is one.
    aggregates_only = not may_in(campaign.project_id, "analyst")
    filters = campaign_export_filters(campaign, request.args, aggregates_only=aggregates_only)
    if filters is None:
        return redirect(url_for(".campaign", campaign_id=campaign.id))
    as_csv = request.args.get("format") == "csv"
    output = tempfile.TemporaryFile()
    roles = ("analyst", "partner") if aggregates_only else ("analyst",)
    scope = queries.projects.scope_of(current_user, *roles)
    written = queries.export.write_export(filters, output, csv=as_csv, scope=scope,
                                          generated_by=current_user.email)
    operations.transaction(lambda: audit.viewed("export.download", campaign, scope="csv" if as_csv else "xlsx",
                                                count=written.responses, **requester()))
    operations.transaction(lambda: audit.record(
        "export.downloaded", **requester(), project_id=campaign.project_id, target_type="campaign",
        target_id=campaign.id, details={"format": "csv" if as_csv else "xlsx",
                                        "status": filters.status, "pii": filters.include_pii}))
    output.seek(0)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    name = f"{campaign.instrument_id}-{campaign.code}-{stamp}.{'zip' if as_csv else 'xlsx'}"
    return send_file(output, as_attachment=True, download_name=name,
                     mimetype="application/zip" if as_csv else
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/campaigns/<int:campaign_id>/flyer")
@roles_required(*STAFF)
def flyer(campaign_id):
    """A printable page: the invitation in each language, the QR code, the short link."""
    campaign = campaign_or_404(campaign_id, *STAFF)
    instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
    link = public_link(campaign)
    blocks = []
    for lang in instrument.languages:
        with force_locale(lang):  # the invitation in each language of the questionnaire
            invitation = _("Scan the code with your phone's camera, or open the link, to take part.")
        blocks.append({"lang": lang, "dir": text_direction(lang), "invitation": invitation,
                       "title": localise(instrument.title, lang, instrument.default_language),
                       "description": localise(instrument.description, lang, instrument.default_language)})
    # No fixed size: with a viewBox the flyer's CSS decides how large it prints.
    qr = segno.make(link, error="m").svg_inline(dark="#000", light="#fff", border=4, omitsize=True)
    # A follow-up wave's flyer says where the earlier wave's published results are.
    earlier = published_elsewhere(campaign)
    results_link = page_link(earlier) if earlier else None
    for block in blocks:
        with force_locale(block["lang"]):
            block["results"] = _("What residents said last time:") if earlier else ""
    return render_template("staff/flyer.html", campaign=campaign, blocks=blocks, link=link, qr=qr,
                           loopback=points_at_this_machine_only(link), results_link=results_link)


def points_at_this_machine_only(link: str) -> bool:
    """Whether ``link``'s host is a loopback address, which no resident's phone can reach."""
    host = urlsplit(link).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@bp.get("/campaigns/<int:campaign_id>/qr.<any(svg, png):kind>")
@roles_required(*STAFF)
def qr_code(campaign_id, kind):
    campaign = campaign_or_404(campaign_id, *STAFF)
    code = segno.make(public_link(campaign), error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=10 if kind == "png" else 8, border=4)
    return HttpResponse(buffer.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png",
                        headers={"Content-Disposition":
                                 f'attachment; filename="survey-{campaign.code}.{kind}"'})
