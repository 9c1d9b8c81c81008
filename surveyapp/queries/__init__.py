"""The read paths, one module per area. Views, the API, CLI commands and job bodies call
these as ``queries.<area>.<read>``; nothing here writes to the database.

    projects      which projects a reader may see; projects, sites, staff
    instruments   stored versions and their parsed instruments (cached)
    respondent    what a respondent page reads on every request
    campaigns     campaigns by code, open or closed, their response counts
    focus_groups  the sessions a reader may see, and the lists their pages filter by
    scores        capacity scores and the capacity table
    dashboard     the project dashboard's figures
    protected     the same figures as disclosure-control tallies (n, sum of record keys)
    audit         the audit log
    themes        a theme source's items, assignments, themes, runs and review
    results       a campaign's published results and the reads behind publishing
    export        the response export: filters, rows, sheets, written to a stream
    panel         panel links: which responses a resident's panel code ties across waves

Imports point one way: domain <- queries <- operations, views, commands and jobs; no
module here imports a blueprint package or operations (tests/test_architecture.py).
"""
from surveyapp.queries import (  # noqa: F401  (the areas, as queries.<area>.<read>)
    audit, campaigns, dashboard, export, focus_groups, instruments, panel, projects, protected,
    respondent, results, scores, themes)
