"""The project dashboard's figures: responses per day, status, drop-off, answer counts."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Campaign, Response


def _responses_in(project_id: int, campaign_id: int | None, instrument_id: str | None = None):
    """WHERE clauses: the responses of a project's campaigns (one campaign, one instrument)."""
    clauses = [Campaign.project_id == project_id]
    if campaign_id is not None:
        clauses.append(Campaign.id == campaign_id)
    if instrument_id is not None:
        clauses.append(Campaign.instrument_id == instrument_id)
    return clauses


def responses_per_day(project_id: int, campaign_id: int | None = None,
                      instrument_id: str | None = None) -> list[tuple[dt.date, int]]:
    """How many responses were started each day (UTC), oldest first, in one grouped select;
    of one campaign, or of the project's campaigns of one questionnaire."""
    # date() exists on both SQLite (a 'YYYY-MM-DD' string) and PostgreSQL (a date).
    day = sa.func.date(Response.started_at)
    query = (sa.select(day, sa.func.count()).select_from(Response)
             .join(Campaign, Campaign.id == Response.campaign_id)
             .where(*_responses_in(project_id, campaign_id, instrument_id))
             .group_by(day).order_by(day))
    rows = []
    for value, count in db.session.execute(query):
        if value is not None:
            rows.append((value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]),
                         count))
    return rows


def status_counts(project_id: int, campaign_id: int | None = None,
                  instrument_id: str | None = None) -> dict[str, int]:
    """Complete and partial responses of the project (or one campaign, or one questionnaire)."""
    counts = {"partial": 0, "complete": 0}
    counts.update(dict(db.session.execute(
        sa.select(Response.status, sa.func.count()).select_from(Response)
        .join(Campaign, Campaign.id == Response.campaign_id)
        .where(*_responses_in(project_id, campaign_id, instrument_id))
        .group_by(Response.status)).all()))
    return counts


def drop_off(project_id: int, campaign_id: int | None = None,
             instrument_id: str | None = None) -> list[tuple[str | None, int]]:
    """Partial responses by the page they last reached (None: not stored), most first."""
    count = sa.func.count()
    return [tuple(row) for row in db.session.execute(
        sa.select(Response.current_page, count).select_from(Response)
        .join(Campaign, Campaign.id == Response.campaign_id)
        .where(*_responses_in(project_id, campaign_id, instrument_id), Response.status == "partial")
        .group_by(Response.current_page).order_by(count.desc(), Response.current_page))]


def answer_counts(project_id: int, instrument_id: str, keys: list[str],
                  campaign_id: int | None = None) -> dict[str, list[tuple[object, int]]]:
    """Per answer key, the complete responses grouped by the stored value: ``[(value, n)]``.

    One grouped select over the documents' top-level entries (json_each on SQLite,
    jsonb_each on PostgreSQL): each document is parsed once, where a select per key
    re-parsed every document for every key (11 s against 0.2 s at 5,000 responses).
    A select_multiple value is its list, so its combinations come back, few as they
    are; the caller counts choices."""
    wanted = set(keys)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    each = (sa.func.jsonb_each(Response.answers) if postgres else sa.func.json_each(Response.answers)
            ).table_valued("key", "value", *(() if postgres else ("type",))).alias("entry")
    kind = sa.literal("") if postgres else each.c.type
    query = (sa.select(each.c.key, each.c.value, kind, sa.func.count())
             .select_from(Response).join(Campaign, Campaign.id == Response.campaign_id).join(each, sa.true())
             .where(*_responses_in(project_id, campaign_id, instrument_id),
                    Response.status == "complete", each.c.key.in_(wanted))
             .group_by(each.c.key, each.c.value, kind))
    counts: dict[str, list[tuple[object, int]]] = {key: [] for key in keys}
    for key, value, value_type, n in db.session.execute(query):
        if not postgres and value_type in ("array", "object"):
            value = json.loads(value)  # SQLite hands nested JSON back as its text
        if value is not None:
            counts[key].append((value, n))
    return counts
