"""Sites and campaigns (an instrument deployed to a site and a wave). Each change
records its audit event ("site.created", "campaign.created", "campaign.opened",
"campaign.closed"; see operations.audit)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from surveyapp import queries
from surveyapp.extensions import db
from surveyapp.models import Campaign, Project, Site
from surveyapp.operations.audit import INTERNAL, Actor, record
from surveyapp.operations.staff import default_project
from surveyapp.operations.transactions import random_code

# Letters that survive being read aloud or copied from paper: no 0/O, 1/I/L.
_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


class CampaignRefused(ValueError):
    """A campaign that may not be created: ``code`` is "duplicate" (``existing`` is the
    open campaign for the same instrument, site and wave) or "unknown_wave"."""

    def __init__(self, code: str, message: str, existing: Campaign | None = None):
        super().__init__(message)
        self.code = code
        self.existing = existing


def site_named(project: Project, name: str) -> Site | None:
    return db.session.scalar(sa.select(Site).where(Site.project_id == project.id,
                                                   Site.name == name.strip()))


def get_or_create_site(name: str, area: str | None = None, project: Project | None = None, *,
                       actor: Actor = INTERNAL, ip: str | None = None) -> Site:
    """The site of this name in ``project`` (the default project if none), made if new
    (and then recorded as "site.created").

    A second identical request (a double-tapped "Add site") finds the first one's site.
    """
    project = project or default_project()
    site = site_named(project, name)
    if site is None:
        site = Site(project=project, name=name.strip(), area=area)
        db.session.add(site)
        db.session.flush()
        record("site.created", actor=actor, ip=ip, project_id=project.id,
               target_type="site", target_id=site.id)
    return site


def open_campaign_like(instrument_id: str, site: Site, wave: str) -> Campaign | None:
    """The open campaign of this instrument at this site and wave, if there is one."""
    return db.session.scalar(sa.select(Campaign).where(
        Campaign.instrument_id == instrument_id, Campaign.site_id == site.id,
        Campaign.wave == wave, Campaign.status == "open"))


def create_campaign(instrument_id: str, site: Site, wave: str, *,
                    unlisted: bool = False, code: str | None = None,
                    opens_at: dt.datetime | None = None,
                    closes_at: dt.datetime | None = None, actor: Actor = INTERNAL,
                    ip: str | None = None) -> Campaign:
    """Deploy the latest version of an instrument to a site and one of its project's waves.

    The version is pinned, so every wave of a project is answered on the same items.
    Raises LookupError if the instrument was never loaded, CampaignRefused if the wave
    is not in the project's list or the same instrument, site and wave has an open
    campaign already (the database's partial unique index decides a race).
    """
    version = queries.instruments.latest_version(instrument_id)
    if version is None or version.kind != "survey":
        raise LookupError(f"no survey '{instrument_id}' has been loaded")
    project = site.project
    if wave not in project.waves:
        raise CampaignRefused("unknown_wave", f"'{wave}' is not a wave of {project.name} "
                              f"({', '.join(project.waves)})")
    existing = open_campaign_like(instrument_id, site, wave)
    if existing is not None:
        raise _duplicate(existing)
    campaign = Campaign(
        code=code or _unused_campaign_code(), project=project, instrument_id=instrument_id,
        instrument_version_id=version.id, site=site, wave=wave, status="open",
        unlisted=unlisted, opens_at=opens_at, closes_at=closes_at)
    db.session.add(campaign)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request created it between the check and the insert. The unit of work
        # is lost either way (no savepoint: pysqlite handles them badly), so roll back
        # here to be able to read the winner.
        db.session.rollback()
        existing = open_campaign_like(instrument_id, site, wave)
        if existing is None:
            raise
        raise _duplicate(existing) from None
    record("campaign.created", actor=actor, ip=ip, project_id=campaign.project_id,
           target_type="campaign", target_id=campaign.id,
           details={"code": campaign.code, "wave": campaign.wave})
    return campaign


def _duplicate(existing: Campaign) -> CampaignRefused:
    return CampaignRefused("duplicate", f"campaign {existing.code} is open already for "
                           f"{existing.instrument_id} at {existing.site.name}, {existing.wave}",
                           existing)


def set_campaign_status(campaign: Campaign, status: str, *, actor: Actor = INTERNAL,
                        ip: str | None = None) -> None:
    """Open or close a campaign (a change is recorded as "campaign.opened" or
    "campaign.closed"). Raises CampaignRefused("duplicate") when reopening it would make
    two open campaigns for the same instrument, site and wave."""
    before = campaign.status
    if status == "open" and before != "open":
        existing = open_campaign_like(campaign.instrument_id, campaign.site, campaign.wave)
        if existing is not None:
            raise _duplicate(existing)
    campaign.status = status
    db.session.flush()
    if before != status:
        record("campaign.opened" if status == "open" else "campaign.closed", actor=actor, ip=ip,
               project_id=campaign.project_id, target_type="campaign", target_id=campaign.id,
               details={"from": before})


def _unused_campaign_code() -> str:
    while True:
        code = random_code(_CODE_ALPHABET, 6)
        if not db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code)):
            return code
