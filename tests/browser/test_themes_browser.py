"""An analyst reviews themes in a real browser with JavaScript off: open a theme's texts
page, tick two of them and move them to a new theme, then rename a theme. Screenshots under
tests/artifacts/browser/ (``themes-*``)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.extensions import db
from surveyapp.models import Campaign
from surveyapp.queries.themes import Source
from tests.helpers import LIGHTS, PASSWORD, POLICE, plant

pytestmark = pytest.mark.browser
EMAIL = "themes-analyst@example.org"


def test_an_analyst_splits_and_renames_themes_without_javascript(
        sqlite_app, browser_server, sqlite_campaign, new_phone, screenshots):
    code = sqlite_campaign("community-capacity", site="Alderbank", wave="baseline")
    with sqlite_app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.code == code))
        project_id, campaign_id = campaign.project_id, campaign.id

        def work():
            operations.staff.create_user(EMAIL, PASSWORD, ["analyst"], campaign.project)
        operations.transaction(work)
    plant(sqlite_app, sqlite_app.test_client(), code, LIGHTS + POLICE)
    source = Source("question", project_id, "community-capacity", "safer_ideas", campaign_id)
    with sqlite_app.app_context():
        operations.transaction(lambda: operations.themes.run_themes(source, k=2))

    page = new_phone(java_script_enabled=False)
    page.goto(f"{browser_server}/login")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button.primary").click()
    url = (f"{browser_server}/staff/projects/{project_id}/themes/community-capacity/safer_ideas"
           f"?campaign={campaign_id}")
    page.goto(url)
    page.screenshot(path=str(screenshots / "themes-1-page.png"), full_page=True)

    theme = page.locator("section.theme").filter(has_text="street lights").first
    with page.expect_navigation():       # the theme's texts are on a page of their own
        theme.get_by_role("link", name="Texts, and moving some to a new theme").click()
    boxes = page.locator('input[type="checkbox"][name="items"]')
    assert boxes.count() == 6
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Name of the new theme").fill("Broken lights")
    with page.expect_navigation():
        page.get_by_role("button", name="Move the chosen texts to a new theme").click()
    assert "New theme made from the chosen texts." in page.locator(".flash").inner_text()
    assert page.locator('input[type="checkbox"][name="items"]').count() == 4   # back on its page
    page.screenshot(path=str(screenshots / "themes-2-texts.png"), full_page=True)
    with page.expect_navigation():
        page.locator(".crumbs a").click()
    moved = page.locator("section.theme").filter(has=page.locator("h2", has_text="Broken lights"))
    assert "2 texts" in moved.inner_text()

    renamed = page.locator("section.theme").filter(has_text="police").first
    renamed.locator('input[id^="r"][name="label"]').fill("Foot patrols")
    with page.expect_navigation():
        renamed.get_by_role("button", name="Rename").click()
    assert page.locator("section.theme h2", has_text="Foot patrols").count() == 1
    page.screenshot(path=str(screenshots / "themes-3-reviewed.png"), full_page=True)
    with sqlite_app.app_context():
        counts = sorted(len(t.items) for t in queries.themes.review(source).themes)
    assert counts == [2, 4, 6]
