"""The job layer: an export started from the campaign page runs in the background, shows
its progress, is downloaded, and expires; the same on the RQ queue with `surveyapp worker`;
a running job whose worker died is failed; other users get 404."""
from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import openpyxl
import sqlalchemy as sa

from surveyapp import jobs, operations, queries
from surveyapp.extensions import db
from surveyapp.jobs import thread_backend
from surveyapp.models import Job, utcnow
from tests.helpers import REDIS, XLSX, _clients, _redis_or_skip, hidden, responses_by_id, seed

ROOT = Path(__file__).resolve().parent.parent


def _start(client, campaign_id, **form):
    page = client.get(f"/staff/campaigns/{campaign_id}")
    assert f"/staff/campaigns/{campaign_id}/export-job" in page.text
    reply = client.post(f"/staff/campaigns/{campaign_id}/export-job",
                        data={"csrf_token": hidden(page.text, "csrf_token"), **form})
    assert reply.status_code == 302, reply.text
    return int(reply.headers["Location"].rstrip("/").split("/")[-1])


def _finish_and_expire(app, clients, job_id):
    analyst = clients["analyst"]
    status = analyst.get(f"/staff/jobs/{job_id}/status").get_json()
    assert status["state"] == "done" and status["done"] == status["total"] == 3, status
    page = analyst.get(f"/staff/jobs/{job_id}")
    assert page.status_code == 200 and status["download"] in page.text
    assert 'http-equiv="refresh"' not in page.text  # done: no more refreshing
    reply = analyst.get(status["download"])
    assert reply.status_code == 200 and reply.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(reply.data), read_only=True)
    assert len(responses_by_id(book)) == 3
    # Only the creator or an admin: another analyst gets 404 for all three routes.
    for url in (f"/staff/jobs/{job_id}", f"/staff/jobs/{job_id}/status", status["download"]):
        assert clients["other"].get(url).status_code == 404, url
        assert clients["admin"].get(url).status_code == 200, url
    with app.app_context():
        job = db.session.get(Job, job_id)
        path = jobs.result_path(job)
        assert path.exists() and path.parent == Path(app.config["JOB_RESULTS_DIR"])
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]
        later = job.expires_at + dt.timedelta(seconds=1)
    with app.app_context():
        assert jobs.sweep(now=lambda: later) >= 1
        assert db.session.get(Job, job_id).state == "expired"
        assert not path.exists()
    gone = analyst.get(status["download"])
    assert gone.status_code == 410 and "expired" in gone.text


def test_export_job_thread_backend(app, make_campaign):
    data = seed(app, make_campaign)
    clients = _clients(app)
    job_id = _start(clients["analyst"], data["campaign_id"], status="complete")
    thread_backend.wait_idle()
    _finish_and_expire(app, clients, job_id)
    from surveyapp.models import AuditEvent
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.started"))
        assert event is not None and str(event.target_id) == str(job_id)


def test_job_page_while_queued_refreshes_itself(app, make_campaign):
    data = seed(app, make_campaign)
    clients = _clients(app)
    with app.app_context():
        def work():
            job = Job(kind="export", parameters={}, state="queued", message="",
                      project_id=db.session.scalar(sa.text("select project_id from campaigns")),
                      created_by_id=db.session.scalar(sa.text(
                          "select id from users where email='analyst@example.org'")))
            db.session.add(job)
            db.session.flush()
            return job.id
        job_id = operations.transaction(work)
    page = clients["analyst"].get(f"/staff/jobs/{job_id}")
    assert 'http-equiv="refresh"' in page.text and f"/staff/jobs/{job_id}/status" in page.text
    assert clients["analyst"].get(f"/staff/jobs/{job_id}/download").status_code == 404


def test_pii_only_for_admins(app, make_campaign):
    data = seed(app, make_campaign)
    clients = _clients(app)
    page = clients["analyst"].get(f"/staff/campaigns/{data['campaign_id']}")
    reply = clients["analyst"].post(f"/staff/campaigns/{data['campaign_id']}/export-job", data={
        "csrf_token": hidden(page.text, "csrf_token"), "pii": "1"})
    assert reply.status_code == 403


def test_stale_running_job_is_failed(app, make_campaign):
    seed(app, make_campaign)
    with app.app_context():
        def work():
            job = Job(kind="export", parameters={}, state="running", message="",
                      started_at=utcnow() - dt.timedelta(hours=1),
                      heartbeat_at=utcnow() - dt.timedelta(minutes=app.config["JOB_STALE_MINUTES"] + 1))
            fresh = Job(kind="export", parameters={}, state="running", message="",
                        started_at=utcnow(), heartbeat_at=utcnow())
            db.session.add_all([job, fresh])
            db.session.flush()
            return job.id, fresh.id
        stale_id, fresh_id = operations.transaction(work)
        jobs.sweep()
        stale, fresh = db.session.get(Job, stale_id), db.session.get(Job, fresh_id)
        assert stale.state == "failed" and "heartbeat" in stale.message
        assert fresh.state == "running"


def test_failing_job_is_marked_failed(app, make_campaign):
    seed(app, make_campaign)
    with app.app_context():
        job = jobs.enqueue("export", {"filters": {"instrument_id": "community-capacity",
                                                             "status": "nonsense"}},
                                      user=None, project_id=None)
        thread_backend.wait_idle()
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        assert job.state == "failed" and "status must be one of" in job.message


def test_export_job_rq_backend_with_worker(app, make_campaign):
    """REDIS_URL set: the job goes on a queue of its own name and nothing runs it until a
    real `surveyapp worker --burst` process does."""
    _redis_or_skip()
    queue = f"surveyapp-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS, JOB_QUEUE=queue)
    data = seed(app, make_campaign)
    clients = _clients(app)
    job_id = _start(clients["analyst"], data["campaign_id"], status="complete")
    thread_backend.wait_idle()
    assert clients["analyst"].get(f"/staff/jobs/{job_id}/status").get_json()["state"] == "queued"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SURVEYAPP_REDIS_URL=REDIS, SURVEYAPP_JOB_QUEUE=queue,
               SURVEYAPP_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SURVEYAPP_JOB_RESULTS_DIR=app.config["JOB_RESULTS_DIR"],
               SURVEYAPP_SECRET_KEY="test", FLASK_APP="surveyapp")
    worker = subprocess.run([str(Path(sys.executable).parent / "surveyapp"), "worker", "--burst"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr
    _finish_and_expire(app, clients, job_id)


def test_theme_run_from_the_page_is_a_job_on_the_rq_queue(app, project):
    """With a job queue (several servers) "Find themes" enqueues a themes job; a real
    `surveyapp worker --burst` runs it; its page links back to the themes, now stored."""
    from tests.helpers import analyst_client, page_url, post, question_source
    _redis_or_skip()
    queue = f"surveyapp-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS, JOB_QUEUE=queue)
    client = analyst_client(app)
    assert "in the background" in client.get(page_url(project)).text
    reply = post(client, project, "run", k="2", language="")
    assert reply.status_code == 302 and "/staff/jobs/" in reply.headers["Location"], reply.text
    job_url = reply.headers["Location"]
    assert client.get(job_url + "/status").get_json()["state"] == "queued"
    with app.app_context():
        assert queries.themes.latest_run(question_source(project)) is None
    env = dict(os.environ, PYTHONPATH=str(ROOT), SURVEYAPP_REDIS_URL=REDIS, SURVEYAPP_JOB_QUEUE=queue,
               SURVEYAPP_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SURVEYAPP_JOB_RESULTS_DIR=app.config["JOB_RESULTS_DIR"], SURVEYAPP_SECRET_KEY="test")
    worker = subprocess.run([str(Path(sys.executable).parent / "surveyapp"), "worker", "--burst"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert worker.returncode == 0, worker.stderr
    status = client.get(job_url + "/status").get_json()
    assert status["state"] == "done" and status["done"] == 100, status
    summary = client.get(status["download"]).get_json(force=True)  # the run's JSON summary
    assert summary["texts"] == 12 and len(summary["themes"]) == 2, summary
    page = client.get(job_url)
    assert "Theme run" in page.text and page_url(project).replace("?", "") in page.text.replace("&amp;", "&").replace("?", "")
    with app.app_context():
        run = queries.themes.latest_run(question_source(project))
        assert run is not None and run.item_count == 12 and len(run.themes) == 2
        from surveyapp.models import AuditEvent
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
        assert {"theme.run_started", "theme.run"} <= actions
    assert client.get(page_url(project)).text.count("6 texts") == 2


def _expired_job_with_file(app) -> tuple[int, Path]:
    """A done job whose result expired a minute ago, its file on disk."""
    with app.app_context():
        folder = jobs.results_dir()
        name = f"sweep-{uuid.uuid4().hex}"
        (folder / name).write_bytes(b"old export")

        def work():
            job = Job(kind="export", parameters={}, state="done", message="", result_name=name,
                      download_name="old.xlsx", finished_at=utcnow() - dt.timedelta(hours=2),
                      expires_at=utcnow() - dt.timedelta(minutes=1))
            db.session.add(job)
            db.session.flush()
            return job.id
        return operations.transaction(work), folder / name


def _wait_for_state(app, job_id, state, seconds=20.0):
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            if db.session.get(Job, job_id).state == state:
                return True
        time.sleep(0.1)
    return False


def test_idle_worker_thread_sweeps_expired_jobs(app):
    """The embedded worker thread, with no job arriving, expires a done job past its time
    and deletes its file, every JOB_SWEEP_SECONDS."""
    app.config["JOB_SWEEP_SECONDS"] = 0.2
    job_id, path = _expired_job_with_file(app)
    assert path.exists()
    thread_backend.start(app)
    try:
        assert _wait_for_state(app, job_id, "expired"), "the idle thread never swept"
        assert not path.exists()
        # And again later: a second expired job is swept by a later pass, not only the first.
        second_id, second_path = _expired_job_with_file(app)
        assert _wait_for_state(app, second_id, "expired")
        assert not second_path.exists()
    finally:
        app.config["JOB_SWEEP_SECONDS"] = 300


def test_a_forgotten_app_is_swept_no_more(app):
    """After ``forget`` (the test fixtures call it at teardown) the idle thread leaves the
    app's database alone: it would otherwise expire later tests' jobs with the wrong folder."""
    import time
    app.config["JOB_SWEEP_SECONDS"] = 0.1
    thread_backend.start(app)
    try:
        thread_backend.forget(app)
        job_id, path = _expired_job_with_file(app)
        time.sleep(1.0)  # ten intervals
        with app.app_context():
            assert db.session.get(Job, job_id).state == "done"
        assert path.exists()
    finally:
        app.config["JOB_SWEEP_SECONDS"] = 300


def test_sweep_every_stops_and_survives_a_failing_sweep(app, tmp_path):
    import threading
    job_id, path = _expired_job_with_file(app)
    stop = threading.Event()
    broken = type(app)("broken")  # no database configured: its sweep fails, and is logged
    threads = [threading.Thread(target=jobs.sweep_every, args=(target, 0.05, stop))
               for target in (broken, app)]
    for thread in threads:
        thread.start()
    try:
        assert _wait_for_state(app, job_id, "expired")
        assert not path.exists()
        assert threads[0].is_alive(), "a failing sweep ended the loop"
    finally:
        # Stopped whatever happened: a loop left running after a failed assertion would log
        # the broken app's failure every 50 ms for the rest of the session.
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)


def test_worker_process_sweeps_while_idle(app, make_campaign):
    """A long-running `surveyapp worker` (not --burst) expires jobs while its queue is idle."""
    _redis_or_skip()
    queue = f"surveyapp-test-{uuid.uuid4().hex[:8]}"
    seed(app, make_campaign)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SURVEYAPP_REDIS_URL=REDIS, SURVEYAPP_JOB_QUEUE=queue,
               SURVEYAPP_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SURVEYAPP_JOB_RESULTS_DIR=app.config["JOB_RESULTS_DIR"], SURVEYAPP_JOB_SWEEP_SECONDS="0.3",
               SURVEYAPP_SECRET_KEY="test", FLASK_APP="surveyapp")
    worker = subprocess.Popen([str(Path(sys.executable).parent / "surveyapp"), "worker"], env=env,
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        import time
        time.sleep(3)  # past the worker's start-up sweep: what follows is the periodic one
        assert worker.poll() is None, worker.communicate()[1]
        job_id, path = _expired_job_with_file(app)
        assert _wait_for_state(app, job_id, "expired", seconds=30), "the idle worker never swept"
        assert not path.exists()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
