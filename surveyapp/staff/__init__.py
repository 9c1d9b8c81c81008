"""Staff pages under /staff, one module per subject, all in this one blueprint (so the
endpoints stay ``staff.<view>``). Every route declares its roles.

    home        the overview
    projects    projects, their waves and members; sites
    campaigns   campaigns, their responses, deletions, the export download, flyers
    accounts    staff accounts
    jobs        exports started as jobs, a job's page, progress and download
    audit       the audit log (changes); view_log, the record of reads
    capacity, dashboard, results   a project's figures and a campaign's published results

Forms here are FlaskForms, which check their own CSRF token: a form whose token
expired comes back with what was typed and a fresh token, instead of an error page.
"""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from surveyapp.staff import (  # noqa: E402,F401  (each module registers its routes)
    accounts, audit, campaigns, capacity, dashboard, home, jobs, panel, projects, results, view_log)
