"""Where job results live: JOB_RESULTS_DIR, one file per finished job, named by the jobs row.
The runner writes them, the sweep and the deletions remove them, the download route reads them."""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from surveyapp.models import Job


def results_dir() -> Path:
    folder = Path(current_app.config["JOB_RESULTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def result_path(job: Job) -> Path | None:
    return results_dir() / job.result_name if job.result_name else None
