"""The view log's admin page at a million view events (issue 22 item 3: under 300 ms).

Inserts ``--events`` view events in bulk (200 readers, 12 actions, 10 projects, objects
from campaigns to single responses, spread over a year), then requests the page as a
signed-in admin, in process, for each filter, against the baseline measured in the same
run just before the insert: the same page over an empty view log (what rendering it
costs, so the ratio is what a million events add). Prints the median of ``--rounds`` requests per filter, its ratio
to the baseline, and whether it is under the target. Also shows what the keyset spares:
the 50 events 500,000 deep read by keyset against the same read by OFFSET.

    .venv/bin/python bench/audit_views.py [--events 1000000] [--rounds 15]
    .venv/bin/python bench/audit_views.py --url postgresql://postgres@127.0.0.1:5432/test

With --url a scratch schema (bench_views_<pid>) is made in that database and dropped
afterwards; nothing else in it is touched.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from surveyapp import create_app, operations
from surveyapp.extensions import db
from surveyapp.models import ViewEvent

sys.path.insert(0, os.path.dirname(__file__))
from common import fresh_app  # noqa: E402

TARGET_MS = 300
ACTIONS = ("response.read", "responses.list", "transcript.read", "themes.read", "themes.summary",
           "dashboard.read", "capacity.read", "results.read", "results.preview",
           "export.download", "audit.export", "views.export")
# Dashboards are read far more often than anything is downloaded.
WEIGHTS = (30, 8, 6, 8, 4, 25, 6, 2, 4, 5, 0.5, 0.5)
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def scratch_schema(url: str) -> tuple[str, str]:
    """A new schema in the database at ``url``; the app's URL with it first on the path."""
    schema = f"bench_views_{os.getpid()}"
    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return schema, f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def fill(app, count: int, batch: int = 20_000) -> float:
    """``count`` view events in bulk; returns the seconds it took."""
    rng = random.Random(22)
    span = 365 * 24 * 3600
    seconds = sorted(rng.random() * span for _ in range(count))  # ids follow time, as live
    started = time.perf_counter()
    with app.app_context():
        for first in range(0, count, batch):
            rows = []
            for offset in seconds[first:first + batch]:
                action = rng.choices(ACTIONS, WEIGHTS)[0]
                project = rng.randint(1, 10)
                if action == "response.read":
                    kind, object_id = "response", str(rng.randint(1, 200_000))
                elif action == "transcript.read":
                    kind, object_id = "focus_group", str(rng.randint(1, 2_000))
                elif action in ("themes.read",):
                    kind, object_id = "question", f"community-capacity/q{rng.randint(1, 30)}"
                elif action in ("themes.summary", "capacity.read") or rng.random() < 0.3:
                    kind, object_id = "project", str(project)
                else:
                    kind, object_id = "campaign", str(project * 10 + rng.randint(0, 9))
                user = rng.randint(1, 200)
                rows.append(dict(at=START + dt.timedelta(seconds=offset), user_id=user,
                                 actor=f"reader{user}@example.org", action=action, object_kind=kind,
                                 object_id=object_id, project_id=project, scope=None,
                                 count=rng.randint(1, 60), ip_hash=None))
            db.session.execute(sa.insert(ViewEvent), rows)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE view_events"))
            db.session.commit()
    return time.perf_counter() - started


def signed_in_admin(app):
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            "bench-admin@example.org", "bench password long", ["admin"]))
    client = app.test_client()
    page = client.get("/login")
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or re.search(
        r'name="csrf_token" value="([^"]+)"', page.text)
    reply = client.post("/login", data={"csrf_token": token.group(1),
                                        "email": "bench-admin@example.org",
                                        "password": "bench password long"})
    assert reply.status_code == 302, reply.status_code
    return client


def timed(client, url: str, rounds: int) -> tuple[float, str]:
    """Median milliseconds of ``rounds`` GETs (after one warm-up) and the last page."""
    reply = client.get(url)
    assert reply.status_code == 200, (url, reply.status_code)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        reply = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, (url, reply.status_code)
    return statistics.median(times), reply.text


def deep_reads(app, depth: int, rounds: int) -> tuple[float, float]:
    """Median ms of reading the 50 events ``depth`` deep by keyset and by OFFSET."""
    with app.app_context():
        order = (ViewEvent.at.desc(), ViewEvent.id.desc())
        at, event_id = db.session.execute(sa.select(ViewEvent.at, ViewEvent.id).order_by(*order)
                                          .offset(depth).limit(1)).one()
        keyset = (sa.select(ViewEvent).where(sa.tuple_(ViewEvent.at, ViewEvent.id) < sa.tuple_(
            sa.literal(at, ViewEvent.at.type), sa.literal(event_id, ViewEvent.id.type)))
            .order_by(*order).limit(50))
        offset = sa.select(ViewEvent).order_by(*order).offset(depth).limit(50)
        results = []
        for query in (keyset, offset):
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                db.session.execute(query).all()
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            results.append(statistics.median(times))
        return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--url", help="a PostgreSQL URL (a scratch schema is used)")
    args = parser.parse_args()
    schema = folder = None
    if args.url:
        schema, url = scratch_schema(args.url)
        app = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                          "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
    else:
        folder = Path(tempfile.mkdtemp(prefix="bench-views-"))  # a million rows: 350 MB, removed after
        app, _code = fresh_app(f"sqlite:///{folder / 'bench.db'}")
    try:
        with app.app_context():
            database = db.engine.dialect.name
        client = signed_in_admin(app)
        baseline, _page = timed(client, "/staff/audit/views", args.rounds)
        seconds = fill(app, args.events)
        print(f"{database}: {args.events:,} view events inserted in {seconds:.1f} s "
              f"({args.events / seconds:,.0f}/s)")
        with app.app_context():
            middle = db.session.scalar(sa.select(ViewEvent.id).order_by(ViewEvent.id)
                                       .offset(args.events // 2).limit(1))
            busy_response = db.session.execute(
                sa.select(ViewEvent.object_id).where(ViewEvent.object_kind == "response")
                .group_by(ViewEvent.object_id).order_by(sa.func.count().desc()).limit(1)).scalar()
        filters = [
            ("newest page, no filter", ""),
            ("user", "user=17"),
            ("action (downloads)", "action=export.download"),
            ("object: a campaign", "kind=campaign&object=42"),
            ("object: a response", f"kind=response&object={busy_response}"),
            ("project", "project=3"),
            ("one week", "since=2026-06-01&until=2026-06-07"),
            ("user + one month", "user=17&since=2026-03-01&until=2026-03-31"),
            ("user + action", "user=17&action=export.download"),
            ("project + action + month", "project=3&action=results.preview&since=2026-09-01&until=2026-09-30"),
            ("nothing matches (future)", "since=2027-06-01"),
            (f"{args.events // 2:,} deep (keyset)", f"before={middle}"),
        ]
        print(f"baseline: the same page over an empty view log: {baseline:.1f} ms median of {args.rounds}")
        print(f"{'filter':<30} {'median ms':>10} {'x baseline':>11}  target < {TARGET_MS} ms")
        worst = 0.0
        for name, query in filters:
            ms, text = timed(client, f"/staff/audit/views?{query}", args.rounds)
            worst = max(worst, ms)
            rows = text.count("<tr><td>")
            print(f"{name:<30} {ms:>10.1f} {ms / baseline:>10.1f}x  {'ok' if ms < TARGET_MS else 'SLOW'}"
                  f"  ({rows} rows)")
        keyset, offset = deep_reads(app, args.events // 2, max(3, args.rounds // 3))
        print(f"50 events {args.events // 2:,} deep: keyset {keyset:.1f} ms, OFFSET {offset:.1f} ms "
              f"({offset / keyset:.0f}x)")
        print(f"worst filter {worst:.1f} ms: {'under' if worst < TARGET_MS else 'OVER'} the {TARGET_MS} ms target")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema:
            drop_schema(args.url, schema)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
