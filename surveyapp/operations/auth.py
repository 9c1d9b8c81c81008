"""Sign-in bookkeeping and forms held while a login had expired.

Signing in, a failed sign-in, signing out and a password change are recorded in the
audit log ("auth.signed_in", "auth.sign_in_failed", "auth.signed_out",
"user.password_changed"); a failed sign-in keeps the email tried, never the password.

Ending sessions raises the user's ``session_epoch``, which every session and
remember-me cookie carries in its user id (``User.get_id``): cookies issued
before no longer name anyone. Held forms are bounded: only for a user whose
login expired, at most HELD_PER_USER each and HELD_OVERALL in all, each at most
HELD_MAX_CHARS of JSON, for KEEP_FOR.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import HeldForm, User, utcnow
from surveyapp.operations.audit import INTERNAL, Actor, record

KEEP_FOR = dt.timedelta(days=7)
HELD_MAX_CHARS = 1024 * 1024  # the request limit: a pasted transcript fits
HELD_PER_USER = 3
HELD_OVERALL = 100
HELD_PATH_CHARS = 500  # held_forms.path


def signed_in(user: User, *, ip: str | None) -> None:
    """Record that ``user`` signed in (the session itself is Flask-Login's)."""
    record("auth.signed_in", actor=user, ip=ip, target_type="user", target_id=user.id)


def sign_in_failed(email: str, user: User | None, *, reason: str, ip: str | None) -> None:
    """Record a refused sign-in as the email tried (``reason``: wrong_credentials or
    inactive), so an admin sees who was tried; never the password."""
    record("auth.sign_in_failed", actor=email or "?", ip=ip, target_type="user",
           target_id=user.id if user else None, details={"reason": reason})


def sign_out_everywhere(user: User, *, ip: str | None) -> None:
    """``end_every_session``, recorded as the user signing out."""
    end_every_session(user)
    record("auth.signed_out", actor=user, ip=ip, target_type="user", target_id=user.id)


def end_every_session(user: User) -> None:
    """Sign ``user`` out everywhere: every session and remember-me cookie stops working."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.flush()


def change_password(user: User, new_password: str, *, actor: Actor = INTERNAL,
                    ip: str | None = None) -> None:
    """Set the password and end every session; the caller signs the current one in again."""
    user.set_password(new_password)
    end_every_session(user)
    record("user.password_changed", actor=actor, ip=ip, target_type="user", target_id=user.id)


def hold_form(user_id: int, path: str, data: dict[str, list[str]]) -> str | None:
    """Keep ``data`` posted to ``path`` for ``user_id``; its token, or None if it cannot be kept.

    Too large, or every slot taken, means None. A user's oldest held forms make room
    for the newest; expired ones are deleted first.
    """
    db.session.execute(sa.delete(HeldForm).where(HeldForm.created_at < utcnow() - KEEP_FOR))
    if len(json.dumps(data)) > HELD_MAX_CHARS or len(path) > HELD_PATH_CHARS:
        return None
    if db.session.get(User, user_id) is None:  # a session outliving its account
        return None
    mine = db.session.scalars(sa.select(HeldForm.token).where(HeldForm.user_id == user_id)
                              .order_by(HeldForm.created_at.desc(), HeldForm.token)).all()
    stale = mine[HELD_PER_USER - 1:]
    if stale:
        db.session.execute(sa.delete(HeldForm).where(HeldForm.token.in_(stale)))
    if db.session.scalar(sa.select(sa.func.count()).select_from(HeldForm)) >= HELD_OVERALL:
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(HeldForm(token=token, user_id=user_id, path=path, data=data))
    db.session.flush()
    return token


def take_held_form(token: str, user_id: int, path: str) -> dict[str, list[str]] | None:
    """The data held under ``token`` for ``user_id`` at ``path``, deleted as it is given; else None."""
    held = db.session.get(HeldForm, token)
    if held is None or held.user_id != user_id or held.path != path:
        return None
    data = held.data
    db.session.delete(held)
    db.session.flush()
    return data
