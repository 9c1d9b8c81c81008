"""The capacity table read from stored scores, against re-scoring every answer document.

Inserts ``--responses`` complete responses (synthetic answers, two sites, two waves)
straight into the table, scores them with the backfill (timed: responses per second),
then builds the capacity table both ways: from ``response_scores`` with one grouped
select (the candidate), and by reading every ``responses.answers`` document and scoring
it in Python (the baseline: what a page would do without stored scores). Prints
medians and the ratio.

    .venv/bin/python bench/capacity_read.py [--responses 20000] [--rounds 3] [--url URL]
"""
from __future__ import annotations

import argparse
import random
import time
import uuid

import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain.answers import Context
from surveyapp.domain.scoring import capacity_table, score_response
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Campaign, Project, Response, Site, utcnow

from common import fresh_app, median


def fill(app, count: int) -> int:
    """``count`` complete responses over Bench/Other x baseline/follow-up 1; the project id."""
    with app.app_context():
        def campaigns():
            bench = operations.campaigns.get_or_create_site("Bench")
            other = operations.campaigns.get_or_create_site("Other")
            made = [db.session.scalar(sa.select(Campaign).where(Campaign.site_id == bench.id))]
            made += [operations.campaigns.create_campaign("community-capacity", site, wave)
                     for site, wave in ((bench, "follow-up 1"), (other, "baseline"),
                                        (other, "follow-up 1"))]
            return [(c.id, c.instrument_version_id, c.site.name, c.wave, c.project_id) for c in made]
        made = operations.transaction(campaigns)
        instrument = queries.instruments.instrument_of(queries.instruments.latest_version("community-capacity"))
        rng, now = random.Random(5), utcnow()
        rows = []
        for index in range(count):
            campaign_id, version_id, site, wave, _ = made[index % len(made)]
            rows.append(dict(
                submission_id=uuid.UUID(int=rng.getrandbits(128)), campaign_id=campaign_id,
                instrument_version_id=version_id, language="en", status="complete",
                resume_code=f"B{index:09d}", source="bench", started_at=now, updated_at=now,
                answers=synthetic_answers(instrument, rng, Context(site, wave, "en"),
                                          0.4 if wave == "baseline" else 0.6)))
        for start in range(0, len(rows), 2000):
            db.session.execute(sa.insert(Response), rows[start:start + 2000])
        db.session.commit()
        return made[0][4]


def backfill(app) -> float:
    with app.app_context():
        start, after = time.perf_counter(), 0
        while True:
            batch = operations.transaction(
                lambda: operations.scores.backfill_batch(after_id=after, batch_size=1000))
            if not batch.seen:
                return time.perf_counter() - start
            after = batch.last_id


def from_stored(app, project_id):
    with app.app_context():
        return queries.scores.capacity_table(db.session.get(Project, project_id), "community-capacity")[0]


def from_answers(app, project_id):
    with app.app_context():
        instrument = queries.instruments.instrument_of(queries.instruments.latest_version("community-capacity"))
        query = (sa.select(Site.name, Campaign.wave, Response.answers).select_from(Response)
                 .join(Campaign, Campaign.id == Response.campaign_id).join(Site)
                 .where(Campaign.project_id == project_id, Response.status == "complete"))
        rows = ((site, wave, domain, result.score)
                for site, wave, answers in db.session.execute(query.execution_options(yield_per=5000))
                for domain, result in score_response(instrument, answers).items())
        return capacity_table(rows, waves=["baseline", "follow-up 1"])


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url")
    options = parser.parse_args()
    app, _ = fresh_app(options.url)
    project_id = fill(app, options.responses)
    seconds = backfill(app)
    print(f"backfill: {options.responses} responses in {seconds:.1f} s "
          f"({options.responses / seconds:.0f}/s)")
    stored, parsed = [], []
    for _ in range(options.rounds):
        took, table = timed(from_stored, app, project_id)
        stored.append(took)
        took, reference = timed(from_answers, app, project_id)
        parsed.append(took)
    # Same numbers both ways (the backfill scored the same answers).
    mine, theirs = table.cell(None, "baseline", "trust"), reference.cell(None, "baseline", "trust")
    assert mine.n == theirs.n and abs(mine.mean - theirs.mean) < 1e-9, (mine, theirs)
    print(f"capacity table from stored scores: {median(stored) * 1000:.0f} ms; "
          f"re-scoring the answers: {median(parsed) * 1000:.0f} ms; "
          f"ratio {median(parsed) / median(stored):.1f}x")


if __name__ == "__main__":
    main()
