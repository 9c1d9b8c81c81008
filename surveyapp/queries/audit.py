"""The audit log as the admin pages and the CSV read it."""
from __future__ import annotations

import datetime as dt
from typing import Iterator

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import AuditEvent


def _audit_query(*, action: str = "", actor: str = "", project_id: int | None = None,
                 since: dt.date | None = None, until: dt.date | None = None):
    """The audit events matching the filters: ``action`` a prefix ("campaign." or
    "campaign.created"), ``actor`` a part of the actor's label (case-insensitive),
    ``since``/``until`` whole days (UTC), both ends included."""
    query = sa.select(AuditEvent)
    if action:
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEvent.action.like(escaped + "%", escape="\\"))
    if actor:
        escaped = actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(sa.func.lower(AuditEvent.actor).like(f"%{escaped}%", escape="\\"))
    if project_id is not None:
        query = query.where(AuditEvent.project_id == project_id)
    if since is not None:
        query = query.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), dt.timezone.utc))
    if until is not None:
        query = query.where(AuditEvent.at < dt.datetime.combine(
            until + dt.timedelta(days=1), dt.time(), dt.timezone.utc))
    return query


def audit_events(*, page: int = 1, per_page: int = 50, **filters) -> tuple[list, int]:
    """One page of the matching audit events, newest first, and how many match."""
    query = _audit_query(**filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc())
                              .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def all_audit_events(**filters) -> Iterator:
    """Every matching audit event, newest first, read in batches (for the CSV)."""
    yield from db.session.scalars(_audit_query(**filters).order_by(AuditEvent.id.desc())
                                  .execution_options(yield_per=1000))
