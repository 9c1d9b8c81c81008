"""The respondent's flow in a real browser on a phone-sized screen: Spanish and Arabic
(mirrored) with JavaScript, English without JavaScript, and a validation error.

Answers are chosen by ``synthetic_answers`` and entered the way a person would: tapping
radios and checkboxes, typing into fields, picking from selects. Each page is saved as a
full-page screenshot under tests/artifacts/browser/ for a human to look at.
"""
from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import check_paths
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Response

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENTS = {i.id: i for i in check_paths([ROOT / "instruments"])[0]}
CAPACITY = INSTRUMENTS["community-capacity"]
FEEDBACK = INSTRUMENTS["programme-feedback"]
PHONE_WIDTH = 390
THANK_YOU = {"es": "Gracias", "ar": "شكرًا لك"}  # from the translation catalogs

# What the page reports about its layout: direction, width, and where the first choice's
# input sits relative to its label text.
LAYOUT_JS = """() => {
  const out = {
    direction: getComputedStyle(document.body).direction,
    scrollWidth: document.documentElement.scrollWidth,
    wide: [...document.querySelectorAll("body *")]
      .filter(e => !e.matches(".skip") && e.getBoundingClientRect().right > innerWidth + 0.5)
      .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                         + (e.className ? "." + e.className : "")),
    choice: null,
  };
  const input = document.querySelector(".choices label > input");
  if (input) {
    const label = input.closest("label");
    const text = [...label.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
    const range = document.createRange();
    range.selectNodeContents(text);
    const t = range.getBoundingClientRect(), i = input.getBoundingClientRect(),
          l = label.getBoundingClientRect();
    out.choice = {input: [i.left, i.right], text: [t.left, t.right], label: [l.left, l.right]};
  }
  return out;
}"""


# ----------------------------------------------------------------------------- helpers

def page_id(url: str) -> str:
    return urlsplit(url).path.rstrip("/").split("/")[-1]


def press(page, action: str):
    """Press a form button and wait for the page it leads to; return the final response."""
    with page.expect_navigation() as navigation:
        page.locator(f'button[name="action"][value="{action}"]').click()
    return navigation.value


def fill(page, survey_page, answers: dict) -> None:
    """Enter this page's answers as a person would."""
    for question in survey_page.questions:
        for key in question.answer_keys:
            value = answers.get(key)
            if value is None:
                continue
            if question.type in {"select_one", "likert", "matrix"}:
                page.locator(f'input[type="radio"][name="{key}"][value="{value}"]').check()
            elif question.type == "select_multiple":
                for item in value:
                    page.locator(f'input[type="checkbox"][name="{key}"][value="{item}"]').check()
            elif question.type == "ranking":
                selects = page.locator(f'select[name="{key}"]')
                for position, item in enumerate(value):
                    selects.nth(position).select_option(str(item))
            elif question.type in {"text", "integer", "decimal", "date", "textarea"}:
                page.locator(f'[name="{key}"]').fill(str(value))
            else:
                raise AssertionError(f"no way to enter a {question.type} answer ({key})")


def shoot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def stored_responses(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Response)).all()
        return [(r.status, r.language, dict(r.answers)) for r in rows]


def start(page, server: str, code: str, lang: str, folder: Path, prefix: str) -> None:
    page.goto(f"{server}/s/{code}?lang={lang}")
    shoot(page, folder, f"{prefix}-00-landing")
    with page.expect_navigation():
        page.locator('form[action$="/start"] button').click()


def answer_every_page(page, instrument, answers, folder: Path, prefix: str, check=None) -> list[str]:
    """Fill and submit page after page until the thank-you page; return the page ids seen."""
    seen = []
    for number in range(1, len(instrument.pages) + 2):
        current = page_id(page.url)
        if current == "done":
            shoot(page, folder, f"{prefix}-{number:02d}-done")
            return seen
        seen.append(current)
        survey_page = next(p for p in instrument.pages if p.id == current)
        fill(page, survey_page, answers)
        if check:
            check(page, current)
        shoot(page, folder, f"{prefix}-{number:02d}-{current}")
        reply = press(page, "next")
        assert reply.status == 200, (current, reply.status, page.locator(".errors").all_inner_texts())
    raise AssertionError(f"never reached the thank-you page; saw {seen}")


# ----------------------------------------------------------------------------- tests

@pytest.mark.parametrize("lang, direction", [("es", "ltr"), ("ar", "rtl")])
def test_complete_community_capacity_on_a_phone(sqlite_app, browser_server, sqlite_campaign,
                                                phone, screenshots, lang, direction):
    code = sqlite_campaign("community-capacity", wave="follow-up")
    answers = synthetic_answers(CAPACITY, random.Random(11),
                                Context(site="Riverside", wave="follow-up", language=lang),
                                tendency=0.7)
    answered_types = {CAPACITY.question(key.split(".")[0]).type for key in answers}
    assert {"select_one", "integer", "matrix", "select_multiple", "likert", "textarea",
            "ranking", "date", "decimal"} <= answered_types  # the seed exercises every input

    phone.goto(f"{browser_server}/s/{code}?lang={lang}")
    html = phone.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction)

    def check_layout(page, current):
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction), current
        layout = page.evaluate(LAYOUT_JS)
        assert layout["direction"] == direction, current
        assert layout["scrollWidth"] <= PHONE_WIDTH, (current, layout["scrollWidth"], layout["wide"])
        # survey.js hides "If other, please specify" with its box until "Other" is chosen.
        assert page.locator("label.other:visible").count() == \
            page.locator('input[name$=".other"]:visible').count(), current
        choice = layout["choice"]
        if choice is None:
            return
        (input_left, input_right), (text_left, text_right), (_, label_right) = (
            choice["input"], choice["text"], choice["label"])
        if direction == "rtl":
            # Mirrored: the radio sits at the right, its text to its left.
            assert input_left >= text_right - 1, (current, choice)
            assert label_right - input_right < 12, (current, choice)
        else:
            assert input_right <= text_left + 1, (current, choice)

    shoot(phone, screenshots, f"survey-{lang}-00-landing")
    check_layout(phone, "landing")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()
    seen = answer_every_page(phone, CAPACITY, answers, screenshots, f"survey-{lang}", check_layout)

    assert seen == [p.id for p in CAPACITY.pages]
    assert phone.locator("h1").inner_text() == THANK_YOU[lang]
    check_layout(phone, "done")
    assert phone.js_errors == []

    ((status, language, stored),) = stored_responses(sqlite_app)
    assert (status, language) == ("complete", lang)
    assert stored == answers


def test_programme_feedback_without_javascript(sqlite_app, browser_server, sqlite_campaign,
                                               new_phone, screenshots):
    phone = new_phone(java_script_enabled=False)
    code = sqlite_campaign("programme-feedback")
    answers = synthetic_answers(FEEDBACK, random.Random(3), Context("Riverside", "baseline", "en"))
    start(phone, browser_server, code, "en", screenshots, "nojs-en")
    # survey.js would hide "If other, please specify" until "Other" is chosen: without
    # JavaScript it stays on the page, which shows that no script ran.
    assert phone.locator('input[name="programme.other"]').is_visible()
    seen = answer_every_page(phone, FEEDBACK, answers, screenshots, "nojs-en")
    assert seen == ["the_session", "your_comments"]
    assert phone.locator("h1").inner_text() == "Thank you"

    ((status, language, stored),) = stored_responses(sqlite_app)
    assert (status, language) == ("complete", "en")
    assert stored == answers


def test_validation_error_next_to_the_field_in_spanish(sqlite_app, browser_server,
                                                       sqlite_campaign, phone, screenshots):
    code = sqlite_campaign("community-capacity")
    start(phone, browser_server, code, "es", screenshots, "validation-es")
    first_page = next(p for p in CAPACITY.pages if p.id == page_id(phone.url))
    first_required = next(q for q in first_page.questions if q.required)

    reply = press(phone, "next")
    assert reply.status == 422
    assert page_id(phone.url) == first_page.id
    shoot(phone, screenshots, f"validation-es-01-{first_page.id}")

    question = phone.locator(f"#q-{first_required.id}")
    field = phone.locator(f"#f-{first_required.id}")
    error = question.locator(f"#e-{first_required.id}")
    assert error.is_visible()
    assert error.inner_text() == "Responda esta pregunta."  # es catalog, not the English
    assert field.get_attribute("aria-invalid") == "true"
    assert f"e-{first_required.id}" in field.get_attribute("aria-describedby").split()
    # The error sits right under the question it is about, inside the same block.
    question_box, error_box = question.bounding_box(), error.bounding_box()
    assert question_box["y"] <= error_box["y"] <= question_box["y"] + question_box["height"]
    summary = phone.locator(".errors")
    assert summary.is_visible() and "Por favor, corrija" in summary.inner_text()
    # survey.js moves focus to the summary so a screen reader reads it first.
    assert phone.evaluate("document.activeElement.classList.contains('errors')")
    assert phone.js_errors == []
    ((status, _, stored),) = stored_responses(sqlite_app)
    assert status == "partial" and stored == {}


def test_same_page_conditions_show_and_hide_at_320px(sqlite_app, browser_server, sqlite_campaign,
                                                     new_phone, screenshots):
    """With JavaScript, a question whose condition depends on an answer on the same page
    appears and disappears as that answer changes; nothing is wider than a 320 px screen."""
    phone = new_phone(viewport={"width": 320, "height": 640})
    code = sqlite_campaign("community-capacity")
    answers = synthetic_answers(CAPACITY, random.Random(6), Context("Riverside", "baseline", "ar"))
    start(phone, browser_server, code, "ar", screenshots, "narrow-ar")
    while page_id(phone.url) != "participation_page":
        assert phone.evaluate("document.documentElement.scrollWidth") <= 320, page_id(phone.url)
        fill(phone, next(p for p in CAPACITY.pages if p.id == page_id(phone.url)), answers)
        press(phone, "next")
    count, barriers = phone.locator("#q-meetings_count"), phone.locator("#q-meeting_barriers")
    count.wait_for(state="hidden")  # nothing answered yet: neither condition holds
    assert barriers.is_hidden()
    phone.locator('input[name="attended_meeting"][value="yes"]').check()
    count.wait_for(state="visible")
    assert barriers.is_hidden()
    phone.locator('input[name="attended_meeting"][value="no"]').check()
    barriers.wait_for(state="visible")
    assert count.is_hidden()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 320
    shoot(phone, screenshots, "narrow-ar-participation")
    assert phone.js_errors == []
