"""Panel links: which responses a resident's panel code ties together, across a project's
waves. Only keyed hashes are read here; no code is ever stored (see models.PanelLink)."""
from __future__ import annotations

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Campaign, PanelLink, Project


def links(project_id: int) -> list[tuple[int, str, str]]:
    """Every link of the project as ``(response_id, wave, link_key)``, in the order they
    were made. Two responses are the same resident's when their link_key is equal (and
    their waves differ, which the table guarantees). Partial responses are included: the
    caller keeps the ones it can use (e.g. those with scores)."""
    rows = db.session.execute(
        sa.select(PanelLink.response_id, PanelLink.wave, PanelLink.link_key)
        .where(PanelLink.project_id == project_id).order_by(PanelLink.id))
    return [tuple(row) for row in rows]


def key_known(project_id: int, link_key: str) -> bool:
    """Whether any response of the project carries this key (a code that was issued)."""
    return db.session.scalar(sa.select(sa.exists().where(
        PanelLink.project_id == project_id, PanelLink.link_key == link_key)))


def key_used(project_id: int, wave: str, link_key: str) -> bool:
    """Whether the key already links a response in this wave of the project."""
    return db.session.scalar(sa.select(sa.exists().where(
        PanelLink.project_id == project_id, PanelLink.wave == wave, PanelLink.link_key == link_key)))


def link_of(response_id: int) -> PanelLink | None:
    """The response's link, if it has one (staff pages only: partners never see it)."""
    return db.session.scalar(sa.select(PanelLink).where(PanelLink.response_id == response_id))


def is_first_wave(campaign: Campaign) -> bool:
    """Whether the campaign is in its project's first wave: a baseline, where codes are
    given out. Every later wave is a follow-up, where codes are asked for. A campaign whose
    wave is not in the project's list (renamed since) counts as neither baseline nor
    follow-up and returns False; see :func:`is_follow_up`."""
    waves = _waves(campaign)
    return bool(waves) and campaign.wave == waves[0]


def is_follow_up(campaign: Campaign) -> bool:
    """Whether the campaign is in a later wave of its project than the first."""
    waves = _waves(campaign)
    return campaign.wave in waves[1:]


def _waves(campaign: Campaign) -> list[str]:
    if campaign.project_id is None:
        return []
    project = db.session.get(Project, campaign.project_id)
    return list(project.waves or []) if project else []
