"""The job kinds: what a job does, given the plain parameters its row keeps.

A kind takes (parameters, stream, progress, set_total), writes its result to ``stream``
and returns the download name; ``progress(n)`` adds n to the done count, ``set_total(n)``
sizes the bar. A kind reads through ``queries`` and writes through ``operations``, which
flush; it never commits: the runner (jobs.runner) commits what it wrote together with the
job's "done", or rolls it back with a failure.

``export``: a workbook or CSV zip to download. ``themes``: a theme run of one source,
stored like an inline run; its result is a small JSON summary.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Callable

from surveyapp.extensions import db
from surveyapp.models import User, utcnow
from surveyapp.operations import themes
from surveyapp.queries import export
from surveyapp.queries.themes import Source


# -- export ----------------------------------------------------------------------------

def export_parameters(filters: export.ExportFilters, *, csv: bool, scope: set[int] | None,
                      generated_by: str) -> dict:
    """ExportFilters and options as the plain data a jobs row keeps."""
    values = {key: (value.isoformat() if isinstance(value, dt.date) else value)
              for key, value in vars(filters).items()}
    return {"filters": values, "csv": csv, "generated_by": generated_by,
            "scope": sorted(scope) if scope is not None else None}


def _export_filters(params: dict) -> export.ExportFilters:
    values = dict(params["filters"])
    for key in ("since", "until"):
        if values.get(key):
            values[key] = dt.date.fromisoformat(values[key])
    return export.ExportFilters(**values)


def run_export(params: dict, stream, progress: Callable[[int], None], set_total) -> str:
    filters = _export_filters(params)
    scope = set(params["scope"]) if params.get("scope") is not None else None
    set_total(export.count_responses(filters, scope))
    export.write_export(filters, stream, csv=params.get("csv", False), scope=scope,
                        generated_by=params.get("generated_by", ""), progress=progress)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return f"{filters.instrument_id}-{stamp}.{'zip' if params.get('csv') else 'xlsx'}"


# -- themes ----------------------------------------------------------------------------

def theme_parameters(source: Source, *, k: int | None, language: str | None,
                     user: User | None) -> dict:
    """A theme run (queries.themes.Source and options) as the plain data a jobs row keeps."""
    return {"source": {"kind": source.kind, "project_id": source.project_id,
                       "instrument_id": source.instrument_id, "item_id": source.item_id,
                       "campaign_id": source.campaign_id},
            "k": k, "language": language, "user_id": user.id if user is not None else None}


# The engine's share of the progress bar: storing the run follows without progress, since
# a progress write commits, and store_run's writes must commit together with the job.
_ENGINE_PERCENT = 95


def run_themes(params: dict, stream, progress: Callable[[int], None], set_total) -> str:
    """Run the engine over the source and store the run, as the page's inline run does.
    The engine phase only reads, so its progress writes may commit; the stored run commits
    when the runner marks the job done (a failure stores nothing). The result file is a
    JSON summary of the run."""
    source = Source(**params["source"])
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
    run = themes.store_run(source, computed, user=user, actor=user)
    summary = {"run": run.id, "source": source.key, "texts": run.item_count,
               "unthemed": run.unthemed, "themes": [
                   {"label": t["label"], "count": t["count"], "key_phrases": t["key_phrases"]}
                   for t in run.themes]}
    stream.write(json.dumps(summary, ensure_ascii=False, indent=1).encode("utf-8"))
    return f"themes-run-{run.id}.json"


KINDS: dict[str, Callable] = {"export": run_export, "themes": run_themes}
