"""Demo data for a new database: what `make run` shows a first-time user."""
from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from surveyapp import queries
from surveyapp.domain import panel_code
from surveyapp.extensions import db
from surveyapp.models import Campaign, FocusGroup, InstrumentVersion, Site, User
from surveyapp.operations import campaigns, focus_groups, staff, surveys
from surveyapp.operations import panel as operations_panel
from surveyapp.operations.audit import INTERNAL, Actor, record

DEMO_ADMIN_EMAIL = "admin@example.org"
DEMO_PROJECT = "Demo project"


@dataclass
class DemoResult:
    created: bool
    password: str | None = None
    campaigns: list[Campaign] = field(default_factory=list)
    focus_groups: list[FocusGroup] = field(default_factory=list)
    responses: int = 0


def seed_demo(*, responses_per_campaign: int = 24, seed: int = 7, actor: Actor = INTERNAL,
              ip: str | None = None) -> DemoResult:
    """On a database with no users, add a demo project holding sites, campaigns for every
    loaded instrument and synthetic responses (through submit_response, the API's path),
    and an admin who is also a facilitator and analyst of the project; one "demo.seeded"
    event records it all.

    Does nothing on a database that already has users, so re-running keeps data.
    """
    from surveyapp.domain.synthetic import leaning, synthetic_answers

    if db.session.scalar(sa.select(User.id).limit(1)) is not None:
        return DemoResult(created=False)
    password = secrets.token_urlsafe(12)
    project = staff.create_project(DEMO_PROJECT)
    baseline, follow_up = project.waves[:2]
    staff.create_user(DEMO_ADMIN_EMAIL, password, ["admin", "facilitator", "analyst"], project)
    riverside = campaigns.get_or_create_site("Riverside", "North of the river, around the market", project)
    hillcrest = campaigns.get_or_create_site("Hillcrest", "Estates on the hill", project)
    rng = random.Random(seed)
    result = DemoResult(created=True, password=password)
    instrument_ids = db.session.scalars(
        sa.select(InstrumentVersion.instrument_id).where(InstrumentVersion.kind == "survey")
        .distinct().order_by(InstrumentVersion.instrument_id))
    for instrument_id in instrument_ids:
        deployments = [(riverside, baseline, 0.45)]
        if instrument_id == "community-capacity":
            # A baseline and a follow-up at two sites: what scoring compares later.
            deployments = [(riverside, baseline, 0.4), (riverside, follow_up, 0.6),
                           (hillcrest, baseline, 0.5)]
        panel: list[tuple[int, float, str]] = []   # Riverside's baseline: id, leaning, language
        for site, wave, tendency in deployments:
            campaign = campaigns.create_campaign(instrument_id, site, wave)
            version = queries.campaigns.campaign_version(campaign)
            instrument = queries.instruments.instrument_of(version)
            returning = panel if wave == follow_up and site is riverside else []
            for number in range(responses_per_campaign):
                back = returning[number] if number < len(returning) * 2 // 3 else None
                language = back[2] if back else rng.choice(instrument.languages)
                context = queries.respondent.response_context(campaign, language)
                # Two in three of Riverside's baseline residents answer the follow-up as
                # themselves (their own leaning, moved by the programmes) with their code.
                person = min(1.0, back[1] + 0.12) if back else leaning(rng, tendency)
                answers = synthetic_answers(instrument, rng, context, tendency, person=person)
                outcome = surveys.submit_response(
                    campaign, version, instrument, submission_id=uuid.UUID(int=rng.getrandbits(128)),
                    language=language, answers=answers, source="demo")
                result.responses += outcome.outcome == "created"
                if outcome.outcome != "created" or instrument_id != "community-capacity":
                    continue
                if wave == baseline and site is riverside:
                    panel.append((outcome.response_id, person, language))
                elif back:
                    code = operations_panel.issue_code(back[0], baseline_campaign)
                    if code:
                        operations_panel.link(outcome.response_id, campaign, panel_code.link_key(
                            operations_panel.secret(), campaign.project_id, code))
            if wave == baseline and site is riverside:
                baseline_campaign = campaign
            result.campaigns.append(campaign)
    admin = db.session.scalar(sa.select(User).where(User.email == DEMO_ADMIN_EMAIL))
    for guide in queries.instruments.latest_versions("focus_group"):
        result.focus_groups.append(_demo_focus_group(guide, riverside, admin))
    record("demo.seeded", actor=actor, ip=ip, details={
        "campaigns": len(result.campaigns), "responses_per_campaign": responses_per_campaign})
    return result


DEMO_TRANSCRIPT = """[00:02:10] F1: Let's start with what you like about living here.
P1: The market on Saturdays. Everyone knows each other there.
P2: I like that the neighbours look out for the older people on our street.
[00:03:45] P3: The park, when the lights work.
It is not safe after dark when they are broken.
P4: My children go to the youth club, when it is open.
F1: What is missing?
P5: A place for teenagers in the evening. The club closes at six.
P2: And someone to call when there is a problem that is not an emergency."""


def _demo_focus_group(guide: InstrumentVersion, site: Site, admin: User | None) -> FocusGroup:
    """A focus group with a short transcript under the guide's first prompt."""
    from surveyapp.domain.transcripts import parse_quick_entry

    instrument = queries.instruments.instrument_of(guide)
    focus_group = focus_groups.create_focus_group(
        guide_version=guide, site=site, wave="baseline", held_on=dt.date.today(),
        place="Riverside community centre", language=instrument.default_language,
        facilitators=[admin] if admin else [], consent_given=True, created_by=admin,
        participants=[focus_groups.ParticipantInfo(label=f"P{n}", role=role) for n, role in
                      enumerate(["resident", "resident", "youth", "business_owner", "community_worker"], 1)])
    parsed = parse_quick_entry(DEMO_TRANSCRIPT, [f"P{n}" for n in range(1, 6)] + ["F1"])
    focus_groups.add_segments(focus_group, instrument.prompts[0].id, parsed.segments, uuid.UUID(int=focus_group.id))
    return focus_group
