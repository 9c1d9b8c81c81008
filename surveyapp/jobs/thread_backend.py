"""The embedded backend: one worker thread in the app process, started on the first job
(never at import, so a CLI command or a test that enqueues nothing starts no thread).

Between jobs the thread also sweeps (``jobs.runner.sweep``) every JOB_SWEEP_SECONDS,
so expired result files are deleted and stale jobs failed without any job arriving.
"""
from __future__ import annotations

import queue
import threading
import time

_queue: "queue.Queue[tuple[object, int]]" = queue.Queue()
_lock = threading.Lock()
_thread: threading.Thread | None = None
_app = None  # the app whose jobs the thread sweeps (the last one that submitted)


def _work() -> None:
    from surveyapp.jobs.runner import run_job, sweep_once
    next_sweep = time.monotonic()  # the first pass runs at once: jobs left from before a restart
    while True:
        app = _app
        interval = float(app.config.get("JOB_SWEEP_SECONDS") or 0) if app is not None else 0
        timeout = max(0.0, next_sweep - time.monotonic()) if interval else None
        try:
            app, job_id = _queue.get(timeout=timeout)
        except queue.Empty:
            sweep_once(app)  # run_job sweeps too, so only an idle thread needs this
            next_sweep = time.monotonic() + interval
            continue
        if job_id is None:  # start() with another app (or settings): sweep it from now on
            _queue.task_done()
            next_sweep = time.monotonic()
            continue
        try:
            with app.app_context():
                run_job(job_id)
        except Exception:  # run_job records its own failures; the thread must outlive any job
            app.logger.exception("job %s", job_id)
        finally:
            _queue.task_done()
        if interval:
            next_sweep = time.monotonic() + interval


def submit(app, job_id: int) -> None:
    """Queue ``job_id`` for the worker thread, starting it if it is not running."""
    start(app)
    _queue.put((app, job_id))


def start(app) -> None:
    """Start the worker thread (it then sweeps ``app``'s jobs while idle) if it is not
    running. Called on the first job; the app factory never calls it."""
    global _thread, _app
    with _lock:
        changed, _app = _app is not app, app
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="surveyapp-jobs", daemon=True)
            _thread.start()
        elif changed:
            _queue.put((app, None))  # wake the thread, which may be waiting out an old interval


def forget(app) -> None:
    """Stop sweeping ``app`` (it is shutting down, or a test's app is done): until the next
    job starts it again, the idle thread sweeps nothing. Without this, the thread would go
    on sweeping an old app's database with that app's results folder."""
    global _app
    with _lock:
        if _app is app:
            _app = None
            if _thread is not None and _thread.is_alive():
                _queue.put((None, None))  # wake the thread out of the old app's interval


def wait_idle() -> None:
    """Block until every queued job has run (tests, and a clean shutdown)."""
    _queue.join()
