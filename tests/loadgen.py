"""Simulated respondents against a running server, and the reconciliation of what they were told.

Shared by ``bench/load.py`` (full size), the load test in the suite (CI size) and the crash
tests (which kill workers while it runs). Nothing here imports Flask: it speaks HTTP to a
server at ``base_url`` and reads the database only in :func:`stored_responses`.

Two kinds of respondent, both completing one campaign:

* :func:`html_respondent` walks the HTML flow as a browser without JavaScript does: the
  landing page (reads the CSRF token), ``POST /s/<code>/start`` with its own submission id,
  then every page it is redirected to, posting that page's answers with the token, until
  ``/done``. A response is *acknowledged* when the done page is served.
* :func:`api_respondent` posts one whole response to ``/api/v1/submissions``; it is
  acknowledged by a 201 or 200 that names its submission id.

Every request that fails without an answer (connection refused or reset, a timeout, a 5xx,
a 429) is retried with the same submission id and the same body after a short pause, up to
``retries`` times: exactly the client a server killed mid-request must be safe against.
Each such failure is counted in ``errors``; a respondent that gives up counts in ``failed``.

Answers come from :func:`surveyapp.domain.synthetic.synthetic_answers`, so every response
is valid; the seed makes a run repeatable.

    from tests.loadgen import gunicorn, run_load, stored_responses, reconcile, server_env
    with gunicorn(server_env(database_url)) as server:
        result = run_load(server.url, code, instrument, respondents=64, concurrency=64)"http://127.0.0.1:8000", code, instrument, respondents=64, concurrency=64)
    report = reconcile(result, stored_responses(app, code))
    assert report.lost == report.duplicates == report.unexpected == 0
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import Instrument
from surveyapp.domain.synthetic import synthetic_answers
from tests.helpers import to_form

ROOT = Path(__file__).resolve().parent.parent
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
RETRYABLE = {429, 500, 502, 503, 504}


class GaveUp(Exception):
    """A request kept failing after every retry."""


@dataclass
class Timings:
    """Latencies in seconds, per kind of request ("html", "api", "static")."""
    samples: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.samples.setdefault(kind, []).append(seconds)

    def percentile(self, kind: str | None, q: float) -> float:
        values = sorted(v for k, vs in self.samples.items() if kind in (None, k) for v in vs)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]

    def count(self, kind: str | None = None) -> int:
        return sum(len(vs) for k, vs in self.samples.items() if kind in (None, k))


class Browser:
    """One respondent's HTTP client: a kept-alive connection (reopened when the server
    closes it), a cookie jar, no automatic redirects, retries on failure."""

    def __init__(self, base_url: str, timings: Timings, counters: "Counters", *,
                 retries: int = 30, timeout: float = 30.0, pause: float = 0.2):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timings, self.counters = timings, counters
        self.retries, self.timeout, self.pause = retries, timeout, pause
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, *, kind: str, form=None, json_body=None):
        """(status, headers, body text) of the first answer that is not a failure."""
        headers = {"Accept-Encoding": "identity"}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(self.retries + 1):
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            start = time.perf_counter()
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.connection.request(method, path, body=body, headers=headers)
                reply = self.connection.getresponse()
                text = reply.read().decode("utf-8", "replace")
                if reply.getheader("Connection", "").lower() == "close":
                    self.close()
            except (OSError, http.client.HTTPException):
                self.close()
                self.counters.add("errors")
                time.sleep(self.pause * min(attempt + 1, 10))
                continue
            self.timings.add(kind, time.perf_counter() - start)
            for header in reply.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            if reply.status in RETRYABLE:
                self.counters.add("errors")
                time.sleep(self.pause * min(attempt + 1, 10))
                continue
            return reply.status, reply.headers, text
        raise GaveUp(f"{method} {path}")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Counters:
    values: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.values[name] = self.values.get(name, 0) + n

    def __getitem__(self, name: str) -> int:
        return self.values.get(name, 0)


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def html_respondent(browser: Browser, code: str, instrument: Instrument, answers: dict,
                    submission_id: uuid.UUID, language: str = "en") -> None:
    """Complete one response page by page; returns when the done page is served.

    Raises GaveUp, or AssertionError on an answer no respondent should get (a 4xx where
    the flow expects a page or a redirect).
    """
    pages = {page.id: page for page in instrument.pages}
    status, _, text = browser.request("GET", f"/s/{code}?lang={language}", kind="html")
    assert status == 200, (status, text[:200])
    token = _TOKEN.search(text).group(1)
    status, headers, text = browser.request("POST", f"/s/{code}/start", kind="html", form={
        "csrf_token": token, "submission_id": str(submission_id), "language": language})
    assert status == 302, (status, text[:200])
    location = _path(headers["Location"])
    for _ in range(4 * len(pages) + 4):  # a loop that never reaches done is a failure, not a hang
        if location.endswith("/done"):
            status, _, text = browser.request("GET", location, kind="html")
            assert status == 200, (status, text[:200])
            return
        status, _, text = browser.request("GET", location, kind="html")
        assert status == 200, (status, location, text[:200])
        token = _TOKEN.search(text).group(1)
        page = pages[location.rsplit("/", 1)[1].split("?")[0]]
        form = [("csrf_token", token), ("action", "next"), *to_form(page, answers)]
        status, headers, text = browser.request("POST", location, kind="html", form=form)
        assert status == 302, (status, location, text[:300])
        location = _path(headers["Location"])
    raise AssertionError(f"no done page for {submission_id}")


def api_respondent(browser: Browser, code: str, answers: dict, submission_id: uuid.UUID,
                   language: str = "en") -> None:
    """Post one whole response until the server acknowledges it (201, or 200 for a retry)."""
    body = {"submission_id": str(submission_id), "campaign": code, "language": language,
            "answers": answers}
    status, _, text = browser.request("POST", "/api/v1/submissions", kind="api", json_body=body)
    assert status in (200, 201), (status, text[:300])
    assert json.loads(text)["submission_id"] == str(submission_id)


@dataclass
class LoadResult:
    """What the clients saw: acknowledged submission ids by flow, counts, timings, wall time."""
    acknowledged: dict[str, set[uuid.UUID]]
    sent_answers: dict[uuid.UUID, dict]
    counters: Counters
    timings: Timings
    seconds: float
    failures: list[str]

    @property
    def responses(self) -> int:
        return sum(len(ids) for ids in self.acknowledged.values())


def run_load(base_url: str, code: str, instrument: Instrument, *, respondents: int = 64,
             concurrency: int | None = None, seed: int = 0, site: str = "Bench",
             wave: str = "baseline", html_share: float = 0.5, retries: int = 30,
             timeout: float = 30.0) -> LoadResult:
    """``respondents`` complete ``code`` at once (``concurrency`` threads, all by default),
    the first ``html_share`` of them through the HTML flow, the rest through the API."""
    rng = random.Random(seed)
    context = Context(site, wave, "en")
    plan = []
    for index in range(respondents):
        flow = "html" if index < round(respondents * html_share) else "api"
        plan.append((flow, uuid.UUID(int=rng.getrandbits(128), version=4),
                     synthetic_answers(instrument, rng, context)))
    timings, counters = Timings(), Counters()
    acknowledged = {"html": set(), "api": set()}
    failures: list[str] = []
    lock = threading.Lock()

    def one(item):
        flow, submission_id, answers = item
        browser = Browser(base_url, timings, counters, retries=retries, timeout=timeout)
        try:
            if flow == "html":
                html_respondent(browser, code, instrument, answers, submission_id)
            else:
                api_respondent(browser, code, answers, submission_id)
        except (GaveUp, AssertionError) as error:
            counters.add("failed")
            with lock:
                failures.append(f"{flow} {submission_id}: {error}"[:400])
            return
        finally:
            browser.close()
        with lock:
            acknowledged[flow].add(submission_id)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency or respondents) as pool:
        list(pool.map(one, plan))
    return LoadResult(acknowledged, {sid: answers for _, sid, answers in plan}, counters,
                      timings, time.perf_counter() - start, failures)


def hammer(base_url: str, path: str, *, requests: int, concurrency: int = 64,
           kind: str = "static", timings: Timings | None = None) -> tuple[float, Timings]:
    """GET ``path`` ``requests`` times from ``concurrency`` threads: (requests/s, timings).
    The ceiling a trivial route reaches on the same server in the same run."""
    timings = timings or Timings()
    counters = Counters()
    per_thread = [requests // concurrency + (1 if i < requests % concurrency else 0)
                  for i in range(concurrency)]

    def loop(count):
        browser = Browser(base_url, timings, counters)
        try:
            for _ in range(count):
                status, _, _ = browser.request("GET", path, kind=kind)
                assert status in (200, 304), status
        finally:
            browser.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(loop, per_thread))
    return requests / (time.perf_counter() - start), timings


def stored_responses(app, code: str) -> dict[uuid.UUID, dict]:
    """{submission id: {"status", "answers", "rows"}} of every response stored for ``code``,
    read through the app's own models (so SQLite and PostgreSQL alike)."""
    import sqlalchemy as sa
    from surveyapp.extensions import db
    from surveyapp.models import Campaign, Response

    with app.app_context():
        rows = db.session.execute(
            sa.select(Response.submission_id, Response.status, Response.answers)
            .join(Campaign, Campaign.id == Response.campaign_id).where(Campaign.code == code)).all()
        db.session.remove()
    stored: dict[uuid.UUID, dict] = {}
    for submission_id, status, answers in rows:
        entry = stored.setdefault(submission_id, {"status": status, "answers": answers, "rows": 0})
        entry["rows"] += 1
    return stored


@dataclass
class Reconciliation:
    acknowledged: int
    stored_complete: int
    lost: int          # acknowledged, but not stored complete
    duplicates: int    # extra rows for one submission id
    unexpected: int    # stored complete, never acknowledged (a respondent that gave up may leave one)
    changed: int       # acknowledged API responses whose stored answers differ from those sent

    def ok(self) -> bool:
        return self.lost == self.duplicates == self.changed == 0

    def line(self) -> str:
        return (f"acknowledged {self.acknowledged}, stored complete {self.stored_complete}, "
                f"lost {self.lost}, duplicates {self.duplicates}, unacknowledged stored "
                f"{self.unexpected}, answers changed {self.changed}")


def reconcile(result: LoadResult, stored: dict[uuid.UUID, dict]) -> Reconciliation:
    """Compare what clients were told with what the database holds."""
    acked = result.acknowledged["html"] | result.acknowledged["api"]
    complete = {sid for sid, entry in stored.items() if entry["status"] == "complete"}
    changed = 0
    for sid in result.acknowledged["api"] & complete:
        # synthetic answers are valid and have skip logic applied: stored exactly as sent
        if stored[sid]["answers"] != result.sent_answers[sid]:
            changed += 1
    return Reconciliation(
        acknowledged=len(acked), stored_complete=len(complete), lost=len(acked - complete),
        duplicates=sum(entry["rows"] - 1 for entry in stored.values()),
        unexpected=len(complete - acked), changed=changed)


def summary(result: LoadResult) -> dict[str, float]:
    """Medians and rates of one run, for printing."""
    t = result.timings
    return {
        "responses_per_s": result.responses / result.seconds,
        "requests_per_s": t.count() / result.seconds,
        "p50_ms": 1000 * t.percentile(None, 0.50), "p95_ms": 1000 * t.percentile(None, 0.95),
        "api_p95_ms": 1000 * t.percentile("api", 0.95), "html_p95_ms": 1000 * t.percentile("html", 0.95),
        "errors": result.counters["errors"], "failed": result.counters["failed"],
        "median_ms": 1000 * statistics.median(v for vs in t.samples.values() for v in vs)
        if t.count() else float("nan"),
    }


# ----------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, **settings) -> dict:
    """The environment of a server on ``database_url`` for a load run.

    Rate limits stay on (checking them is part of a request's cost) but far above the
    load: one test address stands for 64 people here. ``settings`` add SURVEYAPP_*.
    """
    env = {**os.environ, "SURVEYAPP_DATABASE_URL": database_url, "SURVEYAPP_SECRET_KEY": "load",
           "PYTHONPATH": str(ROOT)}
    for name in ("API_RATE_LIMIT", "RESPONDENT_ADDRESS_RATE_LIMIT", "START_PER_ADDRESS_RATE_LIMIT",
                 "RESUME_GUESS_RATE_LIMIT"):
        env[f"SURVEYAPP_{name}"] = "1000000/minute"
    env.update({f"SURVEYAPP_{k}": str(v) for k, v in settings.items()})
    return env


@dataclass
class Server:
    """A running gunicorn: ``url``, and ``process`` (the master) for signals."""
    url: str
    process: subprocess.Popen
    log: object

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


@contextmanager
def gunicorn(env: dict, workers: int = 2, extra=(), warm_path: str = "/static/survey.css"):
    """gunicorn serving wsgi:app from the project root on a free port, booted and warmed
    (``warm_path`` fetched a few times per worker); stopped with SIGTERM afterwards."""
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    # --no-control-socket: gunicorn 27's control socket is one path per user
    # (~/.gunicorn/gunicorn.ctl), so servers started side by side would take each other's.
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--no-control-socket", *extra,
         "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 90  # workers booting on a busy machine take a while
        while True:
            try:
                urllib.request.urlopen(server.url + warm_path, timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start:\n" + server.output())
                time.sleep(0.2)
        for _ in range(4 * workers):
            urllib.request.urlopen(server.url + warm_path, timeout=10).read()
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
