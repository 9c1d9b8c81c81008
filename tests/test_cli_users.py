"""`surveyapp users create --role partner` and `surveyapp users roles`: accounts and their
roles from the command line, each change recorded in the audit log by its operation
(issue 23 item 6)."""
from __future__ import annotations

import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import AuditEvent, User
from tests.helpers import login, make_user


def events(app, action):
    with app.app_context():
        return [(e.actor, e.project_id, e.target_id, e.details) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def roles_of(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return {("admin", None) if r == "admin" else (r, None) for r in user.roles.split(",") if r} | {
            (m.role, m.project.name) for m in user.memberships}


def test_create_a_partner_from_the_command_line(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    assert runner.invoke(args=["projects", "create", "Council"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "pat@example.org", "--role", "partner",
                                 "--password-stdin"], input="a partner's password\n")
    assert result.exit_code == 0, result.output
    assert "created pat@example.org (partner) in Council" in result.output
    assert roles_of(sqlite_app, "pat@example.org") == {("partner", "Council")}
    # The partner signs in and lands on the partner's home (aggregates only), not a 403.
    client = sqlite_app.test_client()
    assert login(client, "pat@example.org", "a partner's password").status_code == 302
    home = client.get("/staff/")
    assert home.status_code == 200 and "Projects you follow as a partner" in home.text
    # The operation recorded the creation, with the role and the project it is held in.
    [(actor, project_id, _target, details)] = events(sqlite_app, "user.created")
    assert actor == "cli" and details == {"roles": ["partner"]} and project_id is not None


def test_roles_are_added_and_removed_and_each_change_is_recorded(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    for name in ("Council", "Police"):
        assert runner.invoke(args=["projects", "create", name]).exit_code == 0
    make_user(sqlite_app, "root@example.org", "admin")
    make_user(sqlite_app, "ana@example.org")
    shown = runner.invoke(args=["users", "roles", "ana@example.org"])
    assert shown.exit_code == 0 and "ana@example.org: no role" in shown.output

    added = runner.invoke(args=["users", "roles", "ana@example.org", "--add", "partner",
                                "--add", "analyst", "--add", "admin", "--project", "Council"])
    assert added.exit_code == 0, added.output
    assert roles_of(sqlite_app, "ana@example.org") == {
        ("admin", None), ("partner", "Council"), ("analyst", "Council")}
    assert "ana@example.org: admin; analyst in Council; partner in Council" in added.output

    removed = runner.invoke(args=["users", "roles", "ana@example.org", "--remove", "partner",
                                  "--remove", "admin", "--project", "Council"])
    assert removed.exit_code == 0, removed.output
    assert roles_of(sqlite_app, "ana@example.org") == {("analyst", "Council")}
    assert "removed partner in Council" in removed.output and "removed admin" in removed.output

    # A role not held is said, and nothing is recorded for it.
    again = runner.invoke(args=["users", "roles", "ana@example.org", "--remove", "partner",
                                "--project", "Police"])
    assert again.exit_code == 0 and "unchanged: partner in Police was not held" in again.output

    added_events = events(sqlite_app, "project.member_added")
    removed_events = events(sqlite_app, "project.member_removed")
    assert sorted(d["role"] for _a, _p, _t, d in added_events) == ["analyst", "partner"]
    assert [(actor, d) for actor, _p, _t, d in removed_events] == [("cli", {"role": "partner"})]
    admin_changes = [d for _a, _p, _t, d in events(sqlite_app, "user.updated")]
    assert admin_changes == [{"admin": [False, True]}, {"admin": [True, False]}]
    # ana lost the partner role: the partner home is gone, the analyst pages remain.
    with sqlite_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "ana@example.org"))
        assert "partner" not in user.role_set


def test_the_last_admin_keeps_the_role_and_mistakes_change_nothing(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    make_user(sqlite_app, "root@example.org", "admin")
    last = runner.invoke(args=["users", "roles", "root@example.org", "--remove", "admin"])
    assert last.exit_code != 0 and "last active admin" in last.output
    assert roles_of(sqlite_app, "root@example.org") == {("admin", None)}
    assert events(sqlite_app, "user.updated") == []
    nobody = runner.invoke(args=["users", "roles", "x@example.org", "--add", "admin"])
    assert nobody.exit_code != 0 and "no account for x@example.org" in nobody.output
    both = runner.invoke(args=["users", "roles", "root@example.org", "--add", "analyst",
                               "--remove", "analyst"])
    assert both.exit_code != 0 and "both added and removed" in both.output
