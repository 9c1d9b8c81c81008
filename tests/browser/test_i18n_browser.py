"""Languages in a real browser on a phone (390x844): Somali (left to right) and Arabic
(mirrored) from start to finish, switching language in the middle of a page without losing
what was entered, and what right-to-left mirroring actually does to a page with choices.

Somali interface strings (buttons, "Page 1 of 8") may not be translated yet, so nothing here
asserts on them: the checks are on lang/dir, on answers and on the instrument's own text,
which community-capacity.yaml carries in every language. Screenshots are saved under
tests/artifacts/browser/i18n-*.png for a human to look at.
"""
from __future__ import annotations

import base64
import random
from urllib.parse import parse_qs, urlsplit

import pytest

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import localise
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.i18n import LANGUAGE_NAMES
from tests.browser.test_survey_browser import (CAPACITY, LAYOUT_JS, PHONE_WIDTH, THANK_YOU,
                                               answer_every_page, fill, page_id, press, shoot,
                                               stored_responses)

pytestmark = pytest.mark.browser

DIRECTION = {"so": "ltr", "ar": "rtl"}
PAGES = {p.id: p for p in CAPACITY.pages}
# Somali typed with a line break: the switch posts the page, and the text must come back as typed.
TYPED = "Shir bil kasta ah oo dadka iyo booliisku wada fadhiyaan.\nIn la isku kalsoonaado."


# ----------------------------------------------------------------------------- helpers

def answers_for(lang: str, seed: int) -> dict:
    return synthetic_answers(CAPACITY, random.Random(seed),
                             Context(site="Riverside", wave="follow-up", language=lang), tendency=0.7)


def text(value, lang: str) -> str:
    """Instrument text as the respondent should see it."""
    return localise(value, lang, CAPACITY.default_language)


def check_language(page, lang: str, where: str) -> None:
    """lang/dir on <html>, the computed direction, nothing wider than the phone, the switcher
    marking the current language, and the page's heading in that language (not English)."""
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, DIRECTION[lang]), where
    layout = page.evaluate(LAYOUT_JS)
    assert layout["direction"] == DIRECTION[lang], where
    assert layout["scrollWidth"] <= PHONE_WIDTH, (where, layout["scrollWidth"], layout["wide"])
    current_lang = page.locator(".langs [aria-current]")  # no switcher on the thank-you page
    if current_lang.count():
        assert current_lang.get_attribute("lang") == lang, where
    current = page_id(page.url)
    if current in PAGES and PAGES[current].title:
        title = PAGES[current].title
        assert page.locator("h1").inner_text() == text(title, lang), where
        assert text(title, lang) != text(title, "en"), where  # really translated


def switch(page, lang: str):
    """Press the switcher button for ``lang``, found by the language's own name."""
    button = page.get_by_role("button", name=LANGUAGE_NAMES[lang], exact=True)
    assert button.get_attribute("value") == f"lang:{lang}"
    assert button.get_attribute("form") == "page-form"
    before = page_id(page.url)
    with page.expect_navigation() as navigation:
        button.click()
    assert navigation.value.status == 200
    assert page_id(page.url) == before  # the same page, now in the other language
    assert parse_qs(urlsplit(page.url).query).get("lang") == [lang]


def assert_shown(page, survey_page, answers: dict, where: str) -> None:
    """Every answer of this page is on screen as entered, and nothing else is chosen."""
    for question in survey_page.questions:
        for key in question.answer_keys:
            value = answers.get(key)
            if question.type in {"select_one", "likert", "matrix", "select_multiple"}:
                chosen = page.locator(f'input[name="{key}"]:checked')
                got = sorted(chosen.nth(i).get_attribute("value") for i in range(chosen.count()))
                want = sorted(str(v) for v in value) if isinstance(value, list) else \
                    ([] if value is None else [str(value)])
                assert got == want, (where, key)
            elif question.type == "ranking":
                selects = page.locator(f'select[name="{key}"]')
                got = [selects.nth(i).input_value() for i in range(selects.count())]
                want = [str(v) for v in value or []]
                assert got[:len(want)] == want and not any(got[len(want):]), (where, key, got)
            elif question.type in {"text", "integer", "decimal", "date", "textarea"}:
                field = page.locator(f'[name="{key}"]')
                if field.count():  # a hidden conditional question may not be rendered
                    assert field.input_value() == ("" if value is None else str(value)), (where, key)


def row_of_pixels(page, png: bytes) -> list[float]:
    """Brightness of each pixel across the middle row of a PNG, decoded by the browser."""
    return page.evaluate("""async (b64) => {
      const img = new Image();
      img.src = "data:image/png;base64," + b64;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.width; canvas.height = img.height;
      const context = canvas.getContext("2d");
      context.drawImage(img, 0, 0);
      const d = context.getImageData(0, Math.floor(img.height / 2), img.width, 1).data;
      const row = [];
      for (let i = 0; i < d.length; i += 4) row.push((d[i] + d[i + 1] + d[i + 2]) / 3);
      return row;
    }""", base64.b64encode(png).decode())


TEXT_BOX_JS = """(selector) => {
  const e = document.querySelector(selector);
  const range = document.createRange();
  range.selectNodeContents(e);
  const r = range.getBoundingClientRect(), b = e.getBoundingClientRect();
  return {text: [r.left, r.right], box: [b.left, b.right]};
}"""


# ----------------------------------------------------------------------------- tests

@pytest.mark.parametrize("lang, direction", [("so", "ltr"), ("ar", "rtl")])
def test_complete_community_capacity_in_language(sqlite_app, browser_server, sqlite_campaign,
                                                 phone, screenshots, lang, direction):
    code = sqlite_campaign("community-capacity", wave="follow-up")
    answers = answers_for(lang, 11)
    answered_types = {CAPACITY.question(key.split(".")[0]).type for key in answers}
    assert {"select_one", "integer", "matrix", "select_multiple", "likert", "textarea",
            "ranking", "date", "decimal"} <= answered_types  # the seed exercises every input

    phone.goto(f"{browser_server}/s/{code}?lang={lang}")
    check_language(phone, lang, "landing")
    assert phone.locator("h1").inner_text() == text(CAPACITY.title, lang)
    shoot(phone, screenshots, f"i18n-{lang}-00-landing")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()

    seen = answer_every_page(phone, CAPACITY, answers, screenshots, f"i18n-{lang}",
                             lambda page, current: check_language(page, lang, current))

    assert seen == [p.id for p in CAPACITY.pages]
    assert page_id(phone.url) == "done"
    check_language(phone, lang, "done")
    if lang in THANK_YOU:  # the Somali catalog may still be English
        assert phone.locator("h1").inner_text() == THANK_YOU[lang]
    assert phone.js_errors == []

    ((status, language, stored),) = stored_responses(sqlite_app)
    assert (status, language) == ("complete", lang)
    assert stored == answers


def test_switching_language_mid_page_keeps_the_answers(sqlite_app, browser_server,
                                                       sqlite_campaign, phone, screenshots):
    code = sqlite_campaign("community-capacity", wave="follow-up")
    answers = {**answers_for("so", 1), "police_together": TYPED}
    prefix = "i18n-switch"
    phone.goto(f"{browser_server}/s/{code}?lang=so")
    check_language(phone, "so", "landing")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()

    # Page 1 in Somali: everything filled in, Next not pressed, then "العربية".
    about_you = PAGES["about_you"]
    assert page_id(phone.url) == about_you.id
    check_language(phone, "so", about_you.id)
    entered = {k: answers[k] for q in about_you.questions for k in q.answer_keys if k in answers}
    assert {"area", "age_band", "years_here", "gender"} <= set(entered)
    fill(phone, about_you, answers)
    shoot(phone, screenshots, f"{prefix}-01-{about_you.id}-so")
    switch(phone, "ar")
    check_language(phone, "ar", about_you.id)
    assert_shown(phone, about_you, entered, "about_you after so->ar")
    # The choices' labels come from the instrument, now in Arabic.
    area = CAPACITY.question("area")
    chosen = next(c for c in area.choices.choices if str(c.value) == str(answers["area"]))
    label = phone.locator(f'input[name="area"][value="{answers["area"]}"]').locator("xpath=..")
    assert label.inner_text().strip() == text(chosen.label, "ar")
    shoot(phone, screenshots, f"{prefix}-02-{about_you.id}-ar")  # the mirrored layout
    press(phone, "next")

    # Page 2 in Arabic: part of the matrix, then back to "Soomaali".
    resources = PAGES["resources_page"]
    assert page_id(phone.url) == resources.id
    check_language(phone, "ar", resources.id)
    keys = [k for k in resources.questions[-1].answer_keys if k in answers]
    part, rest = keys[:3], keys[3:]
    assert part and rest
    fill(phone, resources, {k: answers[k] for k in part})
    shoot(phone, screenshots, f"{prefix}-03-{resources.id}-ar")
    switch(phone, "so")
    check_language(phone, "so", resources.id)
    assert_shown(phone, resources, {k: answers[k] for k in part}, "resources after ar->so")
    shoot(phone, screenshots, f"{prefix}-04-{resources.id}-so")
    fill(phone, resources, {k: answers[k] for k in rest})
    press(phone, "next")

    # On in Somali to the page with a textarea; type into it, switch, and find it again.
    number = 5
    while page_id(phone.url) != "trust_page":
        current = PAGES[page_id(phone.url)]
        check_language(phone, "so", current.id)
        fill(phone, current, answers)
        shoot(phone, screenshots, f"{prefix}-{number:02d}-{current.id}-so")
        number += 1
        reply = press(phone, "next")
        assert reply.status == 200, (current.id, phone.locator(".errors").all_inner_texts())
    trust = PAGES["trust_page"]
    fill(phone, trust, answers)
    assert phone.locator('[name="police_together"]').input_value() == TYPED
    switch(phone, "ar")
    check_language(phone, "ar", trust.id)
    trust_answers = {k: answers.get(k) for q in trust.questions for k in q.answer_keys}
    assert_shown(phone, trust, trust_answers, "trust_page after so->ar")
    assert phone.locator('[name="police_together"]').input_value() == TYPED
    # dir="auto" keeps Somali typed text left to right inside the mirrored page.
    assert phone.locator('[name="police_together"]').evaluate(
        "e => getComputedStyle(e).direction") == "ltr"
    shoot(phone, screenshots, f"{prefix}-{number:02d}-{trust.id}-ar")
    number += 1
    press(phone, "next")

    # The rest in Arabic.
    while page_id(phone.url) != "done":
        current = PAGES[page_id(phone.url)]
        check_language(phone, "ar", current.id)
        fill(phone, current, answers)
        shoot(phone, screenshots, f"{prefix}-{number:02d}-{current.id}-ar")
        number += 1
        reply = press(phone, "next")
        assert reply.status == 200, (current.id, phone.locator(".errors").all_inner_texts())
    check_language(phone, "ar", "done")
    assert phone.locator("h1").inner_text() == THANK_YOU["ar"]
    shoot(phone, screenshots, f"{prefix}-{number:02d}-done-ar")
    assert phone.js_errors == []

    ((status, language, stored),) = stored_responses(sqlite_app)
    assert (status, language) == ("complete", "ar")  # the language it was finished in
    assert stored == answers


def test_right_to_left_mirrors_a_page_with_choices(sqlite_app, browser_server, sqlite_campaign,
                                                   new_phone, screenshots):
    """The second page (a matrix of radios, with Back) in Somali and in Arabic: every
    left/right relation found in Somali is reversed in Arabic."""
    code = sqlite_campaign("community-capacity", wave="follow-up")
    answers = answers_for("ar", 1)
    found = {}
    for lang in ("so", "ar"):
        page = new_phone()
        page.goto(f"{browser_server}/s/{code}?lang={lang}")
        with page.expect_navigation():
            page.locator('form[action$="/start"] button').click()
        fill(page, PAGES["about_you"], answers)
        press(page, "next")
        assert page_id(page.url) == "resources_page"
        check_language(page, lang, "resources_page")
        shoot(page, screenshots, f"i18n-mirror-{lang}-resources_page")

        choice = page.evaluate(LAYOUT_JS)["choice"]
        next_box = page.locator('.nav button[value="next"]').bounding_box()
        back_box = page.locator('.nav button[value="back"]').bounding_box()
        save_box = page.locator('.nav button[value="save"]').bounding_box()
        langs = page.locator(".langs > *")
        lang_lefts = [langs.nth(i).bounding_box()["x"] for i in range(langs.count())]
        lang_rights = [b["x"] + b["width"] for b in (langs.nth(i).bounding_box()
                                                      for i in range(langs.count()))]
        row = row_of_pixels(page, page.locator("progress").screenshot())
        found[lang] = {
            "choice": choice,
            "next": (next_box["x"], next_box["x"] + next_box["width"]),
            "back": (back_box["x"], back_box["x"] + back_box["width"]),
            "save": (save_box["x"], save_box["x"] + save_box["width"]),
            "h1": page.evaluate(TEXT_BOX_JS, "h1")["text"],
            "save_text": page.evaluate(TEXT_BOX_JS, '.nav button[value="save"]')["text"],
            "langs": (min(lang_lefts), max(lang_rights)),
            # Brightness near each end of the bar: the filled part (page 2 of 8) is darker.
            "progress": (row[len(row) * 4 // 100], row[len(row) * 96 // 100]),
        }
        assert page.js_errors == []

    so, ar = found["so"], found["ar"]
    margin = 16 + 1  # main's padding (1rem), and a pixel of rounding
    # The radio: left of its text in Somali, right of it (at the label's right edge) in Arabic.
    assert so["choice"]["input"][1] <= so["choice"]["text"][0] + 1, so["choice"]
    assert ar["choice"]["input"][0] >= ar["choice"]["text"][1] - 1, ar["choice"]
    assert ar["choice"]["label"][1] - ar["choice"]["input"][1] < 12, ar["choice"]
    # .nav is a flex row with Back (order 1) before Next (order 2): Back | Next in Somali,
    # Next | Back in Arabic; the primary button follows Back on the reading side.
    assert so["back"][1] <= so["next"][0], so
    assert ar["next"][1] <= ar["back"][0], ar
    assert ar["back"][1] >= PHONE_WIDTH - margin, ar  # Back starts the row, at the right
    assert so["back"][0] <= margin, so
    # "Save and continue later" takes a row of its own, text at the start side.
    assert so["save_text"][0] <= margin and ar["save_text"][1] >= PHONE_WIDTH - margin, (so, ar)
    # The heading starts at the right in Arabic.
    assert so["h1"][0] <= margin and ar["h1"][1] >= PHONE_WIDTH - margin, (so, ar)
    # The language switcher sits at the end of the line: right in Somali, left in Arabic.
    assert so["langs"][1] >= PHONE_WIDTH - margin and ar["langs"][0] <= margin, (so, ar)
    # The progress bar fills from the start side: left in Somali, right in Arabic.
    so_left, so_right = so["progress"]
    ar_left, ar_right = ar["progress"]
    assert so_left < so_right - 40, so["progress"]
    assert ar_right < ar_left - 40, ar["progress"]


@pytest.mark.parametrize("javascript", [True, False])
def test_an_invalid_number_survives_a_language_switch_and_save(sqlite_app, browser_server,
                                                               sqlite_campaign, new_phone,
                                                               javascript):
    """Typed text is never dropped: a number that does not pass is kept through the switch
    (and through Save and a resume), and comes back in the field with its message in the
    new language, with and without JavaScript."""
    from tests.helpers import catalog_text
    phone = new_phone(java_script_enabled=javascript)
    code = sqlite_campaign("community-capacity")
    phone.goto(f"{browser_server}/s/{code}?lang=so")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()
    about_you = PAGES["about_you"]
    fill(phone, about_you, {**answers_for("so", 2), "years_here": "toban"})
    switch(phone, "ar")
    field = phone.locator('[name="years_here"]')
    message = catalog_text("ar", "Please enter a whole number, such as 12.")

    def kept(where):
        assert field.input_value() == "toban", where
        assert field.get_attribute("aria-invalid") == "true", where
        assert phone.locator("#e-years_here").inner_text() == message, where

    kept("after so->ar")
    press(phone, "save")
    resume_code = phone.locator(".code").inner_text()
    other = new_phone(java_script_enabled=javascript)
    other.goto(f"{browser_server}/resume?code={resume_code}")
    phone = other
    field = phone.locator('[name="years_here"]')
    assert page_id(phone.url) == about_you.id
    check_language(phone, "ar", "resumed")
    kept("resumed on another phone")
    field.fill("10")
    press(phone, "next")
    assert page_id(phone.url) == "resources_page"
    ((status, language, stored),) = stored_responses(sqlite_app)
    assert (status, language, stored["years_here"]) == ("partial", "ar", 10)
    assert phone.js_errors == []
