"""Staff pages: home, sites, campaigns with printable QR flyers, user accounts. Thin views."""
from __future__ import annotations

import datetime as dt
import io
import ipaddress
from urllib.parse import urlsplit

import segno
import sqlalchemy as sa
from flask import Response as HttpResponse
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import operations, queries
from surveyapp.access import roles_required
from surveyapp.domain.instruments import localise, text_direction
from surveyapp.domain.labels import answered_questions
from surveyapp.extensions import db
from surveyapp.i18n import isolate
from surveyapp.models import Campaign, Site, User
from surveyapp.models import Response as ResponseRow
from surveyapp.staff import bp
from surveyapp.staff.forms import ActionForm, CampaignForm, SiteForm, UserForm, options

STAFF = ("admin", "facilitator", "analyst")


@bp.get("/")
@roles_required(*STAFF)
def home():
    return render_template("staff/home.html", campaigns=queries.campaign_summaries(),
                           sessions=queries.recent_sessions(limit=5))


# ----------------------------------------------------------------------------- sites

@bp.get("/sites")
@roles_required(*STAFF)
def sites():
    return render_template("staff/sites.html", sites=queries.all_sites(), form=SiteForm())


@bp.post("/sites")
@roles_required("admin")
def create_site():
    form = SiteForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(Site.id).where(Site.name == form.name.data.strip())):
            form.name.errors.append(_("A site with this name exists already."))
        else:
            operations.transaction(lambda: operations.campaigns.get_or_create_site(
                form.name.data.strip(), (form.area.data or "").strip() or None))
            flash(_("Site added."))
            return redirect(url_for(".sites"))
    return render_template("staff/sites.html", sites=queries.all_sites(), form=form), 422


# ----------------------------------------------------------------------------- campaigns

def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.instrument.choices = options((v.instrument_id, v.title) for v in queries.latest_versions("survey"))
    form.site.choices = options((s.id, s.name) for s in queries.all_sites())
    return form


@bp.get("/campaigns")
@roles_required(*STAFF)
def campaigns():
    return render_template("staff/campaigns.html", campaigns=queries.campaign_summaries(),
                           form=_campaign_form(), action=ActionForm())


@bp.post("/campaigns")
@roles_required("admin")
def create_campaign():
    form = _campaign_form()
    if form.validate_on_submit():
        site = db.session.get(Site, form.site.data) or abort(400)
        campaign = operations.transaction(lambda: operations.campaigns.create_campaign(
            form.instrument.data, site, form.chosen_wave(), pin_version=form.pin_version.data,
            unlisted=form.unlisted.data, opens_at=_start_of(form.opens_on.data),
            closes_at=_start_of(form.closes_on.data)))
        flash(_("Campaign created: %(link)s", link=isolate(public_link(campaign))))
        return redirect(url_for(".campaign", campaign_id=campaign.id))
    return render_template("staff/campaigns.html", campaigns=queries.campaign_summaries(),
                           form=form, action=ActionForm()), 422


def _start_of(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) if day else None


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(*STAFF)
def campaign(campaign_id):
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    version = queries.campaign_version(campaign)
    return render_template("staff/campaign.html", campaign=campaign, version=version,
                           counts=queries.response_counts(campaign.id), link=public_link(campaign),
                           is_open=queries.is_open(campaign), action=ActionForm())


@bp.post("/campaigns/<int:campaign_id>/status")
@roles_required("admin")
def campaign_status(campaign_id):
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    status = request.form.get("status")
    if ActionForm().validate_on_submit() and status in ("open", "closed"):
        operations.transaction(lambda: operations.campaigns.set_campaign_status(campaign, status))
        flash(_("Campaign opened.") if status == "open" else _("Campaign closed."))
    return redirect(url_for(".campaign", campaign_id=campaign_id))


ANALYSIS = ("admin", "analyst")
PER_PAGE = 50


@bp.get("/campaigns/<int:campaign_id>/responses")
@roles_required(*ANALYSIS)
def responses(campaign_id):
    """The campaign's responses, for analysts (facilitators and respondents never see them)."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = queries.campaign_responses(campaign.id, page=page, per_page=PER_PAGE)
    return render_template("staff/responses.html", campaign=campaign, rows=rows, total=total,
                           page=page, pages=max(1, -(-total // PER_PAGE)))


@bp.get("/campaigns/<int:campaign_id>/responses/<int:response_id>")
@roles_required(*ANALYSIS)
def response(campaign_id, response_id):
    """One response's answers with their questions. Answers to pii questions are kept in
    their own table and are not shown here."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    row = db.session.get(ResponseRow, response_id)
    if row is None or row.campaign_id != campaign.id:
        abort(404)
    instrument = queries.instrument_of(row.instrument_version)
    answered = answered_questions(instrument, row.answers, instrument.language_for(str(get_locale())),
                                  other_label=_("Other"))
    return render_template("staff/response.html", campaign=campaign, row=row, answered=answered)


def public_link(campaign: Campaign) -> str:
    """The short link printed on flyers: PUBLIC_BASE_URL if set, else this request's host."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = url_for("surveys.landing", code=campaign.code)
    return f"{base}{path}" if base else url_for("surveys.landing", code=campaign.code, _external=True)


@bp.get("/campaigns/<int:campaign_id>/flyer")
@roles_required(*STAFF)
def flyer(campaign_id):
    """A printable page: the invitation in each language, the QR code, the short link."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    instrument = queries.instrument_of(queries.campaign_version(campaign))
    link = public_link(campaign)
    blocks = []
    for lang in instrument.languages:
        with force_locale(lang):  # the invitation in each language of the questionnaire
            invitation = _("Scan the code with your phone's camera, or open the link, to take part.")
        blocks.append({"lang": lang, "dir": text_direction(lang), "invitation": invitation,
                       "title": localise(instrument.title, lang, instrument.default_language),
                       "description": localise(instrument.description, lang, instrument.default_language)})
    # No fixed size: with a viewBox the flyer's CSS decides how large it prints.
    qr = segno.make(link, error="m").svg_inline(dark="#000", light="#fff", border=4, omitsize=True)
    return render_template("staff/flyer.html", campaign=campaign, blocks=blocks, link=link, qr=qr,
                           loopback=points_at_this_machine_only(link))


def points_at_this_machine_only(link: str) -> bool:
    """Whether ``link``'s host is a loopback address, which no resident's phone can reach."""
    host = urlsplit(link).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@bp.get("/campaigns/<int:campaign_id>/qr.<any(svg, png):kind>")
@roles_required(*STAFF)
def qr_code(campaign_id, kind):
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    code = segno.make(public_link(campaign), error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=10 if kind == "png" else 8, border=4)
    return HttpResponse(buffer.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png",
                        headers={"Content-Disposition":
                                 f'attachment; filename="survey-{campaign.code}.{kind}"'})


# ----------------------------------------------------------------------------- users

@bp.get("/users")
@roles_required("admin")
def users():
    form = UserForm()
    return render_template("staff/users.html", form=form, users=db.session.scalars(
        sa.select(User).order_by(User.email)).all())


@bp.post("/users")
@roles_required("admin")
def create_user():
    form = UserForm()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("Give the new account a password."))
        elif queries.user_by_email(form.email.data):
            form.email.errors.append(_("An account with this email exists already."))
        else:
            operations.transaction(lambda: operations.staff.create_user(
                form.email.data, form.password.data, form.roles.data))
            flash(_("Account created."))
            return redirect(url_for(".users"))
    return render_template("staff/users.html", form=form, users=db.session.scalars(
        sa.select(User).order_by(User.email)).all()), 422


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=None if request.method == "POST" else user,
                    data=None if request.method == "POST" else {"roles": sorted(user.role_set)})
    if form.validate_on_submit():
        other = queries.user_by_email(form.email.data)
        if other is not None and other.id != user.id:
            form.email.errors.append(_("An account with this email exists already."))
        elif user.id == current_user.id and ("admin" not in form.roles.data or not form.active.data):
            form.roles.errors.append(_("You cannot remove your own admin role or deactivate yourself."))
        else:
            operations.transaction(lambda: operations.staff.update_user(
                user, email=form.email.data, roles=form.roles.data, active=form.active.data,
                password=form.password.data or None))
            flash(_("Account saved."))
            return redirect(url_for(".users"))
    return render_template("staff/user.html", form=form, user=user)
