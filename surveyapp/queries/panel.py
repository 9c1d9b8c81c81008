"""Panel links: which responses a resident's panel code ties together, across a project's
waves. Only keyed hashes are read here; no code is ever stored (see models.PanelLink)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from surveyapp.domain import panel_code
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


def _waves(campaign) -> list[str]:
    # A Campaign or a queries.respondent.CampaignState: only project_id and wave are read.
    waves = db.session.scalar(sa.select(Project.waves).where(Project.id == campaign.project_id))
    return list(waves or [])


# What a typed panel code comes to (CodeAnswer.outcome).
NO_CODE = "none"          # nothing typed: the survey goes on unlinked, silently
INVALID = "invalid"       # fails the check (``reason`` says why): fix it or go on without
UNKNOWN = "unknown"       # a follow-up's code that no response of the project carries
USED = "used"             # the code already links a response in this wave
NO_PANEL = "no_panel"     # the campaign's wave is not one of its project's waves
ACCEPTED = "ok"           # link the response with ``link_key``

FAILURES = (INVALID, UNKNOWN)  # what a guesser produces: counted by the rate limit


@dataclass(frozen=True)
class CodeAnswer:
    """What :func:`judge_code` found. ``reason`` and ``character`` are domain.panel_code's
    (for INVALID); ``link_key`` is set for ACCEPTED and USED."""
    outcome: str
    reason: str | None = None
    character: str | None = None
    link_key: str | None = None


def judge_code(campaign: Campaign, text: str | None, secret: bytes) -> CodeAnswer:
    """Judge a panel code given with a response to ``campaign``, without writing anything.

    At a follow-up the code must be one the project gave out (a link in another wave);
    at the baseline it is a new code made on a device (the offline app), accepted unless
    the wave already holds it. In either, a code already used in this wave is refused.
    """
    checked = panel_code.check(text)
    if checked.reason == panel_code.EMPTY:
        return CodeAnswer(NO_CODE)
    baseline, follow_up = is_first_wave(campaign), is_follow_up(campaign)
    if not (baseline or follow_up):
        return CodeAnswer(NO_PANEL)
    if not checked.valid:
        return CodeAnswer(INVALID, checked.reason, checked.character)
    key = panel_code.link_key(secret, campaign.project_id, checked.code)
    if key_used(campaign.project_id, campaign.wave, key):
        return CodeAnswer(USED, link_key=key)
    if follow_up and not key_known(campaign.project_id, key):
        return CodeAnswer(UNKNOWN)
    return CodeAnswer(ACCEPTED, link_key=key)
