"""Accounts and roles: every route declares who may use it, login is safe, cookies and
headers are right."""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from surveyapp import create_app, operations
from surveyapp.models import ROLES
from tests.conftest import app_config
from tests.helpers import hidden

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


def example_url(rule) -> str:
    """A concrete URL for a rule: integers for int converters, words elsewhere."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, IntegerConverter) else (
            getattr(converter, "items", None) and sorted(converter.items)[0] or "x")
    return rule.build(values, append_unknown=False)[1]


def staff_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        yield rule, getattr(view, "access", None)


def test_every_route_declares_who_may_use_it(sqlite_app):
    undeclared = [rule.rule for rule, access in staff_rules(sqlite_app) if access is None]
    assert undeclared == []


def test_the_declaration_check_catches_a_new_route(sqlite_app):
    sqlite_app.add_url_rule("/staff/forgotten", "forgotten", lambda: "secret")
    undeclared = [rule.rule for rule, access in staff_rules(sqlite_app) if access is None]
    assert undeclared == ["/staff/forgotten"]


def _method(rule):
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]


def test_role_matrix(sqlite_app):
    """Anonymous: sent to login (401 on the API). Wrong role: 403. Right role: let in."""
    for role in ROLES:
        make_user(sqlite_app, f"{role}@example.org", role)
    checked = 0
    for rule, access in staff_rules(sqlite_app):
        if access == "public":
            continue
        url, method = example_url(rule), _method(rule)
        anonymous = sqlite_app.test_client().open(url, method=method)
        if url.startswith("/api/"):
            assert anonymous.status_code == 401, url
        else:
            assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], url
        for role in ROLES:
            client = sqlite_app.test_client()
            assert login(client, f"{role}@example.org").status_code == 302
            reply = client.open(url, method=method)
            if role in access:
                assert reply.status_code != 403, (url, role)
            else:
                assert reply.status_code == 403, (url, role, reply.status_code)
        checked += 1
    assert checked >= 20


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
    page = client.get("/staff/users")
    reply = client.post("/staff/users", data={
        "csrf_token": hidden(page.text, "csrf_token"), "email": "New.Analyst@example.org",
        "roles": ["analyst", "facilitator"], "password": "long enough pw", "active": "y"})
    assert reply.status_code == 302
    assert "new.analyst@example.org" in client.get("/staff/users").text
    other = sqlite_app.test_client()
    assert login(other, "new.analyst@example.org", "long enough pw").status_code == 302
    assert other.get("/staff/users").status_code == 403
    assert other.get("/staff/focus-groups/new").status_code == 200  # facilitator too


def test_cli_creates_a_user_from_stdin(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "cli@example.org", "--role", "analyst",
                                 "--role", "facilitator", "--password-stdin"],
                           input="from standard input\n")
    assert result.exit_code == 0, result.output
    assert "created cli@example.org (analyst, facilitator)" in result.output
    assert login(sqlite_app.test_client(), "cli@example.org", "from standard input").status_code == 302
    short = runner.invoke(args=["users", "create", "x@example.org", "--role", "admin",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10" in short.output


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
