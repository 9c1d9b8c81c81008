"""Simulated respondents over real HTTP, for the crash and two-server tests and bench/crash.py.

A respondent has one submission id for its whole life and keeps retrying with it until a
server acknowledges the response, as a phone on a bad connection (or the offline queue)
does:

* ``api``: POST /api/v1/submissions; a 200 or 201 is the acknowledgement. A connection
  error, a timeout, a 5xx or a 429 is retried (the same body); a 400/404/409/422 is a
  failure the test reports.
* ``html``: landing page, consent form (the same submission id every time), then page
  after page with the page's CSRF token; reaching ``.../done`` is the acknowledgement. Any
  error restarts from the landing page with the same session cookie and submission id, so
  the server resumes the same response where it stands.

Each attempt goes to the next server in ``servers``: with two servers a retry goes to the
*other* one. ``reconcile`` then reads the database and counts, for the acknowledged
responses, the ones stored exactly once, complete, with every answer as sent.
"""
from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

import requests
import sqlalchemy as sa

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import check_paths
from surveyapp.domain.synthetic import synthetic_answers

ROOT = Path(__file__).resolve().parent.parent
CAPACITY = {i.id: i for i in check_paths([ROOT / "instruments"])[0]}["community-capacity"]
PAGES = {page.id: page for page in CAPACITY.pages}
RETRY_STATUS = {429, 500, 502, 503, 504}


class Retry(Exception):
    """This attempt died (connection, timeout, 5xx): try again, maybe on another server."""


class Refused(Exception):
    """The server refused the response for good (4xx other than 429): a test failure."""


@dataclass
class Respondent:
    mode: str                    # "api" or "html"
    code: str                    # the campaign code
    answers: dict
    language: str = "en"
    submission_id: uuid.UUID = field(default_factory=uuid.uuid4)
    acknowledged: bool = False
    attempts: int = 0
    servers_used: set = field(default_factory=set)
    errors: list = field(default_factory=list)   # what made each retry
    refused: str | None = None


def make_respondents(code: str, count: int, *, site: str, wave: str, seed: int = 0,
                     languages: Sequence[str] = ("en", "es", "ar")) -> list[Respondent]:
    """``count`` respondents, half API and half HTML, each with its own valid answers."""
    rng = random.Random(seed)
    people = []
    for index in range(count):
        language = languages[index % len(languages)]
        answers = synthetic_answers(CAPACITY, random.Random(rng.random()),
                                    Context(site=site, wave=wave, language=language),
                                    tendency=rng.random())
        people.append(Respondent("api" if index % 2 == 0 else "html", code, answers, language))
    return people


# ----------------------------------------------------------------------------- one attempt

class _Hidden(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values.setdefault(attrs["name"], attrs.get("value") or "")


def _hidden(html: str, name: str) -> str:
    parser = _Hidden()
    parser.feed(html)
    if name not in parser.values:
        raise Retry(f"no {name} in page")  # a half-sent page
    return parser.values[name]


def _check(reply: requests.Response, *expected: int) -> requests.Response:
    if reply.status_code in expected:
        return reply
    if reply.status_code in RETRY_STATUS:
        raise Retry(f"HTTP {reply.status_code}")
    raise Refused(f"HTTP {reply.status_code} {reply.request.method} {reply.url}: {reply.text[:300]}")


def _path(location: str) -> str:
    return re.sub(r"^https?://[^/]+", "", location)


def _api_attempt(person: Respondent, http: requests.Session, base: str, timeout: float) -> None:
    body = {"submission_id": str(person.submission_id), "campaign": person.code,
            "language": person.language, "answers": person.answers}
    _check(http.post(f"{base}/api/v1/submissions", json=body, timeout=timeout), 200, 201)


def _html_attempt(person: Respondent, http: requests.Session, base: str, timeout: float) -> None:
    landing = _check(http.get(f"{base}/s/{person.code}?lang={person.language}", timeout=timeout), 200)
    reply = _check(http.post(f"{base}/s/{person.code}/start", timeout=timeout, allow_redirects=False, data={
        "csrf_token": _hidden(landing.text, "csrf_token"), "submission_id": str(person.submission_id),
        "language": person.language}), 302)
    path = _path(reply.headers["Location"])
    for _ in range(len(CAPACITY.pages) + 2):
        if path.split("?")[0].endswith("/done"):
            return
        page = PAGES[path.split("?")[0].rstrip("/").split("/")[-1]]
        shown = _check(http.get(base + path, timeout=timeout), 200)
        pairs = [("csrf_token", _hidden(shown.text, "csrf_token")), ("action", "next")]
        for question in page.questions:
            for key in question.answer_keys:
                value = person.answers.get(key)
                for item in (value if isinstance(value, list) else [] if value is None else [value]):
                    pairs.append((key, str(item)))
        reply = _check(http.post(base + path, data=pairs, timeout=timeout, allow_redirects=False), 302)
        path = _path(reply.headers["Location"])
    raise Refused("never reached the done page")


def respond(person: Respondent, servers: Sequence[str], *, deadline: float, first: int = 0,
            timeout: float = 15.0) -> Respondent:
    """Retry ``person`` until acknowledged, refused, or ``deadline`` (time.monotonic());
    attempt n goes to servers[(first + n) % len(servers)]."""
    http = requests.Session()
    pause = 0.1
    attempt = _api_attempt if person.mode == "api" else _html_attempt
    while time.monotonic() < deadline:
        base = servers[(first + person.attempts) % len(servers)]
        person.attempts += 1
        person.servers_used.add(base)
        try:
            attempt(person, http, base, timeout)
            person.acknowledged = True
            return person
        except Refused as error:
            person.refused = str(error)
            return person
        except (Retry, requests.RequestException) as error:
            person.errors.append(type(error).__name__)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
    return person


# ----------------------------------------------------------------------------- checking

@dataclass
class Reconciliation:
    respondents: int
    acknowledged: int
    stored_once_complete: int    # acknowledged, one row, complete, answers as sent
    missing: int                 # acknowledged, no complete row
    wrong_answers: int           # acknowledged, complete, but answers differ
    duplicates: int              # complete rows beyond one per respondent, or unknown ids
    unacknowledged_stored: int   # never acknowledged but complete (the reply was lost): fine
    retries: int
    refused: list

    @property
    def ok(self) -> bool:
        return (self.acknowledged == self.respondents and self.stored_once_complete == self.acknowledged
                and not self.missing and not self.wrong_answers and not self.duplicates and not self.refused)

    def table(self) -> str:
        rows = [(name, getattr(self, name)) for name in (
            "respondents", "acknowledged", "stored_once_complete", "missing", "wrong_answers",
            "duplicates", "unacknowledged_stored", "retries")]
        return "\n".join(f"  {name:<22} {value:>6}" for name, value in rows)


def reconcile(database_url: str, code: str, people: Sequence[Respondent]) -> Reconciliation:
    """Compare what the respondents were told with the responses rows of campaign ``code``."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT r.submission_id, r.status, r.answers FROM responses r "
                "JOIN campaigns c ON c.id = r.campaign_id WHERE c.code = :code"), {"code": code}).all()
    finally:
        engine.dispose()
    import json
    stored: dict[str, list] = {}
    for submission_id, status, answers in rows:
        key = str(uuid.UUID(str(submission_id))) if not isinstance(submission_id, uuid.UUID) else str(submission_id)
        if isinstance(answers, str):
            answers = json.loads(answers)
        stored.setdefault(key, []).append((status, answers))
    known = {str(p.submission_id): p for p in people}
    once = missing = wrong = unacked = 0
    duplicates = sum(len([r for r in v if r[0] == "complete"]) for k, v in stored.items() if k not in known)
    for key, person in known.items():
        complete = [answers for status, answers in stored.get(key, []) if status == "complete"]
        duplicates += max(0, len(complete) - 1)
        if not person.acknowledged:
            unacked += bool(complete)
        elif not complete:
            missing += 1
        elif complete[0] != person.answers:
            wrong += 1
        elif len(complete) == 1:
            once += 1
    return Reconciliation(
        respondents=len(people), acknowledged=sum(p.acknowledged for p in people),
        stored_once_complete=once, missing=missing, wrong_answers=wrong, duplicates=duplicates,
        unacknowledged_stored=unacked, retries=sum(p.attempts - 1 for p in people),
        refused=[p.refused for p in people if p.refused])
