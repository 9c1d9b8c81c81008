"""What the staff pages share: the role groups, a campaign read with its access check,
the public link printed on flyers, a campaign export's options."""
from __future__ import annotations

from flask import abort, current_app, flash, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.access import require_project
from surveyapp.extensions import db
from surveyapp.models import Campaign
from surveyapp.queries import export


STAFF = ("admin", "facilitator", "analyst")  # who works on campaigns, sites and focus groups
ANALYSIS = ("admin", "analyst")              # who reads responses and exports them


def campaign_or_404(campaign_id: int, *roles: str) -> Campaign:
    """The campaign, if the current user holds one of ``roles`` in its project."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    require_project(campaign.project_id, *roles)
    return campaign


def campaign_export_filters(campaign: Campaign, values, *, aggregates_only: bool = False):
    """The options a campaign's export download (query string) or export job (form) sends,
    from ``values``, as ExportFilters; None, with a message flashed, for a status that is
    not complete, partial or all. Contact details (pii=1) are for admins only: 403."""
    status = values.get("status", "complete")
    if status not in export.STATUSES:
        flash(_("Choose complete, partial or all responses."))
        return None
    include_pii = values.get("pii") == "1"
    if include_pii and not current_user.is_admin:
        abort(403)
    return export.filters_for_campaign(
        campaign, status=status, codes=values.get("codes") == "1",
        language=values.get("lang") or str(get_locale()), include_pii=include_pii,
        aggregates_only=aggregates_only)


def public_link(campaign: Campaign) -> str:
    """The short link printed on flyers: PUBLIC_BASE_URL if set, else this request's host."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = url_for("surveys.landing", code=campaign.code)
    return f"{base}{path}" if base else url_for("surveys.landing", code=campaign.code, _external=True)
