"""The Redis backend: RQ, chosen over Celery because it needs only Redis and is small.
The only module importing rq and redis for jobs; `surveyapp worker` runs ``work``."""
from __future__ import annotations

from redis import Redis
from rq import Queue, SimpleWorker


def _queue(app) -> Queue:
    return Queue(app.config["JOB_QUEUE"], connection=Redis.from_url(app.config["REDIS_URL"]))


def submit(app, job_id: int) -> None:
    """Put ``job_id`` on the RQ queue; a `surveyapp worker` process runs it."""
    _queue(app).enqueue("surveyapp.jobs.rq_backend.perform", job_id, job_timeout=6 * 3600)


def perform(job_id: int) -> None:
    """What the RQ worker calls, inside the app context `surveyapp worker` pushed (``work``
    runs jobs in its own process, so that context is there)."""
    from surveyapp.jobs.runner import run_job
    run_job(job_id)


def work(app, *, burst: bool = False) -> None:
    """Serve the queue in this process. SimpleWorker runs each job in this process (no
    fork), inside the app context the CLI pushed, so database connections are not shared
    across a fork."""
    queue = _queue(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=burst)
