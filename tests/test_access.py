"""Accounts and roles: every route declares who may use it, login is safe, cookies and
headers are right."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.routing import IntegerConverter

from surveyapp import create_app, operations, queries
from surveyapp.extensions import db
from tests.conftest import app_config
from tests.helpers import (
    OURS, PASSWORD, RESIDENT_WORDS, THEIRS, hidden, login, make_user, project_url, signed_in,
    staff_rules, two_projects)



def example_url(rule) -> str:
    """A concrete URL for a rule: integers for int converters, words elsewhere."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, IntegerConverter) else (
            getattr(converter, "items", None) and sorted(converter.items)[0] or "x")
    return rule.build(values, append_unknown=False)[1]


def test_every_route_declares_who_may_use_it(sqlite_app):
    undeclared = [rule.rule for rule, access in staff_rules(sqlite_app) if access is None]
    assert undeclared == []


def test_the_declaration_check_catches_a_new_route(sqlite_app):
    sqlite_app.add_url_rule("/staff/forgotten", "forgotten", lambda: "secret")
    undeclared = [rule.rule for rule, access in staff_rules(sqlite_app) if access is None]
    assert undeclared == ["/staff/forgotten"]


def _method(rule):
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]


TRANSCRIPT_LINE = "hello"


SCOPED_ARGUMENTS = {"campaign_id", "session_id", "project_id", "job_id"}
DOWNLOADS = ("application/zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def reply_text(reply) -> str:
    """The reply's text; for a download (an .xlsx or a zip of CSV files), the text of the
    files inside, so that a leak into an export is caught like a leak into a page."""
    if reply.mimetype not in DOWNLOADS:
        return reply.text
    with zipfile.ZipFile(io.BytesIO(reply.data)) as archive:
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_role_matrix_by_project(app):
    """Every route, with real ids of a project's objects. Anonymous: sent to login (401 on
    the API). Without the route's role: 403. Holding it in the project: a GET is 200 and a
    post is not refused. Holding it only in another project: 403 or 404, and listings
    show nothing of the first project. Analysts never reach a draft session."""
    ids = two_projects(app)
    clients = {}
    for email in ("admin", "facilitator", "analyst", "outsider", "partner"):
        clients[email] = app.test_client()
        assert login(clients[email], f"{email}@example.org").status_code == 302
    held = {"admin": {"admin"}, "facilitator": {"facilitator"}, "analyst": {"analyst"},
            "outsider": {"facilitator", "analyst"}, "partner": {"partner"}}
    partner_allowed = set()
    checked = 0
    for rule, access in staff_rules(app):
        if access == "public":
            continue
        method = _method(rule)
        url = project_url(rule, ids)
        anonymous = app.test_client().open(url, method=method)
        if url.startswith("/api/"):
            assert anonymous.status_code == 401, url
        else:
            assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], url
        for who, client in clients.items():
            # An analyst's view of a session is of the finalised one: drafts are not theirs.
            url = project_url(rule, ids, "finalised" if who == "analyst" else "draft")
            reply = client.open(url, method=method)
            if not held[who] & access:
                assert reply.status_code == 403, (url, who, reply.status_code)
            elif who == "outsider" and SCOPED_ARGUMENTS & set(rule.arguments):
                assert reply.status_code in (403, 404), (url, who, reply.status_code)
            elif method == "GET":
                assert reply.status_code == 200, (url, who, reply.status_code)
                text = reply_text(reply)
                if who == "outsider":
                    assert OURS not in text and ids["code"] not in text, (url, who)
                else:
                    assert THEIRS not in text or who == "admin", (url, who)
                if who == "partner":
                    partner_allowed.add(rule.endpoint)
                    assert RESIDENT_WORDS not in text and body_id(ids) not in text, (url, who)
            else:
                assert reply.status_code not in (403, 404) and reply.status_code < 500, (
                    url, who, reply.status_code)
        checked += 1
    assert checked >= 25
    # The partner's GET pages are the aggregate ones (and their own account's), no others.
    assert partner_allowed == {e for e, decision in PARTNER_ROUTES.items()
                               if decision in (AGGREGATE, ACCOUNT)} - {"auth.logout"}


def body_id(ids) -> str:
    return ids["submission_id"]


# What a partner may do on every route, decided one by one. A route missing here fails
# test_every_route_has_a_partner_decision: whoever adds a route decides for partners too.
AGGREGATE, ACCOUNT, DENIED, PUBLIC = "aggregate", "own account", "denied", "public"
PARTNER_ROUTES = {
    # Group results only, small cells suppressed: what a partner is for.
    "staff.home": AGGREGATE, "staff.project_dashboard": AGGREGATE,
    "staff.campaign_dashboard": AGGREGATE, "staff.capacity": AGGREGATE,
    "staff.export_campaign": AGGREGATE,        # About, Summary, Capacity, Themes (no quotes)
    "analysis.theme_summary": AGGREGATE,       # labels, counts, shares, sentiment
    "staff.results_preview": AGGREGATE,        # the results page as published: approved quotes only
    # Preparing and publishing results: quotes to approve, an analyst's or an admin's.
    **{f"staff.{name}": DENIED for name in (
        "results", "results_next_steps", "results_approve_quote", "results_unapprove_quote",
        "results_publish", "results_unpublish")},
    "auth.change_password": ACCOUNT, "auth.logout": ACCOUNT,
    # Row-level: one response, its answers, its words.
    "staff.responses": DENIED, "staff.response": DENIED,
    # Themes with quotes, unthemed texts, segments; and the analyst's edits.
    "analysis.themes": DENIED, "analysis.texts": DENIED, "analysis.run": DENIED,
    "analysis.edit": DENIED,
    "analysis.apply_codebook": DENIED, "analysis.promote": DENIED,
    # Double coding and proposals: texts, each coder's codes (issue 24).
    **{f"analysis.{name}": DENIED for name in (
        "coding", "coding_code", "coding_results", "coding_resolve", "proposals")},
    # Deleting residents' data: an admin's alone.
    "staff.delete_response": DENIED, "staff.delete_contact_details": DENIED,
    "staff.unlink_response": DENIED,
    "staff.delete_campaign": DENIED, "focus_groups.delete_session": DENIED,
    # Focus groups: sessions, rosters, transcripts.
    **{f"focus_groups.{name}": DENIED for name in (
        "sessions", "session", "session_details", "new_session", "prompt", "quick_entry",
        "add_segment", "edit_segment", "change_segment", "import_file", "save_notes",
        "add_participant", "redact", "finalise", "reopen")},
    # Export jobs hold full exports (Responses, Focus groups): an analyst's, never a partner's.
    "staff.start_export": DENIED, "staff.project_export": DENIED, "staff.job": DENIED, "staff.job_status": DENIED,
    "staff.job_download": DENIED,
    # Running the fieldwork and the server: campaigns, sites, flyers, accounts, the audit log.
    **{f"staff.{name}": DENIED for name in (
        "campaigns", "campaign", "create_campaign", "campaign_status", "flyer", "qr_code",
        "sites", "create_site", "projects", "project", "create_project", "project_waves",
        "add_member", "remove_member", "users", "create_user", "edit_user", "audit_log",
        "audit_csv", "view_log", "view_log_csv")},
    # The respondent's side: anyone's, a partner's like everyone's.
    "auth.login": PUBLIC, "api.submit": PUBLIC,
    "results.page": PUBLIC, "results.print_page": PUBLIC,
    **{f"surveys.{name}": PUBLIC for name in (
        "index", "landing", "start", "page", "relevance", "saved", "done", "panel_code_issue", "resume",
        "offline", "offline_instrument", "offline_manifest", "offline_worker")},
}


def test_every_route_has_a_partner_decision(sqlite_app):
    """The table above names every endpoint of app.url_map, and each route's declared
    roles agree with it: partner allowed exactly on the aggregate and own-account ones."""
    endpoints = {rule.endpoint: access for rule, access in staff_rules(sqlite_app)}
    assert sorted(set(endpoints) - set(PARTNER_ROUTES)) == [], "decide for partners"
    assert sorted(set(PARTNER_ROUTES) - set(endpoints)) == [], "stale entries"
    for endpoint, access in endpoints.items():
        decision = PARTNER_ROUTES[endpoint]
        if decision == PUBLIC:
            assert access == "public", endpoint
        else:
            assert access != "public" and ("partner" in access) == (decision in (AGGREGATE, ACCOUNT)), (
                endpoint, decision, access)


def test_the_partner_decision_check_catches_a_new_route(sqlite_app):
    from surveyapp.access import roles_required
    sqlite_app.add_url_rule("/staff/new-list", "new_list", roles_required("partner")(lambda: "rows"))
    endpoints = {rule.endpoint for rule, _access in staff_rules(sqlite_app)}
    assert endpoints - set(PARTNER_ROUTES) == {"new_list"}


def partner_clients(app, ids):
    """The first project's partner, and a partner of the second project only."""
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            "police-partner@example.org", PASSWORD, ["partner"], operations.staff.project_by_name("Police")))
    clients = {}
    for who in ("partner", "police-partner"):
        clients[who] = app.test_client()
        assert login(clients[who], f"{who}@example.org").status_code == 302
    return clients["partner"], clients["police-partner"]


def test_partner_on_every_route(app):
    """With real ids of the partner's project: every denied route is 403 (a GET and a post
    alike), every aggregate GET is 200 and holds no resident's words, no submission id, no
    transcript line and no link to a response or a session; a partner of another project
    gets 404 on them (ids reveal nothing) and sees none of the first project."""
    ids = two_projects(app)
    with app.app_context():
        operations.transaction(lambda: operations.themes.run_themes(
            queries.themes.Source("question", ids["project_id"], "community-capacity",
                                     "safer_ideas"), k=None, language=None, user=None))
    partner, stranger = partner_clients(app, ids)
    for rule, _access in staff_rules(app):
        decision = PARTNER_ROUTES[rule.endpoint]
        if decision == PUBLIC:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for session_kind in ("draft", "finalised"):
            url = project_url(rule, ids, session_kind)
            for method in methods:
                if decision == DENIED:
                    reply = partner.open(url, method=method)
                    assert reply.status_code == 403, (url, method, reply.status_code)
                elif decision == AGGREGATE and method == "GET":
                    reply = partner.get(url)
                    assert reply.status_code == 200, (url, reply.status_code)
                    text = reply_text(reply)
                    assert RESIDENT_WORDS not in text and body_id(ids) not in text, url
                    assert "P1: hello" not in text and ">hello<" not in text, url
                    assert "/responses" not in text and "/focus-groups/" not in text, url
                    assert THEIRS not in text, url
                    if SCOPED_ARGUMENTS & set(rule.arguments):
                        assert stranger.get(url).status_code == 404, url
                    else:
                        other = reply_text(stranger.get(url))
                        assert OURS not in other and ids["code"] not in other, url


def test_partner_home_links_to_the_aggregates_only(app):
    ids = two_projects(app)
    partner, stranger = partner_clients(app, ids)
    home = partner.get("/staff/")
    assert home.status_code == 200
    text = home.text
    assert "Council" in text and "Police" not in text and OURS in text
    for link in (f"/staff/projects/{ids['project_id']}/dashboard",
                 f"/staff/projects/{ids['project_id']}/capacity",
                 f"/staff/projects/{ids['project_id']}/themes/summary",
                 f"/staff/campaigns/{ids['campaign_id']}/dashboard",
                 f"/staff/campaigns/{ids['campaign_id']}/export?status=complete",
                 f"/staff/campaigns/{ids['campaign_id']}/export?status=complete&amp;format=csv"):
        assert f'href="{link}"' in text, link
    # Nothing that would be a 403: no campaign page, sites, focus groups or responses.
    assert f'href="/staff/campaigns/{ids["campaign_id"]}"' not in text
    for page in ("/staff/campaigns\"", "/staff/sites\"", "/staff/focus-groups/\"", "/responses"):
        assert page not in text, page
    assert "Council" not in stranger.get("/staff/").text


def test_a_partners_csv_zip_holds_no_row_level_file(app):
    ids = two_projects(app)
    with app.app_context():
        operations.transaction(lambda: operations.themes.run_themes(
            queries.themes.Source("question", ids["project_id"], "community-capacity",
                                     "safer_ideas"), k=None, language=None, user=None))
    partner, _stranger = partner_clients(app, ids)
    reply = partner.get(f"/staff/campaigns/{ids['campaign_id']}/export?status=all&format=csv"
                        "&codes=1&pii=0")
    assert reply.status_code == 200 and reply.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(reply.data)) as archive:
        names = archive.namelist()
        themes = archive.read(next(n for n in names if n.endswith("themes.csv"))).decode("utf-8-sig")
    assert {name.split("-", 1)[1] for name in names} <= {"about.csv", "summary.csv", "capacity.csv",
                                                         "themes.csv"}
    assert not {n for n in names if "responses" in n or "codebook" in n or "focus" in n}
    text = reply_text(reply)
    assert RESIDENT_WORDS not in text and body_id(ids) not in text
    # The one answer makes a theme of one text: suppressed, its label and phrases unsaid.
    assert "Zephyrine" not in themes and "tannery" not in themes.lower()
    assert "suppressed" in themes
    # Asking for contact details is refused outright, not quietly ignored.
    assert partner.get(f"/staff/campaigns/{ids['campaign_id']}/export?pii=1").status_code == 403


def test_analysts_never_see_draft_sessions(app):
    ids = two_projects(app)
    analyst = app.test_client()
    login(analyst, "analyst@example.org")
    for rule, access in staff_rules(app):
        if "session_id" in rule.arguments and _method(rule) == "GET" and "analyst" in access:
            assert analyst.get(project_url(rule, ids, "draft")).status_code == 404, rule.rule
            assert analyst.get(project_url(rule, ids, "finalised")).status_code == 200, rule.rule
    for page in ("/staff/focus-groups/", "/staff/"):
        text = analyst.get(page).text
        assert f"/staff/focus-groups/{ids['finalised']}" in text, page
        assert f"/staff/focus-groups/{ids['draft']}" not in text, page
    facilitator = app.test_client()
    login(facilitator, "facilitator@example.org")
    listing = facilitator.get("/staff/focus-groups/").text
    assert f"/staff/focus-groups/{ids['draft']}\"" in listing


def test_listings_show_only_the_users_projects(app):
    ids = two_projects(app)
    outsider = app.test_client()
    login(outsider, "outsider@example.org")
    for page in ("/staff/", "/staff/campaigns", "/staff/sites", "/staff/focus-groups/"):
        text = outsider.get(page).text
        assert THEIRS in text and OURS not in text and ids["code"] not in text, page
    admin = app.test_client()
    login(admin, "admin@example.org")
    text = admin.get("/staff/campaigns").text
    assert THEIRS in text and OURS in text


@pytest.mark.parametrize("next_url, expected", [
    ("/staff/campaigns", "/staff/campaigns"),
    ("//evil.example/x", "/staff/"),
    ("https://evil.example/", "/staff/"),
    ("/\\evil.example", "/staff/"),
    ("javascript:alert(1)", "/staff/"),
    ("", "/staff/"),
])
def test_login_next_is_never_an_open_redirect(sqlite_app, next_url, expected):
    make_user(sqlite_app, "a@example.org", "admin")
    reply = login(sqlite_app.test_client(), "a@example.org", next_url=next_url)
    assert reply.status_code == 302
    assert re.sub(r"^https?://localhost", "", reply.headers["Location"]) == expected


@pytest.mark.parametrize("email, password, active", [
    ("a@example.org", "wrong password!", True),
    ("nobody@example.org", PASSWORD, True),
    ("a@example.org", PASSWORD, False),
])
def test_bad_logins_are_refused_with_one_message(sqlite_app, email, password, active):
    make_user(sqlite_app, "a@example.org", "admin", active=active)
    reply = login(sqlite_app.test_client(), email, password)
    assert reply.status_code == 200 and "The email or the password is wrong." in reply.text


def test_logout_and_password_change(sqlite_app):
    client = signed_in(sqlite_app, "f@example.org", "facilitator")
    page = client.get("/account/password")
    reply = client.post("/account/password", data={
        "csrf_token": hidden(page.text, "csrf_token"), "current": PASSWORD,
        "new": "a much newer secret", "confirm": "a much newer secret"})
    assert reply.status_code == 302
    home = client.get("/staff/")
    client.post("/logout", data={"csrf_token": hidden(home.text, "csrf_token")})
    assert client.get("/staff/").status_code == 302
    assert login(client, "f@example.org").status_code == 200  # old password refused
    assert login(client, "f@example.org", "a much newer secret").status_code == 302


def test_session_cookie_flags(sqlite_app):
    make_user(sqlite_app, "a@example.org", "admin")
    reply = login(sqlite_app.test_client(), "a@example.org")
    cookie = next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_production_cookies_are_secure(tmp_path, sqlite_template):
    from tests.conftest import sqlite_copy
    app = create_app({**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path), "ENV": "production",
                      "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    make_user(app, "a@example.org", "admin")
    reply = login(app.test_client(), "a@example.org")
    cookie = next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie


@pytest.mark.parametrize("path", ["/", "/login", "/staff/"])
def test_security_headers(sqlite_app, path):
    reply = sqlite_app.test_client().get(path)
    policy = reply.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "default-src 'self'" in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_admin_manages_accounts_in_the_web_ui(sqlite_app):
    client = signed_in(sqlite_app, "admin@example.org", "admin")
    with sqlite_app.app_context():
        council = operations.transaction(lambda: operations.staff.create_project("Council")).id
        operations.transaction(lambda: operations.staff.create_project("Police"))
    page = client.get("/staff/users")
    data = {"csrf_token": hidden(page.text, "csrf_token"), "email": "New.Analyst@example.org",
            "roles": ["analyst", "facilitator"], "password": "long enough pw", "active": "y"}
    nowhere = client.post("/staff/users", data=data)
    assert nowhere.status_code == 422
    assert "Choose the project these roles are held in." in nowhere.text
    reply = client.post("/staff/users", data={**data, "project": council})
    assert reply.status_code == 302
    assert "new.analyst@example.org" in client.get("/staff/users").text
    other = sqlite_app.test_client()
    assert login(other, "new.analyst@example.org", "long enough pw").status_code == 302
    assert other.get("/staff/users").status_code == 403
    assert other.get("/staff/focus-groups/new").status_code == 200  # facilitator too
    with sqlite_app.app_context():
        user = queries.projects.user_by_email("new.analyst@example.org")
        assert user.roles == "" and {(m.project.name, m.role) for m in user.memberships} == {
            ("Council", "analyst"), ("Council", "facilitator")}


def test_admin_gives_and_takes_project_roles(sqlite_app):
    client = signed_in(sqlite_app, "admin@example.org", "admin")
    make_user(sqlite_app, "ana@example.org")  # no role yet
    page = client.get("/staff/projects")
    created = client.post("/staff/projects", data={"csrf_token": hidden(page.text, "csrf_token"),
                                                   "name": "Council"})
    project_url = re.sub(r"^https?://[^/]+", "", created.headers["Location"])
    again = client.post("/staff/projects", data={"csrf_token": hidden(page.text, "csrf_token"),
                                                 "name": "Council"})
    assert again.status_code == 422 and "A project with this name exists already." in again.text
    page = client.get(project_url)
    add = {"csrf_token": hidden(page.text, "csrf_token"), "email": "ana@example.org", "role": "analyst"}
    assert client.post(f"{project_url}/members", data=add).status_code == 302
    assert client.post(f"{project_url}/members", data=add).status_code == 302  # a double tap
    unknown = client.post(f"{project_url}/members", data={**add, "email": "nobody@example.org"})
    assert unknown.status_code == 422 and "No account has this email." in unknown.text
    analyst = sqlite_app.test_client()
    login(analyst, "ana@example.org")
    assert analyst.get("/staff/campaigns").status_code == 200
    with sqlite_app.app_context():
        (member,) = queries.projects.user_by_email("ana@example.org").memberships
        member_id = member.id
    page = client.get(project_url)
    assert page.text.count("ana@example.org") == 1
    assert client.post(f"{project_url}/members/{member_id}/remove", data={
        "csrf_token": hidden(page.text, "csrf_token")}).status_code == 302
    assert analyst.get("/staff/campaigns").status_code == 403


def test_cli_creates_a_user_from_stdin(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "cli@example.org", "--role", "analyst",
                                 "--role", "facilitator", "--password-stdin"],
                           input="from standard input\n")
    assert result.exit_code == 0, result.output
    # A new server has no project: the roles are held in the default one, made for them.
    assert "created cli@example.org (analyst, facilitator) in Default project" in result.output
    assert login(sqlite_app.test_client(), "cli@example.org", "from standard input").status_code == 302
    short = runner.invoke(args=["users", "create", "x@example.org", "--role", "admin",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10" in short.output


def test_cli_manages_projects_and_members(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    make_user(sqlite_app, "ana@example.org")
    created = runner.invoke(args=["projects", "create", "Council"])
    assert created.exit_code == 0 and "created project Council (waves: baseline, follow-up 1)" in created.output
    again = runner.invoke(args=["projects", "create", "Council"])
    assert again.exit_code != 0 and "exists already" in again.output
    added = runner.invoke(args=["projects", "add-member", "Council", "ana@example.org", "--role", "analyst"])
    assert added.exit_code == 0 and "ana@example.org is analyst in Council" in added.output
    nobody = runner.invoke(args=["projects", "add-member", "Council", "x@example.org", "--role", "analyst"])
    assert nobody.exit_code != 0 and "no account for x@example.org" in nobody.output
    assert runner.invoke(args=["projects", "create", "Police"]).exit_code == 0
    listing = runner.invoke(args=["projects", "list"])
    assert "Council: waves baseline, follow-up 1\n  ana@example.org (analyst)\nPolice" in listing.output
    ambiguous = runner.invoke(args=["campaigns", "create", "--instrument", "programme-feedback",
                                    "--site", "Riverside", "--wave", "baseline"])
    assert ambiguous.exit_code != 0 and "name one with --project" in ambiguous.output


@pytest.mark.parametrize("proxies, expected", [(0, "http://localhost/s/"),
                                                (1, "https://survey.example.org/s/")])
def test_flyer_links_follow_the_proxy_only_when_told_to(tmp_path, sqlite_template, proxies, expected):
    from tests.conftest import campaign_maker, sqlite_copy
    app = create_app({**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path), "PROXY_COUNT": proxies})
    code = campaign_maker(app)()
    make_user(app, "a@example.org", "admin")
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "survey.example.org"}
    client = app.test_client()
    page = client.get("/login", headers=headers)
    client.post("/login", headers=headers, data={
        "csrf_token": hidden(page.text, "csrf_token"), "email": "a@example.org", "password": PASSWORD})
    flyer = client.get("/staff/campaigns/1/flyer", headers=headers)
    assert f"{expected}{code}" in flyer.text


def test_a_facilitator_cannot_hold_a_session_at_another_projects_site(app):
    from surveyapp.models import FocusGroup, Site
    ids = two_projects(app)
    outsider = app.test_client()
    login(outsider, "outsider@example.org")
    page = outsider.get("/staff/focus-groups/new")
    assert THEIRS in page.text and OURS not in page.text
    # Only their own project's facilitators (and admins) are offered as co-facilitators.
    assert "admin@example.org" in page.text and "facilitator@example.org" not in page.text
    with app.app_context():
        ours = db.session.scalar(sa.select(Site.id).where(Site.name == OURS))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(FocusGroup))
    reply = outsider.post("/staff/focus-groups/new", data={
        "csrf_token": hidden(page.text, "csrf_token"), "guide": "community-safety-focus-group",
        "site": ours, "wave": "baseline", "held_on": "2026-11-20", "language": "en",
        "participants-0-pseudonym": "P1"})
    assert reply.status_code in (404, 422)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FocusGroup)) == before
    assert ids["project_id"]


def test_a_partners_export_holds_aggregates_only(app):
    """The partner's download of the campaign's export: About, Summary, Capacity and Themes
    only, and no cell of it holds a resident's words or a transcript line;
    the analyst's download of the same campaign does hold them (so the search would see)."""
    import openpyxl
    ids = two_projects(app)
    with app.app_context():
        operations.transaction(lambda: operations.themes.run_themes(
            queries.themes.Source("question", ids["project_id"], "community-capacity",
                                     "safer_ideas"), k=None, language=None, user=None))
    books = {}
    for who in ("partner", "analyst"):
        client = app.test_client()
        login(client, f"{who}@example.org")
        reply = client.get(f"/staff/campaigns/{ids['campaign_id']}/export?status=all&pii=0")
        assert reply.status_code == 200, who
        books[who] = openpyxl.load_workbook(io.BytesIO(reply.data), read_only=True)

    def cells(book):
        return "\n".join(str(value) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for value in row
                         if value is not None)

    partner, analyst = books["partner"], books["analyst"]
    assert "Responses" in analyst.sheetnames and "Focus groups" in analyst.sheetnames
    assert RESIDENT_WORDS in cells(analyst)
    assert set(partner.sheetnames) <= {"About", "Summary", "Capacity", "Capacity charts", "Themes"}
    assert {"About", "Summary"} <= set(partner.sheetnames)
    text = cells(partner)
    assert RESIDENT_WORDS not in text and ids["submission_id"] not in text
    assert "P1: hello" not in text and TRANSCRIPT_LINE not in text.lower()
    assert "aggregates only" in text


def test_cli_adds_a_partner(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    make_user(sqlite_app, "pat@example.org")
    assert runner.invoke(args=["projects", "create", "Council"]).exit_code == 0
    added = runner.invoke(args=["projects", "add-member", "Council", "pat@example.org", "--role", "partner"])
    assert added.exit_code == 0 and "pat@example.org is partner in Council" in added.output
    listing = runner.invoke(args=["projects", "list"])
    assert "  pat@example.org (partner)" in listing.output
