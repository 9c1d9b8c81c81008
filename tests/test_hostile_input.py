"""Hostile input is refused with a clear 4xx, never a 500, on SQLite and PostgreSQL: invalid
Unicode, deep nesting, timestamps a database cannot store, numbers and ids beyond range.
After each refusal a good request still goes through (nothing was left half-written)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Response
from tests.helpers import URL, count_rows, hidden, payload, signed_in, start


def _splice(body: dict, marker: str, raw_json: str) -> str:
    """``body`` as JSON text with the string ``marker`` replaced by ``raw_json`` verbatim.

    Lets a test send what json.dumps would not write (lone surrogate escapes in keys,
    nesting deeper than the test's own stack).
    """
    return json.dumps(body).replace(json.dumps(marker), raw_json, 1)


NESTED = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("where, raw, error", [
    ("value", '"a\\ud800b"', "invalid_text"),
    ("value", '"\\udfff"', "invalid_text"),
    ("key", '"x\\udc00"', "invalid_text"),
    ("key", '"x\\u0000"', "invalid_text"),
    ("value", NESTED, "too_deep"),
    ("extra", NESTED, "too_deep"),
    ("value", "[" * 40 + "]" * 40, "too_deep"),
])
def test_unstorable_json_is_a_400_then_a_good_retry_succeeds(app, client, make_campaign,
                                                            where, raw, error):
    body = payload(make_campaign())
    if where == "key":
        hostile = {**body, "answers": {**body["answers"], "MARKER": 1}}
        text = _splice(hostile, "MARKER", raw)
    elif where == "value":
        hostile = {**body, "answers": {**body["answers"], "safer_ideas": "MARKER"}}
        text = _splice(hostile, "MARKER", raw)
    else:
        text = _splice({**body, "extra": "MARKER"}, "MARKER", raw)
    reply = client.post(URL, data=text, content_type="application/json")
    assert reply.status_code == 400, reply.data[:300]
    assert reply.json["error"] == error and reply.json["message"]
    assert count_rows(app) == 0
    assert client.post(URL, json=body).status_code == 201


@pytest.mark.parametrize("field, value", [
    ("started_at", "0000-01-01T00:00:00Z"),
    ("started_at", "300000-01-01T00:00:00Z"),
    # Fine in Python and SQLite; year 0 / year 10000 in UTC, which PostgreSQL cannot return.
    ("started_at", "0001-01-01T00:00:00+05:00"),
    ("submitted_at", "9999-12-31T23:59:59-05:00"),
    ("submitted_at", "1969-12-31T23:59:59Z"),
    ("submitted_at", "2100-01-01T00:00:00Z"),
])
def test_timestamps_a_database_cannot_store_are_a_400(app, client, make_campaign, field, value):
    body = payload(make_campaign())
    reply = client.post(URL, json={**body, field: value})
    assert reply.status_code == 400 and reply.json["error"] == f"invalid_{field}"
    assert client.post(URL, json=body).status_code == 201


def test_a_plausible_old_device_clock_is_kept(app, client, make_campaign):
    body = payload(make_campaign(), started_at="1970-01-01T00:00:00Z")
    assert client.post(URL, json=body).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(Response)).started_at.year == 1970


def test_an_integer_of_five_thousand_digits_is_a_422(app, client, make_campaign):
    body = payload(make_campaign())
    reply = client.post(URL, json={**body, "answers": {**body["answers"], "years_here": "9" * 5000}})
    assert reply.status_code == 422
    assert [e["code"] for e in reply.json["errors"]] == ["not_integer"]
    assert client.post(URL, json=body).status_code == 201


@pytest.mark.parametrize("path", [
    "/staff/campaigns/99999999999999999999",
    "/staff/campaigns/99999999999999999999/responses",
    "/staff/campaigns/1/responses/99999999999999999999",
    "/staff/users/99999999999999999999",
    "/staff/focus-groups/99999999999999999999",
    "/staff/campaigns/1/responses?page=" + str(10 ** 30),
    "/staff/campaigns/1/responses?page=99999999999",
])
def test_ids_and_pages_beyond_the_integer_range_are_404(app, make_campaign, path):
    make_campaign()
    client = signed_in(app, "admin@example.org", "admin")
    reply = client.get(path)
    assert reply.status_code == 404 and "<html" in reply.text
    assert client.get("/staff/campaigns/1/responses?page=1").status_code == 200


@pytest.mark.parametrize("page", ["\u00b2", "\u0661", "-5", "abc", "1e9", "1000000"])
def test_odd_page_numbers_are_no_500(app, make_campaign, page):
    make_campaign()
    client = signed_in(app, "admin@example.org", "admin")
    assert client.get(f"/staff/campaigns/1/responses?page={page}").status_code == 200


@pytest.mark.parametrize("typed", [b"north%00", b"%ED%A0%80", b"\xed\xa0\x80", b"%00%ED%A0%80x"])
def test_nul_or_lone_surrogate_typed_into_a_text_answer_is_never_stored(app, client,
                                                                       make_campaign, typed):
    """A browser cannot send a lone surrogate as UTF-8; its CESU-8 bytes arrive instead."""
    path = start(client, make_campaign(), "es")
    token = hidden(client.get(path).text, "csrf_token").encode()
    reply = client.post(path, data=b"csrf_token=" + token + b"&action=save&area=other&area.other=" + typed,
                        content_type="application/x-www-form-urlencoded")
    # Raw bytes that are not UTF-8 (no browser sends them in a urlencoded form) are a 400
    # page in the respondent's language; percent-encoded ones are replaced and saved.
    assert reply.status_code in (302, 400, 422)
    assert 'lang="es"' in reply.text or reply.status_code == 302
    with app.app_context():
        stored = json.dumps(db.session.scalar(sa.select(Response)).all_answers, ensure_ascii=False)
    assert "\x00" not in stored and "\\u0000" not in stored
    stored.encode("utf-8")  # no lone surrogate survived
    good = client.post(path, data={"csrf_token": token.decode(), "action": "save", "area": "north"})
    assert good.status_code == 302


def test_sixty_thousand_unknown_keys_get_a_short_reply(app, client, make_campaign):
    body = payload(make_campaign())
    flood = {**body, "answers": {**body["answers"], **{f"k{i}": 1 for i in range(60_000)}}}
    reply = client.post(URL, json=flood)
    assert reply.status_code == 422
    assert len(reply.data) < 20_000, len(reply.data)
    assert len(reply.json["errors"]) == 50 and reply.json["error_count"] == 60_000
    assert {e["code"] for e in reply.json["errors"]} == {"unknown_question"}
    assert client.post(URL, json=body).status_code == 201


@pytest.mark.parametrize("age, status", [(60, 302), (3599, 302), (3601, 400)])
def test_the_forged_csrf_token_expires_exactly_at_the_time_limit(app, client, make_campaign,
                                                                age, status):
    """The forge behind test_expired_csrf_token_keeps_the_answers (no sleeping) is honest:
    the same token a minute old passes, an hour and a second old it is refused."""
    from tests.helpers import expired_csrf_token
    path = start(client, make_campaign(), "en")
    client.get(path)
    reply = client.post(path, data={"csrf_token": expired_csrf_token(app, client, age),
                                    "action": "save", "area": "north"})
    assert reply.status_code == status


@pytest.mark.parametrize("path", ["/api/v1/submissions", "/login"])
def test_a_405_names_the_allowed_methods(sqlite_app, path):
    """RFC 9110: a 405 carries Allow. The friendly error page once dropped the header."""
    reply = sqlite_app.test_client().open(path, method="PATCH")
    assert reply.status_code == 405
    assert "POST" in reply.headers.get("Allow", "")
