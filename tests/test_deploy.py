"""gunicorn with several workers boots on an empty database (nothing touches it at import),
then the same steps as `make run` bring the site up, and a second run keeps the data."""
from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow
def test_gunicorn_workers_boot_on_an_empty_database_then_serve(tmp_path):
    env = {**os.environ, "SURVEYAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
           "SURVEYAPP_SECRET_KEY": "deploy-test"}
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "3", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90  # four workers booting on a busy machine take a while
        while True:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/static/survey.css")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):  # workers still booting
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert status == 200
        with sqlite3.connect(tmp_path / "fresh.db") as connection:  # booting created no tables
            assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)

        for command in (["db", "upgrade"], ["instruments", "load"], ["demo", "seed", "--responses", "2"]):
            done = subprocess.run([str(BIN / "surveyapp"), *command], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        assert "demo login:" in done.stdout

        status, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "/s/" in body

        again = subprocess.run([str(BIN / "surveyapp"), "demo", "seed"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert "left as it is" in again.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


def _gunicorn(env, workers: int, *extra: str):
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--access-logfile", "-", "--access-logformat", "worker=%(p)s %(m)s %(U)s %(s)s",
         *extra, "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90  # four workers booting on a busy machine take a while
    while True:
        try:
            get(f"http://127.0.0.1:{port}/static/survey.css")
            return server, port
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # workers still booting
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)


def _post_status(url: str) -> int:
    request = urllib.request.Request(url, data=b"email=a%40b.c&password=x", method="POST")
    try:
        # Workers are replaced every 4 requests: one may wait for a worker to boot.
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_login_rate_limit_holds_across_four_workers_with_redis(tmp_path):
    import redis  # pinned in requirements.txt
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379").ping()
    except redis.exceptions.ConnectionError as error:
        from tests.conftest import missing
        missing("Redis", str(error))
    prefix = f"surveyapp-test-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "SURVEYAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'limits.db'}",
           "SURVEYAPP_SECRET_KEY": "limits", "SURVEYAPP_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
           "SURVEYAPP_RATELIMIT_KEY_PREFIX": prefix, "SURVEYAPP_LOGIN_RATE_LIMIT": "6/minute"}
    subprocess.run([str(BIN / "surveyapp"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    # Each worker process is replaced after 4 requests, so the 24 requests below are
    # certainly served by many processes: only shared storage keeps the count at 6.
    server, port = _gunicorn(env, 4, "--max-requests", "4", "--max-requests-jitter", "0")
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:  # in parallel, to reach every worker
            statuses = list(pool.map(lambda _: _post_status(f"http://127.0.0.1:{port}/login"), range(24)))
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert sorted(statuses) == [200] * 6 + [429] * 18, statuses
    workers = set(re.findall(r"worker=<?(\d+)>? POST /login", output))
    assert len(workers) >= 4, output
    assert "Traceback" not in output, output
