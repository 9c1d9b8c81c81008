"""The offline app in Chromium: the two evaluators agree on the shared vectors, and
responses completed with no connection (across reloads and a browser restart, in Spanish
and Arabic) reach the server exactly once, even when the server dies during the replay."""
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
from tests.test_api import CAPACITY

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


def _answer(page, answers: dict, language: str, *, reload_after_first_page=False):
    """Complete one response on the offline page, page by page."""
    page.wait_for_selector("#next")
    if page.eval_on_selector("#language", "e => e.value") != language:
        page.select_option("#language", language)
        page.wait_for_function("l => document.documentElement.lang === l", arg=language)
    turned = 0
    while not page.query_selector("#saved"):
        page.evaluate(FILL, answers)
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
    # Storage eviction: when the browser refuses persistence the page says so plainly.
    persisted = page.evaluate("() => navigator.storage.persisted()")
    storage_note = page.text_content("#storage")
    assert bool(storage_note) is (not persisted), (persisted, storage_note)
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
    phone.wait_for_selector("#next")
    phone.select_option("#language", "ar")
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
