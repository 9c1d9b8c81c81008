"""Who may use which route. Every route declares it, with @public or @roles_required.

A test walks ``app.url_map`` and fails on any route that declares neither, so a
route added later cannot forget. Anonymous users are sent to the login page (401
on the API); signed-in users without one of the roles get 403.

Admin is a global role; facilitator and analyst are held per project. The route
decorator lets in a user holding the role in any project; the view then checks the
object's project with ``require_project`` (404 to a non-member, so ids reveal nothing;
403 to a member in another role), and listings read only ``queries.projects.scope_of`` the user.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from surveyapp.models import ROLES


def requester() -> dict:
    """Who asks, as the operations that record an audit event take it: ``actor``, the
    signed-in user (None if nobody is), and ``ip``, the client address (the audit log
    keeps only a keyed hash of it). Views call ``operation(..., **requester())``."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    return {"actor": user, "ip": request.remote_addr}


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


def require_project(project_id: int, *roles: str) -> None:
    """Abort unless the current user is an admin or holds one of ``roles`` in the project."""
    if current_user.is_admin or project_id in current_user.project_ids(*roles):
        return
    abort(403 if project_id in current_user.project_ids(*ROLES) else 404)


def may_in(project_id: int, *roles: str) -> bool:
    """Whether the current user is an admin or holds one of ``roles`` in the project."""
    return current_user.is_authenticated and (
        current_user.is_admin or project_id in current_user.project_ids(*roles))


def may(*roles: str) -> bool:
    """Whether the current user holds one of ``roles`` (for showing links and buttons)."""
    return current_user.is_authenticated and bool(current_user.role_set & set(roles))
