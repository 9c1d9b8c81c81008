"""Hostile input against every page and file the app makes (issue 11, section 3).

Stored XSS through every text a person can put in; CSRF on every state-changing route;
ids of another project's objects; open redirects; oversized and over-many-field bodies;
formula injection in exports; path traversal; SQL metacharacters in filters; cookie,
CSP and HSTS settings in production; rate limits shared across workers through Redis.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest
from werkzeug.routing import IntegerConverter
import sqlalchemy as sa

from surveyapp import create_app, operations, queries
from surveyapp.domain.transcripts import parse_quick_entry
from surveyapp.extensions import db
from surveyapp.models import InstrumentVersion, Response, Segment, Theme, ViewEvent
from surveyapp.queries.themes import Source
from tests.conftest import app_config, sqlite_copy
from tests.helpers import (
    LIGHTS, PASSWORD, POLICE, RESIDENT_WORDS, URL, hidden, login, make_user, payload,
    staff_rules, start, two_projects)

ROOT = Path(__file__).resolve().parent.parent
XSS = '"><img src=x onerror=alert(1)>'
RAW = "<img src=x onerror=alert(1)>"      # what must never reach a page unescaped
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def _xss_instrument(folder: Path) -> Path:
    """tests/data/all-types.yaml under another id, with the payload in its title, a
    question's label and hint... wherever a label is."""
    text = (ROOT / "tests" / "data" / "all-types.yaml").read_text("utf-8")
    text = text.replace("id: all-types", "id: xss-types", 1)
    text = text.replace("title: {en: All types}", "title: {en: 'Title " + XSS.replace("'", "''") + "'}")
    text = text.replace("label: {en: Name}", "label: {en: 'Name " + XSS + "'}")
    text = text.replace("label: {en: Mentoring}", "label: {en: 'Mentoring " + XSS + "'}")
    path = folder / "xss-types.yaml"
    path.write_text(text, "utf-8")
    return path


def plant_everywhere(app, tmp_path) -> dict:
    """The payload in an instrument's texts, a project's and a site's name, answers (text and
    "Other"), transcript segments of a draft and a finalised session, a participant's real
    name, and a theme label. Returns the ids a URL needs."""
    path = _xss_instrument(tmp_path)
    with app.app_context():
        def work():
            result = operations.instruments.sync_instruments([path])
            assert not result.problems, result.problems
            project = operations.staff.create_project("Council " + XSS)
            project.min_cell_size = 1
            site = operations.campaigns.get_or_create_site("Site " + XSS, project=project)
            operations.staff.set_waves(project, ["baseline"])
            campaign = operations.campaigns.create_campaign("community-capacity", site, "baseline")
            xss_campaign = operations.campaigns.create_campaign("xss-types", site, "baseline")
            guide = db.session.scalar(sa.select(InstrumentVersion).where(
                InstrumentVersion.kind == "focus_group"))
            prompt_id = queries.instruments.instrument_of(guide).prompts[0].id
            sessions = {}
            for status in ("draft", "finalised"):
                session = operations.focus_groups.create_focus_group(
                    guide_version=guide, site=site, wave="baseline", held_on=dt.date(2026, 11, 2),
                    place="Hall " + XSS, language="en", facilitators=[], participants=[
                        operations.focus_groups.ParticipantInfo(label="P1", real_name="Ana " + XSS),
                        operations.focus_groups.ParticipantInfo(label="P2")],
                    consent_given=True)
                lines = "\n".join(f"P{1 + n % 2}: {text} {XSS}" for n, text in enumerate(LIGHTS + POLICE))
                operations.focus_groups.add_segments(
                    session, prompt_id, parse_quick_entry(lines, ["P1", "P2"]).segments, uuid.uuid4())
                if status == "finalised":
                    operations.focus_groups.finalise_focus_group(session)
                sessions[status] = session
            admin = operations.staff.create_user("admin@example.org", PASSWORD, ["admin"])
            member = operations.staff.create_user("analyst@example.org", PASSWORD, ["analyst"], project)
            return {"project_id": project.id, "campaign_id": campaign.id, "code": campaign.code,
                    "xss_code": xss_campaign.code, "xss_campaign_id": xss_campaign.id,
                    "draft": sessions["draft"].id, "finalised": sessions["finalised"].id,
                    "prompt_id": prompt_id, "user_id": member.id, "admin_id": admin.id,
                    "member_id": member.memberships[0].id, "guide_id": guide.instrument_id}
        ids = operations.transaction(work)
    client = app.test_client()
    for number, text in enumerate(LIGHTS + POLICE):
        body = payload(ids["code"], seed=number + 1, language="en")
        body["answers"].update(safer_ideas=f"{text} {XSS}", programmes=["mentoring", "other"],
                               **{"programmes.other": XSS}, years_here=1)
        reply = client.post(URL, json=body)
        assert reply.status_code == 201, reply.json
    with app.app_context():
        ids["response_id"] = db.session.scalar(sa.select(sa.func.min(Response.id)))
        for key in ("draft", "finalised"):
            ids[f"{key}_segment"] = db.session.scalar(sa.select(sa.func.min(Segment.id)).where(
                Segment.session_id == ids[key]))
        source = Source("question", ids["project_id"], "community-capacity", "safer_ideas",
                        ids["campaign_id"])

        def themes():
            operations.themes.run_themes(source, k=2)
            theme = db.session.scalars(sa.select(Theme).where(Theme.source_key == source.key)).first()
            operations.themes.rename_theme(source, theme, "Theme " + XSS)
        operations.transaction(themes)
    return ids


def crawl_urls(app, ids) -> list[str]:
    """A GET URL for every staff and respondent route, naming the planted objects."""
    values = {"campaign_id": ids["campaign_id"], "response_id": ids["response_id"],
              "project_id": ids["project_id"], "member_id": ids["member_id"],
              "user_id": ids["user_id"], "session_id": ids["finalised"],
              "segment_id": ids["finalised_segment"], "prompt_id": ids["prompt_id"],
              "code": ids["code"], "kind": "svg", "action": "up",
              "instrument_id": "community-capacity", "item_id": "safer_ideas", "job_id": 1}
    urls = []
    for rule, _access in staff_rules(app):
        if "GET" not in rule.methods or "resume_code" in rule.arguments:
            continue
        # A new route's arguments: 1 for an id, a word elsewhere (the page may then 404).
        urls.append(rule.build({n: values.get(n, 1 if isinstance(rule._converters[n], IntegerConverter)
                                              else "x") for n in rule.arguments},
                               append_unknown=False)[1])
    session = ids["draft"]
    urls += [f"/staff/focus-groups/{session}", f"/staff/focus-groups/{session}/prompts/{ids['prompt_id']}",
             f"/staff/focus-groups/{session}/details", f"/staff/focus-groups/{session}/redact",
             f"/staff/focus-groups/{ids['finalised']}/prompts/{ids['prompt_id']}?edit={ids['finalised_segment']}",
             f"/staff/campaigns/{ids['xss_campaign_id']}", f"/staff/campaigns/{ids['xss_campaign_id']}/dashboard",
             f"/staff/projects/{ids['project_id']}/themes/community-capacity/safer_ideas?campaign={ids['campaign_id']}",
             f"/staff/projects/{ids['project_id']}/themes/{ids['guide_id']}/{ids['prompt_id']}",
             f"/staff/projects/{ids['project_id']}/themes/community-capacity/safer_ideas?by=programmes",
             f"/s/{ids['xss_code']}", "/staff/audit"]
    return urls


def test_stored_xss_is_escaped_on_every_page(app, tmp_path):
    ids = plant_everywhere(app, tmp_path)
    admin = app.test_client()
    assert login(admin, "admin@example.org").status_code == 302
    shown = {}
    for url in crawl_urls(app, ids):
        reply = admin.get(url)
        assert reply.status_code < 500, (url, reply.status_code)
        if reply.mimetype in ("text/html", "image/svg+xml"):
            assert RAW not in reply.text, url
            shown[url] = ESCAPED in reply.text
    # The respondent's side of the instrument with the payload in its texts.
    respondent = app.test_client()
    path = start(respondent, ids["xss_code"])
    page = respondent.get(path)
    assert RAW not in page.text and ESCAPED in page.text
    # The payload reached the pages that show it (escaped), so the check above was real.
    must_show = [f"/staff/campaigns", f"/staff/campaigns/{ids['campaign_id']}", "/staff/sites",
                 f"/staff/campaigns/{ids['campaign_id']}/responses/{ids['response_id']}",
                 f"/staff/focus-groups/{ids['draft']}/prompts/{ids['prompt_id']}",
                 f"/staff/focus-groups/{ids['finalised']}/prompts/{ids['prompt_id']}",
                 f"/staff/projects/{ids['project_id']}/themes/community-capacity/safer_ideas?campaign={ids['campaign_id']}",
                 f"/staff/projects/{ids['project_id']}", "/staff/projects", f"/s/{ids['xss_code']}",
                 "/staff/audit", f"/staff/campaigns/{ids['xss_campaign_id']}/dashboard"]
    missing = [url for url in must_show if not shown.get(url)]
    assert not missing, missing


# ----------------------------------------------------------------------------- CSRF

def snapshot(app, skip=()) -> str:
    """Every row of every table (but ``skip``), as text: a refused post must leave it unchanged."""
    with app.app_context():
        parts = []
        for table in db.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            parts.append(f"{table.name}: {[tuple(row) for row in rows]!r}")
        db.session.remove()
        return "\n".join(parts)


# What each form would post: enough that a missing token is the only reason to refuse.
FORM_DATA = {
    "status": "closed", "name": "Changed", "label": "Changed", "email": "new@example.org",
    "password": PASSWORD, "roles": "admin", "role": "analyst", "user": "1", "waves": "baseline\nfollow-up",
    "text": "P1: changed", "speaker": "P1", "notes": "changed", "pseudonym": "P9", "action": "rename",
    "theme": "1", "into": "2", "k": "2", "format": "xlsx", "instrument": "community-capacity",
    "site": "1", "wave": "baseline", "current": PASSWORD, "new": "another long secret", "confirm":
    "another long secret", "reviewed": "1", "place": "Elsewhere", "consent_given": "y",
}


def test_every_state_changing_route_refuses_a_post_without_its_csrf_token(app):
    """Enumerates app.url_map: every POST route (the JSON API aside: no cookie, no session)
    refuses a post that lacks the token, as a signed-in admin, and nothing is stored."""
    ids = two_projects(app)
    from tests.helpers import project_url
    admin = app.test_client()
    assert login(admin, "admin@example.org").status_code == 302
    before = snapshot(app)
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "api.submit":
            continue
        if rule.endpoint.startswith("surveys."):
            continue  # respondent routes: below, with a real resume code
        url = project_url(rule, ids)
        reply = admin.post(url, data=FORM_DATA)
        assert reply.status_code in (200, 302, 400, 422), (url, reply.status_code)
        assert snapshot(app) == before, url
        checked.append(rule.endpoint)
    assert len(checked) >= 25, checked
    # Signing out without a token keeps the session too (a forged logout is a nuisance).
    assert admin.get("/staff/").status_code == 200


def test_respondent_posts_without_a_token_store_nothing(app, make_campaign):
    code = make_campaign()
    client = app.test_client()
    landing = client.get(f"/s/{code}")
    reply = client.post(f"/s/{code}/start", data={
        "submission_id": hidden(landing.text, "submission_id"), "language": "en"})
    assert reply.status_code in (400, 200) and "/start" not in reply.headers.get("Location", "")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    path = start(client, code)
    before = snapshot(app)
    reply = client.post(path, data={"action": "next", "area": "north"})
    assert reply.status_code in (200, 400, 422)
    # /relevance is exempt by design: it only computes which questions show, storing nothing.
    reply = client.post(path + "/relevance", data={"area": "north"})
    assert reply.status_code == 200
    assert snapshot(app) == before


# ----------------------------------------------------------------------------- IDOR

def _their_ids(app) -> dict:
    """The second project's ("Police") campaign and sessions, which the outsider may use."""
    from surveyapp.models import Campaign, FocusGroup
    with app.app_context():
        police = operations.staff.project_by_name("Police")
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.project_id == police.id))
        draft = db.session.scalar(sa.select(FocusGroup).where(
            FocusGroup.project_id == police.id, FocusGroup.status == "draft"))
        return {"project_id": police.id, "campaign_id": campaign.id, "draft": draft.id}


def test_no_id_of_another_projects_object_is_readable_or_writable(app):
    """The outsider (facilitator and analyst of Police) names Council's objects inside URLs of
    Police's own: a response under their campaign, a segment under their session, Council's
    campaign on their themes page, a Council theme in their theme form, Council's export job.
    Every one is a 403/404 or a refusal, and Council's data is unchanged."""
    ids = two_projects(app)
    theirs = _their_ids(app)
    with app.app_context():
        def work():
            theme = Theme(source_key=Source("question", ids["project_id"], "community-capacity",
                                            "safer_ideas", None).key, label="Council theme")
            db.session.add(theme)
            db.session.flush()
            return theme.id
        council_theme = operations.transaction(work)
    outsider = app.test_client()
    assert login(outsider, "outsider@example.org").status_code == 302
    # Reading their own pages records view events (models.ViewEvent): checked below, not here.
    before = snapshot(app, skip={"view_events"})
    reads = [
        f"/staff/campaigns/{theirs['campaign_id']}/responses/{ids['response_id']}",
        f"/staff/campaigns/{ids['campaign_id']}/responses/{ids['response_id']}",
        f"/staff/campaigns/{ids['campaign_id']}/export",
        f"/staff/campaigns/{ids['campaign_id']}/dashboard",
        f"/staff/focus-groups/{ids['finalised']}",
        f"/staff/projects/{theirs['project_id']}/themes/community-capacity/safer_ideas?campaign={ids['campaign_id']}",
        f"/staff/projects/{ids['project_id']}/themes/community-capacity/safer_ideas",
        f"/staff/jobs/{ids['job_id']}", f"/staff/jobs/{ids['job_id']}/status",
        f"/staff/jobs/{ids['job_id']}/download",
        f"/staff/projects/{ids['project_id']}/capacity", f"/staff/projects/{ids['project_id']}/dashboard",
    ]
    for url in reads:
        reply = outsider.get(url)
        assert reply.status_code in (403, 404), (url, reply.status_code)
        assert RESIDENT_WORDS not in reply.text and ids["code"] not in reply.text, url
    # A foreign segment id in ?edit= on their own page is ignored: no form for it.
    reply = outsider.get(f"/staff/focus-groups/{theirs['draft']}/prompts/{ids['prompt_id']}"
                         f"?edit={ids['draft_segment']}")
    assert reply.status_code == 200 and f"/segments/{ids['draft_segment']}\"" not in reply.text
    edit = f"/staff/focus-groups/{theirs['draft']}/prompts/{ids['prompt_id']}"
    token = hidden(outsider.get(edit).text, "csrf_token")
    writes = [
        (f"/staff/focus-groups/{theirs['draft']}/segments/{ids['draft_segment']}",
         {"speaker": "P1", "text": "overwritten"}),
        (f"/staff/focus-groups/{theirs['draft']}/segments/{ids['draft_segment']}/delete", {}),
        (f"/staff/projects/{theirs['project_id']}/themes/community-capacity/safer_ideas/edit",
         {"action": "rename", "theme": str(council_theme), "label": "Renamed by outsider"}),
        (f"/staff/projects/{theirs['project_id']}/themes/community-capacity/safer_ideas/edit",
         {"action": "assign", "theme": str(council_theme), "item": f"r{ids['response_id']}:safer_ideas"}),
        (f"/staff/projects/{theirs['project_id']}/themes/community-capacity/safer_ideas/edit"
         f"?campaign={ids['campaign_id']}", {"action": "rename", "theme": str(council_theme), "label": "x"}),
    ]
    for url, data in writes:
        reply = outsider.post(url, data={"csrf_token": token, **data})
        assert reply.status_code in (302, 403, 404), (url, reply.status_code)
    assert snapshot(app, skip={"view_events"}) == before
    with app.app_context():  # a refused read records nothing; the outsider's own reads name their project
        assert set(db.session.scalars(sa.select(ViewEvent.project_id))) <= {theirs["project_id"]}
    # Another analyst of the same project still cannot fetch a colleague's export file.
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            "colleague@example.org", PASSWORD, ["analyst"], operations.staff.project_by_name("Council")))
    colleague = app.test_client()
    assert login(colleague, "colleague@example.org").status_code == 302
    assert colleague.get(f"/staff/jobs/{ids['job_id']}/download").status_code == 404


# ----------------------------------------------------------------------------- SQL metacharacters

SQL_HOSTILE = ["' OR '1'='1", "'; DROP TABLE users; --", "%_\\", '") OR 1=1 --', "a\x00b",
               "１\u202e", "' UNION SELECT password_hash FROM users --"]
FILTERS = [
    ("/staff/audit", "action"), ("/staff/audit", "user"), ("/staff/audit", "project"),
    ("/staff/audit", "since"), ("/staff/audit", "until"), ("/staff/audit", "page"),
    ("/staff/audit.csv", "user"), ("/staff/audit.csv", "action"),
    ("/staff/focus-groups/", "site"), ("/staff/focus-groups/", "wave"), ("/staff/focus-groups/", "guide"),
    ("/staff/campaigns/{campaign_id}/responses", "page"),
    ("/staff/campaigns/{campaign_id}/export", "status"), ("/staff/campaigns/{campaign_id}/export", "lang"),
    ("/staff/campaigns/{campaign_id}/dashboard", "instrument"),
    ("/staff/projects/{project_id}/dashboard", "instrument"),
    ("/staff/projects/{project_id}/capacity", "instrument"),
    ("/staff/projects/{project_id}/themes/community-capacity/safer_ideas", "by"),
    ("/staff/projects/{project_id}/themes/community-capacity/safer_ideas", "campaign"),
    ("/resume", "code"), ("/", "lang"),
]


def test_sql_metacharacters_in_every_filter_are_plain_text(app):
    """Each filter gets quotes, comment markers, LIKE wildcards, a NUL (PostgreSQL refuses
    NUL in text), an injected UNION: never a 500, never more rows than are there, and the
    tables are all still there afterwards."""
    ids = two_projects(app)
    admin = app.test_client()
    assert login(admin, "admin@example.org").status_code == 302
    for path, name in FILTERS:
        url = path.format(**ids)
        for value in SQL_HOSTILE:
            reply = admin.get(url, query_string={name: value})
            assert reply.status_code in (200, 302, 404), (url, name, repr(value), reply.status_code)
            assert b"scrypt:" not in reply.data and b"pbkdf2:" not in reply.data  # no hash leaked
    # LIKE wildcards match themselves only: no event has '%' or '_' in its actor or action.
    everything = admin.get("/staff/audit").text
    assert "admin@example.org" in everything
    for wildcard in ("%", "_"):
        for name in ("user", "action"):
            page = admin.get("/staff/audit", query_string={name: wildcard}).text
            assert "admin@example.org" not in page.split("<table", 1)[-1], (name, wildcard)
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM users")) >= 5


def test_nul_in_a_staff_form_or_filter_is_replaced_not_a_500(app):
    """PostgreSQL refuses NUL in text: a typed %00 in a project name once made a 500."""
    make_user(app, "a@example.org", "admin")
    admin = app.test_client()
    assert login(admin, "a@example.org").status_code == 302
    token = hidden(admin.get("/staff/projects").text, "csrf_token")
    assert admin.post("/staff/projects", data={"csrf_token": token, "name": "Harbour\x00side"}).status_code == 302
    with app.app_context():
        assert operations.staff.project_by_name("Harbour\ufffdside") is not None
    assert admin.get("/staff/audit", query_string={"action": "\x00"}).status_code == 200


# ----------------------------------------------------------------------------- redirects

OFF_SITE = ["//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
            "https:evil.example", "https://evil.example", "http://localhost.evil.example/",
            " //evil.example", "\t//evil.example", "/\t/evil.example", "%2F%2Fevil.example",
            "/%2F/evil.example", "java\tscript:alert(1)", "data:text/html,hi", "//evil.example@localhost",
            "\u3002evil.example", "/\u2215evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_no_redirect_leaves_the_site(sqlite_app, target):
    """next= on login (signed in or not), and back= on staff forms, with every spelling of
    another host we know: each reply stays on this site."""
    from surveyapp.urls import safe_next
    assert safe_next(target) in (None, target) and not (safe_next(target) or "/").startswith(("//", "/\\"))
    make_user(sqlite_app, "a@example.org", "admin")
    client = sqlite_app.test_client()
    for reply in (login(client, "a@example.org", next_url=target),
                  client.get("/login", query_string={"next": target})):
        location = reply.headers.get("Location", "/")
        host = re.match(r"^(?:https?:)?//([^/]*)", location)
        assert host is None or host.group(1) == "localhost", (target, location)
        assert not location.startswith(("//", "/\\", "\\")), (target, location)
    token = hidden(client.get("/staff/sites").text, "csrf_token")
    reply = client.post("/staff/sites", data={"csrf_token": token, "name": "Somewhere", "back": target})
    location = reply.headers.get("Location", "/")
    assert re.match(r"^(https?://localhost)?/(?![/\\])", location), (target, location)


# ----------------------------------------------------------------------------- sizes

def test_a_body_over_the_limit_is_a_413_page_everywhere(sqlite_app):
    code = campaign_maker_code(sqlite_app)
    client = sqlite_app.test_client()
    big = "x" * (sqlite_app.config["MAX_CONTENT_LENGTH"] + 1)
    reply = client.post(URL, data='{"a": "' + big + '"}', content_type="application/json")
    assert reply.status_code == 413 and reply.json["error"]
    for path in (f"/s/{code}/start", "/login", "/staff/sites"):
        reply = client.post(path, data={"a": big})
        assert reply.status_code == 413, path
        assert "too large" in reply.text
    # A good request still goes through afterwards.
    assert client.post(URL, json=payload(code)).status_code == 201


def test_too_many_form_fields_are_refused_before_any_view(sqlite_app):
    """Werkzeug parses at most 1,000 multipart parts; a form of 20,000 tiny fields is refused
    with the 413 page rather than parsed into memory."""
    make_user(sqlite_app, "a@example.org", "admin")
    client = sqlite_app.test_client()
    assert login(client, "a@example.org").status_code == 302
    fields = {f"f{i}": "1" for i in range(20_000)}
    reply = client.post("/staff/sites", data={**fields, "file": (io.BytesIO(b"x"), "x.txt")},
                        content_type="multipart/form-data")
    assert reply.status_code == 413
    reply = client.post("/staff/sites", data=fields)  # urlencoded: bounded by the byte limit
    assert reply.status_code in (200, 400, 413, 422)
    assert client.get("/staff/sites").status_code == 200


def campaign_maker_code(app) -> str:
    from tests.conftest import campaign_maker
    return campaign_maker(app)()


# ----------------------------------------------------------------------------- production settings

@pytest.fixture
def production_app(tmp_path, sqlite_template):
    app = create_app({**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path), "ENV": "production",
                      "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_cookies_csp_and_hsts(production_app):
    make_user(production_app, "a@example.org", "admin")
    client = production_app.test_client()
    page = client.get("/login", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    policy = page.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'none'", "form-action 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    reply = client.post("/login?remember=1", base_url="https://localhost", data={
        "csrf_token": hidden(page.text, "csrf_token"), "email": "a@example.org",
        "password": PASSWORD, "remember": "y"})
    assert reply.status_code == 302
    cookies = [c for c in reply.headers.getlist("Set-Cookie")]
    session = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
    for cookie in cookies:  # remember_token too, when it is set
        assert "Secure" in cookie and "HttpOnly" in cookie, cookie
    for path in ("/", "/staff/", "/api/v1/submissions", "/static/survey.css"):
        headers = client.get(path, base_url="https://localhost").headers
        assert "Strict-Transport-Security" in headers and "Content-Security-Policy" in headers, path


def test_development_sends_no_hsts(sqlite_app):
    assert "Strict-Transport-Security" not in sqlite_app.test_client().get("/").headers


# ----------------------------------------------------------------------------- formula injection

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "=1+1"]


def _csv_fields(data: bytes):
    import csv
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8-sig")
            for row in csv.reader(io.StringIO(text)):
                yield from ((name, field) for field in row)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_exports_never_hold_a_formula(app):
    """Formulas typed as answers, the "Other" text, a site name and transcript text come out
    of the .xlsx as text cells (no cell is a formula) and out of every CSV with a leading
    quote (OWASP: = + - @ tab CR)."""
    import openpyxl
    with app.app_context():
        def work():
            project = operations.staff.create_project("Formulas")
            site = operations.campaigns.get_or_create_site("=1+1 site", project=project)
            return operations.campaigns.create_campaign("community-capacity", site, "baseline").id, \
                project.id
        campaign_id, project_id = operations.transaction(work)
        from surveyapp.models import Campaign
        code = db.session.get(Campaign, campaign_id).code
    client = app.test_client()
    for number, formula in enumerate(FORMULAS):
        body = payload(code, seed=number + 1, language="en")
        body["answers"].update(safer_ideas=formula, programmes=["mentoring", "other"],
                               **{"programmes.other": formula})
        assert client.post(URL, json=body).status_code == 201
    make_user(app, "admin@example.org", "admin")
    admin = app.test_client()
    assert login(admin, "admin@example.org").status_code == 302
    xlsx = admin.get(f"/staff/campaigns/{campaign_id}/export?status=all")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    seen = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    assert {"=1+1", '=HYPERLINK("http://evil.example","x")'} <= seen  # kept, as text
    zipped = admin.get(f"/staff/campaigns/{campaign_id}/export?status=all&format=csv")
    assert zipped.status_code == 200
    fields = list(_csv_fields(zipped.data))
    assert any(field == "'=1+1" for _, field in fields)
    for name, field in fields:
        assert not field.startswith(("=", "+", "-", "@", "\t", "\r")) or _is_number(field), (name, field)
    audit = admin.get("/staff/audit.csv")
    import csv
    for row in csv.reader(io.StringIO(audit.data.decode("utf-8-sig"))):
        for field in row:
            assert not field.startswith(("=", "+", "@", "\t", "\r")), field


# ----------------------------------------------------------------------------- path traversal

@pytest.mark.parametrize("path", [
    "/static/../config.py", "/static/%2e%2e/config.py", "/static/..%2fconfig.py", "/static/..%5cconfig.py",
    "/static/%2e%2e/%2e%2e/instance/secret_key", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    "/static/offline/../../config.py", "/static/....//config.py", "/static/%252e%252e/config.py",
    "/staff/jobs/..%2f1/download", "/staff/jobs/1%2f..%2f2/download",
])
def test_static_and_download_paths_do_not_escape(sqlite_app, path):
    make_user(sqlite_app, "a@example.org", "admin")
    client = sqlite_app.test_client()
    assert login(client, "a@example.org").status_code == 302
    reply = client.get(path)
    assert reply.status_code in (301, 308, 400, 404), (path, reply.status_code)
    assert b"SECRET_KEY" not in reply.data and b"root:" not in reply.data


def test_an_uploaded_file_name_is_never_a_path(app, tmp_path):
    """The transcript upload's file name only picks the parser (.vtt or not); nothing is
    written under it."""
    from tests.helpers import create_session, import_file
    with app.app_context():
        operations.transaction(lambda: operations.instruments.sync_instruments([ROOT / "tests" / "data" / "mini-guide.yaml"]))
        operations.transaction(lambda: operations.campaigns.get_or_create_site("Riverside"))
    make_user(app, "fac@example.org", "facilitator")
    client = app.test_client()
    assert login(client, "fac@example.org").status_code == 302
    session_id = create_session(client)
    target = tmp_path / "escaped.vtt"
    name = "../" * 12 + str(target).lstrip("/")
    reply = import_file(client, session_id, name, "WEBVTT\n\n00:00.000 --> 00:01.000\n<v P1>hello\n")
    assert reply.status_code in (200, 302, 422)
    assert not target.exists()


def test_an_xlsform_id_cannot_name_a_file_outside_the_instruments_folder(sqlite_app, tmp_path):
    """A hostile form_id ('../../x') becomes a slug; the default output stays in the folder."""
    import openpyxl
    folder = tmp_path / "instruments"
    folder.mkdir()
    sqlite_app.config["INSTRUMENTS_DIR"] = str(folder)
    form = tmp_path / "form.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label"])
    book.active.append(["text", "q1", "Question"])
    settings = book.create_sheet("settings")
    settings.append(["form_id"])
    settings.append(["../../escaped"])
    book.save(form)
    result = sqlite_app.test_cli_runner().invoke(args=["instruments", "import-xlsform", str(form)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in folder.iterdir()] == ["escaped.yaml"]
    assert not (tmp_path.parent / "escaped.yaml").exists()


# ----------------------------------------------------------------------------- limits across workers

def test_api_and_login_limits_are_shared_through_redis(tmp_path, sqlite_template):
    """Two app instances (two workers, or two servers) counting in one Redis: the API and
    login limits hold for the total, alternating between them. (tests/test_deploy.py holds
    the login limit across four real gunicorn workers.)"""
    import os
    import time
    import redis
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379").ping()
    except redis.exceptions.ConnectionError as error:
        from tests.conftest import missing
        missing("Redis", str(error))
    prefix = f"surveyapp-security-{os.getpid()}-{time.time_ns()}"
    url = sqlite_copy(sqlite_template, tmp_path)
    settings = {**app_config(url, tmp_path), "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_KEY_PREFIX": prefix,
                "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
                "API_RATE_LIMIT": "5/minute", "LOGIN_RATE_LIMIT": "4/minute"}
    apps = [create_app(settings), create_app(settings)]
    try:
        from tests.conftest import campaign_maker
        code = campaign_maker(apps[0])()
        clients = [a.test_client() for a in apps]
        statuses = [clients[n % 2].post(URL, json=payload(code)).status_code for n in range(8)]
        assert statuses == [201] * 5 + [429] * 3, statuses
        refused = clients[1].post(URL, json=payload(code))
        assert refused.json["error"] and int(refused.headers["Retry-After"]) > 0
        logins = [clients[n % 2].post("/login", data={"email": "a@b.c", "password": "x"}).status_code
                  for n in range(6)]
        assert logins == [200] * 4 + [429] * 2, logins
    finally:
        for application in apps:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
        store = redis.Redis.from_url("redis://127.0.0.1:6379")
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)
