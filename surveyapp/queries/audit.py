"""The audit log (changes) and the view log (reads) as the admin pages and the CSVs read them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import AuditEvent, User, ViewEvent


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


# ----------------------------------------------------------------------------- view events
# Who read what (models.ViewEvent). At a million rows the page never counts or skips rows
# it does not show: every filter has an index ending in (at, id), and pages follow each
# other by keyset (the row after the last one shown), never OFFSET, which reads and
# throws away every row before the page.

VIEW_COUNT_CAP = 10_000  # the page says "10,000 or more" rather than count a million rows


@dataclass(frozen=True)
class ViewFilters:
    """The view log's filters; empty ones do not filter. Dates are whole UTC days, both
    ends included."""
    user_id: int | None = None
    action: str = ""
    object_kind: str = ""
    object_id: str = ""
    project_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def active(self) -> dict:
        return {k: v for k, v in vars(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class ViewPage:
    """One page of view events, newest first; ``newer``/``older`` are the cursors (event
    ids) of the pages either side, None at either end."""
    events: list
    newer: int | None
    older: int | None


def _view_query(filters: ViewFilters, columns=(ViewEvent,)):
    """The matching events, each filter served by its index: the most selective equality
    filter present leads (an object, else a user, a project, an action), and its index
    (column, at, id) gives the page's order with no sort; the others filter its rows."""
    query = sa.select(*columns).select_from(ViewEvent)
    equalities = [(ViewEvent.object_id, filters.object_id if filters.object_kind else ""),
                  (ViewEvent.user_id, filters.user_id), (ViewEvent.project_id, filters.project_id),
                  (ViewEvent.action, filters.action)]
    leader = next((column for column, value in equalities if value not in (None, "")), None)
    for column, value in equalities:
        if value not in (None, ""):
            query = query.where((column if column is leader else _filter_only(column)) == value)
    if filters.object_kind:
        kind = ViewEvent.object_kind if leader is ViewEvent.object_id else _filter_only(ViewEvent.object_kind)
        query = query.where(kind == filters.object_kind)
    if filters.since is not None:
        query = query.where(ViewEvent.at >= dt.datetime.combine(filters.since, dt.time(), dt.timezone.utc))
    if filters.until is not None:
        query = query.where(ViewEvent.at < dt.datetime.combine(
            filters.until + dt.timedelta(days=1), dt.time(), dt.timezone.utc))
    return query


def _filter_only(column):
    """``column`` as a filter that no index serves, on SQLite.

    Why: without ANALYZE statistics (the app never runs it) SQLite guesses every index
    alike and took the action index for "user 17's downloads": 50,000 downloads read to
    find one user's 250 (452 ms at a million events), where the user's index reads 5,000.
    A unary + is SQLite's documented way to keep a term off the indexes
    (sqlite.org/optoverview.html). PostgreSQL keeps statistics and chooses for itself.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        return column
    return sa.literal_column(f"+{ViewEvent.__tablename__}.{column.key}", type_=column.type)


def _position(event_id: int | None) -> tuple | None:
    """(at, id) of the event a cursor names, or None (no cursor, or no such event)."""
    if event_id is None:
        return None
    at = db.session.scalar(sa.select(ViewEvent.at).where(ViewEvent.id == event_id))
    return None if at is None else (at, event_id)


def _key_compare(position: tuple, older: bool):
    """(at, id) before or after ``position``, as a row value, which both databases answer
    from the index that ends in (at, id)."""
    key = sa.tuple_(ViewEvent.at, ViewEvent.id)
    bound = sa.tuple_(sa.literal(position[0], ViewEvent.at.type), sa.literal(position[1], ViewEvent.id.type))
    return key < bound if older else key > bound


def view_events(filters: ViewFilters, *, before: int | None = None, after: int | None = None,
                per_page: int = 50) -> ViewPage:
    """The page of matching events just older than event ``before``, or just newer than
    event ``after``, or the newest page (a cursor naming no event counts as none)."""
    query = _view_query(filters)
    newest_first = (ViewEvent.at.desc(), ViewEvent.id.desc())
    position = _position(after)
    if position is not None:
        rows = list(db.session.scalars(query.where(_key_compare(position, older=False))
                                       .order_by(ViewEvent.at, ViewEvent.id).limit(per_page + 1)))
        more, rows = len(rows) > per_page, rows[:per_page][::-1]
        if not rows:  # nothing newer: the newest page
            return view_events(filters, per_page=per_page)
        return ViewPage(rows, rows[0].id if more else None, rows[-1].id)
    position = _position(before)
    if position is not None:
        query = query.where(_key_compare(position, older=True))
    rows = list(db.session.scalars(query.order_by(*newest_first).limit(per_page + 1)))
    more, rows = len(rows) > per_page, rows[:per_page]
    newer = rows[0].id if position is not None and rows else None
    return ViewPage(rows, newer, rows[-1].id if more else None)


def count_view_events(filters: ViewFilters, *, cap: int = VIEW_COUNT_CAP) -> int:
    """How many events match, counted up to ``cap`` + 1 (more than ``cap`` reads "cap or
    more": counting a million rows exactly would cost more than the page itself)."""
    limited = _view_query(filters, (ViewEvent.id,)).limit(cap + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(limited))


VIEW_COLUMNS = ("id", "at", "actor", "user_id", "action", "object_kind", "object_id",
                "project_id", "scope", "count", "ip_hash")


def all_view_events(filters: ViewFilters, *, batch: int = 1000) -> Iterator[tuple]:
    """Every matching event as a VIEW_COLUMNS tuple, newest first, read a keyset batch at
    a time (plain rows, not objects: a CSV of a million events stays small in memory)."""
    columns = [getattr(ViewEvent, name) for name in VIEW_COLUMNS]
    query = _view_query(filters, columns).order_by(ViewEvent.at.desc(), ViewEvent.id.desc())
    position = None
    while True:
        page = query if position is None else query.where(_key_compare(position, older=True))
        rows = db.session.execute(page.limit(batch)).all()
        yield from (tuple(row) for row in rows)
        if len(rows) < batch:
            return
        position = (rows[-1].at, rows[-1].id)


def view_readers() -> list[tuple[int, str]]:
    """(id, email) of every account, for the page's user filter."""
    return [tuple(row) for row in db.session.execute(sa.select(User.id, User.email).order_by(User.email))]
