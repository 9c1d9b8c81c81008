"""Per-user job quotas (surveyapp/jobs/quotas.py): a user's 4th export while 3 wait or run
is refused with a 429 that says when to try again, another user still starts one, and a
finished job frees the slot; on the embedded thread and on the RQ queue. Kept result files
are capped the same way, and two requests at once cannot both take the last slot."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp import jobs, operations
from surveyapp.extensions import db
from surveyapp.jobs import thread_backend
from surveyapp.jobs.kinds import KINDS
from surveyapp.models import Job, User, utcnow
from tests.helpers import REDIS, _clients, _redis_or_skip, hidden, seed

ROOT = Path(__file__).resolve().parent.parent


def _post_export(client, campaign_id):
    page = client.get(f"/staff/campaigns/{campaign_id}")
    return client.post(f"/staff/campaigns/{campaign_id}/export-job",
                       data={"csrf_token": hidden(page.text, "csrf_token"), "status": "complete"})


def _user_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def _jobs_of(app, email):
    with app.app_context():
        return list(db.session.scalars(sa.select(Job.state).where(
            Job.created_by_id == _user_id(app, email)).order_by(Job.id)))


def _assert_refused_for_exports(reply, count=3):
    assert reply.status_code == 429, reply.text
    assert int(reply.headers["Retry-After"]) >= 1
    assert f"You have {count} exports waiting or running" in reply.text
    assert "Try again when one finishes (in about" in reply.text


def test_fourth_export_refused_until_one_finishes_thread_backend(app, make_campaign, monkeypatch):
    data = seed(app, make_campaign)
    clients = _clients(app)
    gate = threading.Event()

    def held_export(params, stream, progress, set_total):
        # The worker thread holds the first job here, so the next two stay queued.
        assert gate.wait(60)
        stream.write(b"held")
        return "held.xlsx"

    monkeypatch.setitem(KINDS, "export", held_export)
    try:
        for _ in range(3):
            assert _post_export(clients["analyst"], data["campaign_id"]).status_code == 302
        _assert_refused_for_exports(_post_export(clients["analyst"], data["campaign_id"]))
        assert len(_jobs_of(app, "analyst@example.org")) == 3   # the refused one left no row
        # Another analyst is not held back by the first one's jobs.
        assert _post_export(clients["other"], data["campaign_id"]).status_code == 302
    finally:
        gate.set()
        thread_backend.wait_idle()
    assert set(_jobs_of(app, "analyst@example.org")) == {"done"}
    assert _post_export(clients["analyst"], data["campaign_id"]).status_code == 302
    thread_backend.wait_idle()


def test_fourth_export_refused_until_one_finishes_rq_backend(app, make_campaign):
    """On the RQ queue nothing runs until `surveyapp worker --burst` does: three jobs wait,
    the fourth is refused, and the worker finishing them frees the slots."""
    _redis_or_skip()
    queue = f"surveyapp-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS, JOB_QUEUE=queue)
    data = seed(app, make_campaign)
    clients = _clients(app)
    for _ in range(3):
        assert _post_export(clients["analyst"], data["campaign_id"]).status_code == 302
    _assert_refused_for_exports(_post_export(clients["analyst"], data["campaign_id"]))
    assert _jobs_of(app, "analyst@example.org") == ["queued"] * 3
    assert _post_export(clients["other"], data["campaign_id"]).status_code == 302
    env = dict(os.environ, PYTHONPATH=str(ROOT), SURVEYAPP_REDIS_URL=REDIS, SURVEYAPP_JOB_QUEUE=queue,
               SURVEYAPP_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SURVEYAPP_JOB_RESULTS_DIR=app.config["JOB_RESULTS_DIR"],
               SURVEYAPP_SECRET_KEY="test", FLASK_APP="surveyapp")
    worker = subprocess.run([str(Path(sys.executable).parent / "surveyapp"), "worker", "--burst"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert worker.returncode == 0, worker.stderr
    assert _jobs_of(app, "analyst@example.org") == ["done"] * 3
    assert _post_export(clients["analyst"], data["campaign_id"]).status_code == 302


def test_kept_result_files_are_capped_until_the_oldest_expires(app, make_campaign, monkeypatch):
    data = seed(app, make_campaign)
    clients = _clients(app)
    app.config["JOBS_MAX_FILES_PER_USER"] = 2
    analyst = _user_id(app, "analyst@example.org")
    with app.app_context():
        def work():
            for hours in (3, 1):  # the oldest file goes in an hour
                db.session.add(Job(kind="export", parameters={}, state="done", message="",
                                   created_by_id=analyst, result_name=f"kept-{hours}",
                                   started_at=utcnow(), finished_at=utcnow(),
                                   expires_at=utcnow() + dt.timedelta(hours=hours)))
        operations.transaction(work)
    monkeypatch.setattr(thread_backend, "submit", lambda app, job_id: None)
    reply = _post_export(clients["analyst"], data["campaign_id"])
    assert reply.status_code == 429
    assert "You keep 2 result files" in reply.text and "(in about 60 minutes)" in reply.text
    assert 3500 <= int(reply.headers["Retry-After"]) <= 3600
    assert _post_export(clients["other"], data["campaign_id"]).status_code == 302
    with app.app_context():
        jobs.sweep(now=lambda: utcnow() + dt.timedelta(hours=1, seconds=5))
    assert _post_export(clients["analyst"], data["campaign_id"]).status_code == 302


def test_the_wait_follows_the_running_jobs_progress(app, make_campaign, monkeypatch):
    """A job half done after ten minutes is expected to take ten more."""
    seed(app, make_campaign)
    _clients(app)
    app.config["JOBS_MAX_ACTIVE_PER_USER"] = {"export": 1}
    analyst = _user_id(app, "analyst@example.org")
    with app.app_context():
        def work():
            db.session.add(Job(kind="export", parameters={}, state="running", message="",
                               created_by_id=analyst, progress_done=50, progress_total=100,
                               started_at=utcnow() - dt.timedelta(minutes=10), heartbeat_at=utcnow()))
        operations.transaction(work)
        with pytest.raises(jobs.JobRefused) as refused:
            jobs.enqueue("export", {}, user=db.session.get(User, analyst), project_id=None)
        assert refused.value.reason == "active" and 590 <= refused.value.retry_after <= 610
        assert "You have 1 export waiting or running" in refused.value.message
        assert "(in about 10 minutes)" in refused.value.message
        # A command or a test enqueuing without a user is not capped.
        monkeypatch.setattr(thread_backend, "submit", lambda app, job_id: None)
        assert jobs.enqueue("export", {}, user=None, project_id=None).state == "queued"


def test_two_requests_at_once_cannot_both_take_the_last_slot(app, make_campaign, monkeypatch):
    seed(app, make_campaign)
    _clients(app)
    analyst = _user_id(app, "analyst@example.org")
    monkeypatch.setattr(thread_backend, "submit", lambda app, job_id: None)  # all stay queued
    barrier = threading.Barrier(6)
    outcomes = []

    def start():
        with app.app_context():
            user = db.session.get(User, analyst)
            barrier.wait()
            try:
                jobs.enqueue("export", {}, user=user, project_id=None)
                outcomes.append("queued")
            except jobs.JobRefused:
                outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["queued"] * 3 + ["refused"] * 3
    assert _jobs_of(app, "analyst@example.org") == ["queued"] * 3


def test_a_third_theme_run_is_refused_on_the_themes_page(app, project, monkeypatch):
    """Theme runs (about 1 GB each over 20,000 texts) are capped at two per user: the
    third "Find themes" answers 429 with the message, on the analysis page's route."""
    from tests.helpers import analyst_client, post
    app.config["THEMES_INLINE_MAX_TEXTS"] = 0          # every run from the page is a job
    monkeypatch.setattr(thread_backend, "submit", lambda app, job_id: None)  # they stay queued
    client = analyst_client(app)
    for _ in range(2):
        reply = post(client, project, "run", k="2", language="")
        assert reply.status_code == 302 and "/staff/jobs/" in reply.headers["Location"], reply.text
    reply = post(client, project, "run", k="2", language="")
    assert reply.status_code == 429 and int(reply.headers["Retry-After"]) >= 1
    assert "You have 2 theme runs waiting or running" in reply.text
