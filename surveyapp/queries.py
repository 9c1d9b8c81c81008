"""Reads shared by views, the API and the CLI. Nothing here writes."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import sqlalchemy as sa

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import Instrument, load_instrument
from surveyapp.extensions import db
from surveyapp.models import (
    Campaign, FocusGroupSession, InstrumentVersion, Response, Site, User, utcnow)


@lru_cache(maxsize=64)
def _parse(content_hash: str, source: str, path: str) -> Instrument:
    # Keyed by the content hash: a version's source never changes once stored.
    return load_instrument(source, path)


def instrument_of(version: InstrumentVersion) -> Instrument:
    """The parsed instrument of a stored version (cached; versions are immutable)."""
    return _parse(version.content_hash, version.source, version.source_path or version.instrument_id)


def latest_version(instrument_id: str) -> InstrumentVersion | None:
    return db.session.scalar(
        sa.select(InstrumentVersion).where(InstrumentVersion.instrument_id == instrument_id)
        .order_by(InstrumentVersion.id.desc()).limit(1))


def campaign_version(campaign: Campaign) -> InstrumentVersion | None:
    """The version new responses to ``campaign`` are answered under."""
    return campaign.pinned_version or latest_version(campaign.instrument_id)


def campaign_by_code(code: str) -> Campaign | None:
    # Codes are letters and digits; anything else (a NUL byte would upset PostgreSQL) finds nothing.
    code = code.strip().lower()
    if not code.isascii() or not code.isalnum():
        return None
    return db.session.scalar(sa.select(Campaign).where(Campaign.code == code))


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


def listed_open_campaigns() -> list[Campaign]:
    campaigns = db.session.scalars(
        sa.select(Campaign).where(Campaign.status == "open", Campaign.unlisted.is_(False))
        .order_by(Campaign.created_at, Campaign.id)).all()
    return [c for c in campaigns if is_open(c)]


def response_by_resume_code(code: str) -> Response | None:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return db.session.scalar(sa.select(Response).where(Response.resume_code == normalised))


def response_context(campaign: Campaign, language: str | None) -> Context:
    return Context(site=campaign.site.name, wave=campaign.wave, language=language)


def latest_versions(kind: str) -> list[InstrumentVersion]:
    """The newest version of every instrument of ``kind`` ('survey' or 'focus_group')."""
    newest = (sa.select(sa.func.max(InstrumentVersion.id))
              .where(InstrumentVersion.kind == kind).group_by(InstrumentVersion.instrument_id))
    return list(db.session.scalars(sa.select(InstrumentVersion)
                                   .where(InstrumentVersion.id.in_(newest))
                                   .order_by(InstrumentVersion.title)))


def response_counts(campaign_id: int) -> dict[str, int]:
    rows = db.session.execute(sa.select(Response.status, sa.func.count())
                              .where(Response.campaign_id == campaign_id)
                              .group_by(Response.status))
    counts = {"partial": 0, "complete": 0}
    counts.update({status: count for status, count in rows})
    return counts


def campaign_summaries() -> list[dict]:
    """Every campaign with its complete and partial response counts, newest first."""
    counts = {}
    for campaign_id, status, count in db.session.execute(
            sa.select(Response.campaign_id, Response.status, sa.func.count())
            .group_by(Response.campaign_id, Response.status)):
        counts.setdefault(campaign_id, {"partial": 0, "complete": 0})[status] = count
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.id.desc())).all()
    return [{"campaign": c, "is_open": is_open(c),
             "counts": counts.get(c.id, {"partial": 0, "complete": 0})} for c in campaigns]


def recent_sessions(limit: int | None = None, **filters) -> list[FocusGroupSession]:
    """Focus-group sessions, newest first; filter by site_id, wave and guide_id."""
    query = sa.select(FocusGroupSession).order_by(FocusGroupSession.held_on.desc(),
                                                  FocusGroupSession.id.desc())
    for name, value in filters.items():
        if value not in (None, ""):
            query = query.where(getattr(FocusGroupSession, name) == value)
    return list(db.session.scalars(query.limit(limit)))


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def all_sites() -> list[Site]:
    return list(db.session.scalars(sa.select(Site).order_by(Site.name)))


def session_waves() -> list[str]:
    return list(db.session.scalars(sa.select(FocusGroupSession.wave).distinct()
                                   .order_by(FocusGroupSession.wave)))


def staff_with_role(*roles: str) -> list[User]:
    users = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.email))
    return [u for u in users if u.role_set & set(roles)]


def campaign_responses(campaign_id: int, *, page: int = 1, per_page: int = 50) -> tuple[list[Response], int]:
    """One page of a campaign's responses, newest first, and how many there are."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                              .where(Response.campaign_id == campaign_id))
    rows = db.session.scalars(sa.select(Response).where(Response.campaign_id == campaign_id)
                              .order_by(Response.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total
