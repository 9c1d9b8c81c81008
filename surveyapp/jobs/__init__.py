"""Background jobs: enqueue, run, sweep, and the kinds of work.

    enqueue (here)       check the user's quotas, record a queued job (commit), hand its id to the backend
    quotas               per-user caps on jobs waiting or running and on kept result files
    thread_backend       the default: one worker thread in the app process
    rq_backend           with REDIS_URL: an RQ queue that `surveyapp worker` serves
    runner               run_job and sweep: owns the jobs' transactions
    kinds                export and themes: read through queries, write through operations
    files                where the result files live

Views and commands call ``jobs.enqueue(kind, jobs.<kind>_parameters(...))`` and read a
job's state and file through ``jobs.sweep``, ``jobs.is_expired`` and ``jobs.result_path``.
Each backend is the only module importing its queue library; both hand a job id to
``runner.run_job``. Imports point one way (tests/test_architecture.py): this package and
the backends -> runner -> kinds -> queries and operations.
"""
from __future__ import annotations

import threading

from flask import current_app

from surveyapp.extensions import db
from surveyapp.jobs.files import result_path, results_dir  # noqa: F401
from surveyapp.jobs.kinds import KINDS, export_parameters, theme_parameters  # noqa: F401
from surveyapp.jobs.quotas import JobRefused, claim
from surveyapp.jobs.runner import is_expired, run_job, sweep, sweep_every, sweep_once  # noqa: F401
from surveyapp.models import Job, User


class JobError(Exception):
    """A job that cannot be started (unknown kind, bad parameters)."""


def backend():
    """The configured backend module (imported only when used)."""
    if current_app.config.get("REDIS_URL"):
        from surveyapp.jobs import rq_backend
        return rq_backend
    from surveyapp.jobs import thread_backend
    return thread_backend


def enqueue(kind: str, params: dict, *, user: User | None, project_id: int | None) -> Job:
    """Record a queued job and hand it to the backend; returns the committed row (the
    backend may run it at once, so it must be committed first). Raises JobRefused (and
    records nothing) when ``user`` has reached a quota (jobs.quotas): its message says when
    to try again, and the pages answer it with a 429 and Retry-After."""
    if kind not in KINDS:
        raise JobError(f"unknown job kind {kind!r}")
    # A job whose worker died holds no slot: fail it before counting.
    sweep()
    job = Job(kind=kind, parameters=params, state="queued", message="",
              created_by_id=user.id if user is not None else None, project_id=project_id)
    db.session.add(job)
    try:
        claim(job)
    except JobRefused:
        db.session.rollback()
        raise
    db.session.commit()
    backend().submit(current_app._get_current_object(), job.id)
    return job


def work(app, *, burst: bool = False) -> None:
    """Serve the Redis queue in this process (`surveyapp worker`): sweep once, then sweep
    every JOB_SWEEP_SECONDS on a thread of its own while the queue is served (with
    ``burst``, run the queued jobs and return)."""
    from surveyapp.jobs import rq_backend
    sweep()
    seconds = float(app.config.get("JOB_SWEEP_SECONDS") or 0)
    if seconds and not burst:
        # Expired results and stale jobs are swept while the queue is idle, as in the app.
        threading.Thread(target=sweep_every, args=(app, seconds, threading.Event()),
                         name="surveyapp-sweep", daemon=True).start()
    rq_backend.work(app, burst=burst)
