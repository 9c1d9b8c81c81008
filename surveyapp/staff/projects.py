"""Projects (their waves and members) and sites: admins make and change them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import operations, queries
from surveyapp.access import requester, roles_required
from surveyapp.extensions import db
from surveyapp.models import Project, ProjectMember, User
from surveyapp.staff import bp
from surveyapp.staff.common import STAFF
from surveyapp.staff.forms import ActionForm, MemberForm, ProjectForm, SiteForm, WavesForm, options


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
