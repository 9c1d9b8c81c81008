"""Capacity scores: stored when a response completes, and backfilled for older responses.

Scores belong to the instrument version the response was answered on: loading a new
version of an instrument recomputes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from surveyapp import queries
from surveyapp.domain.instruments import Instrument
from surveyapp.domain.scoring import score_response
from surveyapp.extensions import db
from surveyapp.models import Response, ResponseScore
from surveyapp.operations.transactions import insert_or_nothing


def store_scores(response_id: int, instrument: Instrument, answers: Mapping[str, Any]) -> int:
    """Store the response's score in every domain of ``instrument``; return how many rows
    were added. Scores already stored are kept (ON CONFLICT DO NOTHING), so a backfill
    racing a completion, or a retry, adds each once."""
    rows = [{"response_id": response_id, "domain_id": domain_id, "score": result.score,
             "n_items": result.n_items}
            for domain_id, result in score_response(instrument, answers).items()]
    if not rows:
        return 0
    # Rows as executemany parameters of one statement compiled once (a multi-row VALUES,
    # or the dialects' insert construct, is compiled afresh for every call).
    statement = insert_or_nothing(ResponseScore.__table__, ("domain_id", "n_items", "response_id", "score"))
    result = db.session.connection().execute(statement, rows)
    return result.rowcount


@dataclass
class BackfillBatch:
    """``seen`` responses up to id ``last_id`` were scored (``seen`` 0: nothing was left)."""
    seen: int
    last_id: int


def backfill_batch(*, after_id: int = 0, campaign_id: int | None = None,
                   batch_size: int = 500) -> BackfillBatch:
    """Score the next ``batch_size`` complete responses (id above ``after_id``) that have
    no scores yet, on the version they were answered on. Commit each batch (the CLI
    does), so an interrupted backfill keeps what it did and a rerun goes on from there."""
    query = unscored_responses(campaign_id).where(Response.id > after_id) \
        .options(selectinload(Response.private)).order_by(Response.id).limit(batch_size)
    responses = db.session.scalars(query).all()
    for response in responses:
        instrument = queries.instruments.instrument_of(response.instrument_version)
        store_scores(response.id, instrument, response.all_answers)
    db.session.flush()
    return BackfillBatch(len(responses), responses[-1].id if responses else after_id)


def unscored_responses(campaign_id: int | None = None) -> sa.Select:
    """Complete responses without scores whose version has a scoring block."""
    query = sa.select(Response).where(
        Response.status == "complete",
        Response.instrument_version_id.in_(queries.scores.scored_version_ids()),
        ~sa.exists().where(ResponseScore.response_id == Response.id))
    if campaign_id is not None:
        query = query.where(Response.campaign_id == campaign_id)
    return query


def count_unscored(campaign_id: int | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        unscored_responses(campaign_id).subquery()))
