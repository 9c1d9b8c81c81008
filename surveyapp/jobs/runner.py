"""The runner: runs one job to done or failed, and sweeps the jobs whose worker died.

It owns the jobs' transactions (the kinds and the operations they call only flush).
``run_job`` marks the job running (commit), calls the kind with a progress callback that
writes the row at most once a second on a connection of its own (the heartbeat), writes
the result to a temporary file renamed into JOB_RESULTS_DIR only when complete (so a
shared folder never shows a half file), and marks it done, committing the kind's writes
with it, or rolls them back and marks it failed with a message.

``sweep`` fails running jobs whose heartbeat stopped and expires done jobs past
expires_at, deleting their files. It runs when a worker starts, before each job, and
whenever a job's page or status is read, so a job whose process was killed (a `surveyapp
worker`, or the app server running the thread backend) is shown failed once its
heartbeat is JOB_STALE_MINUTES old, never "running" forever, even if no other job ever
runs.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time
import traceback
from typing import Callable

from flask import current_app

from surveyapp.extensions import db
from surveyapp.jobs.files import result_path, results_dir
from surveyapp.jobs.kinds import KINDS
from surveyapp.models import Job, utcnow


HEARTBEAT_SECONDS = 1.0


def run_job(job_id: int, *, now: Callable[[], dt.datetime] = utcnow) -> Job | None:
    """Run one queued job to done or failed. A job not queued (already run, or swept) is
    left alone, so a job delivered twice runs once."""
    sweep()
    job = db.session.get(Job, job_id)
    if job is None or job.state != "queued":
        return job
    job.state, job.started_at, job.heartbeat_at = "running", now(), now()
    db.session.commit()
    folder = results_dir()
    name = f"{job.id}-{secrets.token_hex(12)}"
    temporary = folder / f".{name}.part"
    last = [time.monotonic()]
    # Counted here, not on the ORM row: a dirty row would be autoflushed by the kind's next
    # query, taking SQLite's write lock for the whole job.
    counts = {"done": job.progress_done, "total": job.progress_total}

    def write_progress():
        # On a connection of its own: committing the session here would end the kind's
        # transaction half-way (and a theme run's advisory lock with it).
        with db.engine.begin() as connection:
            connection.execute(db.update(Job).where(Job.id == job_id).values(
                progress_done=counts["done"], progress_total=counts["total"], heartbeat_at=now()))

    def progress(count: int) -> None:
        counts["done"] += count
        if time.monotonic() - last[0] >= HEARTBEAT_SECONDS:
            last[0] = time.monotonic()
            write_progress()

    def set_total(total: int | None) -> None:
        counts["total"] = total
        write_progress()

    try:
        with open(temporary, "wb") as stream:
            download = KINDS[job.kind](dict(job.parameters), stream, progress, set_total)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, folder / name)
    except Exception as error:  # any failure of the kind becomes the job's message
        db.session.rollback()
        temporary.unlink(missing_ok=True)
        job = db.session.get(Job, job_id)
        job.state, job.finished_at = "failed", now()
        job.message = f"{type(error).__name__}: {error}"[:2000]
        current_app.logger.error("job %s failed\n%s", job_id, traceback.format_exc())
        db.session.commit()
        return job
    job = db.session.get(Job, job_id)
    job.state, job.finished_at, job.heartbeat_at = "done", now(), now()
    job.result_name, job.download_name = name, download
    job.progress_total = counts["total"]
    job.progress_done = counts["total"] if counts["total"] is not None else counts["done"]
    job.expires_at = now() + dt.timedelta(hours=current_app.config["JOB_RESULT_HOURS"])
    db.session.commit()
    return job


def sweep(*, now: Callable[[], dt.datetime] = utcnow) -> int:
    """Fail running jobs whose heartbeat is older than JOB_STALE_MINUTES (their worker
    died), and expire done jobs past expires_at, deleting the file. Returns rows changed."""
    moment = _aware(now())
    stale = moment - dt.timedelta(minutes=current_app.config["JOB_STALE_MINUTES"])
    changed = 0
    for job in db.session.scalars(db.select(Job).where(Job.state == "running")):
        if _aware(job.heartbeat_at or job.started_at or job.created_at) < stale:
            job.state, job.finished_at = "failed", moment
            job.message = "stopped: no heartbeat (the worker died or was killed)"
            changed += 1
    for job in db.session.scalars(db.select(Job).where(Job.state == "done")):
        if job.expires_at is not None and _aware(job.expires_at) <= moment:
            path = result_path(job)
            if path is not None:
                path.unlink(missing_ok=True)
            job.state = "expired"
            changed += 1
    db.session.commit()
    return changed


def sweep_every(app, seconds: float, stop: threading.Event) -> None:
    """Run ``sweep`` in ``app``'s context every ``seconds`` until ``stop`` is set (the
    sweeper thread of `surveyapp worker`). A failing sweep is logged and retried next time:
    a database that is briefly away must not end the loop."""
    while not stop.wait(seconds):
        sweep_once(app)


def sweep_once(app) -> int:
    """One ``sweep`` in a fresh app context; 0 (logged) if it fails."""
    try:
        with app.app_context():
            return sweep()
    except Exception:  # noqa: BLE001 - the loop must outlive a failed sweep
        app.logger.exception("job sweep failed")
        return 0


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def is_expired(job: Job, *, now: Callable[[], dt.datetime] = utcnow) -> bool:
    return job.state == "expired" or (job.expires_at is not None and _aware(job.expires_at) <= _aware(now()))
