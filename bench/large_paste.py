"""A 30,000-line quick-entry paste: parse, write, and the whole request, against a baseline.

The baseline writes the segments the way they were written before: one
``SELECT max(position)`` and one ``INSERT ... ON CONFLICT DO NOTHING`` per segment,
inside one transaction, so the write lock (SQLite) is held for all of it. The
candidate is ``operations.focus_groups.add_segments``: rows built first, then a
multi-row INSERT per few hundred rows. Rounds alternate between the two; we print
medians and the ratio. With SURVEYAPP_TEST_POSTGRES_URL set it runs on PostgreSQL
too (in a throwaway schema).

    .venv/bin/python bench/large_paste.py [--rounds 3] [--lines 30000] [--databases sqlite postgresql]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import uuid

import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain import transcripts
from surveyapp.extensions import db
from surveyapp.models import FocusGroup, Segment, Site, User

from common import fresh_app, median

PASSWORD = "bench-password-123"


def paste(lines: int) -> str:
    return "\n".join(f"P{1 + n % 3}: turn {n} as typed" for n in range(lines))


def baseline_write(session, prompt_id, parsed, batch_id):
    """The old write path: a statement pair per segment."""
    from surveyapp.operations.transactions import dialect_insert
    added = 0
    for index, segment in enumerate(parsed):
        position = (db.session.scalar(sa.select(sa.func.max(Segment.position)).where(
            Segment.session_id == session.id, Segment.prompt_id == prompt_id)) or 0) + 1
        now = dt.datetime.now(dt.timezone.utc)
        statement = dialect_insert(Segment).values(
            session_id=session.id, prompt_id=prompt_id, position=position,
            speaker=segment.speaker.upper(), text=segment.text, start_seconds=segment.start_seconds,
            client_id=uuid.uuid5(batch_id, str(index)), created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["client_id"]).returning(Segment.id)
        added += db.session.execute(statement).first() is not None
    return added


def new_session(app) -> int:
    with app.app_context():
        def work():
            version = queries.instruments.latest_version("community-safety-focus-group")
            site = db.session.scalar(sa.select(Site).limit(1))
            return operations.focus_groups.create_focus_group(
                guide_version=version, site=site, wave="baseline", held_on=dt.date(2026, 11, 20),
                place="", language="en", facilitators=[], consent_given=True,
                participants=[operations.focus_groups.ParticipantInfo(label=f"P{n}") for n in (1, 2, 3)]).id
        return operations.transaction(work)


def timed_write(app, session_id, text, writer) -> float:
    """Seconds the write transaction took (the time SQLite's write lock is held)."""
    with app.app_context():
        session = db.session.get(FocusGroup, session_id)
        prompt_id = queries.instruments.instrument_of(session.guide_version).prompts[0].id
        parsed = transcripts.parse_quick_entry(text, ["P1", "P2", "P3", "F1"]).segments
        start = time.perf_counter()
        added = operations.transaction(lambda: writer(session, prompt_id, parsed, uuid.uuid4()))
        elapsed = time.perf_counter() - start
        assert added == len(parsed), added
        return elapsed


def timed_request(app, session_id, text) -> float:
    client = app.test_client()
    with app.app_context():
        if db.session.scalar(sa.select(User).where(User.email == "bench@example.org")) is None:
            operations.transaction(lambda: operations.staff.create_user(
                "bench@example.org", PASSWORD, ["facilitator"]))
        session = db.session.get(FocusGroup, session_id)
        prompt_id = queries.instruments.instrument_of(session.guide_version).prompts[0].id
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    url = f"/staff/focus-groups/{session_id}/prompts/{prompt_id}/quick"
    start = time.perf_counter()
    reply = client.post(url, data={"lines": text})
    elapsed = time.perf_counter() - start
    assert reply.status_code == 302, (reply.status_code, reply.text[:300])
    return elapsed


def run(name, app, rounds, text):
    results = {"baseline": [], "candidate": [], "request": [], "parse": []}
    for _ in range(rounds):
        results["baseline"].append(timed_write(app, new_session(app), text, baseline_write))
        results["candidate"].append(timed_write(app, new_session(app), text,
                                                operations.focus_groups.add_segments))
        results["request"].append(timed_request(app, new_session(app), text))
        start = time.perf_counter()
        transcripts.parse_quick_entry(text, ["P1", "P2", "P3", "F1"])
        results["parse"].append(time.perf_counter() - start)
    b, c = median(results["baseline"]), median(results["candidate"])
    print(f"{name}: {text.count(chr(10)) + 1} lines, {len(text.encode()):,} bytes, "
          f"{rounds} rounds (medians, seconds)")
    print(f"  write, baseline (2 statements per segment): {b:8.3f}")
    print(f"  write, candidate (multi-row INSERT):        {c:8.3f}")
    print(f"  ratio baseline/candidate:                   {b / c:8.1f}x")
    print(f"  parse alone:                                {median(results['parse']):8.3f}")
    print(f"  whole POST /quick (candidate):              {median(results['request']):8.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=30_000)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    text = paste(args.lines)
    config = {"WTF_CSRF_ENABLED": False}
    if "sqlite" in args.databases:
        app, _ = fresh_app(**config)
        run("SQLite", app, args.rounds, text)
    url = os.environ.get("SURVEYAPP_TEST_POSTGRES_URL")
    if url and "postgresql" in args.databases:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        schema = f"bench_large_paste_{os.getpid()}"
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            separator = "&" if "?" in url else "?"
            app, _ = fresh_app(f"{url}{separator}options=-csearch_path%3D{schema}", **config)
            run("PostgreSQL", app, args.rounds, text)
        finally:
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


if __name__ == "__main__":
    main()
