"""Rate limits count across worker processes by default: the sqlite:// storage
(surveyapp/limit_storage.py) is one file every worker of the host shares, so the login
limit holds across gunicorn workers without Redis, where worker-memory:// lets each fresh
process through again. Production beside a database server still refuses a file."""
from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from limits.storage import storage_from_string

from surveyapp import config
from surveyapp.limit_storage import SQLiteStorage
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _gunicorn(env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    """gunicorn whose workers are each replaced after 4 requests (a new process, with
    memory of its own), logging which worker served each request."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--no-control-socket", "--max-requests", "4", "--max-requests-jitter", "0",
         "--access-logfile", "-", "--access-logformat", "worker=%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/static/survey.css", timeout=10).close()
            return server, port
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # still booting
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)


def _post_login(port: int) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/login",
                                     data=b"email=a%40b.c&password=x", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_default_storage_is_a_file_in_the_instance_folder(tmp_path):
    uri = config.defaults(str(tmp_path))["RATELIMIT_STORAGE_URI"]
    storage = storage_from_string(uri, socket_timeout=0.5)  # the Redis options are ignored
    assert isinstance(storage, SQLiteStorage) and storage.path == str(tmp_path / "rate-limits.sqlite")


def _hits(path: str, count: int, results, ready, go) -> None:
    storage = SQLiteStorage(f"sqlite:///{path}")
    storage.get("shared")  # open the file before the start
    ready.release()
    go.wait(60)
    results.extend([storage.incr("shared", 60) for _ in range(count)])


def test_processes_counting_at_once_lose_no_hit(tmp_path):
    """Four processes hit one key 200 times each, started together: every count from 1 to
    800 is handed out exactly once (each hit is one atomic UPSERT)."""
    path = str(tmp_path / "limits.sqlite")
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        results, ready, go = manager.list(), manager.Semaphore(0), manager.Event()
        workers = [context.Process(target=_hits, args=(path, 200, results, ready, go))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        for _ in workers:
            assert ready.acquire(timeout=60)
        go.set()
        for worker in workers:
            worker.join(60)
        counts = sorted(results)
    assert counts == list(range(1, 801))
    assert SQLiteStorage(f"sqlite:///{path}").get("shared") == 800


def test_an_expired_window_starts_again_and_is_pruned(tmp_path):
    storage = SQLiteStorage(f"sqlite:///{tmp_path / 'limits.sqlite'}")
    assert [storage.incr("k", 1) for _ in range(3)] == [1, 2, 3] and storage.get("k") == 3
    before = threading.active_count()
    storage._execute("UPDATE counters SET expires = expires - 5")  # the window has passed
    assert storage.get("k") == 0
    storage.SWEEP_SECONDS, storage._next_sweep = 0.0, 0.0
    assert storage.incr("other", 60) == 1            # and the sweep drops the old counter
    assert storage._execute("SELECT key FROM counters") == [("other",)]
    assert storage.incr("k", 60) == 1
    assert threading.active_count() == before        # no thread started by any hit


@pytest.mark.parametrize("ratelimits, allowed", [
    ("sqlite", [200] * 4 + [429] * 12),   # one count for every worker process
    ("worker-memory://", [200] * 16),     # each process counts alone, and each serves only 4
])
def test_login_limit_counts_across_gunicorn_workers(tmp_path, ratelimits, allowed):
    """Two workers (as `make run`) each replaced after 4 requests, so the 16 logins are
    served by several processes: only a shared count keeps them to the limit of 4."""
    uri = f"sqlite:///{tmp_path / 'rate-limits.sqlite'}" if ratelimits == "sqlite" else ratelimits
    env = {**os.environ, "SURVEYAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'limits.db'}",
           "SURVEYAPP_SECRET_KEY": "limits", "SURVEYAPP_RATELIMIT_STORAGE_URI": uri,
           "SURVEYAPP_LOGIN_RATE_LIMIT": "4/minute"}
    subprocess.run([str(BIN / "surveyapp"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    server, port = _gunicorn(env, 2)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = list(pool.map(lambda _: _post_login(port), range(16)))
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert sorted(statuses) == allowed, statuses
    assert len(set(re.findall(r"worker=<?(\d+)>? POST /login", output))) >= 4, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("database, refused", [
    ("postgresql://app@db/surveyapp", True),   # app servers may be several: a file counts per host
    ("sqlite:////srv/surveyapp.db", False),    # one host: its workers share the file
])
def test_production_refuses_a_file_beside_a_database_server(tmp_path, database, refused):
    settings = {**config.defaults(str(tmp_path)), "ENV": "production", "SECRET_KEY": "k" * 64,
                "PANEL_SECRET": "p" * 64, "SQLALCHEMY_DATABASE_URI": database,
                "INSTANCE_PATH": str(tmp_path)}
    if refused:
        with pytest.raises(config.ConfigurationError, match="SURVEYAPP_RATELIMIT_STORAGE_URI"):
            config.finalise(settings)
    else:
        config.finalise(settings)
