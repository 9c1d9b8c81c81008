"""Deleting a response, a respondent's contact details, a session and a campaign: from the
staff pages (confirm step, CSRF, admins only) and the CLI; every dependent row goes, theme
quotes of the deleted text go, and the audit event keeps counts, never the data."""
from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import (AuditEvent, Campaign, FocusGroup, Participant,
                              PrivateAnswers, PromptNote, Response, ResponseDraft, ResponseScore,
                              Segment, Site, Theme, ThemeAssignment, ThemeRun)
from tests.helpers import (  # noqa: F401
    hidden, payload, prompt_source, question_source, run, signed_in)

CONTACT = "+44 20 7946 0123"


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def events(app, action):
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return rows


def all_quotes(app) -> list[str]:
    with app.app_context():
        quotes = [q for theme in db.session.scalars(sa.select(Theme)) for q in theme.quotes]
        quotes += [q for r in db.session.scalars(sa.select(ThemeRun)) for t in r.themes
                   for q in t.get("quotes", [])]
        return quotes


def confirm_and_delete(client, url):
    """Open the confirm page, post without ticking (refused), then tick and post."""
    page = client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.text
    token = hidden(page.text, "csrf_token")
    assert client.post(url, data={"csrf_token": token}).status_code == 422
    assert client.post(url, data={"confirm": "y"}).status_code == 422  # no CSRF token
    return client.post(url, data={"csrf_token": token, "confirm": "y"})


def add_contact_and_draft(app, response_id):
    with app.app_context():
        def work():
            db.session.add(PrivateAnswers(response_id=response_id, answers={"contact": CONTACT}))
            db.session.add(ResponseDraft(response_id=response_id, pages={
                "follow_up": {"contact": CONTACT + " (typo", "follow_up_invite": "maybe"}}))
        operations.transaction(work)


def quoted_response(app, project):
    """A planted response whose answer is quoted by a theme."""
    quotes = all_quotes(app)
    with app.app_context():
        for response_id in project["responses"]:
            text = db.session.get(Response, response_id).answers["safer_ideas"]
            if text in quotes:
                return response_id, text
    raise AssertionError("no planted answer is quoted")


def test_an_admin_deletes_a_response_and_everything_kept_with_it(app, project):
    run(app, question_source(project), k=2)
    run(app, question_source(project, campaign=False), k=2)
    response_id, text = quoted_response(app, project)
    add_contact_and_draft(app, response_id)
    mine = ThemeAssignment.response_id == response_id
    assert count(app, ThemeAssignment, mine) == 2 and count(app, ResponseScore, ResponseScore.response_id == response_id)
    url = f"/staff/campaigns/{project['campaign_id']}/responses/{response_id}/delete"
    analyst = signed_in(app, "ana2@example.org", "analyst")
    assert analyst.get(url).status_code == 403
    admin = signed_in(app, "boss@example.org", "admin")
    assert CONTACT not in admin.get(url.removesuffix("/delete")).text
    reply = confirm_and_delete(admin, url)
    assert reply.status_code == 302
    for model, where in [(Response, Response.id == response_id), (ThemeAssignment, mine),
                         (ResponseScore, ResponseScore.response_id == response_id),
                         (PrivateAnswers, PrivateAnswers.response_id == response_id),
                         (ResponseDraft, ResponseDraft.response_id == response_id)]:
        assert count(app, model, where) == 0, model
    assert count(app, Response) == len(project["responses"]) - 1
    assert text not in all_quotes(app)
    [event] = events(app, "response.deleted")
    assert (event.actor, event.target_id, event.project_id) == (
        "boss@example.org", str(response_id), project["project_id"])
    assert event.details["responses"] == 1 and event.details["contact_details"] == 1
    assert event.details["theme_assignments"] == 2 and event.details["quotes"] >= 1
    assert text not in json.dumps(event.details) and CONTACT not in json.dumps(event.details)
    assert admin.get(url).status_code == 404  # gone: a second post finds nothing


def test_contact_details_are_deleted_on_request_and_the_answers_kept(app, client, make_campaign):
    body = payload(make_campaign(), language="en")
    body["answers"].update({"follow_up_invite": "yes", "contact": CONTACT})
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    with app.app_context():
        row = db.session.scalar(sa.select(Response))
        response_id, campaign_id, answers = row.id, row.campaign_id, dict(row.answers)
    admin = signed_in(app, "boss@example.org", "admin")
    page = admin.get(f"/staff/campaigns/{campaign_id}/responses/{response_id}")
    assert "Delete contact details" in page.text and CONTACT not in page.text
    url = f"/staff/campaigns/{campaign_id}/responses/{response_id}/contact/delete"
    assert confirm_and_delete(admin, url).status_code == 302
    with app.app_context():
        row = db.session.get(Response, response_id)
        assert row.private is None and row.answers == answers and "contact" not in row.answers
    [event] = events(app, "response.contact_deleted")
    assert event.details == {"campaign_id": campaign_id, "contact_answers": 1, "rows": 1,
                             "draft_values": 0}
    page = admin.get(f"/staff/campaigns/{campaign_id}/responses/{response_id}")
    assert "No contact details are kept" in page.text


def test_an_admin_deletes_a_session_with_its_roster_transcript_and_quotes(app, project):
    run(app, prompt_source(project), k=2)
    session_id = project["session_id"]
    with app.app_context():
        operations.transaction(lambda: operations.focus_groups.save_prompt_note(
            db.session.get(FocusGroup, session_id), project["prompt_id"], "noisy room"))
        texts = set(db.session.scalars(sa.select(Segment.text)))
    assert texts & set(all_quotes(app))
    assert count(app, ThemeAssignment, ThemeAssignment.segment_id.is_not(None)) > 0
    admin = signed_in(app, "boss@example.org", "admin")
    facilitator = signed_in(app, "fac2@example.org", "facilitator")
    url = f"/staff/focus-groups/{session_id}/delete"
    assert facilitator.get(url).status_code == 403
    assert "Delete session" in admin.get(f"/staff/focus-groups/{session_id}").text
    assert confirm_and_delete(admin, url).status_code == 302
    for model in (FocusGroup, Segment, Participant, PromptNote):
        assert count(app, model) == 0, model
    assert count(app, ThemeAssignment, ThemeAssignment.segment_id.is_not(None)) == 0
    assert not texts & set(all_quotes(app))
    [event] = events(app, "session.deleted")
    assert event.details["segments"] == 12 and event.details["participants"] == 2
    assert event.details["notes"] == 1 and event.target_id == str(session_id)
    assert "noisy" not in json.dumps(event.details)


def test_an_admin_deletes_a_campaign_with_its_responses_and_themes(app, project):
    run(app, question_source(project), k=2)
    run(app, question_source(project, campaign=False), k=2)
    add_contact_and_draft(app, project["responses"][0])
    admin = signed_in(app, "boss@example.org", "admin")
    campaign_id = project["campaign_id"]
    page = admin.get(f"/staff/campaigns/{campaign_id}/delete")
    assert "12 complete and 0 partial responses" in page.text
    assert confirm_and_delete(admin, f"/staff/campaigns/{campaign_id}/delete").status_code == 302
    assert count(app, Campaign) == 0 and count(app, Response) == 0
    assert count(app, ResponseScore) == 0 and count(app, PrivateAnswers) == 0
    assert count(app, ResponseDraft) == 0
    assert count(app, ThemeAssignment, ThemeAssignment.response_id.is_not(None)) == 0
    own = f"question:{project['project_id']}:{campaign_id}:"
    assert count(app, ThemeRun, ThemeRun.source_key.startswith(own)) == 0
    assert count(app, Theme, Theme.source_key.startswith(own)) == 0
    assert count(app, Site) == 1  # the site stays
    # The project-wide run stays as a record, without the deleted answers' words.
    assert count(app, ThemeRun) == 1 and not any("street" in q.lower() or "police" in q.lower()
                                                for q in all_quotes(app))
    [event] = events(app, "campaign.deleted")
    assert event.details["responses"] == 12 and event.details["code"] == project["code"]
    assert event.details["theme_runs"] == 1 and event.details["contact_details"] == 1
    assert admin.get(f"/s/{project['code']}").status_code == 404


def test_the_cli_deletes_and_records_as_cli(app, runner, client, make_campaign):
    code = make_campaign()
    body = payload(code, language="en")
    body["answers"].update({"follow_up_invite": "yes", "contact": CONTACT})
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    with app.app_context():
        response_id = db.session.scalar(sa.select(Response.id))
    refused = runner.invoke(args=["delete", "contact", str(response_id)], input="n\n")
    assert refused.exit_code == 1 and count(app, PrivateAnswers) == 1
    done = runner.invoke(args=["delete", "contact", str(response_id), "--yes"])
    assert done.exit_code == 0, done.output
    assert count(app, PrivateAnswers) == 0 and count(app, Response) == 1
    assert events(app, "response.contact_deleted")[0].actor == "cli"
    assert runner.invoke(args=["delete", "response", "999", "--yes"]).exit_code == 1
    done = runner.invoke(args=["delete", "campaign", code, "--yes"])
    assert done.exit_code == 0 and "responses: 1" in done.output
    assert count(app, Campaign) == 0 and count(app, Response) == 0
    [event] = events(app, "campaign.deleted")
    assert event.actor == "cli" and event.details["responses"] == 1
    assert "no campaign" in runner.invoke(args=["delete", "campaign", code, "--yes"]).output


def test_the_cli_deletes_a_session(app, runner, project):
    done = runner.invoke(args=["delete", "session", str(project["session_id"]), "--yes"])
    assert done.exit_code == 0, done.output
    assert count(app, FocusGroup) == 0 and count(app, Segment) == 0
    assert events(app, "session.deleted")[0].details["segments"] == 12
