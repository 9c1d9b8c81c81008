"""The staff home page, and whether the navigation shows the staff pages."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from surveyapp import queries
from surveyapp.access import roles_required
from surveyapp.staff import bp, words  # noqa: F401  (words registers the template globals)
from surveyapp.staff.common import STAFF


@bp.get("/")
@roles_required(*STAFF, "partner")
def home():
    """The overview: campaigns and recent focus groups of the user's projects, then the
    projects the user is a partner of, with links to their aggregate pages only."""
    staff = may_use_staff_pages()
    partner_of = ([] if current_user.is_admin
                  else queries.projects.projects(current_user.project_ids("partner")))
    scope = queries.projects.scope_of(current_user)
    return render_template(
        "staff/home.html", staff=staff,
        campaigns=queries.campaigns.campaign_summaries(scope) if staff else [],
        focus_groups=queries.focus_groups.recent_focus_groups(limit=5, user=current_user) if staff else [],
        partner_projects=[(project, queries.campaigns.project_campaigns(project.id))
                          for project in partner_of])


@bp.app_template_global()
def may_use_staff_pages() -> bool:
    """Whether the signed-in user may open campaigns, sites and focus groups (the
    navigation shows them); a partner only may not."""
    return current_user.is_authenticated and (
        current_user.is_admin or bool(current_user.role_set & set(STAFF)))
