"""Projects, their sites and staff, and which projects a reader may see."""
from __future__ import annotations

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Project, Site, User


STAFF_ROLES = ("facilitator", "analyst")


def scope_of(user: User, *roles: str) -> set[int] | None:
    """The ids of the projects ``user`` may read with one of ``roles`` (any project role by
    default); None means every project (an admin, or the CLI, which passes no user)."""
    if user is None or user.is_admin:
        return None
    return user.project_ids(*(roles or STAFF_ROLES))


def in_scope(column, scope: set[int] | None):
    return sa.true() if scope is None else column.in_(scope)


def projects(scope: set[int] | None = None) -> list[Project]:
    return list(db.session.scalars(sa.select(Project).where(in_scope(Project.id, scope))
                                   .order_by(Project.name)))


def all_sites(scope: set[int] | None = None) -> list[Site]:
    """The sites of the projects in ``scope`` (None: every site)."""
    return list(db.session.scalars(sa.select(Site).where(in_scope(Site.project_id, scope))
                                   .order_by(Site.name, Site.id)))


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def staff_with_role(*roles: str, project_id: int | None = None) -> list[User]:
    """Active users holding one of ``roles`` (in ``project_id``, if given; admins always)."""
    users = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.email))
    if project_id is None:
        return [u for u in users if u.role_set & set(roles)]
    return [u for u in users if ("admin" in roles and u.is_admin)
            or project_id in u.project_ids(*roles)]
