"""The deployment past one machine, in miniature (docs/deploy.md): two app servers on
different ports and a separate `surveyapp worker`, sharing one PostgreSQL database, one
Redis (job queue and rate limits, under names of this run's own) and one export folder.

* respondents (API and HTML) start on either server; server A is killed with SIGKILL
  half-way, so their retries, always to the *other* server, finish on B; every one is then
  sent again to the other server too, and each response is stored exactly once;
* a sign-in on A is valid on B;
* an export started on A is run by the worker and downloaded from B;
* the login rate limit is counted once across both servers.

Without PostgreSQL or Redis it is skipped, loudly; under CI=true it fails.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
import requests

from tests.conftest import POSTGRES_URL, _prepare, app_config, campaign_maker, missing, running_app
from tests.helpers import PASSWORD, hidden, make_user, responses_by_id
from tests.processes import Gunicorn, base_env, postgres_database
from tests.respondents import make_respondents, reconcile, respond, _api_attempt, _html_attempt

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parent.parent
REDIS = os.environ.get("SURVEYAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
RESPONDENTS = 8


@pytest.fixture
def shared(tmp_path):
    """The PostgreSQL database and Redis both servers and the worker use."""
    if not POSTGRES_URL:
        missing("PostgreSQL", "set SURVEYAPP_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    import redis
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError as error:
        missing("Redis", str(error))
    with postgres_database(POSTGRES_URL) as url:
        from surveyapp import create_app
        _prepare(create_app(app_config(url, tmp_path)))
        yield url


def _sign_in(http: requests.Session, base: str, email: str, password: str = PASSWORD) -> int:
    page = http.get(f"{base}/login", timeout=30)
    return http.post(f"{base}/login", timeout=30, allow_redirects=False, data={
        "csrf_token": hidden(page.text, "csrf_token"), "email": email, "password": password}).status_code


def test_two_app_servers_and_a_worker_share_the_work(shared, tmp_path):
    run = uuid.uuid4().hex[:8]
    with running_app(shared, tmp_path) as app:
        code = campaign_maker(app)(site="Riverside", wave="baseline")
        make_user(app, "analyst@example.org", "analyst")
        with app.app_context():
            from surveyapp import queries
            campaign_id = queries.campaigns.campaign_by_code(code).id
    results = tmp_path / "shared-results"   # the shared directory (NFS, a mounted bucket) of a real deployment
    env = base_env(shared, REDIS_URL=REDIS, JOB_QUEUE=f"surveyapp-test-two-{run}",
                   RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/11",
                   RATELIMIT_KEY_PREFIX=f"surveyapp-test-two-{run}", RATELIMIT_STRATEGY="moving-window",
                   LOGIN_RATE_LIMIT="6/hour", JOB_RESULTS_DIR=results)
    a = Gunicorn(env, workers=2, log=tmp_path / "a.log").start()
    b = Gunicorn(env, workers=2, log=tmp_path / "b.log").start()
    worker = subprocess.Popen([str(Path(sys.executable).parent / "surveyapp"), "worker"], env=env, cwd=ROOT,
                              stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)
    try:
        # Respondents alternate their first server. A quarter answer with both servers up;
        # then A dies and the rest start: those whose first server is A find it dead and
        # retry on B. (Killing A "once a quarter are acknowledged" while all ran at once was
        # a race: on an idle machine all eight finished before the kill was seen.)
        people = make_respondents(code, RESPONDENTS, site="Riverside", wave="baseline", seed=5)
        deadline = time.monotonic() + 300
        with ThreadPoolExecutor(4) as pool:
            early = [pool.submit(respond, person, [a.url, b.url], deadline=deadline, first=index % 2)
                     for index, person in enumerate(people[:RESPONDENTS // 4])]
            for future in early:
                future.result()
            a.kill_host()
            later = [pool.submit(respond, person, [a.url, b.url], deadline=deadline, first=index % 2)
                     for index, person in enumerate(people) if index >= RESPONDENTS // 4]
            for future in later:
                future.result()
        a.stop()   # reap A's orphaned workers before it binds again
        a.start()
        assert any(len(p.servers_used) == 2 for p in people), [p.errors for p in people]
        # Every response sent once more, to the server that did not acknowledge it.
        for index, person in enumerate(people):
            other = b.url if (index + person.attempts - 1) % 2 == 0 else a.url
            (_api_attempt if person.mode == "api" else _html_attempt)(person, requests.Session(), other, 30)
        report = reconcile(shared, code, people)
        assert report.ok and report.stored_once_complete == RESPONDENTS, report.table() + str(report.refused)

        # A sign-in on A is valid on B.
        http = requests.Session()
        assert _sign_in(http, a.url, "analyst@example.org") == 302
        assert http.get(f"{b.url}/staff/campaigns/{campaign_id}", timeout=30,
                        allow_redirects=False).status_code == 200

        # An export started on A is run by the worker (with REDIS_URL set the servers only
        # enqueue) and downloaded from B.
        page = http.get(f"{a.url}/staff/campaigns/{campaign_id}", timeout=30)
        reply = http.post(f"{a.url}/staff/campaigns/{campaign_id}/export-job", timeout=30, allow_redirects=False,
                          data={"csrf_token": hidden(page.text, "csrf_token"), "status": "complete"})
        assert reply.status_code == 302, reply.text[:500]
        job_id = int(reply.headers["Location"].rstrip("/").split("/")[-1])
        until = time.monotonic() + 180
        while (status := http.get(f"{b.url}/staff/jobs/{job_id}/status", timeout=30).json())["state"] != "done":
            assert status["state"] in {"queued", "running"} and time.monotonic() < until, status
            time.sleep(0.3)
        download = http.get(b.url + status["download"], timeout=60)
        assert download.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(download.content), read_only=True)
        assert len(responses_by_id(book)) == RESPONDENTS

        # Login limit: 6 an hour per address across both servers. One was the sign-in above.
        statuses = [_sign_in(requests.Session(), server, "analyst@example.org", "wrong")
                    for server in [a.url, b.url] * 5]
        assert sorted(statuses) == [200] * 5 + [429] * 5, statuses
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        a.stop()
        b.stop()
    for log in ("a.log", "b.log", "worker.log"):
        text = (tmp_path / log).read_text()
        assert "Traceback" not in text, text[-4000:]
