"""Panel codes in the offline app, in Chromium: panel_code.js agrees with domain/panel_code.py
on the shared vectors, a baseline answered with no connection gives a code the enumerator
copies onto a card, and a follow-up answered offline with that code (after a wrong one,
explained in Spanish) arrives linked to it."""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import sqlalchemy as sa

from surveyapp import queries
from surveyapp.domain import panel_code
from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import PanelLink, Response
from tests.browser.test_offline_browser import _answer, _t
from tests.helpers import CAPACITY

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "data" / "panel_code_vectors.json").read_text("utf-8"))
SECRET = b"test-panel-secret-of-32-characters"  # tests/conftest.py's PANEL_SECRET
FOLLOW_UP = "follow-up 1"


def test_javascript_panel_codes_meet_the_shared_vectors(phone, browser_server):
    phone.goto(browser_server + "/static/offline/panel_code.js")
    phone.add_script_tag(url=browser_server + "/static/offline/panel_code.js")
    got = phone.evaluate("""v => v.checks.map(c => { const r = PanelCode.check(c.input);
        return [r.valid, r.reason || null, r.character || null, r.code || null]; })""", VECTORS)
    mismatches = [(v["input"], v, g) for v, g in zip(VECTORS["checks"], got)
                  if g != [v["valid"], v["reason"], v["character"], v["code"]]]
    assert not mismatches
    symbols = phone.evaluate("v => v.check_symbols.map(p => PanelCode.withCheck(p.payload))", VECTORS)
    assert symbols == [p["code"] for p in VECTORS["check_symbols"]]
    made = phone.evaluate("() => Array.from({length: 300}, () => PanelCode.newCode())")
    assert len(set(made)) == 300
    assert all(panel_code.check(code).valid and panel_code.format_code(code) == code for code in made)
    # Every symbol turns up (uniform draws from 31, not a biased subset).
    assert set("".join(code.replace("-", "")[:-1] for code in made)) == set(panel_code.ALPHABET)


def _wait_for(app, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if predicate():
                return
        time.sleep(0.2)
    raise AssertionError("the device never sent it")


def test_a_code_made_offline_links_an_offline_follow_up(phone, browser_server, sqlite_campaign, sqlite_app):
    baseline = sqlite_campaign()
    later = sqlite_campaign(wave=FOLLOW_UP)
    links = lambda: db.session.scalars(sa.select(PanelLink)).all()  # noqa: E731

    # The baseline, with no connection: the offer waits until the code is taken.
    phone.goto(f"{browser_server}/s/{baseline}/offline/")
    phone.wait_for_function("() => document.getElementById('status').textContent !== ''")
    assert phone.query_selector("#panel_code") is None  # a baseline asks for no code
    phone.context.set_offline(True)
    answers = synthetic_answers(CAPACITY, random.Random(31), Context("Riverside", "baseline", "es"))
    _answer(phone, answers, "es")
    phone.click("#give-code")
    phone.wait_for_selector("#panel-code")
    code = phone.text_content("#panel-code")
    assert panel_code.check(code).valid and phone.get_attribute("#panel-code", "dir") == "ltr"
    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    with sqlite_app.app_context():
        project_id = queries.campaigns.campaign_by_code(baseline).project_id
    key = panel_code.link_key(SECRET, project_id, code)
    _wait_for(sqlite_app, lambda: any(link.link_key == key for link in links()))

    # The follow-up: a mistyped code is explained in Spanish, then the right one goes through.
    phone.goto(f"{browser_server}/s/{later}/offline/")
    phone.wait_for_selector("#agree")
    if phone.evaluate("() => document.documentElement.lang") != "es":
        phone.click('.langs button[lang="es"]')
        phone.wait_for_function("() => document.documentElement.lang === 'es'")
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    phone.fill("#panel_code", wrong.lower())
    phone.click("#agree")
    phone.wait_for_selector("#panel_code-error:not(:empty)")
    from flask_babel import gettext
    expected = _t(sqlite_app, "es", lambda: gettext(
        "This code has a typing mistake: one character is wrong, or two are swapped. Please check the code."))
    assert phone.text_content("#panel_code-error") == expected
    assert phone.is_visible("#without") and phone.query_selector("#next") is None
    phone.fill("#panel_code", code.replace("-", " "))
    phone.click("#agree")
    phone.wait_for_selector("#next")
    phone.context.set_offline(True)
    _answer(phone, synthetic_answers(CAPACITY, random.Random(32), Context("Riverside", FOLLOW_UP, "es")), "es")
    assert phone.query_selector("#give-code") is None  # a follow-up gives no code
    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    _wait_for(sqlite_app, lambda: sorted(l.wave for l in links() if l.link_key == key) == ["baseline", FOLLOW_UP])
    with sqlite_app.app_context():
        rows = {link.wave: db.session.get(Response, link.response_id) for link in links() if link.link_key == key}
    assert all(r.source == "offline" and r.status == "complete" for r in rows.values())
    assert phone.js_errors == []


def test_the_online_code_screens_pass_axe_in_arabic(phone, browser_server, sqlite_campaign, sqlite_app):
    """The thank-you page with its offer and with the code shown, and a follow-up's first page
    with a wrong code's message: no serious or critical axe-core finding, right to left."""
    from tests.browser.test_respondent_a11y import axe_counts
    baseline = sqlite_campaign()
    later = sqlite_campaign(wave=FOLLOW_UP)
    phone.goto(f"{browser_server}/s/{baseline}?lang=ar")
    phone.click("button.primary")
    answers = synthetic_answers(CAPACITY, random.Random(33), Context("Riverside", "baseline", "ar"), tendency=0.7)
    from tests.browser.test_offline_browser import FILL
    while "/done" not in phone.url:
        phone.evaluate(FILL.replace("document.querySelector('form').dispatchEvent(new Event('input'));", ""), answers)
        phone.click("button.primary")
    found = {}
    found["offer"] = axe_counts(phone)
    phone.click(".panel-offer button.primary")
    phone.wait_for_selector(".panel-code")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert phone.get_attribute(".panel-code", "dir") == "ltr" and phone.is_visible("[data-print]")
    found["code"] = axe_counts(phone)
    phone.goto(f"{browser_server}/s/{later}?lang=ar")
    phone.fill("#panel_code", "K7QM-4XTD")
    phone.click("button.primary")
    phone.wait_for_selector("#panel_code-error")
    found["wrong code"] = axe_counts(phone)
    blocking = {name: c["rules"] for name, c in found.items() if c["serious"] or c["critical"]}
    assert blocking == {}
    assert phone.js_errors == []
