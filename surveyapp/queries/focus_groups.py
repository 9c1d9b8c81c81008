"""Focus-group sessions and interviews: which a reader may see, and the lists the session
pages filter by. A session's kind is its guide's (``focus_group`` or ``interview``)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from surveyapp.extensions import db
from surveyapp.models import FocusGroup, InstrumentVersion, User
from surveyapp.queries.projects import scope_of, staff_with_role


def focus_groups_visible_to(user: User | None):
    """A WHERE clause: the sessions ``user`` may read. Facilitators read their projects'
    sessions; analysts only the finalised (redacted) ones; admins (and the CLI) all."""
    if user is None or user.is_admin:
        return sa.true()
    return sa.or_(FocusGroup.project_id.in_(user.project_ids("facilitator")),
                  sa.and_(FocusGroup.project_id.in_(user.project_ids("analyst")),
                          FocusGroup.status == "finalised"))


def may_read_focus_group(user: User, focus_group: FocusGroup) -> bool:
    if user.is_admin or focus_group.project_id in user.project_ids("facilitator"):
        return True
    return focus_group.status == "finalised" and focus_group.project_id in user.project_ids("analyst")


def of_kind(kind: str):
    """A WHERE clause: the sessions whose guide is of ``kind`` ('focus_group', 'interview')."""
    return FocusGroup.guide_version_id.in_(
        sa.select(InstrumentVersion.id).where(InstrumentVersion.kind == kind))


def recent_focus_groups(limit: int | None = None, *, user: User | None = None,
                    kind: str | None = None, **filters) -> list[FocusGroup]:
    """The sessions ``user`` may read (see focus_groups_visible_to), newest first, each with
    its guide version loaded; filter by kind (of the guide), site_id, wave and guide_id."""
    query = sa.select(FocusGroup).where(focus_groups_visible_to(user)).order_by(
        FocusGroup.held_on.desc(), FocusGroup.id.desc()).options(
        joinedload(FocusGroup.guide_version).load_only(InstrumentVersion.kind, InstrumentVersion.title))
    if kind:
        query = query.where(of_kind(kind))
    for name, value in filters.items():
        if value not in (None, ""):
            query = query.where(getattr(FocusGroup, name) == value)
    return list(db.session.scalars(query.limit(limit)))


def focus_group_waves(user: User | None = None) -> list[str]:
    return list(db.session.scalars(sa.select(FocusGroup.wave).distinct()
                                   .where(focus_groups_visible_to(user))
                                   .order_by(FocusGroup.wave)))


def focus_group_facilitators_for(user: User) -> list[User]:
    """Who ``user`` may name as a session's facilitators: admins, and the facilitators of
    the projects ``user`` facilitates (everyone's, for an admin). Other projects' staff
    stay unlisted."""
    people = staff_with_role("facilitator", "admin")
    scope = scope_of(user, "facilitator")
    if scope is None:
        return people
    return [u for u in people if u.is_admin or u.project_ids("facilitator") & scope]
