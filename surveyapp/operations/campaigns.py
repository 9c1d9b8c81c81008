"""Sites and campaigns (an instrument deployed to a site and a wave)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from surveyapp import queries
from surveyapp.extensions import db
from surveyapp.models import Campaign, Site
from surveyapp.operations.transactions import random_code

# Letters that survive being read aloud or copied from paper: no 0/O, 1/I/L.
_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def get_or_create_site(name: str, area: str | None = None) -> Site:
    site = db.session.scalar(sa.select(Site).where(Site.name == name))
    if site is None:
        site = Site(name=name, area=area)
        db.session.add(site)
        db.session.flush()
    return site


def create_campaign(instrument_id: str, site: Site, wave: str, *, pin_version: bool = False,
                    unlisted: bool = False, code: str | None = None,
                    opens_at: dt.datetime | None = None,
                    closes_at: dt.datetime | None = None) -> Campaign:
    """Deploy an instrument to a site and wave. Raises LookupError if it was never loaded."""
    version = queries.latest_version(instrument_id)
    if version is None or version.kind != "survey":
        raise LookupError(f"no survey '{instrument_id}' has been loaded")
    campaign = Campaign(
        code=code or _unused_campaign_code(), instrument_id=instrument_id,
        instrument_version_id=version.id if pin_version else None, site=site,
        wave=wave, status="open", unlisted=unlisted, opens_at=opens_at, closes_at=closes_at)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def set_campaign_status(campaign: Campaign, status: str) -> None:
    campaign.status = status
    db.session.flush()


def _unused_campaign_code() -> str:
    while True:
        code = random_code(_CODE_ALPHABET, 6)
        if not db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code)):
            return code
