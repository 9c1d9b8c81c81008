"""Integers in query strings and forms: past what a database column holds they are a 400
or a 404, never a 500 (SQLite raises OverflowError past 2**63, PostgreSQL "integer out of
range" past 2**31).

The walk finds every integer parameter the code reads (``.get("name", type=...)`` and
integer form fields, by parsing the source), then requests every route, GET and POST, as
an admin of the demo project with each of them at 2**63, with a valid CSRF token so that
the request reaches the view.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from werkzeug.routing import IntegerConverter

from tests.helpers import hidden

SOURCE = Path(__file__).resolve().parents[1] / "surveyapp"
HUGE = str(2 ** 63)
INTEGER_FIELDS = {"IntegerField", "IntegerRangeField"}


def integer_parameters() -> set[str]:
    """Names of the query or form values the code reads as integers."""
    names = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "getlist") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and any(k.arg == "type" for k in node.keywords)):
                names.add(node.args[0].value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                called = node.value.func
                name = getattr(called, "id", None) or getattr(called, "attr", None)
                coerced = any(k.arg == "coerce" and getattr(k.value, "id", None) == "int"
                              for k in node.value.keywords)
                if name in INTEGER_FIELDS or coerced:
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_the_parameter_finder_sees_the_known_ones():
    names = integer_parameters()
    assert {"site", "campaign", "theme", "page"} <= names, names


def known_arguments(app, client, start="/staff/", pages=80) -> dict:
    """Route argument values that exist (a campaign code, a question with themes, a prompt),
    found by following the links of the staff pages from ``start``."""
    adapter = app.url_map.bind("localhost")
    found, queue, seen = {}, [start], set()
    while queue and len(seen) < pages:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        for link in re.findall(r'href="(/[^"?#]*)', response.text):
            try:
                endpoint, values = adapter.match(link)
            except Exception:  # a static file, a redirect, a link to elsewhere
                continue
            if endpoint != "static":
                for name, value in values.items():
                    found.setdefault(name, value)
                if link.startswith("/staff/") and not link.endswith(("/delete", ".png", ".svg")):
                    queue.append(link)
    return found


def concrete_url(rule, known: dict) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if name in known:
            values[name] = known[name]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = getattr(converter, "items", None) and sorted(converter.items)[0] or "x"
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def admin(app, runner):
    from tests.helpers import login
    assert runner.invoke(args=["demo", "seed", "--responses", "6"]).exit_code == 0
    email, password = (Path(app.instance_path) / "demo-login.txt").read_text().split()[:2]
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


def test_no_route_fails_on_an_integer_past_what_the_database_holds(app, admin):
    names = sorted(integer_parameters())
    token = hidden(admin.get("/staff/").text, "csrf_token")
    known = known_arguments(app, admin)
    assert {"item_id", "prompt_id", "campaign_id"} <= set(known), known
    failures, reached = [], 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "logout" in rule.endpoint:
            continue
        url = concrete_url(rule, known)
        # One parameter at a time: a huge ?page= alone is refused before any view runs.
        for name in names:
            for method in sorted(rule.methods & {"GET", "POST"}):
                try:
                    response = (admin.get(f"{url}?{name}={HUGE}") if method == "GET" else
                                admin.post(url, data={"csrf_token": token, name: HUGE}))
                except Exception as error:  # TESTING propagates what would be a 500
                    failures.append((method, url, name, type(error).__name__))
                    continue
                reached += response.status_code not in (403, 404, 405)
                if response.status_code >= 500:
                    failures.append((method, url, name, response.status_code))
    assert failures == [], "\n".join(map(str, failures))
    assert reached > 100  # the walk got past the login and the role checks


def test_every_id_read_from_a_request_goes_through_the_one_parser():
    """``.get(name, type=int)`` would hand 2**63 on to a query; ids use ``urls.database_id``
    (``?page=`` is refused past MAX_PAGE for every route before any view runs)."""
    offenders = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "getlist")
                    and any(k.arg == "type" and getattr(k.value, "id", None) == "int"
                            for k in node.keywords)
                    and not (node.args and getattr(node.args[0], "value", None) == "page")):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert offenders == []
