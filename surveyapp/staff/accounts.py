"""Staff accounts: admins make and change them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import operations, queries
from surveyapp.access import requester, roles_required
from surveyapp.extensions import db
from surveyapp.models import Project, User
from surveyapp.staff import bp
from surveyapp.staff.forms import UserEditForm, UserForm, options


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
