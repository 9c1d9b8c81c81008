"""The crash reconciliation at full size: gunicorn (several workers) on SQLite and on
PostgreSQL, concurrent simulated respondents (half API, half HTML page by page, each
retrying with its one submission id until acknowledged), SIGKILL to a worker several
times, then to the master, which is started again. Prints, per database, the timeline of
kills and the reconciliation: acknowledged responses stored exactly once, complete, with
every answer as sent (goal: all of them; 0 missing, 0 wrong, 0 duplicates).

The scenario is tests/crashing.py, the one tests/test_crash.py runs at CI size.

    PYTHONPATH=. .venv/bin/python bench/crash.py [--respondents 64] [--concurrency 32]
        [--workers 4] [--kills 6] [--postgres postgresql://postgres@127.0.0.1:5432/test]

PostgreSQL runs in a new database of a unique name on that server (dropped after); without
--postgres (or SURVEYAPP_TEST_POSTGRES_URL) only SQLite runs.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from surveyapp import create_app  # noqa: E402
from tests.conftest import _prepare, app_config, campaign_maker, running_app  # noqa: E402
from tests.crashing import crash_run  # noqa: E402
from tests.processes import postgres_database  # noqa: E402


def one(name: str, url_context, args) -> bool:
    folder = Path(tempfile.mkdtemp(prefix=f"surveyapp-crash-{name}-"))
    with url_context as url:
        url = url or f"sqlite:///{folder / 'crash.db'}"
        _prepare(create_app(app_config(url, folder)))
        with running_app(url, folder) as app:
            code = campaign_maker(app)(site="Riverside", wave="baseline")
        run = crash_run(url, code, folder, respondents=args.respondents, concurrency=args.concurrency,
                        workers=args.workers, worker_kills=args.kills, budget=args.budget)
    report = run.reconciliation
    print(f"\n== {name}: {args.respondents} respondents ({args.concurrency} at once), "
          f"{args.workers} workers, {run.seconds:.1f} s")
    for seconds, what in run.events:
        print(f"  {seconds:>7.2f} s  {what}")
    print(report.table())
    print(f"  {'result':<22} {'OK' if report.ok else 'FAILED'}")
    for refusal in report.refused:
        print("  refused:", refusal)
    return report.ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=6, help="worker kills before the master's")
    parser.add_argument("--budget", type=float, default=900, help="seconds the respondents may take")
    parser.add_argument("--postgres", default=os.environ.get("SURVEYAPP_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    ok = one("SQLite", nullcontext(None), args)
    if args.postgres:
        ok = one("PostgreSQL", postgres_database(args.postgres), args) and ok
    else:
        print("\n(PostgreSQL skipped: pass --postgres or set SURVEYAPP_TEST_POSTGRES_URL)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
