"""Focus-group sessions: which a reader may see, and the lists the session pages filter by."""
from __future__ import annotations

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import FocusGroupSession, User
from surveyapp.queries.projects import scope_of, staff_with_role


def sessions_visible_to(user: User | None):
    """A WHERE clause: the sessions ``user`` may read. Facilitators read their projects'
    sessions; analysts only the finalised (redacted) ones; admins (and the CLI) all."""
    if user is None or user.is_admin:
        return sa.true()
    return sa.or_(FocusGroupSession.project_id.in_(user.project_ids("facilitator")),
                  sa.and_(FocusGroupSession.project_id.in_(user.project_ids("analyst")),
                          FocusGroupSession.status == "finalised"))


def may_read_session(user: User, session: FocusGroupSession) -> bool:
    if user.is_admin or session.project_id in user.project_ids("facilitator"):
        return True
    return session.status == "finalised" and session.project_id in user.project_ids("analyst")


def recent_sessions(limit: int | None = None, *, user: User | None = None,
                    **filters) -> list[FocusGroupSession]:
    """The sessions ``user`` may read (see sessions_visible_to), newest first; filter by
    site_id, wave and guide_id."""
    query = sa.select(FocusGroupSession).where(sessions_visible_to(user)).order_by(
        FocusGroupSession.held_on.desc(), FocusGroupSession.id.desc())
    for name, value in filters.items():
        if value not in (None, ""):
            query = query.where(getattr(FocusGroupSession, name) == value)
    return list(db.session.scalars(query.limit(limit)))


def session_waves(user: User | None = None) -> list[str]:
    return list(db.session.scalars(sa.select(FocusGroupSession.wave).distinct()
                                   .where(sessions_visible_to(user))
                                   .order_by(FocusGroupSession.wave)))


def session_facilitators_for(user: User) -> list[User]:
    """Who ``user`` may name as a session's facilitators: admins, and the facilitators of
    the projects ``user`` facilitates (everyone's, for an admin). Other projects' staff
    stay unlisted."""
    people = staff_with_role("facilitator", "admin")
    scope = scope_of(user, "facilitator")
    if scope is None:
        return people
    return [u for u in people if u.is_admin or u.project_ids("facilitator") & scope]
