"""The view log for admins: who read which response, transcript, theme page, dashboard or
file (models.ViewEvent), filtered by user, object, action, project and date, a page at a
time by keyset, and as CSV."""
from __future__ import annotations

import datetime as dt
import io
import tempfile

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from surveyapp import operations, queries
from surveyapp.access import requester, roles_required
from surveyapp.domain.workbook import write_csv
from surveyapp.operations import audit
from surveyapp.queries.audit import VIEW_COLUMNS, VIEW_COUNT_CAP, ViewFilters
from surveyapp.staff import bp

PER_PAGE = 50
ACTION_LABELS = {
    "response.read": _l("Read a response"),
    "responses.list": _l("Listed responses"),
    "transcript.read": _l("Read a transcript"),
    "themes.read": _l("Read a theme page with quotes"),
    "themes.summary": _l("Read the theme summary"),
    "dashboard.read": _l("Read a dashboard"),
    "capacity.read": _l("Read a capacity table"),
    "results.read": _l("Read results being prepared"),
    "results.preview": _l("Read a results preview"),
    "export.download": _l("Downloaded an export"),
    "audit.export": _l("Downloaded the audit log"),
    "views.export": _l("Downloaded the view log"),
}
OBJECT_KINDS = {
    "project": _l("Project"), "campaign": _l("Campaign"), "response": _l("Response"),
    "focus_group": _l("Focus group"), "question": _l("Question"), "prompt": _l("Prompt"),
    "job": _l("Job"), "audit_log": _l("Audit log"), "view_log": _l("View log"),
}


def _when(at: dt.datetime) -> str:
    """An event's time in UTC, whatever zone the database session hands it back in
    (SQLite gives naive UTC, PostgreSQL the session's zone)."""
    return (at.astimezone(dt.timezone.utc) if at.tzinfo else at).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: str) -> int | None:
    """A database id from the query string, or None (not digits, or too long to be one)."""
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _filters() -> tuple[ViewFilters, list[str]]:
    """The filters from the query string, and messages for those refused (a bad value is
    left out and said so, never a 500)."""
    args, problems, values = request.args, [], {}
    for name, field in (("user", "user_id"), ("project", "project_id")):
        if args.get(name, "").strip():
            values[field] = _number(args[name])
            if values[field] is None:
                problems.append(_("Choose a user or project from the list."))
    action = args.get("action", "").strip()
    if action:
        if action in ACTION_LABELS:
            values["action"] = action
        else:
            problems.append(_("Choose an action from the list."))
    kind = args.get("kind", "").strip()
    if kind:
        if kind in OBJECT_KINDS:
            values["object_kind"] = kind
            values["object_id"] = args.get("object", "").strip()[:200]
        else:
            problems.append(_("Choose a kind of object from the list."))
    elif args.get("object", "").strip():
        problems.append(_("Choose the kind of object the id belongs to."))
    for name in ("since", "until"):
        value = args.get(name, "").strip()
        if value:
            try:
                values[name] = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(_("Write dates as YYYY-MM-DD."))
    return ViewFilters(**{k: v for k, v in values.items() if v is not None}), problems


@bp.get("/audit/views")
@roles_required("admin")
def view_log():
    """Who read what, newest first, filtered; ``before``/``after`` (an event id) page by
    keyset. Read-only."""
    filters, problems = _filters()
    for problem in dict.fromkeys(problems):
        flash(problem)
    page = queries.audit.view_events(filters, before=_number(request.args.get("before", "")),
                                     after=_number(request.args.get("after", "")),
                                     per_page=PER_PAGE)
    query = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    projects = queries.projects.projects()
    return render_template(
        "staff/view_log.html", page=page, total=queries.audit.count_view_events(filters),
        cap=VIEW_COUNT_CAP, query=query, users=queries.audit.view_readers(),
        projects=projects, names={p.id: p.name for p in projects}, actions=ACTION_LABELS,
        kinds=OBJECT_KINDS, when=_when)


@bp.get("/audit/views.csv")
@roles_required("admin")
def view_log_csv():
    """The filtered view log as CSV (UTF-8 with BOM; every field formula-escaped by
    write_csv). Taking it out of the app is a read too, and recorded."""
    filters, problems = _filters()
    if problems:
        for problem in dict.fromkeys(problems):
            flash(problem)
        return redirect(url_for(".view_log"))
    output = tempfile.TemporaryFile()
    text = io.TextIOWrapper(output, encoding="utf-8-sig", newline="")
    written = write_csv(VIEW_COLUMNS, queries.audit.all_view_events(filters), text)
    text.flush()
    text.detach()
    operations.transaction(lambda: audit.viewed(
        "views.export", ("view_log", "", None), count=written, **requester()))
    output.seek(0)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    return send_file(output, as_attachment=True, download_name=f"views-{stamp}.csv",
                     mimetype="text/csv")
