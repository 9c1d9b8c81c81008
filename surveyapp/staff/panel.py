"""Panel links on a response's page: admins see whether a response is linked to a panel
and can unlink it (issue 25 item 1). Nobody else sees linkage here: a partner never opens
a response, and analysts read linkage only as the disclosure-controlled counts."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import operations, queries
from surveyapp.access import requester, roles_required
from surveyapp.extensions import db
from surveyapp.forms import DeleteForm
from surveyapp.models import Response as ResponseRow
from surveyapp.staff import bp
from surveyapp.staff.common import campaign_or_404


@bp.app_template_global()
def panel_wave_of(response_id: int) -> str | None:
    """The wave a response is linked in, for an admin's view of the response page; None
    when it is not linked or the reader is not an admin."""
    if not (current_user.is_authenticated and current_user.is_admin):
        return None
    found = queries.panel.link_of(response_id)
    return found.wave if found is not None else None


@bp.route("/campaigns/<int:campaign_id>/responses/<int:response_id>/panel/unlink",
          methods=["GET", "POST"])
@roles_required("admin")
def unlink_response(campaign_id, response_id):
    """Confirm, then remove a response's panel link (admins only; audited). The answers stay."""
    campaign = campaign_or_404(campaign_id, "admin")
    row = db.session.get(ResponseRow, response_id)
    if row is None or row.campaign_id != campaign.id:
        abort(404)
    back = url_for(".response", campaign_id=campaign_id, response_id=row.id)
    form = DeleteForm()
    if form.validate_on_submit():
        unlinked = operations.transaction(lambda: operations.panel.unlink(row, **requester()))
        flash(_("Response unlinked from its panel; its answers are kept.") if unlinked
              else _("This response is not linked to a panel."))
        return redirect(back)
    return render_template(
        "staff/confirm_delete.html", form=form,
        heading=_("Unlink response %(id)s from its panel?", id=row.id),
        explanation=_("The link between this response and the same resident's answers in other "
                      "waves is deleted; the answers are kept. The resident's code will no longer "
                      "link this response, and the link cannot be made again."),
        goes=[], back=back), 422 if request.method == "POST" else 200
