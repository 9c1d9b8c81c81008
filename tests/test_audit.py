"""The audit log: one event per change a person makes, in that change's transaction,
never changed afterwards (the database refuses it), readable and exportable by admins."""
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import AuditEvent
from surveyapp.operations import audit


def events(app, prefix=""):
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                  .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_record_commits_with_the_change(app):
    with app.app_context():
        operations.transaction(lambda: audit.record(
            "test.done", actor="cli", project_id=7, target_type="thing", target_id=42,
            details={"count": 3}, ip="203.0.113.9"))
    [event] = events(app, "test.")
    assert (event.actor, event.actor_user_id, event.project_id, event.target_type,
            event.target_id, event.details) == ("cli", None, 7, "thing", "42", {"count": 3})
    assert event.ip_hash and "203.0.113.9" not in event.ip_hash and len(event.ip_hash) == 32
    assert event.at is not None


def test_a_rolled_back_change_leaves_no_event(app):
    def work():
        audit.record("test.failed", actor="cli")
        raise ValueError("refused")
    with app.app_context(), pytest.raises(ValueError):
        operations.transaction(work)
    assert events(app, "test.") == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET actor = 'someone else'",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_or_delete_an_event(app, statement):
    with app.app_context():
        operations.transaction(lambda: audit.record("test.kept", actor="cli"))
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement))
            db.session.flush()
        db.session.rollback()
    [event] = events(app, "test.")
    assert event.actor == "cli"


# ----------------------------------------------------------------------------- wired actions
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402

from werkzeug.datastructures import MultiDict  # noqa: E402

from surveyapp.models import Campaign, Project, Site, User  # noqa: E402
from tests.helpers import PASSWORD, elements, hidden, login, make_user, signed_in  # noqa: E402


def only(app, action):
    """The one event of ``action``; fails if there are none or several."""
    found = events(app, action)
    assert [e.action for e in found] == [action], [e.action for e in events(app)]
    return found[0]


def user_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def test_sign_in_and_a_failed_sign_in_are_recorded_without_the_password(app, client):
    make_user(app, "ana@example.org", "analyst")
    assert login(client, "ana@example.org", password="wrong password 1").status_code == 200
    failed = only(app, "auth.sign_in_failed")
    assert failed.actor == "ana@example.org" and failed.actor_user_id is None
    assert failed.target_id == str(user_id(app, "ana@example.org"))
    assert "wrong password" not in json.dumps(failed.details) and failed.ip_hash
    assert login(client, "ana@example.org").status_code == 302
    signed = only(app, "auth.signed_in")
    assert (signed.actor, signed.actor_user_id) == ("ana@example.org", user_id(app, "ana@example.org"))


def admin_post(client, page, url, **data):
    return client.post(url, data={"csrf_token": hidden(client.get(page).text, "csrf_token"), **data})


def test_admin_changes_each_leave_one_event_by_the_admin(app):
    admin = signed_in(app, "boss@example.org", "admin")
    boss = user_id(app, "boss@example.org")
    assert admin_post(admin, "/staff/projects", "/staff/projects", name="Council").status_code == 302
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id).where(Project.name == "Council"))
    made = only(app, "project.created")
    assert (made.actor, made.actor_user_id, made.project_id, made.target_type, made.target_id) == (
        "boss@example.org", boss, project_id, "project", str(project_id))
    # A refused change (the name is taken) leaves no event.
    admin_post(admin, "/staff/projects", "/staff/projects", name="Council")
    assert len(events(app, "project.created")) == 1

    assert admin_post(admin, "/staff/sites", "/staff/sites", name="Riverside",
                      project=str(project_id)).status_code == 302
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id).where(Site.name == "Riverside"))
    site = only(app, "site.created")
    assert (site.target_type, site.target_id, site.project_id) == ("site", str(site_id), project_id)

    reply = admin_post(admin, "/staff/campaigns", "/staff/campaigns", instrument="community-capacity",
                       site=str(site_id), wave="baseline")
    assert reply.status_code == 302, reply.text
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        campaign_id, code = campaign.id, campaign.code
    created = only(app, "campaign.created")
    assert (created.target_id, created.project_id, created.details["code"]) == (
        str(campaign_id), project_id, code)
    # The same campaign again is refused: no second event.
    admin_post(admin, "/staff/campaigns", "/staff/campaigns", instrument="community-capacity",
               site=str(site_id), wave="baseline")
    assert len(events(app, "campaign.created")) == 1

    page = f"/staff/campaigns/{campaign_id}"
    assert admin_post(admin, page, page + "/status", status="closed").status_code == 302
    closed = only(app, "campaign.closed")
    assert (closed.target_id, closed.details) == (str(campaign_id), {"from": "open"})

    reply = admin.get(f"/staff/campaigns/{campaign_id}/export")
    assert reply.status_code == 200
    exported = only(app, "export.downloaded")
    assert exported.target_id == str(campaign_id) and exported.details["pii"] is False

    make_user(app, "ana@example.org")
    ana = user_id(app, "ana@example.org")
    assert admin_post(admin, f"/staff/projects/{project_id}", f"/staff/projects/{project_id}/members",
                      email="ana@example.org", role="analyst").status_code == 302
    member = only(app, "project.member_added")
    assert (member.target_id, member.details) == (str(ana), {"role": "analyst"})

    assert admin_post(admin, f"/staff/users/{ana}", f"/staff/users/{ana}", email="ana@example.org",
                      active="", password="a brand new password").status_code == 302
    updated = only(app, "user.updated")
    assert updated.details == {"active": [True, False], "password_reset": True}
    assert "brand new" not in json.dumps(updated.details)


def test_password_change_is_recorded(app):
    client = signed_in(app, "ana@example.org", "analyst")
    page = "/account/password"
    reply = admin_post(client, page, page, current=PASSWORD, new="another long password",
                       confirm="another long password")
    assert reply.status_code == 302, reply.text
    changed = only(app, "user.password_changed")
    assert changed.actor == "ana@example.org" and changed.details == {}


def test_segment_edits_redactions_and_finalising_name_who_without_the_text(app, facilitator):
    from tests.helpers import create_session, quick, segments
    session_id = create_session(facilitator, roster=("P1", "P2"), real_names=("Amina Hassan",))
    quick(facilitator, session_id, "P1: Call me on +44 20 7946 0000 or amina@example.org.\n"
                                   "P2: nothing personal here")
    imported = only(app, "segment.imported")
    assert imported.details["segments"] == 2 and imported.target_type == "session"
    page = facilitator.get(f"/staff/focus-groups/{session_id}/redact")
    found = re.findall(r'name="redact" value="([^"]+)"', page.text)
    seen = [(e["name"], e["value"]) for e in elements(page.text) if e.get("name", "").startswith("seen-")]
    facilitator.post(f"/staff/focus-groups/{session_id}/redact", data=MultiDict(
        [("csrf_token", hidden(page.text, "csrf_token"))] + [("redact", key) for key in found] + seen))
    redacted = only(app, "segment.redacted")
    first_segment = segments(app, session_id)[0]
    assert redacted.actor == "fac@example.org" and redacted.target_type == "segment"
    assert redacted.details["replacements"] == 2 and redacted.details["session"] == session_id
    stored = json.dumps([e.details for e in events(app)])
    assert "7946" not in stored and "amina@" not in stored.lower()
    assert "[redacted]" in first_segment[2]

    page = facilitator.get(f"/staff/focus-groups/{session_id}")
    facilitator.post(f"/staff/focus-groups/{session_id}/finalise",
                     data={"csrf_token": hidden(page.text, "csrf_token"), "reviewed": "1"})
    finalised = only(app, "session.finalised")
    assert (finalised.target_type, finalised.target_id) == ("session", str(session_id))


def test_theme_rename_is_recorded(app, project):
    from tests.helpers import analyst_client, post, theme_ids
    client = analyst_client(app)
    assert post(client, project, "run", k="2", language="").status_code == 302
    assert only(app, "theme.run").project_id == project["project_id"]
    theme = next(iter(theme_ids(app, project).values()))
    assert post(client, project, "edit", action="rename", theme=theme,
                label="Street lighting").status_code == 302
    renamed = only(app, "theme.renamed")
    assert (renamed.actor, renamed.target_id, renamed.details["label"]) == (
        "analyst@example.org", str(theme), "Street lighting")


def test_cli_changes_are_recorded_as_cli(app, runner):
    assert runner.invoke(args=["projects", "create", "Council"]).exit_code == 0
    made = only(app, "project.created")
    assert (made.actor, made.actor_user_id) == ("cli", None)
    result = runner.invoke(args=["campaigns", "create", "--project", "Council", "--instrument",
                                 "community-capacity", "--site", "Riverside", "--wave", "baseline"])
    assert result.exit_code == 0, result.output
    assert only(app, "site.created").actor == "cli"
    assert only(app, "campaign.created").actor == "cli"
    # Refused (the same campaign is open): no event.
    runner.invoke(args=["campaigns", "create", "--project", "Council", "--instrument",
                        "community-capacity", "--site", "Riverside", "--wave", "baseline"])
    assert len(events(app, "campaign.created")) == 1


def test_cli_export_is_recorded(app, runner, tmp_path, make_campaign):
    make_campaign()
    result = runner.invoke(args=["export", "community-capacity", "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 0, result.output
    written = only(app, "export.written")
    assert (written.actor, written.target_id, written.details["format"]) == (
        "cli", "community-capacity", "xlsx")


# ----------------------------------------------------------------------------- the admin page

def test_the_audit_page_lists_filters_and_refuses_non_admins(app):
    with app.app_context():
        def work():
            audit.record("campaign.created", actor="cli", project_id=1, target_type="campaign",
                         target_id=1)
            audit.record("site.created", actor="someone@example.org", target_type="site", target_id=2)
        operations.transaction(work)
    admin = signed_in(app, "boss@example.org", "admin")
    page = admin.get("/staff/audit")
    # Each event's action in words in its row (the codes stay in the CSV and the filter's values).
    campaign, site = "<td>Campaign created</td>", "<td>Site added</td>"
    assert page.status_code == 200 and campaign in page.text and site in page.text
    assert page.text.index(site) < page.text.index(campaign)  # newest first
    narrowed = admin.get("/staff/audit?action=campaign.")
    assert campaign in narrowed.text and site not in narrowed.text
    by_user = admin.get("/staff/audit?user=SOMEONE")
    assert site in by_user.text and campaign not in by_user.text
    assert site not in admin.get("/staff/audit?project=1").text
    bad = admin.get("/staff/audit?since=yesterday&project=x&page=-3")
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.text
    assert site not in admin.get("/staff/audit?until=2000-01-01").text
    assert "<form" in page.text and 'method="post"' not in page.text.split("<main")[-1]
    for role in ("facilitator", "analyst"):
        other = signed_in(app, f"{role}@example.org", role)
        assert other.get("/staff/audit").status_code == 403
        assert other.get("/staff/audit.csv").status_code == 403


def test_the_csv_is_formula_escaped_and_its_download_recorded(app):
    with app.app_context():
        operations.transaction(lambda: audit.record(
            "auth.sign_in_failed", actor="=HYPERLINK(\"http://evil\")", details={"note": "+1"}))
    admin = signed_in(app, "boss@example.org", "admin")
    reply = admin.get("/staff/audit.csv?action=auth.sign_in_failed")
    assert reply.status_code == 200 and reply.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "at", "actor", "actor_user_id", "action"]
    [row] = rows[1:]
    assert row[2] == "'=HYPERLINK(\"http://evil\")" and row[4] == "auth.sign_in_failed"
    assert only(app, "audit.exported").details["rows"] == 1
    assert admin.get("/staff/audit.csv?until=never").status_code == 302


def test_loading_a_new_instrument_version_is_recorded(app, runner, tmp_path):
    source = (Path(app.config["INSTRUMENTS_DIR"]) / "community-capacity.yaml").read_text(encoding="utf-8")
    (tmp_path / "copy.yaml").write_text(source.replace("id: community-capacity", "id: audit-copy", 1),
                                        encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(tmp_path)])
    assert result.exit_code == 0, result.output
    loaded = only(app, "instrument.loaded")
    assert (loaded.actor, loaded.target_id) == ("cli", "audit-copy")
    runner.invoke(args=["instruments", "load", str(tmp_path)])  # unchanged: nothing new
    assert len(events(app, "instrument.loaded")) == 1


def test_segment_add_edit_move_delete_each_leave_one_event(app, facilitator):
    from surveyapp.models import Segment
    from tests.helpers import create_session, form_fields, prompt_url
    session_id = create_session(facilitator)
    assert only(app, "session.created").target_id == str(session_id)
    page = facilitator.get(prompt_url(session_id))
    data = {**form_fields(page.text, "/segments"), "speaker": "P1", "text": "my secret words"}
    facilitator.post(prompt_url(session_id) + "/segments", data=data)
    facilitator.post(prompt_url(session_id) + "/segments", data=data)  # a double tap: one segment
    assert only(app, "segment.added").details == {"prompt": "trust"}
    page = facilitator.get(prompt_url(session_id))
    data = {**form_fields(page.text, "/segments"), "speaker": "P2", "text": "second"}
    facilitator.post(prompt_url(session_id) + "/segments", data=data)
    with app.app_context():
        first, second = db.session.scalars(sa.select(Segment.id).order_by(Segment.position)).all()
    edit = facilitator.get(prompt_url(session_id) + f"?edit={first}")
    facilitator.post(f"/staff/focus-groups/{session_id}/segments/{first}", data={
        "csrf_token": hidden(edit.text, "csrf_token"), "speaker": "P1", "text": "other words",
        "clock": ""})
    edited = only(app, "segment.edited")
    assert (edited.actor, edited.target_type, edited.target_id) == (
        "fac@example.org", "segment", str(first))
    token = hidden(facilitator.get(prompt_url(session_id)).text, "csrf_token")
    facilitator.post(f"/staff/focus-groups/{session_id}/segments/{second}/up", data={"csrf_token": token})
    assert only(app, "segment.moved").details["direction"] == "up"
    facilitator.post(f"/staff/focus-groups/{session_id}/segments/{first}/delete", data={"csrf_token": token})
    assert only(app, "segment.deleted").target_id == str(first)
    stored = json.dumps([e.details for e in events(app)])
    assert "secret" not in stored and "other words" not in stored


def test_sign_out_and_an_account_made_on_the_page_are_recorded(app):
    admin = signed_in(app, "boss@example.org", "admin")
    reply = admin_post(admin, "/staff/users", "/staff/users", email="new@example.org",
                       roles="admin", password="a long enough password")
    assert reply.status_code == 302, reply.text
    made = only(app, "user.created")
    assert made.target_id == str(user_id(app, "new@example.org"))
    assert made.details == {"roles": ["admin"]}
    admin_post(admin, "/staff/", "/logout")
    out = only(app, "auth.signed_out")
    assert out.actor == "boss@example.org"
