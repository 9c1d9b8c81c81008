"""Sites and campaigns in the staff UI and the CLI; the printable flyer and QR downloads."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from surveyapp.extensions import db
from surveyapp.models import Campaign, InstrumentVersion, Project, Site
from tests.helpers import hidden, login, make_user, signed_in


def campaign_id_of(app, code):
    with app.app_context():
        return db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code))


def admin_client(app):
    return signed_in(app, "admin@example.org", "admin")


def create_project(client, name="Council"):
    page = client.get("/staff/projects")
    reply = client.post("/staff/projects", data={"csrf_token": hidden(page.text, "csrf_token"),
                                                 "name": name})
    assert reply.status_code == 302, reply.text[:2000]
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def create_site(client, project_id, name="Hillcrest"):
    page = client.get("/staff/sites")
    return client.post("/staff/sites", data={"csrf_token": hidden(page.text, "csrf_token"),
                                             "project": project_id, "name": name,
                                             "area": "Estates on the hill"})


def campaign_post(client, site_id, wave="baseline", **extra):
    page = client.get("/staff/campaigns")
    return client.post("/staff/campaigns", data={
        "csrf_token": hidden(page.text, "csrf_token"), "instrument": "community-capacity",
        "site": site_id, "wave": wave, **extra})


def site_option(page_text, name):
    return re.search(rf'<option value="(\d+)">{name}<', page_text).group(1)


def test_admin_creates_a_site_and_a_campaign_then_closes_it(app):
    client = admin_client(app)
    project_id = create_project(client)
    assert create_site(client, project_id).status_code == 302
    site_id = site_option(client.get("/staff/campaigns").text, "Hillcrest")
    reply = campaign_post(client, site_id, "follow-up 1", opens_on="2026-01-01",
                          closes_on="2030-01-01")
    assert reply.status_code == 302, reply.text[:3000]
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert (campaign.wave, campaign.site.name, campaign.status) == ("follow-up 1", "Hillcrest", "open")
        assert campaign.project.name == "Council" and campaign.site.project.name == "Council"
        # Pinned without being asked: later waves must be answered on the same items.
        assert campaign.instrument_version_id is not None
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
        "site": "999999", "wave": "baseline", "opens_on": "2026-05-01", "closes_on": "2026-04-01"})
    assert reply.status_code == 422
    assert "The closing date must come after the opening date." in reply.text
    assert 'value="2026-05-01"' in reply.text


def test_the_wave_comes_from_the_sites_project(app):
    """Free text is not a wave, nor is another project's wave: scoring compares waves by name."""
    client = admin_client(app)
    council = create_project(client, "Council")
    police = create_project(client, "Police")
    page = client.get(f"/staff/projects/{police}")
    client.post(f"/staff/projects/{police}/waves", data={
        "csrf_token": hidden(page.text, "csrf_token"), "waves": "before\nafter"})
    assert create_site(client, council, "Hillcrest").status_code == 302
    page = client.get("/staff/campaigns").text
    assert '<select id="wave" name="wave"' in page and 'name="wave_label"' not in page
    site_id = site_option(page, r"Hillcrest \(Council\)")
    typed = campaign_post(client, site_id, "mid-term")
    assert typed.status_code == 422 and "Not a valid choice" in typed.text
    other = campaign_post(client, site_id, "after")
    assert other.status_code == 422
    assert "This wave is not one of the waves of \u2068Council\u2069." in other.text
    assert campaign_post(client, site_id, "follow-up 1").status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(Campaign.wave)).all() == ["follow-up 1"]


def test_admin_edits_a_projects_waves(app):
    client = admin_client(app)
    project_id = create_project(client)
    page = client.get(f"/staff/projects/{project_id}")
    assert "baseline\nfollow-up 1</textarea>" in page.text
    reply = client.post(f"/staff/projects/{project_id}/waves", data={
        "csrf_token": hidden(page.text, "csrf_token"), "waves": " baseline \r\n\r\nmid-term\r\nfinal"})
    assert reply.status_code == 302
    with app.app_context():
        assert db.session.get(Project, project_id).waves == ["baseline", "mid-term", "final"]
    repeated = client.post(f"/staff/projects/{project_id}/waves", data={
        "csrf_token": hidden(page.text, "csrf_token"), "waves": "baseline\nbaseline"})
    assert repeated.status_code == 422 and "each once" in repeated.text
    with app.app_context():
        assert db.session.get(Project, project_id).waves == ["baseline", "mid-term", "final"]


def test_one_open_campaign_per_instrument_site_and_wave(app):
    """A double-tapped "Create campaign" makes one; the second post says which is open."""
    client = admin_client(app)
    project_id = create_project(client)
    create_site(client, project_id)
    site_id = site_option(client.get("/staff/campaigns").text, "Hillcrest")
    page = client.get("/staff/campaigns")
    data = {"csrf_token": hidden(page.text, "csrf_token"), "instrument": "community-capacity",
            "site": site_id, "wave": "baseline"}
    first = client.post("/staff/campaigns", data=data)
    second = client.post("/staff/campaigns", data=data)
    assert first.status_code == 302 and second.status_code == 422
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1
    assert (f"A campaign is open already for this questionnaire, site and wave: {campaign.code}."
            in second.text)

    # Once it is closed, the next one may open; the old one may not be reopened beside it.
    page = client.get(f"/staff/campaigns/{campaign.id}")
    client.post(f"/staff/campaigns/{campaign.id}/status", data={
        "csrf_token": hidden(page.text, "csrf_token"), "status": "closed"})
    assert client.post("/staff/campaigns", data=data).status_code == 302
    reopen = client.post(f"/staff/campaigns/{campaign.id}/status", data={
        "csrf_token": hidden(page.text, "csrf_token"), "status": "open"}, follow_redirects=True)
    assert "A campaign is open already" in reopen.text
    with app.app_context():
        assert db.session.get(Campaign, campaign.id).status == "closed"


def test_the_database_refuses_a_second_open_campaign(app, make_campaign):
    """The partial unique index holds even for a writer that skips the operation's check."""
    make_campaign()
    with app.app_context():
        first = db.session.scalar(sa.select(Campaign))
        values = {"project_id": first.project_id, "instrument_id": first.instrument_id,
                  "site_id": first.site_id, "wave": first.wave}
        db.session.add(Campaign(code="closed1", status="closed", **values))
        db.session.commit()  # a closed one beside it is fine
        db.session.add(Campaign(code="second", status="open", **values))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_double_tapped_add_site_makes_one_site(app):
    client = admin_client(app)
    project_id = create_project(client)
    page = client.get("/staff/sites")
    data = {"csrf_token": hidden(page.text, "csrf_token"), "project": project_id, "name": "Hillcrest"}
    assert client.post("/staff/sites", data=data).status_code == 302
    again = client.post("/staff/sites", data=data)
    assert again.status_code == 422 and "A site with this name exists already." in again.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 1


def test_site_names_are_unique_per_project(app):
    client = admin_client(app)
    for name in ("Council", "Police"):
        assert create_site(client, create_project(client, name), "Riverside").status_code == 302
    with app.app_context():
        assert sorted(s.project.name for s in db.session.scalars(sa.select(Site))) == ["Council", "Police"]


def test_campaign_tables_show_the_questionnaires_title(app, make_campaign):
    make_campaign("programme-feedback")
    client = admin_client(app)
    with app.app_context():
        title = db.session.scalar(sa.select(InstrumentVersion.title).where(
            InstrumentVersion.instrument_id == "programme-feedback"))
    for page in ("/staff/", "/staff/campaigns"):
        row = re.search(r"<tbody>.*?</tr>", client.get(page).text, re.S).group(0)
        assert f">{title}</a>" in row and ">programme-feedback</a>" not in row, page


def test_cli_creates_a_campaign(app, runner):
    assert runner.invoke(args=["projects", "create", "Council"]).exit_code == 0
    result = runner.invoke(args=["campaigns", "create", "--project", "Council", "--instrument",
                                 "programme-feedback", "--site", "Riverside", "--wave", "baseline",
                                 "--unlisted"])
    assert result.exit_code == 0, result.output
    code = re.search(r"/s/(\w+)", result.output).group(1)
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.code == code))
        assert campaign.unlisted and campaign.site.name == "Riverside"
        assert campaign.project.name == "Council" and campaign.instrument_version_id is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 1
    again = runner.invoke(args=["campaigns", "create", "--project", "Council", "--instrument",
                                "programme-feedback", "--site", "Riverside", "--wave", "baseline"])
    assert again.exit_code != 0 and f"campaign {code} is open already" in again.output
    wave = runner.invoke(args=["campaigns", "create", "--project", "Council", "--instrument",
                               "programme-feedback", "--site", "Riverside", "--wave", "mid-term"])
    assert wave.exit_code != 0 and "'mid-term' is not a wave of Council" in wave.output
    missing = runner.invoke(args=["campaigns", "create", "--project", "Council", "--instrument",
                                  "nope", "--site", "R", "--wave", "baseline"])
    assert missing.exit_code != 0 and "no survey 'nope'" in missing.output
    unknown = runner.invoke(args=["campaigns", "create", "--project", "Nobody", "--instrument",
                                  "programme-feedback", "--site", "R", "--wave", "baseline"])
    assert unknown.exit_code != 0 and "no project named 'Nobody'" in unknown.output


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
    from tests.helpers import URL, payload
    code = make_campaign()
    for seed in (1, 2):
        assert client.post(URL, json=payload(code, seed=seed)).status_code == 201
    staff = admin_client(app)
    home = staff.get("/staff/").text
    row = re.search(rf"<code>{code}</code>.*?</tr>", home, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "0"]


def test_analysts_read_responses_without_contact_details_facilitators_cannot(app, make_campaign, client):
    from tests.helpers import URL, payload
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
