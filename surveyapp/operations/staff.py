"""Staff accounts, projects and their members. Each change records its audit event
("user.created", "user.updated", "project.created", "project.waves_changed",
"project.member_added", "project.member_removed"; see operations.audit); a call that
changes nothing records nothing."""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import DEFAULT_WAVES, PROJECT_ROLES, Project, ProjectMember, User
from surveyapp.operations.audit import INTERNAL, Actor, record

DEFAULT_PROJECT = "Default project"  # the name migration 0004_projects gives existing data
MAX_WAVE_LENGTH = 50


class ProjectError(ValueError):
    """A project change refused; ``code`` names the reason for the caller's message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def create_user(email: str, password: str, roles: Iterable[str],
                project: Project | None = None, *, actor: Actor = INTERNAL,
                ip: str | None = None) -> User:
    """An account. "admin" is global; facilitator and analyst are held in ``project``
    (the default project when none is given, as on a single-organisation server).
    Records "user.created" with the roles (never the password)."""
    roles = set(roles)
    user = User(email=email.strip().lower(), roles=",".join(sorted(roles - set(PROJECT_ROLES))))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if roles & set(PROJECT_ROLES):
        owner = project or default_project()
        for role in sorted(roles & set(PROJECT_ROLES)):
            add_member(owner, user, role)
    held_in = next((m.project_id for m in user.memberships), None)
    record("user.created", actor=actor, ip=ip, target_type="user", target_id=user.id,
           project_id=held_in, details={"roles": sorted(user.role_set)})
    return user


def update_user(user: User, *, email: str, roles: Iterable[str], active: bool,
                password: str | None = None, actor: Actor = INTERNAL,
                ip: str | None = None) -> None:
    """Change an account and its global role; project roles are changed on the project's
    page (add_member, remove_member), so they are ignored here. Records "user.updated"
    with what changed, [before, after] (and password_reset, never the password)."""
    before = {"admin": user.is_admin, "active": user.active, "email": user.email}
    user.email = email.strip().lower()
    user.roles = ",".join(sorted(set(roles) - set(PROJECT_ROLES)))
    user.active = active
    if password:
        user.set_password(password)
        user.session_epoch = (user.session_epoch or 0) + 1  # a reset password ends their sessions
    db.session.flush()
    after = {"admin": user.is_admin, "active": user.active, "email": user.email}
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if password:
        changed["password_reset"] = True
    record("user.updated", actor=actor, ip=ip, target_type="user", target_id=user.id,
           details=changed)


def project_by_name(name: str) -> Project | None:
    return db.session.scalar(sa.select(Project).where(Project.name == name.strip()))


def create_project(name: str, waves: Iterable[str] = DEFAULT_WAVES, *, actor: Actor = INTERNAL,
                   ip: str | None = None) -> Project:
    """A new project. Raises ProjectError("exists") if the name is taken."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ProjectError("bad_name", "a project name has 1 to 200 characters")
    if project_by_name(name) is not None:
        raise ProjectError("exists", f"a project named '{name}' exists already")
    project = Project(name=name, waves=clean_waves(waves))
    db.session.add(project)
    db.session.flush()
    record("project.created", actor=actor, ip=ip, project_id=project.id,
           target_type="project", target_id=project.id)
    return project


def default_project() -> Project:
    """The project that holds data created without naming one (made when first needed)."""
    return project_by_name(DEFAULT_PROJECT) or create_project(DEFAULT_PROJECT)


def clean_waves(waves: Iterable[str]) -> list[str]:
    """Wave names trimmed, in order; ProjectError if one is empty, too long or repeated."""
    cleaned = [w.strip() for w in waves if w.strip()]
    if not cleaned:
        raise ProjectError("no_waves", "a project needs at least one wave")
    if any(len(w) > MAX_WAVE_LENGTH for w in cleaned):
        raise ProjectError("wave_too_long", f"a wave name has at most {MAX_WAVE_LENGTH} characters")
    if len(set(cleaned)) != len(cleaned):
        raise ProjectError("repeated_wave", "each wave name may appear only once")
    return cleaned


def set_waves(project: Project, waves: Iterable[str], *, actor: Actor = INTERNAL,
              ip: str | None = None) -> None:
    """Replace the project's wave list. Existing campaigns keep the wave they were given."""
    project.waves = clean_waves(waves)
    db.session.flush()
    record("project.waves_changed", actor=actor, ip=ip, project_id=project.id,
           target_type="project", target_id=project.id, details={"waves": list(project.waves)})


def add_member(project: Project, user: User, role: str, *, actor: Actor = INTERNAL,
               ip: str | None = None) -> bool:
    """Give ``user`` ``role`` in ``project``; False if they held it already (no event)."""
    if role not in PROJECT_ROLES:
        raise ProjectError("bad_role", f"a project role is one of {', '.join(PROJECT_ROLES)}")
    if any(m.project_id == project.id and m.role == role for m in user.memberships):
        return False
    user.memberships.append(ProjectMember(project=project, role=role))
    db.session.flush()
    record("project.member_added", actor=actor, ip=ip, project_id=project.id,
           target_type="user", target_id=user.id, details={"role": role})
    return True


def remove_member(project: Project, user: User, role: str, *, actor: Actor = INTERNAL,
                  ip: str | None = None) -> bool:
    """Take ``role`` in ``project`` from ``user``; False if they did not hold it (no event)."""
    held = [m for m in user.memberships if m.project_id == project.id and m.role == role]
    if not held:
        return False
    for membership in held:
        user.memberships.remove(membership)
    db.session.flush()
    record("project.member_removed", actor=actor, ip=ip, project_id=project.id,
           target_type="user", target_id=user.id, details={"role": role})
    return True


def set_admin(user: User, admin: bool, *, actor: Actor = INTERNAL, ip: str | None = None) -> bool:
    """Give (``admin`` True) or take the global admin role; False if nothing changed (no
    event). Records "user.updated" with {"admin": [before, after]}, as the account page
    does. Refuses (ProjectError "last_admin") to take it from the last active admin:
    nobody could then make accounts or projects, from the web or the command line alike."""
    if user.is_admin == admin:
        return False
    if not admin and user.active and not any(
            other.id != user.id for other in _active_admins()):
        raise ProjectError("last_admin", f"{user.email} is the last active admin")
    update_user(user, email=user.email, roles=["admin"] if admin else [], active=user.active,
                actor=actor, ip=ip)
    return True


def _active_admins() -> list[User]:
    return [u for u in db.session.scalars(sa.select(User).where(User.active.is_(True)))
            if u.is_admin]
