"""Forms posted by someone whose login expired wait in the database until they sign back in.

``hold_and_login()`` keeps the posted fields (never the CSRF token) and sends the user
to sign in; the page they come back to calls ``take_held_form()`` and shows the text
again in a fresh form. Nothing typed is lost to an expired session.

Only a browser that was signed in (``SIGNED_IN_AS`` in its session, set at sign-in,
cleared at sign-out) gets a form held, and only that same user gets it back: an
anonymous POST keeps nothing. The writes and their caps are operations.auth's.
"""
from __future__ import annotations

from flask import redirect, request, session, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from surveyapp import operations
from surveyapp.extensions import limiter
from surveyapp.urls import safe_next

SIGNED_IN_AS = "signed_in_as"
HOLD_LIMIT = "20/minute"


def hold_and_login():
    """Send an anonymous user to sign in; keep what a POST carried for the page it came from.

    Staff forms carry ``back``, the path of the page they are on: that is where the
    user returns after signing in, and where the held text is shown again.
    """
    if request.method != "POST":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    page = safe_next(request.form.get("back")) or url_for("staff.home")
    user_id = session.get(SIGNED_IN_AS)
    if request.form and isinstance(user_id, int):
        with limiter.limit(HOLD_LIMIT):
            data = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
            token = operations.transaction(
                lambda: operations.auth.hold_form(user_id, page.split("?")[0], data))
        if token:
            session["held_form"] = token
    return redirect(url_for("auth.login", next=page))


def take_held_form(path: str | None = None) -> MultiDict | None:
    """The fields held for this page (``request.path``) and this user, once; None if none."""
    token = session.get("held_form")
    if not token or not current_user.is_authenticated:
        return None
    data = operations.transaction(
        lambda: operations.auth.take_held_form(token, current_user.id, path or request.path))
    if data is None:
        return None
    session.pop("held_form")
    return MultiDict([(key, value) for key, values in data.items() for value in values])
