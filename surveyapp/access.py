"""Who may use which route. Every route declares it, with @public or @roles_required.

A test walks ``app.url_map`` and fails on any route that declares neither, so a
route added later cannot forget. Anonymous users are sent to the login page (401
on the API); signed-in users without one of the roles get 403.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from surveyapp.models import ROLES


def public(view):
    """Anyone may use this route (respondent pages, the submission API, login)."""
    view.access = "public"
    return view


def roles_required(*roles: str):
    """Only signed-in users holding at least one of ``roles`` may use this route."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}; known: {ROLES}")

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                from surveyapp.auth.held import hold_and_login
                return hold_and_login()
            if not current_user.role_set & set(roles):
                abort(403)
            return view(*args, **kwargs)

        guarded.access = frozenset(roles)
        return guarded

    return decorate


def signed_in(view):
    """Any signed-in staff member (log out, change one's own password)."""
    return roles_required(*ROLES)(view)


def may(*roles: str) -> bool:
    """Whether the current user holds one of ``roles`` (for showing links and buttons)."""
    return current_user.is_authenticated and bool(current_user.role_set & set(roles))
