"""Fuzz POST /api/v1/submissions: whatever the body, the reply is a documented status with
a JSON body (docs/api.md), never a 500, and a valid submission still goes through after."""
from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, strategies as st

from tests.conftest import campaign_maker
from tests.fuzz.strategies import HOSTILE
from tests.helpers import URL, payload

DOCUMENTED = {200, 201, 400, 404, 409, 413, 422}
KEYS = ["area", "years_here", "resources.meeting_places", "programmes", "programmes.other",
        "priorities", "safer_ideas", "nosuch", "", "__proto__"]

scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(HOSTILE)
           | st.text(max_size=10) | st.sampled_from(["north", "mentoring", "other", "12", "4", "2026-11-20"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10)


@pytest.fixture
def code(sqlite_app):
    return campaign_maker(sqlite_app)()


@st.composite
def bodies(draw, code):
    body = payload(code, seed=draw(st.integers(0, 50)))
    for _ in range(draw(st.integers(0, 4))):
        field = draw(st.sampled_from(["submission_id", "campaign", "language", "answers", "source",
                                      "started_at", "submitted_at", "answer", "drop", "extra"]))
        if field == "answer":
            answers = body.get("answers") if isinstance(body.get("answers"), dict) else {}
            body["answers"] = {**answers, draw(st.sampled_from(KEYS) | st.text(max_size=8)): draw(json_values)}
        elif field == "drop":
            body.pop(draw(st.sampled_from(sorted(body))), None)
        else:
            body[field] = draw(st.one_of(json_values, st.sampled_from(
                [str(uuid.uuid4()), code, code.upper(), "es", "zz", "offline", "2026-11-20T10:00:00Z",
                 "9999-99-99", "2026-11-20T10:00:00+25:00"])))
    return body


@given(data=st.data())
def test_any_submission_body_gets_a_documented_reply(sqlite_app, code, data):
    client = sqlite_app.test_client()
    shape = data.draw(st.sampled_from(["mutated", "any json", "raw"]))
    if shape == "mutated":
        reply = client.post(URL, json=data.draw(bodies(code)))
    elif shape == "any json":
        reply = client.post(URL, data=json.dumps(data.draw(json_values)), content_type="application/json")
    else:
        reply = client.post(URL, data=data.draw(st.binary(max_size=200)),
                            content_type=data.draw(st.sampled_from(["application/json", "text/plain", ""])))
    assert reply.status_code in DOCUMENTED, (reply.status_code, reply.data[:300])
    assert reply.is_json and (reply.json.get("error") or reply.json.get("submission_id"))


def test_a_good_submission_still_goes_through_after_the_fuzzing(sqlite_app, code):
    client = sqlite_app.test_client()
    for _ in range(3):
        client.post(URL, data=b"\xff{", content_type="application/json")
    assert client.post(URL, json=payload(code)).status_code == 201
