"""Background jobs: one interface to enqueue, one runner, one sweep.

``enqueue`` writes a queued jobs row and hands its id to the backend (a worker thread in
the app by default; RQ when REDIS_URL is set). ``run_job`` marks it running, calls the
kind's function with a progress callback (which writes the row at most once a second and
doubles as the heartbeat), writes the result to a temporary file renamed into
JOB_RESULTS_DIR only when complete (so a shared folder never shows a half file), and marks
it done or failed with a message. ``sweep`` fails running jobs whose heartbeat stopped and
expires done jobs past expires_at, deleting their files. It runs when a worker starts, before
each job, and whenever a job's page or status is read (``refresh``), so a job whose process
was killed (a `surveyapp worker`, or the app server running the thread backend) is shown
failed once its heartbeat is JOB_STALE_MINUTES old, never "running" forever, even if no
other job ever runs.

Kinds: ``export`` (a workbook or CSV zip to download) and ``themes`` (a theme run of one
source, stored like an inline run; its result file is a small JSON summary).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

from flask import current_app

from surveyapp.extensions import db
from surveyapp.models import Job, User, utcnow

HEARTBEAT_SECONDS = 1.0


class JobError(Exception):
    """A job that cannot be started (unknown kind, bad parameters)."""


def results_dir() -> Path:
    folder = Path(current_app.config["JOB_RESULTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def result_path(job: Job) -> Path | None:
    return results_dir() / job.result_name if job.result_name else None


# -- kinds ---------------------------------------------------------------------------
# A kind takes (parameters, stream, progress) and returns (download name, total or None);
# progress(n) adds n to progress_done.

def _export_filters(params: dict):
    from surveyapp.queries import export
    values = dict(params["filters"])
    for key in ("since", "until"):
        if values.get(key):
            values[key] = dt.date.fromisoformat(values[key])
    return export.ExportFilters(**values)


def export_parameters(filters, *, csv: bool, scope: set[int] | None, generated_by: str) -> dict:
    """ExportFilters and options as the plain data a jobs row keeps."""
    values = {key: (value.isoformat() if isinstance(value, dt.date) else value)
              for key, value in vars(filters).items()}
    return {"filters": values, "csv": csv, "generated_by": generated_by,
            "scope": sorted(scope) if scope is not None else None}


def _run_export(params: dict, stream, progress: Callable[[int], None], set_total) -> str:
    from surveyapp.queries import export
    filters = _export_filters(params)
    scope = set(params["scope"]) if params.get("scope") is not None else None
    set_total(export.count_responses(filters, scope))
    export.write_export(filters, stream, csv=params.get("csv", False), scope=scope,
                        generated_by=params.get("generated_by", ""), progress=progress)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return f"{filters.instrument_id}-{stamp}.{'zip' if params.get('csv') else 'xlsx'}"


def theme_parameters(source, *, k: int | None, language: str | None, user: User | None) -> dict:
    """A theme run (operations.themes.Source and options) as the plain data a jobs row keeps."""
    return {"source": {"kind": source.kind, "project_id": source.project_id,
                       "instrument_id": source.instrument_id, "item_id": source.item_id,
                       "campaign_id": source.campaign_id},
            "k": k, "language": language, "user_id": user.id if user is not None else None}


# The engine's share of the progress bar: storing the run follows without progress, since
# a progress write commits, and store_run's writes must commit together with the job.
_ENGINE_PERCENT = 95


def _run_themes(params: dict, stream, progress: Callable[[int], None], set_total) -> str:
    """Run the engine over the source and store the run, as the page's inline run does.
    The engine phase only reads, so its progress writes may commit; the stored run commits
    when run_job marks the job done (a failure stores nothing). The result file is a JSON
    summary of the run."""
    import json
    from surveyapp.operations import audit, themes
    source = themes.Source(**params["source"])
    user = db.session.get(User, params["user_id"]) if params.get("user_id") else None
    set_total(100)
    done = [0]

    def engine_progress(fraction: float, stage: str) -> None:
        now = min(_ENGINE_PERCENT, int(fraction * _ENGINE_PERCENT))
        if now > done[0]:
            progress(now - done[0])
            done[0] = now

    computed = themes.compute_run(source, k=params.get("k"), language=params.get("language"),
                                  engine_progress=engine_progress)
    run = themes.store_run(source, computed, user=user)
    audit.record("theme.run", actor=user, project_id=source.project_id, target_type="theme_run",
                 target_id=run.id, details={"source": source.key, "k": params.get("k"),
                                            "job": True})
    summary = {"run": run.id, "source": source.key, "texts": run.item_count,
               "unthemed": run.unthemed, "themes": [
                   {"label": t["label"], "count": t["count"], "key_phrases": t["key_phrases"]}
                   for t in run.themes]}
    stream.write(json.dumps(summary, ensure_ascii=False, indent=1).encode("utf-8"))
    return f"themes-run-{run.id}.json"


KINDS: dict[str, Callable] = {"export": _run_export, "themes": _run_themes}


# -- interface -------------------------------------------------------------------------

def backend():
    """The configured backend module (imported only when used)."""
    if current_app.config.get("REDIS_URL"):
        from surveyapp.jobs import rq_backend
        return rq_backend
    from surveyapp.jobs import thread_backend
    return thread_backend


def enqueue(kind: str, params: dict, *, user: User | None, project_id: int | None) -> Job:
    """Record a queued job and hand it to the backend; returns the committed row."""
    if kind not in KINDS:
        raise JobError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, parameters=params, state="queued", message="",
              created_by_id=user.id if user is not None else None, project_id=project_id)
    db.session.add(job)
    db.session.commit()
    backend().submit(current_app._get_current_object(), job.id)
    return job


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
