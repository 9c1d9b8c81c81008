"""A job whose process is killed mid-run is failed, never left "running": an export and a
theme run on the RQ queue whose `surveyapp worker` gets SIGKILL, and an export on the
thread backend whose gunicorn worker (the app server itself) gets SIGKILL. The job is
failed once its heartbeat is JOB_STALE_MINUTES old, as soon as anyone reads it (or the next
worker starts), even if no other job ever runs."""
from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from surveyapp import jobs, operations, queries
from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Campaign, Job, Response, User
from surveyapp.queries.themes import Source
from tests.processes import Gunicorn, base_env
from tests.helpers import PASSWORD, REDIS, _redis_or_skip, make_user

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
STALE_MINUTES = 0.1  # six seconds without a heartbeat: the job's process is gone
RESPONSES = 4000     # enough that the job is still running when it is killed


def seed_many(app, code: str, count: int = RESPONSES) -> int:
    """``count`` complete responses (bulk inserted; answers from a pool of 40); returns the
    campaign id."""
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        version = queries.campaigns.campaign_version(campaign)
        instrument = queries.instruments.instrument_of(version)
        rng = random.Random(3)
        pool = [synthetic_answers(instrument, rng, Context("Riverside", "baseline", "en"), rng.random())
                for _ in range(40)]
        start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
        rows = [dict(submission_id=uuid.uuid4(), campaign_id=campaign.id, instrument_version_id=version.id,
                     language="en", status="complete", resume_code=f"J{n:015d}", answers=pool[n % 40],
                     source="api", started_at=start, submitted_at=start, received_at=start,
                     updated_at=start) for n in range(count)]
        db.session.execute(sa.insert(Response), rows)
        db.session.commit()
        return campaign.id


def job_state(app, job_id: int) -> tuple[str, str]:
    with app.app_context():
        job = db.session.get(Job, job_id)
        return job.state, job.message


def wait_for(app, job_id: int, states: set[str], seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state, _ = job_state(app, job_id)
        if state in states:
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}: {job_state(app, job_id)}")


def worker(app, queue: str) -> subprocess.Popen:
    env = base_env(app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=REDIS, JOB_QUEUE=queue,
                   JOB_RESULTS_DIR=app.config["JOB_RESULTS_DIR"], JOB_STALE_MINUTES=STALE_MINUTES)
    return subprocess.Popen([str(Path(sys.executable).parent / "surveyapp"), "worker"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def themes_source(app, campaign_id: int) -> Source:
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        return Source("question", campaign.project_id, "community-capacity", "safer_ideas", campaign.id)


@pytest.mark.parametrize("kind", ["export", "themes"])
def test_job_whose_rq_worker_is_killed_is_failed_not_left_running(app, make_campaign, kind):
    _redis_or_skip()
    queue = f"surveyapp-test-crash-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS, JOB_QUEUE=queue, JOB_STALE_MINUTES=STALE_MINUTES)
    campaign_id = seed_many(app, make_campaign())
    user_id = make_user(app, "analyst@example.org", "analyst")
    with app.app_context():
        from surveyapp.queries import export
        campaign = db.session.get(Campaign, campaign_id)
        user = db.session.get(User, user_id)
        if kind == "export":
            params = jobs.export_parameters(
                export.filters_for_campaign(campaign, status="complete", codes=False, language="en",
                                            include_pii=False),
                csv=False, scope=None, generated_by="analyst@example.org")
        else:
            params = jobs.theme_parameters(themes_source(app, campaign_id), k=3,
                                                       language="en", user=user)
        job_id = jobs.enqueue(kind, params, user=user, project_id=campaign.project_id).id

    process = worker(app, queue)
    try:
        wait_for(app, job_id, {"running", "done", "failed"})
        os.kill(process.pid, signal.SIGKILL)  # mid-run: no chance to write anything
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    state, _ = job_state(app, job_id)
    assert state == "running", f"the {kind} job finished before the kill: make it bigger"
    with app.app_context():
        assert not [p for p in Path(app.config["JOB_RESULTS_DIR"]).iterdir() if not p.name.startswith(".")]

    time.sleep(STALE_MINUTES * 60 + 1)
    # The next worker sweeps when it starts, and does not run the dead job again.
    again = worker(app, queue)
    try:
        wait_for(app, job_id, {"failed"}, seconds=120)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
    state, message = job_state(app, job_id)
    assert state == "failed" and "heartbeat" in message, (state, message)
    if kind == "themes":
        with app.app_context():  # the killed run stored nothing half-way
            assert queries.themes.latest_run(themes_source(app, campaign_id)) is None


def test_export_whose_app_server_is_killed_is_failed_when_its_page_is_read(app, make_campaign, tmp_path):
    """The thread backend runs the job inside a gunicorn worker; kill -9 that worker while
    the export runs. Nothing else runs a job afterwards: reading the job's status (on the
    worker gunicorn forks in its place) is what fails it."""
    campaign_id = seed_many(app, make_campaign())
    make_user(app, "analyst@example.org", "analyst")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    server = Gunicorn(base_env(url, RATELIMIT_ENABLED="false", JOB_STALE_MINUTES=STALE_MINUTES,
                               JOB_RESULTS_DIR=app.config["JOB_RESULTS_DIR"]),
                      workers=1, log=tmp_path / "gunicorn.log").start()
    try:
        http = requests.Session()
        page = http.get(f"{server.url}/login", timeout=30)
        token = _hidden(page.text, "csrf_token")
        reply = http.post(f"{server.url}/login", timeout=30, allow_redirects=False,
                          data={"csrf_token": token, "email": "analyst@example.org", "password": PASSWORD})
        assert reply.status_code == 302, reply.text[:500]
        page = http.get(f"{server.url}/staff/campaigns/{campaign_id}", timeout=30)
        reply = http.post(f"{server.url}/staff/campaigns/{campaign_id}/export-job", timeout=30,
                          allow_redirects=False,
                          data={"csrf_token": _hidden(page.text, "csrf_token"), "status": "complete"})
        assert reply.status_code == 302, reply.text[:500]
        job_id = int(reply.headers["Location"].rstrip("/").split("/")[-1])
        wait_for(app, job_id, {"running", "done", "failed"})
        (pid,) = server.worker_pids()
        os.kill(pid, signal.SIGKILL)
        assert job_state(app, job_id)[0] == "running", "the export finished before the kill: make it bigger"

        deadline = time.monotonic() + STALE_MINUTES * 60 + 120
        while True:
            try:
                status = http.get(f"{server.url}/staff/jobs/{job_id}/status", timeout=30).json()
            except requests.RequestException:  # the replacement worker is still booting
                status = {"state": "unreachable"}
            if status["state"] == "failed" or time.monotonic() > deadline:
                break
            assert status["state"] in {"running", "unreachable"}, status
            time.sleep(0.5)
        assert status["state"] == "failed" and "heartbeat" in status["message"], status
        page = http.get(f"{server.url}/staff/jobs/{job_id}", timeout=30)
        assert page.status_code == 200 and 'http-equiv="refresh"' not in page.text
    finally:
        server.stop()


def _hidden(html: str, name: str) -> str:
    from tests.helpers import hidden
    return hidden(html, name)
