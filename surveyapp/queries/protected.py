"""The dashboard's figures as tallies for disclosure control: the same grouped selects as
``queries.dashboard``, with ``SUM(responses.record_key)`` beside each ``COUNT(*)``.

Each function returns what its namesake in ``queries.dashboard`` does, a
``domain.disclosure.Tally`` (n, key sum) in place of each count, so that the same code
folds days into weeks and combinations into choices (tallies add like counts) and a
partner's page rounds every cell by its own records (domain.disclosure). Analysts' own
pages keep the exact counts of ``queries.dashboard``.
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from surveyapp.domain.disclosure import Tally
from surveyapp.extensions import db
from surveyapp.models import Campaign, Response
from surveyapp.queries.dashboard import _responses_in

COUNT = sa.func.count()
KEYS = sa.func.coalesce(sa.func.sum(Response.record_key), 0)


def _tally(n, keys) -> Tally:
    return Tally(int(n), int(keys or 0))


def responses_per_day(project_id: int, campaign_id: int | None = None,
                      instrument_id: str | None = None) -> list[tuple[dt.date, Tally]]:
    """Responses started each day (UTC), oldest first."""
    day = sa.func.date(Response.started_at)
    query = (sa.select(day, COUNT, KEYS).select_from(Response)
             .join(Campaign, Campaign.id == Response.campaign_id)
             .where(*_responses_in(project_id, campaign_id, instrument_id))
             .group_by(day).order_by(day))
    rows = []
    for value, n, keys in db.session.execute(query):
        if value is not None:
            rows.append((value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]),
                         _tally(n, keys)))
    return rows


def status_counts(project_id: int, campaign_id: int | None = None,
                  instrument_id: str | None = None) -> dict[str, Tally]:
    """Complete and partial responses of the project (or one campaign, or one questionnaire)."""
    counts = {"partial": Tally(), "complete": Tally()}
    for status, n, keys in db.session.execute(
            sa.select(Response.status, COUNT, KEYS).select_from(Response)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(*_responses_in(project_id, campaign_id, instrument_id))
            .group_by(Response.status)):
        counts[status] = _tally(n, keys)
    return counts


def drop_off(project_id: int, campaign_id: int | None = None,
             instrument_id: str | None = None) -> list[tuple[str | None, Tally]]:
    """Partial responses by the page they last reached (None: not stored), most first."""
    return [(page, _tally(n, keys)) for page, n, keys in db.session.execute(
        sa.select(Response.current_page, COUNT, KEYS).select_from(Response)
        .join(Campaign, Campaign.id == Response.campaign_id)
        .where(*_responses_in(project_id, campaign_id, instrument_id), Response.status == "partial")
        .group_by(Response.current_page).order_by(COUNT.desc(), Response.current_page))]


def answer_counts(project_id: int, instrument_id: str, keys: list[str],
                  campaign_id: int | None = None) -> dict[str, list[tuple[object, Tally]]]:
    """Per answer key, the complete responses grouped by the stored value (see
    ``queries.dashboard.answer_counts``): ``[(value, tally)]``. A select_multiple
    combination's tally adds to each choice it holds, as its count does."""
    wanted = set(keys)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    each = (sa.func.jsonb_each(Response.answers) if postgres else sa.func.json_each(Response.answers)
            ).table_valued("key", "value", *(() if postgres else ("type",))).alias("entry")
    kind = sa.literal("") if postgres else each.c.type
    query = (sa.select(each.c.key, each.c.value, kind, COUNT, KEYS)
             .select_from(Response).join(Campaign, Campaign.id == Response.campaign_id).join(each, sa.true())
             .where(*_responses_in(project_id, campaign_id, instrument_id),
                    Response.status == "complete", each.c.key.in_(wanted))
             .group_by(each.c.key, each.c.value, kind))
    counts: dict[str, list[tuple[object, Tally]]] = {key: [] for key in keys}
    for key, value, value_type, n, key_sum in db.session.execute(query):
        if not postgres and value_type in ("array", "object"):
            value = json.loads(value)  # SQLite hands nested JSON back as its text
        if value is not None:
            counts[key].append((value, _tally(n, key_sum)))
    return counts


def response_tallies(campaign_id: int) -> dict[str, Tally]:
    """A campaign's responses by status (what ``queries.campaigns.response_counts`` counts)."""
    counts = {"partial": Tally(), "complete": Tally()}
    for status, n, keys in db.session.execute(
            sa.select(Response.status, COUNT, KEYS).where(Response.campaign_id == campaign_id)
            .group_by(Response.status)):
        counts[status] = _tally(n, keys)
    return counts


def record_keys(model, ids) -> dict:
    """``{id: record_key}`` of the given rows of ``model`` (Response or Segment), in chunks."""
    ids = list(ids)
    found = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        found.update(db.session.execute(
            sa.select(model.id, model.record_key).where(model.id.in_(chunk))).all())
    return found
