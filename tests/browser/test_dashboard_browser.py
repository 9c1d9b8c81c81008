"""The dashboard in Chromium on a phone, left-to-right and right-to-left: axe-core finds no
serious or critical violation, the page fits 390 px, and the charts mirror in Arabic."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import Campaign
from tests.browser.test_respondent_a11y import BLOCKING, axe_counts
from tests.browser.test_staff_browser import fits_the_phone, follow
from tests.helpers import PASSWORD, make_user, submit

pytestmark = pytest.mark.browser
EMAIL = "dashboard-admin@example.org"


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_dashboard_passes_axe_and_mirrors(sqlite_app, browser_server, sqlite_campaign, new_phone,
                                          lang, direction):
    code = sqlite_campaign("community-capacity", site="Dashboard town", wave="baseline")
    submit(sqlite_app, code, 7, seed=9, tendency=0.6)
    with sqlite_app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code))
        if not db.session.scalar(sa.text("select count(*) from users where email = :e"), {"e": EMAIL}):
            make_user(sqlite_app, EMAIL, "admin")
    page = new_phone()
    page.goto(f"{browser_server}/login")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    follow(page, page.locator("main form button.primary"))
    page.goto(f"{browser_server}/staff/campaigns/{campaign_id}/dashboard?lang={lang}")
    assert page.locator("html").get_attribute("dir") == direction
    assert page.locator("svg.chart").count() >= 3
    assert {page.locator("svg.chart").nth(i).get_attribute("direction")
            for i in range(page.locator("svg.chart").count())} == {direction}
    counts = axe_counts(page)
    assert all(counts[impact] == 0 for impact in BLOCKING), counts["rules"]
    fits_the_phone(page, f"dashboard-{lang}")


PARTNER = "dashboard-partner@example.org"


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_partner_pages_pass_axe_and_mirror(sqlite_app, browser_server, sqlite_campaign, new_phone,
                                           screenshots, lang, direction):
    """A partner's home, the dashboards, capacity and the themes summary on a phone: 0
    serious or critical axe violations, the page fits 390 px, the direction follows the
    language. Screenshots of the campaign dashboard go to the test artifacts."""
    from surveyapp import operations, queries
    from surveyapp.models import Project
    code = sqlite_campaign("community-capacity", site="Partner town", wave="baseline")
    submit(sqlite_app, code, 7, seed=11, tendency=0.4)
    with sqlite_app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.code == code))
        campaign_id, project_id = campaign.id, campaign.project_id
        if not db.session.scalar(sa.text("select count(*) from users where email = :e"), {"e": PARTNER}):
            operations.transaction(lambda: operations.staff.create_user(
                PARTNER, PASSWORD, ["partner"], db.session.get(Project, project_id)))
        operations.transaction(lambda: operations.themes.run_themes(queries.themes.Source(
            "question", project_id, "community-capacity", "safer_ideas"), k=None, language=None,
            user=None))
    page = new_phone()
    page.goto(f"{browser_server}/login")
    page.locator("#email").fill(PARTNER)
    page.locator("#password").fill(PASSWORD)
    follow(page, page.locator("main form button.primary"))
    for path in ("/staff/", f"/staff/campaigns/{campaign_id}/dashboard",
                 f"/staff/projects/{project_id}/dashboard", f"/staff/projects/{project_id}/capacity",
                 f"/staff/projects/{project_id}/themes/summary"):
        reply = page.goto(f"{browser_server}{path}?lang={lang}")
        assert reply.status == 200, path
        assert page.locator("html").get_attribute("dir") == direction, path
        counts = axe_counts(page)
        assert all(counts[impact] == 0 for impact in BLOCKING), (path, counts["rules"])
        fits_the_phone(page, f"partner {path} {lang}")
        if path.endswith("/dashboard") and "campaigns" in path:
            page.screenshot(path=str(screenshots / f"partner-dashboard-{lang}.png"), full_page=True)


DESKTOP = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1, "is_mobile": False,
           "has_touch": False}


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_the_change_is_on_the_first_screen_at_1280_and_passes_axe(sqlite_app, browser_server, sqlite_campaign,
                                                                  new_phone, screenshots, lang, direction):
    """A board member's screen: the dashboard's answer ("did it change?") is on the first
    screen, not after 40 charts; the dashboard and the capacity page pass axe at 1280 px in
    both directions. Screenshots: tests/artifacts/browser/board-*.png."""
    before = sqlite_campaign("community-capacity", site="Hillcrest", wave="baseline")
    after = sqlite_campaign("community-capacity", site="Hillcrest", wave="follow-up 1")
    submit(sqlite_app, before, 12, seed=21, tendency=0.35)
    submit(sqlite_app, after, 12, seed=22, tendency=0.75)
    with sqlite_app.app_context():
        project_id = db.session.scalar(sa.select(Campaign.project_id).where(Campaign.code == before))
        if not db.session.scalar(sa.text("select count(*) from users where email = :e"), {"e": EMAIL}):
            make_user(sqlite_app, EMAIL, "admin")
    page = new_phone(**DESKTOP)
    page.goto(f"{browser_server}/login")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    follow(page, page.locator("main form button.primary"))
    page.goto(f"{browser_server}/staff/projects/{project_id}/dashboard?instrument=community-capacity&lang={lang}")
    assert page.locator("html").get_attribute("dir") == direction
    findings = page.locator("#change ul.findings li")
    assert findings.count() == 5
    assert findings.first.bounding_box()["y"] < 900          # on the first screen
    counts = axe_counts(page)
    assert all(counts[impact] == 0 for impact in BLOCKING), counts["rules"]
    page.screenshot(path=str(screenshots / f"board-dashboard-{lang}-1280.png"), full_page=False)
    page.goto(f"{browser_server}/staff/projects/{project_id}/capacity?lang={lang}")
    counts = axe_counts(page)
    assert all(counts[impact] == 0 for impact in BLOCKING), counts["rules"]
    page.screenshot(path=str(screenshots / f"board-capacity-{lang}-1280.png"), full_page=True)
