"""A page's latency while a large export job runs in the app, against the same page idle.

The app is served by a threaded werkzeug server in this process, with the embedded job
backend (a worker thread in the same process: the default, and the case where the export
competes for the interpreter with the requests). First ``--requests`` GETs of ``--page``
with nothing else running; then an export job of every response is enqueued and the page
is fetched for ``--seconds`` while it runs (the job keeps running past that; the process
ends it on exit). Printed: p50, p95 and max in ms of each, and their ratios.

Needs a database with responses: bench/export.py --data DIR leaves export-100000.db and
export-100000.code there.

    .venv/bin/python bench/export_latency.py --data DIR [--size 100000] [--page /] [--seconds 60]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fetch(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as reply:
        reply.read()
        assert reply.status == 200, reply.status
    return (time.perf_counter() - began) * 1000


def report(name: str, values: list[float]) -> dict:
    figures = {"n": len(values), "p50": statistics.median(values), "p95": percentile(values, 0.95),
               "max": max(values)}
    print(f"{name:>22}: n={figures['n']:4d}  p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
          f"max {figures['max']:7.1f} ms", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--page", default="/")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between requests")
    args = parser.parse_args()
    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    from surveyapp import create_app
    from surveyapp.queries import export
    from surveyapp.models import Job
    from surveyapp import jobs
    from surveyapp.extensions import db
    path, code = args.data / f"export-{args.size}.db", (args.data / f"export-{args.size}.code").read_text().strip()
    app = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "JOB_RESULTS_DIR": tempfile.mkdtemp(prefix="surveyapp-bench-latency-")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{args.page}"
    fetch(url)  # warm: templates compiled, connections open
    idle = []
    for _ in range(args.requests):
        idle.append(fetch(url))
        time.sleep(args.pause)
    with app.app_context():
        filters = export.filters_for(code)
        job = jobs.enqueue("export", jobs.export_parameters(filters, csv=False, scope=None,
                                                             generated_by="bench"),
                           user=None, project_id=None)
        job_id = job.id
    time.sleep(1.0)  # the job is past its start-up and writing rows
    busy, ends = [], time.monotonic() + args.seconds
    while time.monotonic() < ends:
        busy.append(fetch(url))
        time.sleep(args.pause)
    with app.app_context():
        row = db.session.get(Job, job_id)
        state, done, total = row.state, row.progress_done, row.progress_total
    print(f"page {args.page}; export job of {args.size:,} responses: {state}, {done:,} of {total:,} "
          f"rows read while measured")
    quiet = report("idle", idle)
    loaded = report("during the export job", busy)
    print(f"ratio during/idle: p50 {loaded['p50'] / quiet['p50']:.1f}x, p95 {loaded['p95'] / quiet['p95']:.1f}x")
    server.shutdown()


if __name__ == "__main__":
    main()
