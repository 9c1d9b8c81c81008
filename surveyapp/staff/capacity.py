"""The capacity table of a project: scores by site, wave and domain, for analysts and
partners (every cell is an aggregate, small ones suppressed; a partner's n protected by
disclosure control). Thin."""
from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale

from surveyapp import operations, queries
from surveyapp.access import may_in, require_project, requester, roles_required
from surveyapp.domain.instruments import localise
from surveyapp.extensions import db
from surveyapp.models import Project
from surveyapp.staff import bp

ANALYSIS = ("admin", "analyst")


@bp.get("/projects/<int:project_id>/capacity")
@roles_required(*ANALYSIS, "partner")
def capacity(project_id):
    """Site x wave x domain: n, mean and 95% CI, and each follow-up's change from the
    baseline. Small cells are suppressed by the domain functions, not here."""
    project = db.session.get(Project, project_id) or abort(404)
    require_project(project.id, "analyst", "partner")  # aggregates, suppressed: partners too
    instruments = queries.scores.scored_instruments(project.id)
    chosen = request.args.get("instrument", "")
    if chosen not in instruments:
        chosen = instruments[0] if instruments else None
    table = instrument = None
    if chosen:
        # Partners read it through disclosure control: protected n, intervals from it.
        table, instrument = queries.scores.capacity_table(
            project, chosen, protected=not may_in(project.id, "analyst"))
    language = instrument.language_for(str(get_locale())) if instrument else "en"
    labels = {}
    if instrument and instrument.scoring:
        labels = {d.id: localise(d.label, language, instrument.default_language)
                  for d in instrument.scoring.domains}
    operations.transaction(lambda: operations.audit.viewed(
        "capacity.read", project, scope=chosen, count=len(table.cells) if table else 0, **requester()))
    return render_template("staff/capacity.html", project=project, instruments=instruments,
                           titles=queries.instruments.titles(instruments, str(get_locale())),
                           chosen=chosen, table=table, labels=labels)
