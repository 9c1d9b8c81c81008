"""Background jobs seen from the staff pages: a campaign's or a project's export started
as a job, its page, its progress and its download."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import jobs, operations, queries
from surveyapp.operations import audit
from surveyapp.access import require_project, requester, roles_required
from surveyapp.extensions import db
from surveyapp.domain.words import language_name
from surveyapp.i18n import wave_name
from surveyapp.models import Campaign, Project, Site
from surveyapp.staff import bp
from surveyapp.staff.common import ANALYSIS, campaign_export_filters, campaign_or_404
from surveyapp.staff.forms import ActionForm, ProjectExportForm


@bp.post("/campaigns/<int:campaign_id>/export-job")
@roles_required(*ANALYSIS)
def start_export(campaign_id):
    """Start the campaign's export as a background job (same options as the download
    route, sent as a form) and show its page."""
    campaign = campaign_or_404(campaign_id, *ANALYSIS)
    ActionForm().validate_on_submit() or abort(400)
    filters = campaign_export_filters(campaign, request.form)
    if filters is None:
        return redirect(url_for(".campaign", campaign_id=campaign.id))
    params = jobs.export_parameters(
        filters, csv=request.form.get("format") == "csv",
        scope=queries.projects.scope_of(current_user, "analyst"), generated_by=current_user.email)
    job = jobs.enqueue("export", params, user=current_user, project_id=campaign.project_id)
    operations.transaction(lambda: audit.record(
        "export.started", **requester(), project_id=campaign.project_id, target_type="job", target_id=job.id,
        details={"campaign_id": campaign.id, "status": filters.status, "pii": filters.include_pii,
                 "format": "csv" if params["csv"] else "xlsx"}))
    return redirect(url_for(".job", job_id=job.id))


@bp.app_errorhandler(jobs.JobRefused)
def job_refused(refusal):
    """A job refused by the user's quota (jobs.quotas), from any page that starts one: a
    429 whose Retry-After and page say when to try again."""
    return (render_template("staff/error.html", code=429, message=refusal.message), 429,
            {"Retry-After": str(refusal.retry_after)})


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
    page_language = str(get_locale())
    titles = queries.instruments.titles(
        dict.fromkeys([*languages, *(c.instrument_id for c in campaigns)]), page_language)
    form.instrument.choices = [(i, titles[i]) for i in languages]
    form.campaign.choices = [(0, _("All campaigns"))] + [
        (c.id, f"{c.code} · {titles[c.instrument_id]} · {c.site.name} · {wave_name(c.wave)}")
        for c in campaigns]
    form.sites.choices = [(site.id, site.name) for site in sites]
    form.waves.choices = [(wave, wave_name(wave)) for wave in project.waves]
    # Languages by name in the page's language (the value stays the code the export reads).
    form.language.choices = sorted(
        ((code, language_name(code, page_language))
         for code in {code for codes in languages.values() for code in codes}),
        key=lambda choice: choice[1])
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
    titles = queries.instruments.titles(list(languages), str(get_locale()))
    hint = "; ".join(f"{titles[i]}: {', '.join(language_name(c, str(get_locale())) for c in codes)}"
                     for i, codes in languages.items())
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
    filters = job.parameters.get("filters") or {}
    operations.transaction(lambda: audit.viewed(
        "export.download", ("campaign", filters["campaign_id"], job.project_id) if filters.get("campaign_id")
        else ("project", job.project_id, job.project_id), scope=f"job {job.id}",
        count=job.progress_total if job.kind == "export" else None, **requester()))
    return send_file(path, as_attachment=True, download_name=job.download_name, mimetype=mimetype)
