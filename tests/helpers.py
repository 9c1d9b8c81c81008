"""Small helpers for driving the HTML flow with Flask's test client, and the helpers and
data that several test modules share (fixtures they share are in conftest.py)."""
from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import urllib.error
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict

from surveyapp import create_app, jobs, operations, queries
from surveyapp.domain.answers import Context
from surveyapp.domain.instrument_text import apply_translations
from surveyapp.domain.instruments import InstrumentError, check_paths, load_instrument
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.domain.transcripts import parse_quick_entry
from surveyapp.extensions import db
from surveyapp.models import Campaign, InstrumentVersion, Response, Segment, Theme
from surveyapp.queries.themes import Source


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"input", "textarea", "select", "html", "form", "fieldset"}:
            self.inputs.append({"tag": tag, **{k: (v or "") for k, v in attrs}})


def elements(html: str) -> list[dict]:
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs


def hidden(html: str, name: str) -> str:
    for element in elements(html):
        if element.get("name") == name and element.get("type") == "hidden":
            return element["value"]
    raise AssertionError(f"no hidden {name} in page")


def html_attrs(html: str) -> dict:
    return next(e for e in elements(html) if e["tag"] == "html")


def to_form(page, answers) -> list[tuple[str, str]]:
    """One page's answers as the (name, value) pairs a browser would post."""
    pairs = []
    for question in page.questions:
        for key in question.answer_keys:
            value = answers.get(key)
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, str(item)))
    return pairs


def location_path(response) -> str:
    return re.sub(r"^https?://[^/]+", "", response.headers["Location"])


def catalog_text(language: str, msgid: str) -> str:
    """The shipped translation of ``msgid``; fails if it is missing or left in English."""
    from pathlib import Path
    from babel.messages.pofile import read_po
    path = Path(__file__).resolve().parent.parent / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        message = read_po(handle).get(msgid)
    assert message is not None and message.string and message.string != msgid, (language, msgid)
    return message.string


def expired_csrf_token(app, client, age_seconds: int = 2 * 3600) -> str:
    """A CSRF token for ``client``'s session, signed ``age_seconds`` ago: forged, not waited for.

    Flask-WTF signs the session's raw token with itsdangerous; a signer whose clock
    reads the past makes the same token it would have made then.
    """
    import time
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    with client.session_transaction() as session:
        raw = session["csrf_token"]
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=PastSigner).dumps(raw)


# ----------------------------------------------------------------------------- shared
# Helpers and data more than one test module uses (they lived in one test module and
# were imported from it by the others).

ROOT = Path(__file__).resolve().parent.parent
INSTRUMENTS = {i.id: i for i in check_paths([ROOT / "instruments"])[0]}
CAPACITY = INSTRUMENTS["community-capacity"]


# ----------------------------------------------------------------------------- test_instrument_text

def differing_block(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines between the longest common head and tail of two texts: (old, new)."""
    old, new = before.splitlines(), after.splitlines()
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return old[head:len(old) - tail], new[head:len(new) - tail]


# ----------------------------------------------------------------------------- test_instruments

BROKEN_EXPECTED = [
    "tests/data/broken.yaml:11:9: unknown key 'requird' in question 'years_here'; did you mean 'required'?",
    "tests/data/broken.yaml:17:13: duplicate question id 'years_here' (first defined at line 10)",
    "tests/data/broken.yaml:23:12: relevant of question 'safer' refers to 'later_q', which comes later",
    "tests/data/broken.yaml:26:19: relevant of question 'ghost' refers to unknown question 'nobody'",
    "tests/data/broken.yaml:30:32: relevant of question 'bad_expr' does not parse: unexpected end",
    "tests/data/broken.yaml:33:18: unknown choice list 'agree7'; no choice_lists are declared",
    "tests/data/broken.yaml:38:16: label of question 'later_q' has no 'ar' text (languages: en, ar)",
    "tests/data/broken.yaml:45:11: scoring item 'years_here' is not a likert question or matrix item",
]


# ----------------------------------------------------------------------------- test_xlsform

# shared/ sits beside the project (CI, /work/main); a git worktree under wt/ is one level deeper.
FORMS = next((p for p in (ROOT.parent / "shared" / "data" / "xlsforms",
                          ROOT.parent.parent / "shared" / "data" / "xlsforms") if p.is_dir()),
             ROOT.parent / "shared" / "data" / "xlsforms")


# ----------------------------------------------------------------------------- test_access

PASSWORD = "correct horse battery"


def make_user(app, email, *roles, active=True):
    with app.app_context():
        def work():
            user = operations.staff.create_user(email, PASSWORD, roles)
            user.active = active
            return user.id
        return operations.transaction(work)


def login(client, email, password=PASSWORD, next_url=None):
    page = client.get("/login")
    url = "/login" + (f"?next={next_url}" if next_url is not None else "")
    return client.post(url, data={"csrf_token": hidden(page.text, "csrf_token"),
                                  "email": email, "password": password})


def signed_in(app, email, *roles):
    """A test client signed in as a new user holding ``roles``."""
    make_user(app, email, *roles)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def staff_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        yield rule, getattr(view, "access", None)


OURS, THEIRS = "Alderbank", "Birchfield"  # a site of each project, to spot leaks in pages


# One resident's own words and one transcript line: a partner must never read either.
RESIDENT_WORDS = "Zephyrine lamps by the old tannery would help"


def two_projects(app):
    """Two projects, each with a site, a campaign with a response, a draft and a finalised
    focus-group session with a segment; a facilitator and an analyst of the first, an
    outsider holding both roles in the second, an admin. Returns the first's ids."""
    from surveyapp.domain.transcripts import parse_quick_entry
    from surveyapp.models import FocusGroup, InstrumentVersion, Response, Segment
    from tests.helpers import payload
    ids = {}
    with app.app_context():
        def work():
            staff, campaigns, focus_groups = (operations.staff, operations.campaigns,
                                              operations.focus_groups)
            guide = db.session.scalar(sa.select(InstrumentVersion).where(
                InstrumentVersion.kind == "focus_group"))
            for name, site_name in (("Council", OURS), ("Police", THEIRS)):
                project = staff.create_project(name)
                site = campaigns.get_or_create_site(site_name, project=project)
                campaign = campaigns.create_campaign("community-capacity", site, "baseline")
                sessions = []
                for status in ("draft", "finalised"):
                    session = focus_groups.create_focus_group(
                        guide_version=guide, site=site, wave="baseline", held_on=dt.date(2026, 11, 2),
                        place="Hall", language="en", facilitators=[], participants=[
                            focus_groups.ParticipantInfo(label="P1")], consent_given=True)
                    focus_groups.add_segments(session, queries.instruments.instrument_of(guide).prompts[0].id,
                                              parse_quick_entry("P1: hello", ["P1"]).segments,
                                              uuid.uuid4())
                    if status == "finalised":
                        focus_groups.finalise_focus_group(session)
                    sessions.append(session)
                if name == "Council":
                    ids.update(project_id=project.id, campaign_id=campaign.id, code=campaign.code,
                               draft=sessions[0].id, finalised=sessions[1].id,
                               prompt_id=queries.instruments.instrument_of(guide).prompts[0].id)
            council, police = staff.project_by_name("Council"), staff.project_by_name("Police")
            staff.create_user("admin@example.org", PASSWORD, ["admin"])
            staff.create_user("facilitator@example.org", PASSWORD, ["facilitator"], council)
            analyst = staff.create_user("analyst@example.org", PASSWORD, ["analyst"], council)
            staff.create_user("outsider@example.org", PASSWORD, ["facilitator", "analyst"], police)
            staff.create_user("partner@example.org", PASSWORD, ["partner"], council)
            ids["user_id"] = analyst.id
            ids["member_id"] = analyst.memberships[0].id
        operations.transaction(work)
    client = app.test_client()
    body = payload(ids["code"])
    body["answers"]["safer_ideas"] = RESIDENT_WORDS
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    ids["submission_id"] = body["submission_id"]
    with app.app_context():
        ids["response_id"] = db.session.scalar(sa.select(Response.id))
        for key in ("draft", "finalised"):
            ids[f"{key}_segment"] = db.session.scalar(sa.select(Segment.id).where(
                Segment.session_id == ids[key]))
        assert db.session.get(FocusGroup, ids["finalised"]).status == "finalised"
        # A finished export job of the analyst's, for the job routes.
        from surveyapp.queries import export
        from surveyapp.jobs import thread_backend
        from surveyapp.models import Campaign, User
        campaign = db.session.get(Campaign, ids["campaign_id"])
        job = jobs.enqueue("export", jobs.export_parameters(
            export.filters_for_campaign(campaign, status="all"), csv=False, scope=None,
            generated_by="analyst@example.org"), user=db.session.get(User, ids["user_id"]),
            project_id=campaign.project_id)
        ids["job_id"] = job.id
        thread_backend.wait_idle()
        # A double-coding sample of the question across the project (as a URL without
        # ?campaign= names it), the analyst its one coder.
        from surveyapp.models import CodingSample, SampleCoder
        from surveyapp.queries.themes import Source
        source = Source("question", ids["project_id"], "community-capacity", "safer_ideas")
        sample = CodingSample(project_id=source.project_id, source_key=source.key, kind="question",
                              instrument_id=source.instrument_id, item_id=source.item_id,
                              campaign_id=source.campaign_id, size=1, seed=1,
                              refs=[f"r{ids['response_id']}:safer_ideas"],
                              coders=[SampleCoder(user_id=ids["user_id"])])
        ids["sample_id"] = operations.transaction(lambda: (db.session.add(sample),
                                                           db.session.flush(), sample.id)[2])
    return ids


def project_url(rule, ids, session_kind="draft") -> str:
    """A URL for ``rule`` naming real objects of the first project."""
    values = {"campaign_id": ids["campaign_id"], "response_id": ids["response_id"],
              "project_id": ids["project_id"], "member_id": ids["member_id"],
              "user_id": ids["user_id"], "session_id": ids[session_kind],
              "segment_id": ids[f"{session_kind}_segment"], "prompt_id": ids["prompt_id"],
              "code": ids["code"], "kind": "svg", "action": "up",
              "instrument_id": "community-capacity", "item_id": "safer_ideas",
              "job_id": ids["job_id"], "sample_id": ids.get("sample_id", 0),
              "which": "none"}       # a themes texts page: the texts without a theme
    return rule.build({name: values.get(name, "x") for name in rule.arguments},
                      append_unknown=False)[1]


# ----------------------------------------------------------------------------- test_api

URL = "/api/v1/submissions"


def payload(code, seed=1, language="es", **extra):
    answers = synthetic_answers(CAPACITY, random.Random(seed), Context("Riverside", "baseline", language))
    return {"submission_id": str(uuid.uuid4()), "campaign": code, "language": language,
            "answers": answers, "started_at": "2026-11-20T10:00:00Z",
            "submitted_at": "2026-11-20T10:12:00+00:00", **extra}


def count_rows(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Response))


# ----------------------------------------------------------------------------- test_export

CONTACT = "+44 20 7946 0000"


REAL_NAME = "Amina Realname"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def seed(app, make_campaign) -> dict:
    """A campaign with three complete responses (one leaving a contact), one partial, and
    a finalised and a draft focus-group session at its site and wave."""
    code = make_campaign()
    stored = {}
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(code)
            version = queries.campaigns.campaign_version(campaign)
            instrument = queries.instruments.instrument_of(version)
            for seed_number, language in ((1, "en"), (2, "ar"), (3, "es")):
                answers = synthetic_answers(instrument, random.Random(seed_number),
                                            Context("Riverside", "baseline", language))
                if seed_number == 1:
                    answers.update(follow_up_invite="yes", contact=CONTACT)
                result = operations.surveys.submit_response(
                    campaign, version, instrument, submission_id=uuid.uuid4(), language=language,
                    answers=answers)
                assert result.outcome == "created", result.errors
                stored[result.response_id] = dict(db.session.get(Response, result.response_id).answers)
            partial = operations.surveys.start_response(campaign, version, uuid.uuid4(), "en")
            guide = db.session.scalar(sa.select(InstrumentVersion).where(
                InstrumentVersion.kind == "focus_group"))
            prompt = queries.instruments.instrument_of(guide).prompts[0].id
            for status, words in (("finalised", "It is dark near the park =HYPERLINK(x)"),
                                  ("draft", "words still being checked")):
                session = operations.focus_groups.create_focus_group(
                    guide_version=guide, site=campaign.site, wave="baseline",
                    held_on=dt.date(2026, 11, 2), place="Hall", language="en", facilitators=[],
                    participants=[operations.focus_groups.ParticipantInfo(
                        label="P1", age_band="25-34", role="resident", real_name=REAL_NAME)],
                    consent_given=True)
                operations.focus_groups.add_segments(
                    session, prompt, parse_quick_entry(f"P1: {words}", ["P1"]).segments, uuid.uuid4())
                if status == "finalised":
                    operations.focus_groups.finalise_focus_group(session)
            return campaign.id, partial.id
        campaign_id, partial_id = operations.transaction(work)
    return {"code": code, "campaign_id": campaign_id, "answers": stored, "partial_id": partial_id}


def responses_by_id(book) -> dict[int, dict]:
    rows = list(book["Responses"].iter_rows(values_only=True))
    return {row[0]: dict(zip(rows[0], row)) for row in rows[2:]}


# ----------------------------------------------------------------------------- test_focus_groups

def create_session(client, *, roster=("P1", "P2", "P3"), real_names=(), wave="baseline"):
    page = client.get("/staff/focus-groups/new")
    site_id = re.search(r'<option value="(\d+)"[^>]*>Riverside<', page.text).group(1)
    data = MultiDict({"csrf_token": hidden(page.text, "csrf_token"), "guide": "mini-guide",
                      "site": site_id, "wave": wave, "held_on": "2026-11-20", "place": "Library",
                      "language": "en", "consent_given": "y"})
    for element in elements(page.text):  # the facilitators ticked on the page (the user)
        if element.get("name") == "facilitators" and "checked" in element:
            data.add("facilitators", element["value"])
    for index in range(12):
        label = roster[index] if index < len(roster) else ""
        data[f"participants-{index}-pseudonym"] = label
        data[f"participants-{index}-real_name"] = real_names[index] if index < len(real_names) else ""
    reply = client.post("/staff/focus-groups/new", data=data)
    assert reply.status_code == 302, reply.text[:3000]
    return int(reply.headers["Location"].rstrip("/").split("/")[-1])


def prompt_url(session_id, prompt_id="trust"):
    return f"/staff/focus-groups/{session_id}/prompts/{prompt_id}"


def form_fields(html, action_suffix):
    """The hidden fields of the form whose action ends with ``action_suffix``."""
    form = re.search(rf'<form method="post" action="[^"]*{re.escape(action_suffix)}"(.*?)</form>', html, re.S)
    assert form, action_suffix
    return {e["name"]: e.get("value", "") for e in elements(form.group(1))
            if e["tag"] == "input" and e.get("type") == "hidden"}


def segments(app, session_id):
    with app.app_context():
        rows = db.session.scalars(sa.select(Segment).where(Segment.session_id == session_id)
                                  .order_by(Segment.prompt_id, Segment.position)).all()
        return [(r.prompt_id, r.speaker, r.text, r.start_seconds) for r in rows]


def quick(client, session_id, text, **extra):
    page = client.get(prompt_url(session_id))
    fields = form_fields(page.text, "/quick")
    return client.post(prompt_url(session_id) + "/quick", data={**fields, "lines": text, **extra})


def import_file(client, session_id, name, content, **extra):
    page = client.get(prompt_url(session_id))
    return client.post(prompt_url(session_id) + "/import", data={
        **form_fields(page.text, "/import"), **extra,
        "file": (io.BytesIO(content.encode("utf-8")), name)}, content_type="multipart/form-data")


# ----------------------------------------------------------------------------- test_jobs

REDIS = os.environ.get("SURVEYAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def _clients(app):
    make_user(app, "admin@example.org", "admin")
    make_user(app, "analyst@example.org", "analyst")
    make_user(app, "other@example.org", "analyst")
    clients = {}
    for who in ("admin", "analyst", "other"):
        clients[who] = app.test_client()
        assert login(clients[who], f"{who}@example.org").status_code == 302
    return clients


def _redis_or_skip():
    import redis
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS}")


# ----------------------------------------------------------------------------- test_partner

def answer_with(app, code, texts, seed=3):
    """One complete response per text, its safer_ideas set to the text."""
    rng = random.Random(seed)
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(code)
            version = campaign.pinned_version
            instrument = queries.instruments.instrument_of(version)
            for text in texts:
                answers = synthetic_answers(instrument, rng, Context(campaign.site.name, campaign.wave, "en"), 0.5)
                answers["safer_ideas"] = text
                result = operations.surveys.submit_response(
                    campaign, version, instrument, submission_id=uuid.UUID(int=rng.getrandbits(128)),
                    language="en", answers=answers)
                assert result.outcome == "created", result.errors
        operations.transaction(work)


def member(app, email, role, project_name):
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            email, PASSWORD, [role], operations.staff.project_by_name(project_name)))
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


# ----------------------------------------------------------------------------- test_results

LANGUAGES = ["en", "es", "fr", "ar", "zh", "vi", "so"]


NEXT = {lang: f"Next steps in {lang}: a meeting at the library." for lang in LANGUAGES}


# ----------------------------------------------------------------------------- test_scores

def submit(app, code, count, seed, tendency):
    """``count`` complete responses to the campaign through the API's write path."""
    rng = random.Random(seed)
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(code)
            version = campaign.pinned_version
            instrument = queries.instruments.instrument_of(version)
            context = queries.respondent.response_context(campaign, "en")
            for _ in range(count):
                operations.surveys.submit_response(
                    campaign, version, instrument, submission_id=uuid.UUID(int=rng.getrandbits(128)),
                    language="en", answers=synthetic_answers(instrument, rng, context, tendency))
        operations.transaction(work)


def analyst_of(app, project_name):
    with app.app_context():
        def work():
            project = operations.staff.project_by_name(project_name)
            operations.staff.create_user("ana@example.org", PASSWORD, ["analyst"], project)
            return project.id
        project_id = operations.transaction(work)
    client = app.test_client()
    assert login(client, "ana@example.org").status_code == 302
    return client, project_id


# ----------------------------------------------------------------------------- test_survey_flow

def start(client, code, lang="en"):
    landing = client.get(f"/s/{code}?lang={lang}")
    assert landing.status_code == 200
    reply = client.post(f"/s/{code}/start", data={
        "csrf_token": hidden(landing.text, "csrf_token"),
        "submission_id": hidden(landing.text, "submission_id"), "language": lang})
    assert reply.status_code == 302
    return location_path(reply)


def post_page(client, path, pairs, action="next"):
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return client.post(path, data=MultiDict([("csrf_token", hidden(page.text, "csrf_token")),
                                             ("action", action), *pairs]))


def page_id(path):
    return path.split("?")[0].rstrip("/").split("/")[-1]


def complete(client, code, answers, lang="en"):
    """Answer page after page as a browser would; return the final path."""
    path = start(client, code, lang)
    for _ in range(len(CAPACITY.pages) + 1):
        if path.endswith("/done"):
            return path
        page = next(p for p in CAPACITY.pages if p.id == page_id(path))
        reply = post_page(client, path, to_form(page, answers))
        assert reply.status_code == 302, reply.text[:2000]
        path = location_path(reply)
    raise AssertionError("never reached the end")


# ----------------------------------------------------------------------------- test_theme_review

LIGHTS = ["The street lights are broken and the street is dark at night",
          "Fix the broken street lights, it is too dark at night",
          "More street lights, the park is dark at night",
          "Dark streets at night, we need street lights",
          "Street lights broken for months, dark and scary at night",
          "Please repair the street lights, dark at night"]


POLICE = ["More police patrols on foot in the evening",
          "Police patrols should walk the estate in the evening",
          "We need police patrols on foot, not just cars",
          "Regular police patrols in the evening would help",
          "Police on foot patrols, evening and weekends",
          "See police patrols walking in the evening"]


AGE_BANDS = ["18-24", "25-34"]


def plant(app, client, code, texts, key="safer_ideas"):
    """Submit one complete response per text through the API; returns their ids."""
    ids = []
    for number, text in enumerate(texts):
        body = payload(code, seed=number + 1, language="en")
        body["answers"][key] = text
        body["answers"].update(age_band=AGE_BANDS[number % 2], years_here=1)
        reply = client.post("/api/v1/submissions", json=body)
        assert reply.status_code == 201, reply.json
        with app.app_context():
            ids.append(db.session.scalar(sa.select(Response.id).where(
                Response.submission_id == uuid.UUID(body["submission_id"]))))
    return ids


def question_source(ids, campaign=True):
    return Source("question", ids["project_id"], "community-capacity", "safer_ideas",
                  ids["campaign_id"] if campaign else None)


def prompt_source(ids):
    return Source("prompt", ids["project_id"], ids["guide_id"], ids["prompt_id"])


def run(app, source, **options):
    with app.app_context():
        return operations.transaction(lambda: operations.themes.run_themes(source, **options).id)


def analyst_client(app, email="analyst@example.org"):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def page_url(ids, campaign=True):
    url = f"/staff/projects/{ids['project_id']}/themes/community-capacity/safer_ideas"
    return url + (f"?campaign={ids['campaign_id']}" if campaign else "")


def csrf(client, url):
    from tests.helpers import hidden
    return hidden(client.get(url).text, "csrf_token")


def theme_ids(app, ids):
    """{label: theme id} for the campaign question's themes."""
    with app.app_context():
        return {t.label: t.id for t in db.session.scalars(sa.select(Theme).where(
            Theme.source_key == question_source(ids).key))}


def post(client, ids, path, **data):
    url = page_url(ids)
    base, _, query = url.partition("?")
    return client.post(f"{base}/{path}?{query}", data={"csrf_token": csrf(client, url), **data})


def segment_ids(app, ids):
    with app.app_context():
        return list(db.session.scalars(sa.select(Segment.id).where(
            Segment.session_id == ids["session_id"]).order_by(Segment.position)))


# ----------------------------------------------------------------------------- test_translation_sheet

SHIPPED = ROOT / "instruments" / "programme-feedback.yaml"


# ----------------------------------------------------------------------------- test_translations

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def english_fragments():
    """Runs of English from every interface message, long enough to be unambiguous."""
    with (ROOT / "translations" / "messages.pot").open("rb") as handle:
        messages = [m for m in read_po(handle) if m.id]
    fragments = set()
    for message in messages:
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)):
            for part in PLACEHOLDER.split(text):
                part = part.strip(" .:,“”\"'")
                if len(part) >= 12 and " " in part:
                    fragments.add(part)
    return fragments
