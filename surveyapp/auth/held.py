"""Forms posted by someone whose login expired wait in the database until they sign back in.

``hold_and_login()`` keeps the posted fields (never the CSRF token) and sends the user
to sign in; the page they come back to calls ``take_held_form()`` and shows the text
again in a fresh form. Nothing typed is lost to an expired session.
"""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask import redirect, request, session, url_for
from werkzeug.datastructures import MultiDict

from surveyapp.extensions import db
from surveyapp.models import HeldForm, utcnow
from surveyapp.urls import safe_next

KEEP_FOR = dt.timedelta(days=7)


def hold_and_login():
    """Send an anonymous user to sign in; keep what a POST carried for the page it came from.

    Staff forms carry ``back``, the path of the page they are on: that is where the
    user returns after signing in, and where the held text is shown again.
    """
    if request.method != "POST":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    page = safe_next(request.form.get("back")) or url_for("staff.home")
    if request.form:
        token = secrets.token_urlsafe(32)
        data = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
        db.session.execute(sa.delete(HeldForm).where(HeldForm.created_at < utcnow() - KEEP_FOR))
        db.session.add(HeldForm(token=token, path=page.split("?")[0], data=data))
        db.session.commit()
        session["held_form"] = token
    return redirect(url_for("auth.login", next=page))


def take_held_form(path: str | None = None) -> MultiDict | None:
    """The fields held for this page (``request.path``), once; None if there are none."""
    token = session.get("held_form")
    if not token:
        return None
    held = db.session.get(HeldForm, token)
    if held is None or held.path != (path or request.path):
        return None
    session.pop("held_form")
    data = MultiDict([(key, value) for key, values in held.data.items() for value in values])
    db.session.delete(held)
    db.session.commit()
    return data
