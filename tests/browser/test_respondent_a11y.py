"""Accessibility of every respondent page in a real browser at 390x844, left-to-right and
right-to-left: axe-core (the copy shipped in axe-playwright-python, no network) finds no
serious or critical violation, and the language switcher's targets are big enough to tap.

The per-page counts are printed and saved to tests/artifacts/browser/axe-respondent.json.
"""
from __future__ import annotations

import json
import random

import pytest
import sqlalchemy as sa

from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from tests.browser.test_survey_browser import CAPACITY, fill, page_id, press

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")
MIN_TARGET_PX = 44  # WCAG 2.5.5 (AAA) / Apple and Android guidance for a finger


def axe_counts(page) -> dict:
    """Run axe-core on the page; {impact: count} of violated rules, plus their ids."""
    from axe_playwright_python.sync_playwright import Axe
    violations = Axe().run(page).response["violations"]
    counts = {impact: sum(1 for v in violations if v["impact"] == impact)
              for impact in ("minor", "moderate", "serious", "critical")}
    counts["rules"] = sorted(f'{v["id"]} ({v["impact"]}): ' + "; ".join(
        n["target"][0] if isinstance(n["target"][0], str) else str(n["target"][0])
        for n in v["nodes"][:3]) for v in violations)
    return counts


def switcher_heights(page) -> list[float]:
    return page.evaluate("""() => [...document.querySelectorAll('.langs a, .langs button, .langs [aria-current]')]
        .map(e => e.getBoundingClientRect().height)""")


@pytest.fixture(scope="module")
def report():
    found = {}
    yield found
    from tests.browser.conftest import SCREENSHOTS
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "axe-respondent.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_every_respondent_page_passes_axe(sqlite_app, browser_server, sqlite_campaign, phone,
                                          report, lang, direction):
    code = sqlite_campaign("community-capacity")
    answers = synthetic_answers(CAPACITY, random.Random(12), Context("Riverside", "baseline", lang),
                                tendency=0.7)
    counts = report.setdefault(lang, {})
    short_targets = {}

    def check(name):
        assert phone.locator("html").get_attribute("dir") == direction, name
        counts[name] = axe_counts(phone)
        heights = switcher_heights(phone)
        if heights and min(heights) < MIN_TARGET_PX:
            short_targets[name] = heights

    phone.goto(f"{browser_server}/?lang={lang}")
    check("home")
    home_has_switcher = bool(switcher_heights(phone))
    phone.goto(f"{browser_server}/resume?lang={lang}")
    check("resume")
    phone.goto(f"{browser_server}/resume?lang={lang}&code=ZZZZ-ZZZZ")
    check("resume-not-found")
    phone.goto(f"{browser_server}/s/nosuch?lang={lang}")
    check("404")
    phone.goto(f"{browser_server}/s/{code}?lang={lang}")
    check("consent")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()
    press(phone, "next")  # nothing answered: the error summary
    check("error-summary")
    for _ in range(len(CAPACITY.pages)):
        current = page_id(phone.url)
        fill(phone, next(p for p in CAPACITY.pages if p.id == current), answers)
        check(current)
        if current == CAPACITY.pages[1].id:
            page_url = phone.url
            press(phone, "save")
            check("saved")
            phone.goto(page_url)
        press(phone, "next")
    assert page_id(phone.url) == "done"
    check("thank-you")

    resumable = sqlite_campaign("community-capacity")
    phone.goto(f"{browser_server}/s/{resumable}?lang={lang}")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()
    with sqlite_app.app_context():
        db.session.execute(sa.text("UPDATE campaigns SET status = 'closed' WHERE code = :code"),
                           {"code": resumable})
        db.session.commit()
    phone.reload()
    check("closed")

    print(f"\naxe-core violations per page ({lang}):")
    for name, found in counts.items():
        print(f"  {name:20} " + " ".join(f"{impact}={found[impact]}" for impact in
                                          ("critical", "serious", "moderate", "minor")))
    blocking = {name: found["rules"] for name, found in counts.items()
                if any(found[impact] for impact in BLOCKING)}
    assert blocking == {}
    assert home_has_switcher
    assert short_targets == {}
    assert phone.js_errors == []
