"""The audit log for admins: filtered pages and the CSV."""
from __future__ import annotations

import datetime as dt
import io
import tempfile

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from surveyapp import operations, queries
from surveyapp.operations import audit
from surveyapp.access import requester, roles_required
from surveyapp.staff import bp


AUDIT_PER_PAGE = 50


AUDIT_COLUMNS = ("id", "at", "actor", "actor_user_id", "action", "project_id", "target_type",
                 "target_id", "details", "ip_hash")


def _audit_filters() -> tuple[dict, list[str]]:
    """The audit page's filters from the query string, and messages for those refused
    (a bad date or project is left out and said so, never a 500)."""
    args, problems = request.args, []
    filters = {"action": args.get("action", "").strip()[:100],
               "actor": args.get("user", "").strip()[:254]}
    project = args.get("project", "").strip()
    if project:
        if project.isdigit() and len(project) < 10:
            filters["project_id"] = int(project)
        else:
            problems.append(_("Choose a project from the list."))
    for name in ("since", "until"):
        value = args.get(name, "").strip()
        if value:
            try:
                filters[name] = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(_("Write dates as YYYY-MM-DD."))
    return filters, problems


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    """Who did what: the audit log, newest first, filtered; read-only (nothing here edits)."""
    filters, problems = _audit_filters()
    for problem in dict.fromkeys(problems):
        flash(problem)
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10 ** 6))
    events, total = queries.audit.audit_events(page=page, per_page=AUDIT_PER_PAGE, **filters)
    pages = max(1, -(-total // AUDIT_PER_PAGE))
    query = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("staff/audit.html", events=events, total=total, page=page,
                           pages=pages, query=query, projects=queries.projects.projects(),
                           names={p.id: p.name for p in queries.projects.projects()})


@bp.get("/audit.csv")
@roles_required("admin")
def audit_csv():
    """The filtered audit log as CSV (UTF-8 with BOM; every field formula-escaped)."""
    import json
    from surveyapp.domain.workbook import write_csv
    filters, problems = _audit_filters()
    if problems:
        for problem in dict.fromkeys(problems):
            flash(problem)
        return redirect(url_for(".audit_log"))
    output = tempfile.TemporaryFile()
    text = io.TextIOWrapper(output, encoding="utf-8-sig", newline="")
    rows = ((e.id, e.at, e.actor, e.actor_user_id, e.action, e.project_id, e.target_type,
             e.target_id, json.dumps(e.details, ensure_ascii=False, sort_keys=True), e.ip_hash)
            for e in queries.audit.all_audit_events(**filters))
    written = write_csv(AUDIT_COLUMNS, rows, text)
    text.flush()
    text.detach()
    # Reading the log out is recorded too: the export leaves the app.
    operations.transaction(lambda: audit.record(
        "audit.exported", **requester(), target_type="audit_log",
        details={"rows": written, **{k: str(v) for k, v in filters.items() if v}}))
    operations.transaction(lambda: audit.viewed("audit.export", ("audit_log", "", None), count=written,
                                                **requester()))
    output.seek(0)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    return send_file(output, as_attachment=True, download_name=f"audit-{stamp}.csv",
                     mimetype="text/csv")
