"""The embedded backend: one worker thread in the app process, started on the first job
(never at import, so a CLI command or a test that enqueues nothing starts no thread)."""
from __future__ import annotations

import queue
import threading

_queue: "queue.Queue[tuple[object, int]]" = queue.Queue()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _work() -> None:
    from surveyapp.operations.jobs import run_job
    while True:
        app, job_id = _queue.get()
        try:
            with app.app_context():
                run_job(job_id)
        except Exception:  # run_job records its own failures; the thread must outlive any job
            app.logger.exception("job %s", job_id)
        finally:
            _queue.task_done()


def submit(app, job_id: int) -> None:
    """Queue ``job_id`` for the worker thread, starting it if it is not running."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="surveyapp-jobs", daemon=True)
            _thread.start()
    _queue.put((app, job_id))


def wait_idle() -> None:
    """Block until every queued job has run (tests, and a clean shutdown)."""
    _queue.join()
