"""Themes in the app: runs stored from real responses and finalised segments, the
analyst's review (rename, merge, split, assign) surviving re-runs, crosstabs, scoping,
the CLI."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain.transcripts import parse_quick_entry
from surveyapp.extensions import db
from surveyapp.models import (InstrumentVersion, Response, Segment, Theme, ThemeAssignment,
                              ThemeRun)
from surveyapp.operations.themes import Source
from tests.test_access import login, make_user
from tests.test_api import payload

LIGHTS = ["The street lights are broken and the street is dark at night",
          "Fix the broken street lights, it is too dark at night",
          "More street lights, the park is dark at night",
          "Dark streets at night, we need street lights",
          "Street lights broken for months, dark and scary at night",
          "Please repair the street lights, dark at night"]
POLICE = ["More police patrols on foot in the evening",
          "Police patrols should walk the estate in the evening",
          "We need police patrols on foot, not just cars",
          "Regular police patrols in the evening would help",
          "Police on foot patrols, evening and weekends",
          "See police patrols walking in the evening"]
AGE_BANDS = ["18-24", "25-34"]


def plant(app, client, code, texts, key="safer_ideas"):
    """Submit one complete response per text through the API; returns their ids."""
    ids = []
    for number, text in enumerate(texts):
        body = payload(code, seed=number + 1, language="en")
        body["answers"][key] = text
        body["answers"].update(age_band=AGE_BANDS[number % 2], years_here=1)
        reply = client.post("/api/v1/submissions", json=body)
        assert reply.status_code == 201, reply.json
        with app.app_context():
            ids.append(db.session.scalar(sa.select(Response.id).where(
                Response.submission_id == uuid.UUID(body["submission_id"]))))
    return ids


@pytest.fixture
def project(app, make_campaign):
    """A project "Council" with a campaign (12 planted answers), a finalised session with
    segments, an analyst of it and an outsider analyst of another project."""
    code = make_campaign(project="Council", site="Alderbank")
    with app.app_context():
        def work():
            council = operations.staff.project_by_name("Council")
            council.min_cell_size = 1
            police = operations.staff.create_project("Police")
            operations.staff.create_user("analyst@example.org", "correct horse battery",
                                         ["analyst"], council)
            operations.staff.create_user("outsider@example.org", "correct horse battery",
                                         ["analyst", "facilitator"], police)
            guide = db.session.scalar(sa.select(InstrumentVersion).where(
                InstrumentVersion.kind == "focus_group"))
            site = operations.campaigns.site_named(council, "Alderbank")
            session = operations.focus_groups.create_session(
                guide_version=guide, site=site, wave="baseline", held_on=dt.date(2026, 11, 2),
                place="Hall", language="en", facilitators=[], participants=[
                    operations.focus_groups.ParticipantInfo(label="P1"),
                    operations.focus_groups.ParticipantInfo(label="P2")], consent_given=True)
            prompt_id = queries.instrument_of(guide).prompts[0].id
            lines = "\n".join(f"P{1 + n % 2}: {text}" for n, text in enumerate(LIGHTS + POLICE))
            operations.focus_groups.add_segments(
                session, prompt_id, parse_quick_entry(lines, ["P1", "P2"]).segments, uuid.uuid4())
            operations.focus_groups.finalise_session(session)
            campaign = queries.campaign_by_code(code)
            return {"project_id": council.id, "campaign_id": campaign.id, "code": code,
                    "session_id": session.id, "guide_id": guide.instrument_id,
                    "prompt_id": prompt_id}
        ids = operations.transaction(work)
    ids["responses"] = plant(app, app.test_client(), code, LIGHTS + POLICE)
    return ids


def question_source(ids, campaign=True):
    return Source("question", ids["project_id"], "community-capacity", "safer_ideas",
                  ids["campaign_id"] if campaign else None)


def prompt_source(ids):
    return Source("prompt", ids["project_id"], ids["guide_id"], ids["prompt_id"])


def run(app, source, **options):
    with app.app_context():
        return operations.transaction(lambda: operations.themes.run_themes(source, **options).id)


def test_a_run_is_stored_with_parameters_themes_and_assignments(app, project):
    run_id = run(app, question_source(project), k=2)
    with app.app_context():
        stored = db.session.get(ThemeRun, run_id)
        assert stored.item_count == 12 and stored.engine_version == "1"
        assert stored.parameters["k"] == 2 and stored.parameters["seed"] == 0
        assert stored.parameters["language"] == "en"
        assert [t["count"] for t in stored.themes] == [6, 6]
        assert all(t["quotes"] and "key_phrases" in t and "sentiment" in t for t in stored.themes)
        rows = db.session.scalars(sa.select(ThemeAssignment)).all()
        assert len(rows) == 12 and {r.assigned_by for r in rows} == {"machine"}
        by_response = {r.response_id: r.theme_id for r in rows}
        lights = {by_response[i] for i in project["responses"][:6]}
        police = {by_response[i] for i in project["responses"][6:]}
        assert len(lights) == 1 and len(police) == 1 and lights != police
        assert all(len(r.text_digest) == 64 for r in rows)


def analyst_client(app, email="analyst@example.org"):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def page_url(ids, campaign=True):
    url = f"/staff/projects/{ids['project_id']}/themes/community-capacity/safer_ideas"
    return url + (f"?campaign={ids['campaign_id']}" if campaign else "")


def csrf(client, url):
    from tests.helpers import hidden
    return hidden(client.get(url).text, "csrf_token")


def theme_ids(app, ids):
    """{label: theme id} for the campaign question's themes."""
    with app.app_context():
        return {t.label: t.id for t in db.session.scalars(sa.select(Theme).where(
            Theme.source_key == question_source(ids).key))}


def post(client, ids, path, **data):
    url = page_url(ids)
    base, _, query = url.partition("?")
    return client.post(f"{base}/{path}?{query}", data={"csrf_token": csrf(client, url), **data})


def test_analyst_runs_reviews_renames_and_merges_on_the_page(app, project):
    client = analyst_client(app)
    page = client.get(page_url(project))
    assert page.status_code == 200 and "Find themes" in page.text
    reply = post(client, project, "run", k="2", language="")
    assert reply.status_code == 302, reply.text
    page = client.get(page_url(project))
    assert "12 texts" in page.text and page.text.count("6 texts") == 2
    assert "while you wait" in page.text      # the page says the run is inline
    labels = theme_ids(app, project)
    assert len(labels) == 2
    lights = next(i for label, i in labels.items() if "light" in label or "dark" in label)
    police = next(i for i in labels.values() if i != lights)
    assert post(client, project, "edit", action="rename", theme=lights,
                label="Street lighting").status_code == 302
    page = client.get(page_url(project))
    assert "Street lighting" in page.text
    assert post(client, project, "edit", action="merge", theme=police,
                into=lights).status_code == 302
    page = client.get(page_url(project))
    assert theme_ids(app, project) == {"Street lighting": lights}
    assert "12 texts" in page.text and page.text.count("12 texts") == 2   # the page and the theme
    # The merge is the analyst's: a re-run that finds two themes again keeps it.
    run(app, question_source(project), k=2)
    with app.app_context():
        review = operations.themes.review(question_source(project))
        by_theme = {t.theme.label: len(t.items) for t in review.themes}
    assert by_theme["Street lighting"] == 12


def test_segments_of_finalised_sessions_are_themed_on_the_prompt_page(app, project):
    client = analyst_client(app)
    url = f"/staff/projects/{project['project_id']}/themes/{project['guide_id']}/{project['prompt_id']}"
    page = client.get(url)
    assert page.status_code == 200 and "12 texts" in page.text
    reply = client.post(url + "/run", data={"csrf_token": csrf(client, url), "k": "2"})
    assert reply.status_code == 302
    page = client.get(url)
    assert page.text.count("6 texts") == 2 and "street lights" in page.text
