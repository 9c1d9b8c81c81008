"""The published results page in a real browser: axe-core finds no serious or critical
violation in English and Arabic at 390x844 (screenshots saved), the page mirrors in RTL,
and the one-pager prints to exactly one page of A4 and of Letter in both directions.

The axe counts and page counts are saved to tests/artifacts/browser/results-page.json.
"""
from __future__ import annotations

import json
import re

import pytest

from surveyapp import operations, queries
from surveyapp.extensions import db
from surveyapp.models import Theme
from surveyapp.queries.themes import Source
from tests.browser.test_respondent_a11y import BLOCKING, axe_counts
from tests.conftest import campaign_maker
from tests.helpers import LIGHTS, POLICE, plant, submit

pytestmark = pytest.mark.browser

LANGUAGES = ["en", "es", "fr", "ar", "zh", "vi", "so"]
NEXT_STEPS = {
    "en": "We will share these results at the community meeting in the library on 14 January, "
          "and agree with the council and the police on three actions for the spring.",
    "ar": "سنعرض هذه النتائج في الاجتماع المجتمعي في المكتبة يوم 14 يناير، ونتفق مع البلدية "
          "والشرطة على ثلاث خطوات لفصل الربيع.",
}


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF Chromium wrote (its page objects are plain dictionaries)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


@pytest.fixture
def published(sqlite_app):
    """Riverside's follow-up campaign with its baseline, themes, two approved quotes and a
    next-steps text in every language (the longest allowed in English), published."""
    make = campaign_maker(sqlite_app)
    before = make(site="Riverside", project="Council")
    after = make(site="Riverside", wave="follow-up 1", project="Council")
    submit(sqlite_app, before, 12, seed=1, tendency=0.3)
    plant(sqlite_app, sqlite_app.test_client(), after, LIGHTS + POLICE)
    with sqlite_app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(after)
            source = Source("question", campaign.project_id, "community-capacity", "safer_ideas",
                            campaign.id)
            operations.themes.run_themes(source, k=2)
            publication = operations.results.get_or_create(campaign)
            long_english = (NEXT_STEPS["en"] + " ") * 20
            texts = {lang: NEXT_STEPS.get(lang, NEXT_STEPS["en"]) for lang in LANGUAGES}
            texts["en"] = long_english[:1200].strip()
            operations.results.set_next_steps(publication, texts, user="cli")
            for theme in queries.themes.themes_of(source):
                for quote in theme.quotes[:2]:
                    operations.results.approve_quote(publication, db.session.get(Theme, theme.id),
                                                     quote, user="cli")
            operations.results.publish(publication, user="cli")
        operations.transaction(work)
    return after


@pytest.fixture(scope="module")
def report():
    found = {}
    yield found
    from tests.browser.conftest import SCREENSHOTS
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "results-page.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_results_page_passes_axe_and_mirrors(published, browser_server, new_phone, screenshots,
                                             report, lang, direction):
    page = new_phone()  # axe runs as a script; the page itself has none (test_results.py)
    page.goto(f"{browser_server}/r/{published}/?lang={lang}")
    assert page.locator("html").get_attribute("dir") == direction
    counts = axe_counts(page)
    report.setdefault("axe", {})[lang] = counts
    assert sum(counts[impact] for impact in BLOCKING) == 0, counts["rules"]
    # Mirrored: the heading starts at the right edge in RTL, the left in LTR.
    box = page.locator("h1").bounding_box()
    text_start = page.evaluate("""() => { const r = document.createRange();
        r.selectNodeContents(document.querySelector('h1')); const b = r.getBoundingClientRect();
        return [b.left, b.right]; }""")
    if direction == "rtl":
        assert text_start[1] > box["x"] + box["width"] - 2
    else:
        assert text_start[0] < box["x"] + 2
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshots / f"results-{lang}-390x844.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("paper, pdf_format", [("a4", "A4"), ("letter", "Letter")])
def test_one_pager_prints_on_exactly_one_page(published, browser_server, browser, report,
                                              lang, paper, pdf_format):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{browser_server}/r/{published}/print?paper={paper}&lang={lang}")
        assert page.locator(".qr svg").count() == 1
        data = page.pdf(format=pdf_format, print_background=True, prefer_css_page_size=True)
        pages = pdf_pages(data)
        report.setdefault("pdf_pages", {})[f"{lang}-{paper}"] = pages
        assert pages == 1, (lang, paper, pages)
        # Nothing the residents need is cut off: the privacy note at the bottom is there.
        assert page.locator(".note").is_visible()
        if paper == "a4" and lang == "en":
            # The counter itself: the long phone page does print to several pages.
            page.goto(f"{browser_server}/r/{published}/?lang=en")
            assert pdf_pages(page.pdf(format=pdf_format)) > 1
    finally:
        context.close()
