"""Campaigns: by code, their version, whether they are open, their responses' counts."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Campaign, InstrumentVersion, Response, Site, utcnow
from surveyapp.queries.instruments import instrument_titles, latest_version
from surveyapp.queries.projects import in_scope


def campaign_by_code(code: str) -> Campaign | None:
    # Codes are letters and digits; anything else (a NUL byte would upset PostgreSQL) finds nothing.
    code = code.strip().lower()
    if not code.isascii() or not code.isalnum():
        return None
    return db.session.scalar(sa.select(Campaign).where(Campaign.code == code))


def campaign_version(campaign: Campaign) -> InstrumentVersion | None:
    """The version new responses to ``campaign`` are answered under."""
    return campaign.pinned_version or latest_version(campaign.instrument_id)


def is_open(campaign: Campaign, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    opens, closes = as_utc(campaign.opens_at), as_utc(campaign.closes_at)
    return (campaign.status == "open" and (opens is None or opens <= now)
            and (closes is None or now < closes))


def has_closed(campaign: Campaign, now: dt.datetime | None = None) -> bool:
    """Closed by staff or past its closing time (as opposed to not open yet)."""
    closes = as_utc(campaign.closes_at)
    return campaign.status == "closed" or (closes is not None and closes <= (now or utcnow()))


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment


def response_counts(campaign_id: int) -> dict[str, int]:
    rows = db.session.execute(sa.select(Response.status, sa.func.count())
                              .where(Response.campaign_id == campaign_id)
                              .group_by(Response.status))
    counts = {"partial": 0, "complete": 0}
    counts.update({status: count for status, count in rows})
    return counts


def campaign_summaries(scope: set[int] | None = None) -> list[dict]:
    """The campaigns of the projects in ``scope`` (None: all) with their complete and
    partial response counts and their instrument's title, newest first."""
    campaigns = db.session.scalars(sa.select(Campaign).where(in_scope(Campaign.project_id, scope))
                                   .order_by(Campaign.id.desc())).all()
    counts = {}
    for campaign_id, status, count in db.session.execute(
            sa.select(Response.campaign_id, Response.status, sa.func.count())
            .where(Response.campaign_id.in_([c.id for c in campaigns]))
            .group_by(Response.campaign_id, Response.status)):
        counts.setdefault(campaign_id, {"partial": 0, "complete": 0})[status] = count
    titles = instrument_titles()
    return [{"campaign": c, "is_open": is_open(c), "title": campaign_title(c, titles),
             "counts": counts.get(c.id, {"partial": 0, "complete": 0})} for c in campaigns]


def campaign_title(campaign: Campaign, titles: dict | None = None) -> str:
    """The title of the questionnaire a campaign deploys (its pinned version's)."""
    titles = titles if titles is not None else instrument_titles()
    return titles.get(campaign.instrument_version_id) or titles.get(campaign.instrument_id) \
        or campaign.instrument_id


def campaign_responses(campaign_id: int, *, page: int = 1, per_page: int = 50) -> tuple[list[Response], int]:
    """One page of a campaign's responses, newest first, and how many there are."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                              .where(Response.campaign_id == campaign_id))
    rows = db.session.scalars(sa.select(Response).where(Response.campaign_id == campaign_id)
                              .order_by(Response.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def project_campaigns(project_id: int) -> list[dict]:
    """The project's campaigns with their questionnaire's title, by site, wave and id (no
    response counts: the partner's home lists them only to link to their aggregates)."""
    titles = instrument_titles()
    campaigns = db.session.scalars(
        sa.select(Campaign).join(Site, Site.id == Campaign.site_id)
        .where(Campaign.project_id == project_id).order_by(Site.name, Campaign.wave, Campaign.id))
    return [{"campaign": c, "title": campaign_title(c, titles)} for c in campaigns]


def project_instruments(project_id: int) -> list[str]:
    """The instrument ids the project's campaigns deploy, by id."""
    return list(db.session.scalars(sa.select(Campaign.instrument_id).distinct()
                                   .where(Campaign.project_id == project_id)
                                   .order_by(Campaign.instrument_id)))


def response_period(campaign_id: int) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (UTC) a complete response of the campaign was submitted
    (the device's clock, else when it was received); (None, None) without any."""
    moment = sa.func.coalesce(Response.submitted_at, Response.received_at, Response.started_at)
    first, last = db.session.execute(
        sa.select(sa.func.min(moment), sa.func.max(moment))
        .where(Response.campaign_id == campaign_id, Response.status == "complete")).one()
    # SQLite hands back strings for aggregates over DateTime columns.
    days = []
    for value in (first, last):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        days.append(as_utc(value).date() if value is not None else None)
    return days[0], days[1]
