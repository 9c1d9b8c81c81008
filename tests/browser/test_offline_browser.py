"""The offline app in Chromium: the two evaluators agree on the shared vectors, and
responses completed with no connection (across reloads and a browser restart, in Spanish
and Arabic) reach the server exactly once, even when the server dies during the replay.
What a resident sees: consent first, languages by name, the online page indicator and touch
targets, "please specify" only with Other, the sent message in their language, a calm
storage note only when storage is refused, and axe-core clean in both directions."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, TIMEOUT_MS
from tests.helpers import CAPACITY

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "data" / "expression_vectors.json").read_text("utf-8"))

FILL = """answers => {
  for (const [key, value] of Object.entries(answers)) {
    const els = document.querySelectorAll(`[name="${key}"]`);
    if (!els.length) continue;
    if (els[0].type === 'radio' || els[0].type === 'checkbox')
      els.forEach(e => { e.checked = Array.isArray(value) ? value.map(String).includes(e.value)
                                                          : String(value) === e.value; });
    else if (els[0].tagName === 'SELECT')
      els.forEach((e, i) => { e.value = value[i] === undefined ? '' : String(value[i]); });
    else els[0].value = String(value);
  }
  document.querySelector('form').dispatchEvent(new Event('input'));
}"""


def test_javascript_evaluator_meets_the_shared_vectors(phone, browser_server):
    phone.goto(browser_server + "/static/offline/expressions.js")
    phone.add_script_tag(url=browser_server + "/static/offline/expressions.js")
    results = phone.evaluate("""data => data.vectors.map(v => {
        const a = data.answers[v.answers];
        return [SurveyExpr.evaluate(v.expression, a, data.context, v.self),
                SurveyExpr.test(v.expression, a, data.context, v.self)];
    })""", VECTORS)
    mismatches = [(v["expression"], v["expected"], got) for v, (got, truthy) in
                  zip(VECTORS["vectors"], results) if got != v["expected"] or truthy is not v["truthy"]]
    assert not mismatches
    assert len(results) == len(VECTORS["vectors"]) > 80


# ----------------------------------------------------------------------------- end to end

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app in its own process on a fixed port, to stop and start again."""

    def __init__(self, url: str, delay: float = 0.0):
        self.db_url, self.port, self.delay, self.process = url, _free_port(), delay, None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.offline_server", self.db_url, str(self.port),
             str(self.delay)], cwd=ROOT, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/static/offline/offline.css", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def server(sqlite_app):
    servers = []

    def make(delay=0.0):
        servers.append(Server(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], delay))
        return servers[-1]
    yield make
    for s in servers:
        if s.process and s.process.poll() is None:
            s.kill()


def _persistent(browser, profile: Path):
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.pages[0] if context.pages else context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    return context, page


def _expected(seed: int, language: str) -> dict:
    return synthetic_answers(CAPACITY, random.Random(seed), Context("Riverside", "baseline", language))


def _choose(page, language: str):
    """Pick a language in the switcher, by the button that carries its name."""
    if page.evaluate("() => document.documentElement.lang") != language:
        page.click(f'.langs button[lang="{language}"]')
        page.wait_for_function("l => document.documentElement.lang === l", arg=language)


def _consent(page, language: str):
    """On the consent screen (a new response), choose the language and agree; on a draft's
    page, only the language."""
    page.wait_for_selector("#agree, #next")
    _choose(page, language)
    if page.query_selector("#agree"):
        page.click("#agree")
        page.wait_for_selector("#next")


def _answer(page, answers: dict, language: str, *, reload_after_first_page=False, check=None):
    """Complete one response on the offline page, consent first, then page by page;
    check(page_number), if given, runs on each page once it is filled."""
    _consent(page, language)
    turned = 0
    while not page.query_selector("#saved"):
        page.evaluate(FILL, answers)
        if check:
            check(turned + 1)
        before = page.evaluate("() => document.querySelector('form').innerHTML")
        page.click("#next")
        page.wait_for_function("before => !document.querySelector('form') || "
                               "document.querySelector('form').innerHTML !== before", arg=before)
        errors = page.eval_on_selector_all(".error", "es => es.map(e => e.textContent).filter(Boolean)")
        assert not errors, errors
        turned += 1
        if reload_after_first_page and turned == 1:
            page.reload()  # the draft, and the page it is on, come back from IndexedDB
            page.wait_for_selector("#next")
        assert turned < 20


def _queue_text(page) -> str:
    return page.text_content("#queue") or ""


def _rows(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Response)).all()
        return [(str(r.submission_id), r.source, r.language, r.all_answers) for r in rows]


def test_three_offline_responses_across_reloads_and_a_restart_arrive_once(
        browser, server, sqlite_campaign, sqlite_app, tmp_path):
    code = sqlite_campaign()
    live = server()
    live.start()
    url = f"{live.base}/s/{code}/offline/"
    profile = tmp_path / "profile"
    context, page = _persistent(browser, profile)
    page.goto(url)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => document.getElementById('status').textContent !== ''")

    # No signal at all: the browser is offline and the server is gone.
    context.set_offline(True)
    live.kill()
    answers = [_expected(1, "es"), _expected(2, "ar"), _expected(3, "es")]
    _answer(page, answers[0], "es")
    page.reload()
    _answer(page, answers[1], "ar", reload_after_first_page=True)
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    context.close()

    context, page = _persistent(browser, profile)  # the device restarted
    context.set_offline(True)
    page.goto(url)
    _answer(page, answers[2], "es")
    assert "3" in _queue_text(page)
    assert _rows(sqlite_app) == []

    live.start()
    context.set_offline(False)
    page.wait_for_function("() => document.querySelectorAll('#problems .refused').length === 0 && "
                           "/: 0 .*: 3$/.test(document.getElementById('queue').textContent)",
                           timeout=60_000)
    rows = _rows(sqlite_app)
    assert len(rows) == 3
    assert all(source == "offline" for _, source, _, _ in rows)
    assert sorted(language for _, _, language, _ in rows) == ["ar", "es", "es"]
    assert sorted(json.dumps(a, sort_keys=True) for *_, a in rows) == \
        sorted(json.dumps(a, sort_keys=True) for a in answers)
    assert page.js_errors == []
    context.close()


def test_server_killed_during_replay_loses_and_doubles_nothing(
        browser, server, sqlite_campaign, sqlite_app, tmp_path):
    code = sqlite_campaign()
    slow = server(delay=1.5)  # each reply leaves 1.5 s after the response was stored
    slow.start()
    url = f"{slow.base}/s/{code}/offline/"
    context, page = _persistent(browser, tmp_path / "profile")
    page.goto(url)
    page.wait_for_function("() => document.getElementById('status').textContent !== ''")
    context.set_offline(True)
    answers = [_expected(10 + i, "es") for i in range(3)]
    for i, a in enumerate(answers):
        _answer(page, a, "es")
        page.click("#start")
    context.set_offline(False)
    deadline = time.monotonic() + 20
    while not _rows(sqlite_app) and time.monotonic() < deadline:
        time.sleep(0.05)
    slow.kill()  # the first response is stored, its reply never reaches the device
    assert len(_rows(sqlite_app)) == 1
    slow.delay = 0.0
    slow.start()
    page.wait_for_function("() => /: 0 .*: 3$/.test(document.getElementById('queue').textContent)",
                           timeout=90_000)
    rows = _rows(sqlite_app)
    assert len(rows) == 3 and len({sid for sid, *_ in rows}) == 3
    assert page.js_errors == []
    assert sorted(json.dumps(a, sort_keys=True) for *_, a in rows) == \
        sorted(json.dumps(a, sort_keys=True) for a in answers)
    context.close()


def test_a_conflict_is_shown_with_its_message_and_kept(
        browser, server, sqlite_campaign, sqlite_app, tmp_path):
    code = sqlite_campaign()
    live = server()
    live.start()
    url = f"{live.base}/s/{code}/offline/"
    profile = tmp_path / "profile"
    context, page = _persistent(browser, profile)
    page.goto(url)
    page.wait_for_function("() => document.getElementById('status').textContent !== ''")
    context.set_offline(True)
    _answer(page, _expected(20, "fr"), "fr")
    submission_id = page.evaluate("""() => new Promise(ok => {
        indexedDB.open('surveyapp-offline').onsuccess = e => {
          e.target.result.transaction('responses').objectStore('responses').getAll().onsuccess =
            r => ok(r.target.result.find(x => x.status === 'queued').id);
        };
    })""")
    # Someone else already used this UUID for other answers: the server says 409.
    other = {"submission_id": submission_id, "campaign": code, "language": "fr",
             "answers": _expected(21, "fr")}
    request = urllib.request.Request(live.base + "/api/v1/submissions", data=json.dumps(other).encode(),
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request).status == 201
    context.set_offline(False)
    page.wait_for_selector("#problems .refused", timeout=60_000)
    assert submission_id in page.text_content("#problems")
    assert "submission_id" in page.text_content("#problems")  # the server's own message
    page.reload()  # refused is kept, not dropped, and not sent again
    page.wait_for_selector("#problems .refused")
    assert len(_rows(sqlite_app)) == 1
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize("years, code", [("30", "constraint"), ("abc", "not_integer"),
                                         ("101", "too_large"), ("", "required")])
def test_device_refuses_what_the_server_refuses_with_its_arabic_message(
        phone, browser_server, sqlite_campaign, years, code):
    """The first page with an answer the rules refuse: the device shows, in Arabic, the
    message the API gives for the same answers."""
    campaign = sqlite_campaign()
    phone.goto(f"{browser_server}/s/{campaign}/offline/")
    _consent(phone, "ar")
    phone.wait_for_function("() => document.documentElement.dir === 'rtl'")
    answers = {"area": "north", "age_band": "18-24", "years_here": years}
    phone.evaluate(FILL, answers)
    phone.click("#next")
    phone.wait_for_selector("#e-years_here:not(:empty)")
    shown = phone.text_content("#e-years_here")
    request = urllib.request.Request(
        browser_server + "/api/v1/submissions", headers={"Content-Type": "application/json"},
        data=json.dumps({"submission_id": str(uuid.uuid4()), "campaign": campaign,
                         "language": "ar", "answers": answers}).encode())
    try:
        urllib.request.urlopen(request)
        raise AssertionError("the server accepted it")
    except urllib.error.HTTPError as error:
        assert error.code == 422
        errors = {e["question"]: e for e in json.loads(error.read())["errors"]}
    assert errors["years_here"]["code"] == code
    assert shown == errors["years_here"]["message"]
    assert phone.text_content("#e-area") == ""  # a valid answer has no message


# ----------------------------------------------------------------------------- what the resident sees

NAMES = ["English", "Español", "Français", "العربية", "中文", "Tiếng Việt", "Soomaali"]
# Text drawn in a red (r high, g and b low): the colour of a warning. Required-answer stars
# and validation errors are red online too, so only screens without questions are checked.
RED_TEXT = """() => [...document.body.querySelectorAll('*')].filter(e =>
    e.offsetParent !== null && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .filter(e => { const [r, g, b] = getComputedStyle(e).color.match(/\\d+/g).map(Number);
                 return r > 150 && g < 100 && b < 100; })
  .map(e => e.textContent.trim())"""
HEIGHTS = """sel => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null)
  .map(e => Math.round(e.getBoundingClientRect().height * 10) / 10)"""


def _t(app, language: str, text):
    """text() in ``language``, through the app's own catalogues."""
    from flask_babel import force_locale
    with app.test_request_context(), force_locale(language):
        return text()


def _sent(app, language: str, n: int) -> str:
    from flask_babel import ngettext
    return _t(app, language, lambda: ngettext("%(count)s response was sent.",
                                              "%(count)s responses were sent.", n, count=n))


def test_consent_first_other_on_demand_page_indicator_and_the_sent_message(
        phone, browser_server, sqlite_campaign, sqlite_app, screenshots):
    """Offline, as a resident: the consent step first with languages by name and nothing red;
    "please specify" only once Other is chosen; "Página 2 de 7" as online and the same
    touch targets; back online, "2 responses were sent" in the last resident's language."""
    from flask_babel import gettext
    code = sqlite_campaign()
    url = f"{browser_server}/s/{code}/offline/"
    refused = []  # the CSP allows no inline style or script: Chromium reports any it blocks
    phone.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    phone.goto(url)
    phone.wait_for_function("() => document.getElementById('status').textContent !== ''")
    phone.context.set_offline(True)
    phone.reload()  # from the service worker's cache

    # The first screen: what taking part means, and nothing answered before agreeing.
    phone.wait_for_selector("#agree")
    assert phone.query_selector("form") is None
    assert phone.eval_on_selector_all(".langs button, .langs [aria-current]",
                                      "es => es.map(e => e.textContent)") == NAMES
    assert min(phone.evaluate(HEIGHTS, ".langs button, .langs [aria-current], #agree")) >= 44
    assert phone.text_content("#storage") == ""
    assert phone.evaluate(RED_TEXT) == []
    _choose(phone, "es")
    # The device's own messages follow the language too.
    assert phone.text_content("#status") in _t(sqlite_app, "es", lambda: (
        gettext("Ready: this device can collect answers without a connection."),
        gettext("No connection: answers are kept on this device.")))
    assert phone.text_content("#consent-h") == _t(sqlite_app, "es", lambda: gettext("Before you start"))
    assert phone.text_content("#agree") == _t(sqlite_app, "es", lambda: gettext("I agree, start the survey"))
    phone.screenshot(path=str(screenshots / "offline-consent-es.png"), full_page=True)
    phone.click("#agree")
    phone.wait_for_selector("#next")

    # "Other, please specify" only while Other is ticked.
    other = phone.locator('[id="f-area.other"]')
    other_label = phone.locator('label[for="f-area.other"]')
    assert other.is_hidden() and other_label.is_hidden()
    phone.check('input[name="area"][value="other"]')
    assert other.is_visible() and other_label.is_visible()
    phone.check('input[name="area"][value="north"]')
    assert other.is_hidden() and other_label.is_hidden()
    offline_targets = phone.evaluate(HEIGHTS, '[id="q-area"] .choices label, #next')

    # The page indicator, page after page, as the online pages word it.
    seen = []

    def indicator(number):
        text = phone.text_content("#progress")
        total = int(phone.get_attribute("progress", "max"))
        assert phone.get_attribute("progress", "value") == str(number)
        assert text == _t(sqlite_app, "es", lambda: gettext("Page %(num)s of %(total)s",
                                                            num=number, total=total))
        seen.append((number, total))

    first = {**_expected(30, "es"), "area": "other", "area.other": "Hillside flats"}
    _answer(phone, first, "es", check=indicator)
    assert [n for n, _ in seen] == list(range(1, len(seen) + 1)) and seen[-1][1] == len(seen) > 1
    assert phone.text_content("#synced") == ""  # nothing can be sent yet

    # The next resident, in Arabic: consent again, first.
    phone.click("#start")
    phone.wait_for_selector("#agree")
    assert phone.query_selector("form") is None
    second = _expected(31, "ar")
    _answer(phone, second, "ar")
    assert phone.evaluate("() => document.documentElement.dir") == "rtl"

    phone.context.set_offline(False)
    expected = _sent(sqlite_app, "ar", 2)
    assert expected == "أُرسلت إجابتان."  # Arabic's dual: the plural category reached the device
    phone.wait_for_function("t => document.getElementById('synced').textContent === t",
                            arg=expected, timeout=30_000)
    phone.screenshot(path=str(screenshots / "offline-sent-ar.png"), full_page=True)
    rows = _rows(sqlite_app)
    assert sorted(language for _, _, language, _ in rows) == ["ar", "es"]
    by_language = {language: answers for _, _, language, answers in rows}
    assert by_language["es"]["area"] == "other" and by_language["es"]["area.other"] == "Hillside flats"
    assert phone.text_content("#status") == _t(sqlite_app, "ar", lambda: gettext(
        "Ready: this device can collect answers without a connection."))  # not "No connection"
    assert phone.js_errors == [] and refused == []

    # The same touch targets as the online page shows for the same question.
    phone.goto(f"{browser_server}/s/{code}?lang=es")
    with phone.expect_navigation():
        phone.locator('form[action$="/start"] button').click()
    online_targets = phone.evaluate(HEIGHTS, '[id="q-area"] .choices label, button[value="next"]')
    assert offline_targets == online_targets and min(online_targets) >= 40


@pytest.mark.parametrize("granted", [True, False])
def test_storage_note_only_when_persistence_is_refused_calm_and_once(
        new_phone, browser_server, sqlite_campaign, sqlite_app, granted):
    """Nothing about storage on the first screen; after a response is kept, a refusal of
    navigator.storage.persist() is said once on the device, in plain colours."""
    code = sqlite_campaign()
    page = new_phone()
    page.add_init_script("navigator.storage.persisted = () => Promise.resolve(false);"
                         f"navigator.storage.persist = () => Promise.resolve({str(granted).lower()});")
    page.goto(f"{browser_server}/s/{code}/offline/")
    page.wait_for_selector("#agree")
    assert page.text_content("#storage") == ""
    _answer(page, _expected(40, "en"), "en")
    note = _t(sqlite_app, "en", lambda: __import__("flask_babel").gettext(
        "Answers stay on this device until they are sent. If the device runs short of space, "
        "the browser may remove them, so please send them when you can."))
    if granted:
        page.wait_for_function("() => /: 1$/.test(document.getElementById('queue').textContent)")
        assert page.text_content("#storage") == ""
    else:
        page.wait_for_function("t => document.getElementById('storage').textContent === t", arg=note)
        assert page.get_attribute("#storage", "role") == "status"
        assert page.evaluate(RED_TEXT) == []
        page.reload()  # the next response on this device: said already, not again
        _answer(page, _expected(41, "en"), "en")
        page.wait_for_function("() => /: 2$/.test(document.getElementById('queue').textContent)")
        assert page.text_content("#storage") == ""
    assert page.js_errors == []


def test_without_indexeddb_the_page_says_so_calmly_and_still_sends(
        new_phone, browser_server, sqlite_campaign, sqlite_app):
    """Site data blocked: IndexedDB throws. The page says, once and calmly, that answers
    cannot be kept, and a response completed online still reaches the server."""
    from flask_babel import gettext
    code = sqlite_campaign()
    page = new_phone()
    page.add_init_script("IDBFactory.prototype.open = function () {"
                         " throw new DOMException('blocked', 'SecurityError'); };")
    page.goto(f"{browser_server}/s/{code}/offline/?lang=fr")
    page.wait_for_selector("#agree")
    assert page.text_content("#storage") == _t(sqlite_app, "fr", lambda: gettext(
        "This browser does not let this page keep answers on the device. Answers are sent while "
        "there is a connection, but are lost if this page is closed before that."))
    assert page.evaluate(RED_TEXT) == []
    _answer(page, _expected(50, "fr"), "fr")
    page.wait_for_function("t => document.getElementById('synced').textContent === t",
                           arg=_sent(sqlite_app, "fr", 1))
    assert [language for _, _, language, _ in _rows(sqlite_app)] == ["fr"]
    assert page.js_errors == []


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_offline_screens_pass_axe(phone, browser_server, sqlite_campaign, lang, direction):
    """axe-core on every screen of the offline app: consent, each page (one with its error
    messages), and the saved screen; no serious or critical violation either way round."""
    from tests.browser.test_respondent_a11y import BLOCKING, axe_counts
    code = sqlite_campaign()
    phone.goto(f"{browser_server}/s/{code}/offline/?lang={lang}")
    phone.wait_for_selector("#agree")
    counts = {}

    def check(name):
        assert phone.evaluate("() => document.documentElement.dir") == direction, name
        counts[name] = axe_counts(phone)

    check("consent")
    phone.click("#agree")
    phone.wait_for_selector("#next")
    phone.click("#next")  # nothing answered: every required question says so
    phone.wait_for_selector(".error:not(:empty)")
    check("errors")
    _answer(phone, _expected(60, lang), lang, check=lambda n: check(f"page-{n}"))
    check("saved")
    print(f"\naxe-core violations on the offline app ({lang}):")
    for name, found in counts.items():
        print(f"  {name:10} " + " ".join(f"{impact}={found[impact]}" for impact in
                                         ("critical", "serious", "moderate", "minor")))
    blocking = {name: found["rules"] for name, found in counts.items()
                if any(found[impact] for impact in BLOCKING)}
    assert blocking == {}
    assert len(counts) > 4
    assert phone.js_errors == []
