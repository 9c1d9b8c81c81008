"""Load: simulated respondents against gunicorn on SQLite and PostgreSQL, nothing lost, how fast.

For each database: a fresh migrated database (on PostgreSQL a database of its own,
``load_<pid>``, dropped afterwards), gunicorn started on it, then per round

1. the ceiling: ``--static`` GETs of a static file from ``--concurrency`` threads;
2. the load: ``--respondents`` complete ``community-capacity`` at once, half through the
   HTML flow page by page with CSRF, half through the API (tests/loadgen.py);
3. the ceiling again: the round's ceiling is the mean of 1 and 3.

It prints per round and as medians: responses/s, respondent requests/s, the ratio of
respondent requests/s to the ceiling's requests/s (a request of the survey against a
trivial request on the same server in the same run), API submissions per static request,
p50/p95 latency, errors (failed attempts, retried), and the reconciliation of acknowledged
against stored responses (lost, duplicates, answers changed).

    PYTHONPATH=. .venv/bin/python bench/load.py                       # full size, both databases
    PYTHONPATH=. .venv/bin/python bench/load.py --size ci --databases sqlite
    SURVEYAPP_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test ...   # PostgreSQL server

Exit status 1 when anything was lost or doubled.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveyapp import create_app, operations, queries  # noqa: E402
from tests.loadgen import (  # noqa: E402
    gunicorn, hammer, reconcile, run_load, server_env, stored_responses, summary)

SIZES = {"ci": {"respondents": 8, "static": 400, "rounds": 1},
         "full": {"respondents": 64, "static": 3000, "rounds": 3}}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
STATIC = "/static/survey.css"


@contextmanager
def database(kind: str):
    """(SQLAlchemy URL) of a new, empty database; dropped afterwards."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="surveyapp-load-"))
        yield f"sqlite:///{folder / 'load.db'}"
        return
    import psycopg
    server = os.environ.get("SURVEYAPP_TEST_POSTGRES_URL", DEFAULT_PG)
    name = f"load_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def prepare(url: str):
    """An app on ``url``, migrated, with the shipped instruments loaded."""
    from flask_migrate import upgrade
    from surveyapp.extensions import db
    app = create_app({"SECRET_KEY": "load", "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        operations.transaction(lambda: operations.instruments.sync_instruments([ROOT / "instruments"]))
        db.session.remove()
    return app


def new_campaign(app, site: str):
    """A new open campaign of community-capacity: (code, instrument). One per round, so that
    each round's reconciliation sees that round's responses only."""
    from surveyapp.extensions import db
    with app.app_context():
        campaign = operations.transaction(lambda: operations.campaigns.create_campaign(
            "community-capacity", operations.campaigns.get_or_create_site(site), "baseline"))
        code = campaign.code
        instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
        db.session.remove()
    return code, instrument


def run_database(kind: str, args) -> list[dict]:
    rows = []
    with database(kind) as url:
        app = prepare(url)
        with gunicorn(server_env(url), args.workers, args.gunicorn, warm_path=STATIC) as server:
            base = server.url
            # Unmeasured respondents of each kind first: a worker's first survey request
            # parses templates and the instrument.
            code, instrument = new_campaign(app, "Warm-up")
            run_load(base, code, instrument, respondents=4 * args.workers, seed=10_000, site="Warm-up")
            for round_ in range(args.rounds):
                site = f"Round {round_}"
                code, instrument = new_campaign(app, site)
                # The ceiling before and after the load, averaged: one burst of static
                # requests on a shared machine varies by a quarter from one to the next.
                before, _ = hammer(base, STATIC, requests=args.static, concurrency=args.concurrency)
                result = run_load(base, code, instrument, respondents=args.respondents,
                                  concurrency=args.concurrency, seed=round_, site=site)
                after, _ = hammer(base, STATIC, requests=args.static, concurrency=args.concurrency)
                ceiling = (before + after) / 2
                figures = summary(result)
                api_rate = len(result.acknowledged["api"]) / result.seconds
                report = reconcile(result, stored_responses(app, code))
                rows.append({"db": kind, "round": round_, "ceiling": ceiling, **figures,
                             "ratio": figures["requests_per_s"] / ceiling,
                             "api_ratio": api_rate / ceiling, "report": report,
                             "failures": result.failures})
                print(f"  {kind} round {round_}: ceiling {ceiling:7.0f} req/s ({before:.0f} before, "
                      f"{after:.0f} after) | "
                      f"{figures['responses_per_s']:6.1f} responses/s {figures['requests_per_s']:6.0f} req/s "
                      f"ratio {rows[-1]['ratio']:.3f} | p50 {figures['p50_ms']:5.0f} ms p95 "
                      f"{figures['p95_ms']:5.0f} ms (HTML {figures['html_p95_ms']:.0f}, API "
                      f"{figures['api_p95_ms']:.0f}) | errors {figures['errors']} failed {figures['failed']} | "
                      f"{report.line()}", flush=True)
                for failure in result.failures[:5]:
                    print("    failure:", failure)
        with app.app_context():
            from surveyapp.extensions import db
            db.engine.dispose()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--respondents", type=int)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--static", type=int, help="static requests for the ceiling")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (make run uses 2)")
    parser.add_argument("--gunicorn", nargs="*", default=[], help="more gunicorn arguments")
    args = parser.parse_args()
    for key, value in SIZES[args.size].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.concurrency = min(args.concurrency, args.respondents)

    print(f"{args.respondents} respondents ({args.concurrency} at once), half HTML half API, "
          f"{args.rounds} rounds, gunicorn --workers {args.workers}; ceiling GET {STATIC}")
    all_rows, ok = [], True
    for kind in args.databases.split(","):
        rows = run_database(kind, args)
        all_rows += rows
        ok &= all(row["report"].ok() and row["report"].unexpected == 0 and row["failed"] == 0
                  for row in rows)
    print()
    print(f"{'database':9} {'ceiling/s':>9} {'resp/s':>7} {'req/s':>7} {'ratio':>6} {'api/ceil':>8} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'errors':>6} {'acked':>6} {'lost':>5} {'dup':>4} (medians)")
    for kind in args.databases.split(","):
        rows = [r for r in all_rows if r["db"] == kind]
        med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
        print(f"{kind:9} {med('ceiling'):9.0f} {med('responses_per_s'):7.1f} {med('requests_per_s'):7.0f} "
              f"{med('ratio'):6.3f} {med('api_ratio'):8.3f} {med('p50_ms'):7.0f} {med('p95_ms'):7.0f} "
              f"{sum(r['errors'] for r in rows):6d} {sum(r['report'].acknowledged for r in rows):6d} "
              f"{sum(r['report'].lost for r in rows):5d} {sum(r['report'].duplicates for r in rows):4d}")
    print("ratio: respondent requests/s over static requests/s; api/ceil: API submissions/s over static requests/s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
