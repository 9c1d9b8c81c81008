"""Staff accounts."""
from __future__ import annotations

from typing import Iterable

from surveyapp.extensions import db
from surveyapp.models import User


def create_user(email: str, password: str, roles: Iterable[str]) -> User:
    user = User(email=email.strip().lower(), roles=",".join(sorted(set(roles))))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, email: str, roles: Iterable[str], active: bool,
                password: str | None = None) -> None:
    user.email = email.strip().lower()
    user.roles = ",".join(sorted(set(roles)))
    user.active = active
    if password:
        user.set_password(password)
        user.session_epoch = (user.session_epoch or 0) + 1  # a reset password ends their sessions
    db.session.flush()
