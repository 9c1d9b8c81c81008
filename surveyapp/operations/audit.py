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

``viewed`` records reads, not changes: who opened which response, transcript, theme page,
dashboard or file, in the view_events table (issue 22 item 3; see its docstring).
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app

from surveyapp.extensions import db
from surveyapp.models import AuditEvent, Campaign, FocusGroup, Job, Project, Response, User, ViewEvent

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


# What a person may be recorded reading (ViewEvent.action), in the order the admin page lists them.
VIEW_ACTIONS = (
    "response.read",     # one response's answers (count: answers shown)
    "responses.list",    # a campaign's list of responses (count: rows on the page)
    "transcript.read",   # a page of a focus group's transcript (scope: prompt; count: segments)
    "themes.read",       # a theme page with quotes (count: texts it reads)
    "themes.summary",    # the quote-free theme summary (count: themes shown)
    "dashboard.read",    # a campaign's or project's dashboard (scope: questionnaire; count: charts)
    "capacity.read",     # a project's capacity table (scope: questionnaire; count: cells)
    "results.read",      # the staff's results page, every candidate quote (count: quotes)
    "results.preview",   # the results preview (count: quotes shown)
    "export.download",   # an export file (scope: format or job; count: responses in it)
    "audit.export",      # the change log as CSV (count: rows)
    "views.export",      # this record of reads as CSV (count: rows)
)
_KINDS = {Project: "project", Campaign: "campaign", Response: "response",
          FocusGroup: "focus_group", Job: "job"}
MAX_OBJECT_ID = 200  # view_events.object_id
MAX_SCOPE = 100  # view_events.scope


def viewed(action: str, subject: Any, *, actor: Actor, ip: str | None,
           count: int | None = None, scope: Any = None) -> ViewEvent:
    """Add to the current transaction that ``actor`` read ``subject``: who, what, when and
    how much, never what (issue 22: counts only, no content).

    ``action`` is one of VIEW_ACTIONS. ``subject`` is the Project, Campaign, Response,
    FocusGroup or Job read (its kind, id and project are taken from it), or a tuple
    ``(kind, id, project_id)`` for what has no row of its own (a theme page is
    ``("question", "instrument/question", project_id)``). ``scope`` is an identifier from
    the URL that narrows it (a prompt id, a questionnaire id, "xlsx"); ``count`` how many
    answers, segments, texts, charts or responses the page or file held.

    The caller commits it before it shows the data (``operations.transaction``), in the
    request's only transaction: if the event cannot be written, the page fails rather than
    show data nobody will know was read. A record that drops events when the database is
    full or locked is the record someone wanting to read unseen would aim for; the cost is
    one indexed INSERT per page.
    """
    if action not in VIEW_ACTIONS:
        raise ValueError(f"unknown view action {action!r}; known: {VIEW_ACTIONS}")
    if isinstance(subject, tuple):
        kind, object_id, project_id = subject
    else:
        kind = _KINDS[type(subject)]
        object_id = subject.id
        project_id = (subject.id if isinstance(subject, Project) else
                      subject.campaign.project_id if isinstance(subject, Response) else
                      subject.project_id)
    if isinstance(actor, User):
        user_id, label = actor.id, actor.email
    else:
        user_id, label = None, (actor or ACTOR_SYSTEM)
    event = ViewEvent(
        action=action, user_id=user_id, actor=label[:MAX_LABEL], object_kind=kind,
        object_id=str(object_id)[:MAX_OBJECT_ID], project_id=project_id,
        scope=None if scope in (None, "") else str(scope)[:MAX_SCOPE],
        count=count, ip_hash=ip_hash(ip) if ip else None)
    db.session.add(event)
    db.session.flush()
    return event


def ip_hash(ip: str) -> str:
    """A keyed, irreversible stand-in for a client address (see the module docstring)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:32]

