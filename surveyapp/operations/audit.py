"""The audit log: who did what, when (issue 11 section 4).

``record`` adds one AuditEvent to the caller's unit of work, so it commits with the
change it describes and a rolled-back change leaves no event. Events are never
updated or deleted by the app; the database refuses it too (migration 0010_audit_events).

Each operation that changes something records its own event: it takes ``actor`` and
``ip`` (the client address; None from the command line) as keyword arguments, so the
view and the command that make the same change write the same event. An operation
called by another operation inside the same change is given ``actor=INTERNAL`` (the
default), which records nothing: the outer operation's event describes the change.
Views pass ``**access.requester()``; tests/test_architecture.py checks that every call
from a view or a command to such an operation names its actor.

The actor is a User (its email is kept as the label, so the event still reads right
after the account is renamed or deleted), or a label: "cli" for a command run without
``--as``, "system" for the app itself, or an attempted email for a failed sign-in.

Client addresses are personal data, so only a keyed hash is kept (HMAC-SHA256 with the
app's secret key, 32 hex digits): an admin can see that failed sign-ins came from one
source, nobody can read the address back, and a rotated secret key unlinks old events.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app

from surveyapp.extensions import db
from surveyapp.models import AuditEvent, User

ACTOR_CLI = "cli"
ACTOR_SYSTEM = "system"


class _Internal:
    """The actor of a write made inside another operation, whose event covers it."""

    def __repr__(self) -> str:
        return "INTERNAL"


INTERNAL: Any = _Internal()
Actor = User | str | None  # a User, a label ("cli", "system", an attempted email), or None
MAX_LABEL = 254  # audit_events.actor
MAX_TARGET_ID = 100  # audit_events.target_id


def record(action: str, *, actor: Actor, project_id: int | None = None,
           target_type: str | None = None, target_id: Any = None,
           details: dict | None = None, ip: str | None = None) -> AuditEvent | None:
    """Add an event for ``action`` (dotted, "campaign.created") to the current transaction.

    ``actor`` is a User, a label ("cli", "system", an attempted email), None (system),
    or INTERNAL (nothing is recorded: see the module docstring). ``details`` must be
    JSON-serialisable and hold no personal data (no removed text, answers or passwords):
    counts, ids, old and new status or names of things. Nothing is committed here; the
    caller's transaction commits or rolls back the event with the change.
    """
    if actor is INTERNAL:
        return None
    if isinstance(actor, User):
        actor_user_id, label = actor.id, actor.email
    else:
        actor_user_id, label = None, (actor or ACTOR_SYSTEM)
    event = AuditEvent(
        action=action, actor_user_id=actor_user_id, actor=label[:MAX_LABEL],
        project_id=project_id, target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:MAX_TARGET_ID],
        details=dict(details or {}), ip_hash=ip_hash(ip) if ip else None)
    db.session.add(event)
    return event


def ip_hash(ip: str) -> str:
    """A keyed, irreversible stand-in for a client address (see the module docstring)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:32]

