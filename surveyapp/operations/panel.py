"""Panel links: give a baseline response a panel code, link a later wave's response by the
code its resident typed, and unlink one (issue 25 item 1).

Only the code's keyed hash is written (models.PanelLink); the code itself is shown once
and forgotten. The key is PANEL_SECRET from configuration (config.py), never stored in
the database, so a copy of the database alone cannot test guessed codes.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from surveyapp import queries
from surveyapp.domain import panel_code
from surveyapp.extensions import db
from surveyapp.models import Campaign, PanelLink, Response, utcnow
from surveyapp.operations.audit import INTERNAL, Actor, record
from surveyapp.operations.transactions import insert_or_nothing

_COLUMNS = ("project_id", "response_id", "wave", "link_key", "created_at")
_INSERT = insert_or_nothing(PanelLink.__table__, _COLUMNS, returning="id")


def secret() -> bytes:
    """The instance's panel secret (config.finalise makes sure there is one)."""
    return str(current_app.config["PANEL_SECRET"]).encode()


def link(response_id: int, campaign, link_key: str) -> bool:
    """Link the response to ``link_key`` in the campaign's wave; whether this call did.

    ``campaign`` is a Campaign or a queries.respondent.CampaignState (its project_id and
    wave are read). One INSERT ... ON CONFLICT DO NOTHING: a response already linked, or
    a key already used in this wave (two devices sending the same code at once), inserts
    nothing and returns False; the response itself is untouched either way.
    """
    inserted = db.session.connection().execute(_INSERT, {
        "project_id": campaign.project_id, "response_id": response_id, "wave": campaign.wave,
        "link_key": link_key, "created_at": utcnow()}).first()
    return inserted is not None


def issue_code(response_id: int, campaign: Campaign) -> str | None:
    """Make a new panel code for a baseline response, store its key, and return the code
    in grouped form (the only time it exists: show it, never store it). None when the
    response already has a link (a code is given once per response)."""
    for _ in range(5):
        code = panel_code.new_code()
        if link(response_id, campaign, panel_code.link_key(secret(), campaign.project_id, code)):
            return code
        if queries.panel.link_of(response_id) is not None:
            return None
        # Otherwise the wave already holds this code (1 in 8e14 per code issued): draw again.
    raise RuntimeError("could not draw an unused panel code")


def unlink(response: Response, *, actor: Actor = INTERNAL, ip: str | None = None) -> bool:
    """Remove the response's panel link (an admin's decision, e.g. a resident who asked, or
    a code that was passed on); whether there was one. The response and its answers stay.
    Records ``panel.unlinked`` with the wave, never the key."""
    found = queries.panel.link_of(response.id)
    if found is None:
        return False
    wave = found.wave
    db.session.execute(sa.delete(PanelLink).where(PanelLink.id == found.id))
    record("panel.unlinked", actor=actor, ip=ip, project_id=response.campaign.project_id,
           target_type="response", target_id=response.id,
           details={"campaign_id": response.campaign_id, "wave": wave})
    return True
