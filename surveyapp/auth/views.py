"""Sign in, sign out, change one's password. Login is rate-limited per client address."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from surveyapp.forms import Form
from werkzeug.security import check_password_hash

from surveyapp import operations
from surveyapp.access import public, signed_in
from surveyapp.auth import bp
from surveyapp.auth.held import SIGNED_IN_AS
from surveyapp.auth.forms import LoginForm, PasswordChangeForm
from surveyapp.extensions import db, limiter
from surveyapp.models import User
from surveyapp.urls import safe_next

# Checked against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("staff.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(sa.select(User).where(User.email == email))
        valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, form.password.data)
        if user is not None and valid and user.active:
            login_user(user, remember=form.remember.data)
            operations.transaction(lambda: operations.auth.signed_in(user, ip=request.remote_addr))
            session[SIGNED_IN_AS] = user.id  # a later expired login may hold a form
            return redirect(safe_next(request.args.get("next")) or url_for("staff.home"))
        # The attempted email is kept (never the password) so an admin sees who was tried.
        reason = "inactive" if user is not None and valid else "wrong_credentials"
        operations.transaction(lambda: operations.auth.sign_in_failed(
            email, user, reason=reason, ip=request.remote_addr))
        form.password.errors.append(_("The email or the password is wrong."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@signed_in
def logout():
    if Form().validate_on_submit():
        # Signing out here signs out everywhere: other browsers and remember-me cookies too.
        user = current_user._get_current_object()
        operations.transaction(
            lambda: operations.auth.sign_out_everywhere(user, ip=request.remote_addr))
        logout_user()
        session.pop(SIGNED_IN_AS, None)
        flash(_("You are signed out."))
        return redirect(url_for(".login"))
    return redirect(url_for("staff.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            user = current_user._get_current_object()
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            operations.transaction(lambda: operations.auth.change_password(
                user, form.new.data, actor=user, ip=request.remote_addr))
            # Every other session has ended; this one continues under the new epoch.
            login_user(user, remember=remembered)
            flash(_("Your password is changed."))
            return redirect(url_for("staff.home"))
    return render_template("auth/password.html", form=form)
