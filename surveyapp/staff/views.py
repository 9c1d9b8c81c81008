"""Staff pages: home, sites, campaigns with printable QR flyers, user accounts. Thin views."""
from __future__ import annotations

import datetime as dt
import io
import ipaddress
import tempfile
from urllib.parse import urlsplit

import segno
import sqlalchemy as sa
from flask import Response as HttpResponse
from flask import (abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import jobs, operations, queries
from surveyapp.operations import audit
from surveyapp.access import may_in, require_project, requester, roles_required
from surveyapp.queries.results import published_elsewhere
from surveyapp.domain.instruments import localise, text_direction
from surveyapp.domain.labels import answered_questions
from surveyapp.extensions import db
from surveyapp.i18n import isolate, wave_name
from surveyapp.models import Campaign, Project, ProjectMember, Site, User
from surveyapp.models import Response as ResponseRow
from surveyapp.results.views import page_link
from surveyapp.staff import bp
from surveyapp.forms import DeleteForm
from surveyapp.staff.forms import (ActionForm, CampaignForm, MemberForm, ProjectExportForm,
                                  ProjectForm, SiteForm,
                                  UserEditForm, UserForm, WavesForm, options)

STAFF = ("admin", "facilitator", "analyst")


@bp.get("/")
@roles_required(*STAFF, "partner")
def home():
    """The overview: campaigns and recent focus groups of the user's projects, then the
    projects the user is a partner of, with links to their aggregate pages only."""
    staff = may_use_staff_pages()
    partner_of = ([] if current_user.is_admin
                  else queries.projects.projects(current_user.project_ids("partner")))
    scope = queries.projects.scope_of(current_user)
    return render_template(
        "staff/home.html", staff=staff,
        campaigns=queries.campaigns.campaign_summaries(scope) if staff else [],
        sessions=queries.focus_groups.recent_sessions(limit=5, user=current_user) if staff else [],
        partner_projects=[(project, queries.campaigns.project_campaigns(project.id))
                          for project in partner_of])


@bp.app_template_global()
def may_use_staff_pages() -> bool:
    """Whether the signed-in user may open campaigns, sites and focus groups (the
    navigation shows them); a partner only may not."""
    return current_user.is_authenticated and (
        current_user.is_admin or bool(current_user.role_set & set(STAFF)))


# ----------------------------------------------------------------------------- projects

@bp.get("/projects")
@roles_required("admin")
def projects():
    return render_template("staff/projects.html", projects=queries.projects.projects(), form=ProjectForm())


@bp.post("/projects")
@roles_required("admin")
def create_project():
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            project = operations.transaction(
                lambda: operations.staff.create_project(form.name.data, **requester()))
        except operations.staff.ProjectError:
            # Also what the second post of a double-tapped "Create project" sees.
            form.name.errors.append(_("A project with this name exists already."))
        else:
            flash(_("Project created."))
            return redirect(url_for(".project", project_id=project.id))
    return render_template("staff/projects.html", projects=queries.projects.projects(), form=form), 422


def _project_page(project: Project, *, waves_form=None, member_form=None, status=200):
    waves_form = waves_form or WavesForm(formdata=None, waves="\n".join(project.waves))
    members = db.session.scalars(sa.select(ProjectMember).join(User).where(
        ProjectMember.project_id == project.id).order_by(User.email, ProjectMember.role)).all()
    return render_template("staff/project.html", project=project, waves_form=waves_form,
                           member_form=member_form or MemberForm(formdata=None), members=members,
                           action=ActionForm()), status


@bp.get("/projects/<int:project_id>")
@roles_required("admin")
def project(project_id):
    return _project_page(db.session.get(Project, project_id) or abort(404))


@bp.post("/projects/<int:project_id>/waves")
@roles_required("admin")
def project_waves(project_id):
    """The project's wave list, one a line, in order. Campaigns already made keep theirs."""
    project = db.session.get(Project, project_id) or abort(404)
    form = WavesForm()
    if form.validate_on_submit():
        try:
            operations.transaction(
                lambda: operations.staff.set_waves(project, form.wave_list(), **requester()))
        except operations.staff.ProjectError:
            form.waves.errors.append(_("Give one wave name a line, each once and at most 50 "
                                       "characters long."))
        else:
            flash(_("Waves saved."))
            return redirect(url_for(".project", project_id=project.id))
    return _project_page(project, waves_form=form, status=422)


@bp.post("/projects/<int:project_id>/members")
@roles_required("admin")
def add_member(project_id):
    project = db.session.get(Project, project_id) or abort(404)
    form = MemberForm()
    if form.validate_on_submit():
        user = queries.projects.user_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("No account has this email."))
        else:
            operations.transaction(lambda: operations.staff.add_member(
                project, user, form.role.data, **requester()))
            flash(_("Member added."))
            return redirect(url_for(".project", project_id=project.id))
    return _project_page(project, member_form=form, status=422)


@bp.post("/projects/<int:project_id>/members/<int:member_id>/remove")
@roles_required("admin")
def remove_member(project_id, member_id):
    project = db.session.get(Project, project_id) or abort(404)
    member = db.session.get(ProjectMember, member_id)
    if member is None or member.project_id != project.id:
        abort(404)
    if ActionForm().validate_on_submit():
        user, role = member.user, member.role
        operations.transaction(lambda: operations.staff.remove_member(
            project, user, role, **requester()))
        flash(_("Member removed."))
    return redirect(url_for(".project", project_id=project.id))


# ----------------------------------------------------------------------------- sites

def _site_form() -> SiteForm:
    form = SiteForm()
    form.project.choices = options((p.id, p.name) for p in queries.projects.projects())
    return form


@bp.get("/sites")
@roles_required(*STAFF)
def sites():
    scope = queries.projects.scope_of(current_user)
    return render_template("staff/sites.html", sites=queries.projects.all_sites(scope),
                           form=_site_form())


@bp.post("/sites")
@roles_required("admin")
def create_site():
    form = _site_form()
    if form.validate_on_submit():
        project = db.session.get(Project, form.project.data) or abort(400)
        if operations.campaigns.site_named(project, form.name.data) is not None:
            # Also what the second post of a double-tapped "Add site" sees: one site is made.
            form.name.errors.append(_("A site with this name exists already."))
        else:
            operations.transaction(lambda: operations.campaigns.get_or_create_site(
                form.name.data.strip(), (form.area.data or "").strip() or None, project,
                **requester()))
            flash(_("Site added."))
            return redirect(url_for(".sites"))
    return render_template("staff/sites.html", sites=queries.projects.all_sites(), form=form), 422


# ----------------------------------------------------------------------------- campaigns

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


def _campaign_or_404(campaign_id: int, *roles: str) -> Campaign:
    """The campaign, if the current user holds one of ``roles`` in its project."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    require_project(campaign.project_id, *roles)
    return campaign


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(*STAFF)
def campaign(campaign_id):
    campaign = _campaign_or_404(campaign_id, *STAFF)
    version = queries.campaigns.campaign_version(campaign)
    return render_template("staff/campaign.html", campaign=campaign, version=version,
                           counts=queries.campaigns.response_counts(campaign.id), link=public_link(campaign),
                           is_open=queries.campaigns.is_open(campaign), action=ActionForm(),
                           title=queries.campaigns.campaign_title(campaign),
                           may_read_responses=may_in(campaign.project_id, "analyst"))


@bp.post("/campaigns/<int:campaign_id>/status")
@roles_required("admin")
def campaign_status(campaign_id):
    campaign = _campaign_or_404(campaign_id, "admin")
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


ANALYSIS = ("admin", "analyst")
PER_PAGE = 50


@bp.get("/campaigns/<int:campaign_id>/responses")
@roles_required(*ANALYSIS)
def responses(campaign_id):
    """The campaign's responses, for analysts (facilitators and respondents never see them)."""
    campaign = _campaign_or_404(campaign_id, *ANALYSIS)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = queries.campaigns.campaign_responses(campaign.id, page=page, per_page=PER_PAGE)
    return render_template("staff/responses.html", campaign=campaign, rows=rows, total=total,
                           page=page, pages=max(1, -(-total // PER_PAGE)))


@bp.get("/campaigns/<int:campaign_id>/responses/<int:response_id>")
@roles_required(*ANALYSIS)
def response(campaign_id, response_id):
    """One response's answers with their questions. Answers to pii questions are kept in
    their own table and are not shown here."""
    campaign = _campaign_or_404(campaign_id, *ANALYSIS)
    row = db.session.get(ResponseRow, response_id)
    if row is None or row.campaign_id != campaign.id:
        abort(404)
    instrument = queries.instruments.instrument_of(row.instrument_version)
    answered = answered_questions(instrument, row.answers, instrument.language_for(str(get_locale())),
                                  other_label=_("Other"))
    return render_template("staff/response.html", campaign=campaign, row=row, answered=answered)


# ----------------------------------------------------------------------------- deletion

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
    campaign = _campaign_or_404(campaign_id, "admin")
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
    campaign = _campaign_or_404(campaign_id, "admin")
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
    campaign = _campaign_or_404(campaign_id, "admin")
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

    Written while the request waits (there is no job layer yet), into a temporary file
    rather than memory."""
    from surveyapp.queries import export
    campaign = _campaign_or_404(campaign_id, *ANALYSIS, "partner")
    # A partner (who is not also an analyst here) gets the aggregate sheets only, whatever
    # the query asks: export_sheets enforces it, this view only says who is one.
    aggregates_only = not may_in(campaign.project_id, "analyst")
    status = request.args.get("status", "complete")
    if status not in export.STATUSES:
        flash(_("Choose complete, partial or all responses."))
        return redirect(url_for(".campaign", campaign_id=campaign.id))
    include_pii = request.args.get("pii") == "1"
    if include_pii and not current_user.is_admin:
        abort(403)
    as_csv = request.args.get("format") == "csv"
    filters = export.filters_for_campaign(
        campaign, status=status, codes=request.args.get("codes") == "1",
        language=request.args.get("lang") or str(get_locale()), include_pii=include_pii,
        aggregates_only=aggregates_only)
    output = tempfile.TemporaryFile()
    roles = ("analyst", "partner") if aggregates_only else ("analyst",)
    scope = queries.projects.scope_of(current_user, *roles)
    export.write_export(filters, output, csv=as_csv, scope=scope,
                        generated_by=current_user.email)
    operations.transaction(lambda: audit.record(
        "export.downloaded", **requester(), project_id=campaign.project_id, target_type="campaign",
        target_id=campaign.id, details={"format": "csv" if as_csv else "xlsx", "status": status,
                                        "pii": include_pii}))
    output.seek(0)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    name = f"{campaign.instrument_id}-{campaign.code}-{stamp}.{'zip' if as_csv else 'xlsx'}"
    return send_file(output, as_attachment=True, download_name=name,
                     mimetype="application/zip" if as_csv else
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def public_link(campaign: Campaign) -> str:
    """The short link printed on flyers: PUBLIC_BASE_URL if set, else this request's host."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = url_for("surveys.landing", code=campaign.code)
    return f"{base}{path}" if base else url_for("surveys.landing", code=campaign.code, _external=True)


@bp.get("/campaigns/<int:campaign_id>/flyer")
@roles_required(*STAFF)
def flyer(campaign_id):
    """A printable page: the invitation in each language, the QR code, the short link."""
    campaign = _campaign_or_404(campaign_id, *STAFF)
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
    campaign = _campaign_or_404(campaign_id, *STAFF)
    code = segno.make(public_link(campaign), error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=10 if kind == "png" else 8, border=4)
    return HttpResponse(buffer.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png",
                        headers={"Content-Disposition":
                                 f'attachment; filename="survey-{campaign.code}.{kind}"'})


# ----------------------------------------------------------------------------- users

@bp.get("/users")
@roles_required("admin")
def users():
    return _users_page(_user_form())


def _user_form() -> UserForm:
    form = UserForm()
    projects = queries.projects.projects()
    form.project.choices = options([(0, "—")] + [(p.id, p.name) for p in projects])
    if form.project.data is None and len(projects) == 1:
        form.project.data = projects[0].id
    return form


def _users_page(form, status=200):
    return render_template("staff/users.html", form=form, users=db.session.scalars(
        sa.select(User).order_by(User.email)).all()), status


@bp.post("/users")
@roles_required("admin")
def create_user():
    form = _user_form()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("Give the new account a password."))
        elif queries.projects.user_by_email(form.email.data):
            form.email.errors.append(_("An account with this email exists already."))
        else:
            project = db.session.get(Project, form.project.data) if form.project.data else None
            operations.transaction(lambda: operations.staff.create_user(
                form.email.data, form.password.data, form.roles.data, project, **requester()))
            flash(_("Account created."))
            return redirect(url_for(".users"))
    return _users_page(form, 422)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id):
    user = db.session.get(User, user_id) or abort(404)
    form = UserEditForm(obj=None if request.method == "POST" else user,
                        data=None if request.method == "POST" else {"admin": user.is_admin})
    if form.validate_on_submit():
        other = queries.projects.user_by_email(form.email.data)
        if other is not None and other.id != user.id:
            form.email.errors.append(_("An account with this email exists already."))
        elif user.id == current_user.id and not (form.admin.data and form.active.data):
            form.admin.errors.append(_("You cannot remove your own admin role or deactivate yourself."))
        else:
            operations.transaction(lambda: operations.staff.update_user(
                user, email=form.email.data, roles=["admin"] if form.admin.data else [],
                active=form.active.data, password=form.password.data or None, **requester()))
            flash(_("Account saved."))
            return redirect(url_for(".users"))
    return render_template("staff/user.html", form=form, user=user)


# ----------------------------------------------------------------------------- jobs
@bp.post("/campaigns/<int:campaign_id>/export-job")
@roles_required(*ANALYSIS)
def start_export(campaign_id):
    """Start the campaign's export as a background job (same options as the download
    route, sent as a form) and show its page."""
    from surveyapp.queries import export
    campaign = _campaign_or_404(campaign_id, *ANALYSIS)
    ActionForm().validate_on_submit() or abort(400)
    status = request.form.get("status", "complete")
    if status not in export.STATUSES:
        flash(_("Choose complete, partial or all responses."))
        return redirect(url_for(".campaign", campaign_id=campaign.id))
    include_pii = request.form.get("pii") == "1"
    if include_pii and not current_user.is_admin:
        abort(403)
    filters = export.filters_for_campaign(
        campaign, status=status, codes=request.form.get("codes") == "1",
        language=request.form.get("lang") or str(get_locale()), include_pii=include_pii)
    params = jobs.export_parameters(
        filters, csv=request.form.get("format") == "csv",
        scope=queries.projects.scope_of(current_user, "analyst"), generated_by=current_user.email)
    job = jobs.enqueue("export", params, user=current_user, project_id=campaign.project_id)
    operations.transaction(lambda: audit.record(
        "export.started", **requester(), project_id=campaign.project_id, target_type="job", target_id=job.id,
        details={"campaign_id": campaign.id, "status": status, "pii": include_pii,
                 "format": "csv" if params["csv"] else "xlsx"}))
    return redirect(url_for(".job", job_id=job.id))


def _project_export_form(project: Project) -> tuple[ProjectExportForm, dict[str, tuple[str, ...]]]:
    """The form with the project's questionnaires, campaigns, sites and waves as choices,
    and {instrument id: the languages it declares} (any of them may label the export)."""
    form = ProjectExportForm()
    languages: dict[str, tuple[str, ...]] = {}
    for instrument_id in queries.campaigns.project_instruments(project.id):
        version = queries.instruments.latest_version(instrument_id)
        if version is not None:
            languages[instrument_id] = queries.instruments.instrument_of(version).languages
    campaigns = db.session.scalars(sa.select(Campaign).where(Campaign.project_id == project.id)
                                   .order_by(Campaign.instrument_id, Campaign.code)).all()
    sites = db.session.scalars(sa.select(Site).where(Site.project_id == project.id)
                               .order_by(Site.name)).all()
    form.instrument.choices = [(i, i) for i in languages]
    form.campaign.choices = [(0, _("All campaigns"))] + [
        (c.id, f"{c.code} · {c.instrument_id} · {c.site.name} · {wave_name(c.wave)}") for c in campaigns]
    form.sites.choices = [(site.id, site.name) for site in sites]
    form.waves.choices = [(wave, wave_name(wave)) for wave in project.waves]
    form.language.choices = [(code, code) for code in
                             sorted({code for codes in languages.values() for code in codes})]
    if not form.language.data and form.language.choices:
        locale = str(get_locale())
        form.language.data = locale if any(code == locale for code, _l in form.language.choices) \
            else form.language.choices[0][0]
    return form, languages


@bp.route("/projects/<int:project_id>/export", methods=["GET", "POST"])
@roles_required(*ANALYSIS)
def project_export(project_id):
    """A project's export form (sites, waves, dates, campaign, label language, labels or
    codes, contact details for admins); a valid post starts it as a job."""
    from surveyapp.queries import export
    project = db.session.get(Project, project_id) or abort(404)
    require_project(project.id, "analyst")
    form, languages = _project_export_form(project)
    if request.method == "POST" and form.pii.data and not current_user.is_admin:
        abort(403)
    if form.validate_on_submit():
        campaign = db.session.get(Campaign, form.campaign.data) if form.campaign.data else None
        if form.language.data not in languages.get(form.instrument.data, ()):
            form.language.errors.append(_("This questionnaire has no texts in that language."))
        elif campaign is not None and campaign.instrument_id != form.instrument.data:
            form.campaign.errors.append(_("That campaign deploys another questionnaire."))
        else:
            filters = export.ExportFilters(
                instrument_id=form.instrument.data, project_id=project.id,
                campaign_id=campaign.id if campaign else None, site_ids=tuple(form.sites.data or ()),
                waves=tuple(form.waves.data or ()), since=form.since.data, until=form.until.data,
                status=form.status.data, language=form.language.data,
                codes=form.answers.data == "codes", include_pii=bool(form.pii.data))
            params = jobs.export_parameters(
                filters, csv=form.output.data == "csv",
                scope=queries.projects.scope_of(current_user, "analyst"), generated_by=current_user.email)
            job = jobs.enqueue("export", params, user=current_user, project_id=project.id)
            operations.transaction(lambda: audit.record(
                "export.started", **requester(), project_id=project.id, target_type="job", target_id=job.id,
                details={"project_id": project.id, "instrument": filters.instrument_id,
                         "campaign_id": filters.campaign_id, "sites": list(filters.site_ids),
                         "waves": list(filters.waves), "language": filters.language,
                         "codes": filters.codes, "status": filters.status,
                         "pii": filters.include_pii, "format": "csv" if params["csv"] else "xlsx"}))
            return redirect(url_for(".job", job_id=job.id))
    status = 422 if request.method == "POST" else 200
    hint = "; ".join(f"{i}: {', '.join(codes)}" for i, codes in languages.items())
    return render_template("staff/project_export.html", project=project, form=form,
                           language_hint=hint), status


def _job_or_404(job_id: int):
    """The job, if the current user started it (or is an admin) and may analyse its project."""
    from surveyapp.models import Job
    # A job whose process was killed is failed here once its heartbeat is stale: reading it
    # is enough, whether or not another job ever runs.
    jobs.sweep()
    job = db.session.get(Job, job_id) or abort(404)
    require_project(job.project_id, *ANALYSIS)
    if job.created_by_id != current_user.id and not current_user.is_admin:
        abort(404)
    return job


def _job_status(job) -> dict:
    expired = jobs.is_expired(job)
    return {"id": job.id, "kind": job.kind,
            "state": "expired" if expired and job.state == "done" else job.state,
            "done": job.progress_done, "total": job.progress_total,
            "message": job.message if job.state == "failed" else "",
            "download": url_for(".job_download", job_id=job.id)
            if job.state == "done" and not expired else None,
            "page": _job_page(job)}


def _job_page(job) -> str | None:
    """Where a job's work is seen in the app: a theme run's analysis page."""
    if job.kind != "themes":
        return None
    source = job.parameters["source"]
    extra = {"campaign": source["campaign_id"]} if source.get("campaign_id") else {}
    return url_for("analysis.themes", project_id=source["project_id"],
                   instrument_id=source["instrument_id"], item_id=source["item_id"], **extra)


@bp.get("/jobs/<int:job_id>")
@roles_required(*ANALYSIS)
def job(job_id):
    """A job's state and progress; refreshes itself until it is done or failed."""
    job = _job_or_404(job_id)
    return render_template("staff/job.html", job=job, status=_job_status(job))


@bp.get("/jobs/<int:job_id>/status")
@roles_required(*ANALYSIS)
def job_status(job_id):
    """The job's state as JSON (polled by staff.js on the job page)."""
    return _job_status(_job_or_404(job_id))


@bp.get("/jobs/<int:job_id>/download")
@roles_required(*ANALYSIS)
def job_download(job_id):
    """The job's result file until expires_at; 410 after (the sweep deletes the file)."""
    job = _job_or_404(job_id)
    if job.state == "expired" or (job.state == "done" and jobs.is_expired(job)):
        return render_template("staff/job_gone.html", job=job), 410
    path = jobs.result_path(job) if job.state == "done" else None
    if path is None or not path.exists():
        abort(404)
    name = job.download_name or ""
    mimetype = ("application/zip" if name.endswith(".zip") else "application/json"
                if name.endswith(".json") else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    # Each download takes the responses off the server: recorded like the direct export.
    operations.transaction(lambda: audit.record(
        "export.downloaded", **requester(), project_id=job.project_id, target_type="job", target_id=job.id,
        details={"kind": job.kind,
                 "campaign_id": (job.parameters.get("filters") or {}).get("campaign_id"),
                 "pii": bool((job.parameters.get("filters") or {}).get("include_pii"))}))
    return send_file(path, as_attachment=True, download_name=job.download_name, mimetype=mimetype)


# ----------------------------------------------------------------------------- audit log

AUDIT_PER_PAGE = 50
AUDIT_COLUMNS = ("id", "at", "actor", "actor_user_id", "action", "project_id", "target_type",
                 "target_id", "details", "ip_hash")


def _audit_filters() -> tuple[dict, list[str]]:
    """The audit page's filters from the query string, and messages for those refused
    (a bad date or project is left out and said so, never a 500)."""
    args, problems = request.args, []
    filters = {"action": args.get("action", "").strip()[:100],
               "actor": args.get("user", "").strip()[:254]}
    project = args.get("project", "").strip()
    if project:
        if project.isdigit() and len(project) < 10:
            filters["project_id"] = int(project)
        else:
            problems.append(_("Choose a project from the list."))
    for name in ("since", "until"):
        value = args.get(name, "").strip()
        if value:
            try:
                filters[name] = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(_("Write dates as YYYY-MM-DD."))
    return filters, problems


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    """Who did what: the audit log, newest first, filtered; read-only (nothing here edits)."""
    filters, problems = _audit_filters()
    for problem in dict.fromkeys(problems):
        flash(problem)
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10 ** 6))
    events, total = queries.audit.audit_events(page=page, per_page=AUDIT_PER_PAGE, **filters)
    pages = max(1, -(-total // AUDIT_PER_PAGE))
    query = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("staff/audit.html", events=events, total=total, page=page,
                           pages=pages, query=query, projects=queries.projects.projects(),
                           names={p.id: p.name for p in queries.projects.projects()})


@bp.get("/audit.csv")
@roles_required("admin")
def audit_csv():
    """The filtered audit log as CSV (UTF-8 with BOM; every field formula-escaped)."""
    import json
    from surveyapp.domain.workbook import write_csv
    filters, problems = _audit_filters()
    if problems:
        for problem in dict.fromkeys(problems):
            flash(problem)
        return redirect(url_for(".audit_log"))
    output = tempfile.TemporaryFile()
    text = io.TextIOWrapper(output, encoding="utf-8-sig", newline="")
    rows = ((e.id, e.at, e.actor, e.actor_user_id, e.action, e.project_id, e.target_type,
             e.target_id, json.dumps(e.details, ensure_ascii=False, sort_keys=True), e.ip_hash)
            for e in queries.audit.all_audit_events(**filters))
    written = write_csv(AUDIT_COLUMNS, rows, text)
    text.flush()
    text.detach()
    # Reading the log out is recorded too: the export leaves the app.
    operations.transaction(lambda: audit.record(
        "audit.exported", **requester(), target_type="audit_log",
        details={"rows": written, **{k: str(v) for k, v in filters.items() if v}}))
    output.seek(0)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    return send_file(output, as_attachment=True, download_name=f"audit-{stamp}.csv",
                     mimetype="text/csv")
