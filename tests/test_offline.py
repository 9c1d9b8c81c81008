"""The offline app's server side: the instrument document, the app's files and their size
budget, and the API's ``source``. The browser side is tests/browser/test_offline_browser.py."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp.domain.expressions import parse
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.test_api import URL, payload

VECTORS = json.loads((Path(__file__).parent / "data" / "expression_vectors.json").read_text("utf-8"))
BUDGET = 60 * 1024


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["expression"])
def test_python_evaluator_meets_the_shared_vectors(vector):
    """The same file runs against the JavaScript evaluator in Chromium (parity)."""
    expression = parse(vector["expression"])
    answers = VECTORS["answers"][vector["answers"]]
    value = expression.evaluate(answers, context=VECTORS["context"], self_value=vector["self"])
    assert value == vector["expected"]
    assert expression.test(answers, context=VECTORS["context"],
                           self_value=vector["self"]) is vector["truthy"]


def _bundle(client, code, lang=None):
    """{url: bytes} of everything the offline app caches."""
    page = client.get(f"/s/{code}/offline/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    urls = [f"/s/{code}/offline/instrument.json" + (f"?lang={lang}" if lang else "")]
    urls += [part.split('"')[1] for part in html.split("src=")[1:]]
    urls += ["/static/offline/offline.css", f"/s/{code}/offline/sw.js",
             f"/s/{code}/offline/manifest.webmanifest"]
    files = {f"/s/{code}/offline/": page.data}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        files[url] = response.data
    return files


def test_offline_bundle_is_under_60_kb_in_one_language(client, make_campaign):
    code = make_campaign()
    files = _bundle(client, code, lang="en")
    size = sum(len(data) for data in files.values())
    print(f"offline bundle, community-capacity, en: {size} bytes "
          + ", ".join(f"{url.rsplit('/', 1)[-1]}={len(d)}" for url, d in files.items()))
    assert size < BUDGET, size
    every = len(client.get(f"/s/{code}/offline/instrument.json").data)
    print(f"instrument.json in all seven languages: {every} bytes")


def test_instrument_document_has_every_rule_and_translated_message(client, make_campaign):
    code = make_campaign()
    doc = client.get(f"/s/{code}/offline/instrument.json").json
    assert doc["languages"] == ["en", "es", "fr", "ar", "zh", "vi", "so"]
    assert doc["directions"]["ar"] == "rtl" and doc["campaign"] == code
    assert doc["context"] == {"site": "Riverside", "wave": "baseline"}
    questions = {q["id"]: q for p in doc["pages"] for q in p["questions"]}
    assert any("relevant" in q for q in questions.values())
    assert any("constraint" in q for q in questions.values())
    # Every language's messages are its own, not English copies.
    assert doc["messages"]["es"]["required"] != doc["messages"]["en"]["required"]
    assert doc["ui"]["ar"]["next"] != doc["ui"]["en"]["next"]
    assert "{n}" in doc["ui"]["fr"]["queued"]
    one = client.get(f"/s/{code}/offline/instrument.json?lang=ar").json
    assert one["languages"] == ["en", "ar"]  # the default language stays, as the fallback


def test_offline_pages_of_an_unknown_campaign_are_404(client):
    for path in ("", "instrument.json", "sw.js", "manifest.webmanifest"):
        assert client.get(f"/s/nosuch/offline/{path}").status_code == 404


def test_worker_and_manifest_are_served_in_the_campaign_scope(client, make_campaign):
    code = make_campaign()
    worker = client.get(f"/s/{code}/offline/sw.js")
    assert worker.mimetype in ("text/javascript", "application/javascript")
    manifest = client.get(f"/s/{code}/offline/manifest.webmanifest")
    assert manifest.json["start_url"] == f"/s/{code}/offline/"


def test_api_records_source_offline(app, client, make_campaign):
    body = payload(make_campaign(), source="offline")
    assert client.post(URL, json=body).status_code == 201
    with app.app_context():
        row = db.session.scalar(sa.select(Response).where(
            Response.submission_id == uuid.UUID(body["submission_id"])))
        assert row.source == "offline"
        assert row.submitted_at.isoformat().startswith("2026-11-20T10:12")


@pytest.mark.parametrize("source", ["web", "", 3, ["offline"], "x" * 11])
def test_api_refuses_an_unknown_source(client, make_campaign, source):
    response = client.post(URL, json=payload(make_campaign(), source=source))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_source"


def test_campaign_and_landing_pages_offer_offline_collection(app, client, make_campaign):
    from surveyapp.models import Campaign
    from tests.test_access import signed_in
    code = make_campaign()
    link = f'href="/s/{code}/offline/"'
    assert link in client.get(f"/s/{code}").text
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code))
    staff = signed_in(app, "admin@example.org", "admin")
    assert link in staff.get(f"/staff/campaigns/{campaign_id}").text
