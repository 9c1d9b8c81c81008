"""Sites and campaigns in the staff UI and the CLI; the printable flyer and QR downloads."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Campaign, Site
from tests.helpers import hidden
from tests.test_access import login, make_user, signed_in


def campaign_id_of(app, code):
    with app.app_context():
        return db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code))


def admin_client(app):
    return signed_in(app, "admin@example.org", "admin")


def test_admin_creates_a_site_and_a_campaign_then_closes_it(app):
    client = admin_client(app)
    page = client.get("/staff/sites")
    client.post("/staff/sites", data={"csrf_token": hidden(page.text, "csrf_token"),
                                      "name": "Hillcrest", "area": "Estates on the hill"})
    page = client.get("/staff/campaigns")
    site_id = re.search(r'<option value="(\d+)">Hillcrest<', page.text).group(1)
    reply = client.post("/staff/campaigns", data={
        "csrf_token": hidden(page.text, "csrf_token"), "instrument": "community-capacity",
        "site": site_id, "wave": "custom", "wave_label": "mid-term", "pin_version": "y",
        "opens_on": "2026-01-01", "closes_on": "2030-01-01"})
    assert reply.status_code == 302, reply.text[:3000]
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert (campaign.wave, campaign.site.name, campaign.status) == ("mid-term", "Hillcrest", "open")
        assert campaign.instrument_version_id is not None  # pinned
        campaign_id, code = campaign.id, campaign.code
    assert app.test_client().get(f"/s/{code}").status_code == 200

    page = client.get(f"/staff/campaigns/{campaign_id}")
    client.post(f"/staff/campaigns/{campaign_id}/status", data={
        "csrf_token": hidden(page.text, "csrf_token"), "status": "closed"})
    assert app.test_client().get(f"/s/{code}").status_code == 410  # "This survey has closed"


def test_campaign_form_errors_keep_what_was_typed(app):
    client = admin_client(app)
    page = client.get("/staff/campaigns")
    reply = client.post("/staff/campaigns", data={
        "csrf_token": hidden(page.text, "csrf_token"), "instrument": "community-capacity",
        "site": "999999", "wave": "custom", "wave_label": "", "opens_on": "2026-05-01",
        "closes_on": "2026-04-01"})
    assert reply.status_code == 422
    assert "Name the wave." in reply.text
    assert "The closing date must come after the opening date." in reply.text
    assert 'value="2026-05-01"' in reply.text


def test_cli_creates_a_campaign(app, runner):
    result = runner.invoke(args=["campaigns", "create", "--instrument", "programme-feedback",
                                 "--site", "Riverside", "--wave", "baseline", "--unlisted"])
    assert result.exit_code == 0, result.output
    code = re.search(r"/s/(\w+)", result.output).group(1)
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.code == code))
        assert campaign.unlisted and campaign.site.name == "Riverside"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 1
    missing = runner.invoke(args=["campaigns", "create", "--instrument", "nope", "--site", "R",
                                  "--wave", "baseline"])
    assert missing.exit_code != 0 and "no survey 'nope'" in missing.output


def test_flyer_has_every_language_a_qr_code_and_the_link(app, make_campaign):
    code = make_campaign()
    client = admin_client(app)
    campaign_id = campaign_id_of(app, code)
    page = client.get(f"/staff/campaigns/{campaign_id}/flyer")
    assert page.status_code == 200
    assert page.text.count("<svg") == 1 and 'class="segno"' in page.text
    assert f"http://localhost/s/{code}" in page.text
    for lang, direction in (("en", "ltr"), ("es", "ltr"), ("ar", "rtl"), ("zh", "ltr")):
        assert f'<section lang="{lang}" dir="{direction}">' in page.text
    assert "style=" not in page.text  # the CSP forbids inline styles


def test_flyer_link_uses_the_public_base_url(app, make_campaign):
    app.config["PUBLIC_BASE_URL"] = "https://survey.example.org/"
    code = make_campaign()
    client = admin_client(app)
    campaign_id = campaign_id_of(app, code)
    assert f"https://survey.example.org/s/{code}" in client.get(f"/staff/campaigns/{campaign_id}/flyer").text


@pytest.mark.parametrize("base, warned", [
    ("http://127.0.0.1:5000", True), ("http://localhost:5000/", True), ("http://[::1]:8000", True),
    ("http://192.168.1.20:5000", False), ("https://survey.example.org", False),
])
def test_flyer_warns_when_its_link_points_at_this_machine_only(app, make_campaign, base, warned):
    app.config["PUBLIC_BASE_URL"] = base
    code = make_campaign()
    page = admin_client(app).get(f"/staff/campaigns/{campaign_id_of(app, code)}/flyer").text
    assert ('class="warning"' in page) is warned
    assert "SURVEYAPP_PUBLIC_BASE_URL" in page if warned else "SURVEYAPP_PUBLIC_BASE_URL" not in page


def test_qr_downloads(app, make_campaign):
    code = make_campaign()
    client = admin_client(app)
    campaign_id = campaign_id_of(app, code)
    png = client.get(f"/staff/campaigns/{campaign_id}/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert f"survey-{code}.png" in png.headers["Content-Disposition"]
    svg = client.get(f"/staff/campaigns/{campaign_id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get(f"/staff/campaigns/{campaign_id}/qr.gif").status_code == 404


def test_home_counts_responses_per_campaign(app, make_campaign, client):
    from tests.test_api import URL, payload
    code = make_campaign()
    for seed in (1, 2):
        assert client.post(URL, json=payload(code, seed=seed)).status_code == 201
    staff = admin_client(app)
    home = staff.get("/staff/").text
    row = re.search(rf"<code>{code}</code>.*?</tr>", home, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "0"]


def test_analysts_read_responses_without_contact_details_facilitators_cannot(app, make_campaign, client):
    from tests.test_api import URL, payload
    code = make_campaign()
    body = payload(code, seed=3, language="en")
    body["answers"].update({"follow_up_invite": "yes", "contact": "resident@example.org",
                            "area": "north", "years_here": 12, "volunteer_hours": "3"})
    assert client.post(URL, json=body).status_code == 201
    campaign_id = campaign_id_of(app, code)
    make_user(app, "ana@example.org", "analyst")
    make_user(app, "fac@example.org", "facilitator")
    analyst, facilitator = app.test_client(), app.test_client()
    login(analyst, "ana@example.org")
    login(facilitator, "fac@example.org")

    listing = analyst.get(f"/staff/campaigns/{campaign_id}/responses")
    assert listing.status_code == 200 and "1 response" in listing.text
    response_id = re.search(rf"/staff/campaigns/{campaign_id}/responses/(\d+)", listing.text).group(1)
    one = analyst.get(f"/staff/campaigns/{campaign_id}/responses/{response_id}")
    assert one.status_code == 200
    assert "North" in one.text and ">12<" in one.text  # choice labels, not codes
    assert ">3<" in one.text and "3.0" not in one.text  # a decimal reads as typed
    assert "resident@example.org" not in one.text  # pii answers are never shown

    assert facilitator.get(f"/staff/campaigns/{campaign_id}/responses").status_code == 403
    assert facilitator.get(f"/staff/campaigns/{campaign_id}/responses/{response_id}").status_code == 403
    assert analyst.get(f"/staff/campaigns/{campaign_id}/responses/999999").status_code == 404
