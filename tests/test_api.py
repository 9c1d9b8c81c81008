"""POST /api/v1/submissions: created once, retries answered alike, conflicts and bad input
refused with the right status, and 50 simultaneous posts of one UUID give one row."""
from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from surveyapp import create_app
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.conftest import app_config
from tests.helpers import URL, catalog_text, count_rows, payload



def test_created_then_retry_gives_the_same_body(app, client, make_campaign):
    body = payload(make_campaign())
    first = client.post(URL, json=body)
    assert first.status_code == 201, first.json
    again = client.post(URL, json=body)
    assert again.status_code == 200
    assert again.json == first.json
    assert first.json["submission_id"] == body["submission_id"]
    assert count_rows(app) == 1
    with app.app_context():
        row = db.session.scalar(sa.select(Response))
        assert row.status == "complete" and row.language == "es" and row.source == "api"
        assert row.answers == body["answers"]
        assert row.started_at.isoformat().startswith("2026-11-20T10:00")


def test_same_uuid_with_other_answers_is_a_conflict(app, client, make_campaign):
    body = payload(make_campaign())
    assert client.post(URL, json=body).status_code == 201
    changed = {**body, "answers": {**body["answers"], "years_here": 3}}
    reply = client.post(URL, json=changed)
    assert reply.status_code == 409 and reply.json["error"] == "conflict"
    assert count_rows(app) == 1


@pytest.mark.parametrize("language", ["es", "ar"])
def test_invalid_answers_get_422_with_messages_in_the_respondents_language(
        app, client, make_campaign, language):
    body = payload(make_campaign(), language=language)
    body["answers"]["years_here"] = 500
    del body["answers"]["area"]
    reply = client.post(URL, json=body)
    assert reply.status_code == 422
    errors = {e["question"]: e for e in reply.json["errors"]}
    assert errors["area"]["code"] == "required"
    assert errors["area"]["message"] == catalog_text(language, "Please answer this question.")
    assert errors["years_here"]["code"] == "too_large"
    assert errors["years_here"]["message"] == catalog_text(
        language, "Please enter a number no greater than %(max)s.") % {"max": 100}
    assert count_rows(app) == 0


@pytest.mark.parametrize("mutate, status, error", [
    (lambda b: b.update(campaign="nosuch"), 404, "unknown_campaign"),
    (lambda b: b.update(submission_id="not-a-uuid"), 400, "invalid_submission_id"),
    (lambda b: b.update(answers=[1, 2]), 400, "invalid_answers"),
    (lambda b: b.update(started_at="yesterday"), 400, "invalid_started_at"),
    (lambda b: b["answers"].update(nonsense=1), 422, "invalid_answers"),
])
def test_bad_requests_are_refused_clearly(client, make_campaign, mutate, status, error):
    body = payload(make_campaign())
    mutate(body)
    reply = client.post(URL, json=body)
    assert reply.status_code == status and reply.json["error"] == error


@pytest.mark.parametrize("text", ["nul\u0000byte", "bell\u0007 and escape\u001b[31m", "\u202eRTL override"])
def test_control_characters_are_stripped_not_a_500(app, client, make_campaign, text):
    body = payload(make_campaign())
    body["answers"]["safer_ideas"] = text
    reply = client.post(URL, json=body)
    assert reply.status_code == 201, reply.json
    with app.app_context():
        stored = db.session.scalar(sa.select(Response)).answers["safer_ideas"]
    assert not any(ord(ch) < 32 for ch in stored) and stored.strip()


@pytest.mark.parametrize("code", ["\u0000", "abc\u0000", "../../etc", "ü", " ", ""])
def test_odd_campaign_codes_are_404(client, code):
    body = {"submission_id": str(uuid.uuid4()), "campaign": code, "answers": {}}
    assert client.post(URL, json=body).status_code == 404


def test_not_json_is_a_400(client):
    reply = client.post(URL, data="{not json", content_type="application/json")
    assert reply.status_code == 400 and reply.json["error"] == "invalid_json"


def test_closed_campaign_is_a_404(app, client, make_campaign):
    code = make_campaign()
    with app.app_context():
        db.session.execute(sa.text("UPDATE campaigns SET status = 'closed'"))
        db.session.commit()
    assert client.post(URL, json=payload(code)).status_code == 404


def test_a_retry_after_the_campaign_closed_is_acknowledged_not_refused(app, client, make_campaign):
    body = payload(make_campaign())
    assert client.post(URL, json=body).status_code == 201
    with app.app_context():
        db.session.execute(sa.text("UPDATE campaigns SET status = 'closed'"))
        db.session.commit()
    assert client.post(URL, json=body).status_code == 200
    fresh = dict(body, submission_id=str(uuid.uuid4()))
    assert client.post(URL, json=fresh).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1


def test_oversized_body_is_a_413(client, make_campaign):
    body = payload(make_campaign())
    body["answers"]["safer_ideas"] = "x" * (1024 * 1024)
    reply = client.post(URL, json=body)
    assert reply.status_code == 413 and reply.json["error"] == "Request Entity Too Large"


def test_too_long_answer_is_a_422_not_a_truncation(client, make_campaign):
    body = payload(make_campaign())
    body["answers"]["safer_ideas"] = "x" * 6000
    reply = client.post(URL, json=body)
    assert reply.status_code == 422
    assert reply.json["errors"][0]["code"] == "too_long"


def test_rate_limit_answers_429_in_json(sqlite_template, tmp_path):
    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    limited = create_app({**app_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path),
                          "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "3/minute"})
    client = limited.test_client()
    statuses = [client.post(URL, json={}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    limited_reply = client.post(URL, json={})
    assert limited_reply.json["error"] == "Too Many Requests"
    assert int(limited_reply.headers["Retry-After"]) > 0


def test_fifty_simultaneous_posts_of_one_uuid_store_one_row(app, live_server, make_campaign):
    """Real HTTP, a threaded server, 50 threads: the unique constraint decides, on
    SQLite and on PostgreSQL."""
    body = json.dumps(payload(make_campaign())).encode()

    def post(_):
        request = urllib.request.Request(live_server + URL, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(post, range(50)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 49, statuses
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert count_rows(app) == 1


def test_api_keeps_contact_details_apart(app, client, make_campaign):
    body = payload(make_campaign())
    body["answers"].update({"follow_up_invite": "yes", "contact": "+44 20 7946 0000"})
    assert client.post(URL, json=body).status_code == 201
    assert client.post(URL, json=body).status_code == 200  # a retry still matches
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        assert "contact" not in response.answers
        assert response.private.answers == {"contact": "+44 20 7946 0000"}
