"""Real-browser fixtures: Debian's Chromium driven by Playwright, a phone-sized page, and the
app on SQLite served over HTTP.

Browser tests run once, on SQLite (``sqlite_app``), not on every database engine: what they
check is what the respondent sees and does, not the database. Without Chromium they skip
loudly; under CI=true they fail (see ``tests.conftest.missing``).
"""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import Site

from tests.conftest import ARTIFACTS, campaign_maker, missing, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
SCREENSHOTS = ARTIFACTS / "browser"
TIMEOUT_MS = 15_000  # a page of this app loads in milliseconds; do not wait 30 s to fail


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the whole session."""
    if not os.path.exists(CHROMIUM):
        missing("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        missing("Chromium", f"playwright is not installed: {error}")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
    except PlaywrightError as error:
        playwright.stop()
        missing("Chromium", f"launch failed: {str(error).splitlines()[0]}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_phone(browser):
    """new_phone(**context_options) -> a page in a fresh phone-sized context (390x844, 2x,
    touch). JavaScript errors on the page are collected in ``page.js_errors``."""
    contexts = []

    def make(**options):
        context = browser.new_context(**{**PHONE, **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone(new_phone):
    """A page on a phone-sized screen, JavaScript enabled."""
    return new_phone()


@pytest.fixture
def browser_server(sqlite_app):
    """``sqlite_app`` served over real HTTP: browser tests run once, on SQLite."""
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture
def sqlite_campaign(sqlite_app):
    """Deploy an instrument on sqlite_app: sqlite_campaign('community-capacity', wave='baseline') -> code.

    The server lives for the whole session, so a campaign another test opened for the same
    instrument, site and wave is closed first (only one may be open): each test gets its own.
    """
    make = campaign_maker(sqlite_app)

    def fresh(instrument_id="community-capacity", *, site="Riverside", wave="baseline", **options):
        with sqlite_app.app_context():
            def close_earlier():
                site_row = db.session.scalar(sa.select(Site).where(Site.name == site))
                earlier = site_row and operations.campaigns.open_campaign_like(instrument_id, site_row, wave)
                if earlier:
                    operations.campaigns.set_campaign_status(earlier, "closed")
            operations.transaction(close_earlier)
        return make(instrument_id, site=site, wave=wave, **options)
    return fresh


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
