"""Every state-changing route writes an audit event, or is listed here as not a person's
change. The test walks app.url_map: a POST route added later without an entry fails it, and
each entry is exercised for real and its event looked for."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from surveyapp.domain.results import quote_digest
from surveyapp.extensions import db
from surveyapp.jobs import thread_backend
from surveyapp.models import (AuditEvent, Campaign, FocusGroup, ProjectMember, Response,
                              Segment, Site, Theme, User)
from tests.helpers import (
    PASSWORD, elements, form_fields, hidden, login, make_user, page_url, question_source, theme_ids)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

# Not a person's change to record: respondents' own answers are the data (anonymous, kept
# with their received time and source; logging them again would copy them), and relevance
# is a read that posts the page's answers to ask what to show.
NOT_A_PERSONS_CHANGE = {
    "surveys.start": "a respondent starts a response: the response row is the record",
    "surveys.page": "a respondent answers a page: the response row is the record",
    "surveys.relevance": "reads only: which questions to show for the answers so far",
    "surveys.panel_code_issue": "a respondent takes a panel code: its panel_links row is the record",
    "api.submit": "a device submits a response: the response row is the record",
}


def state_changing_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING}


class Recorder:
    """Runs each step, checks that it left ``action`` in the audit log, and notes the route."""

    def __init__(self, app):
        self.app, self.covered, self.seen = app, set(), 0

    def new_actions(self) -> list[str]:
        with self.app.app_context():
            rows = db.session.execute(sa.select(AuditEvent.id, AuditEvent.action).where(
                AuditEvent.id > self.seen).order_by(AuditEvent.id)).all()
        if rows:
            self.seen = rows[-1][0]
        return [action for _, action in rows]

    def expect(self, endpoint: str, action: str, reply) -> None:
        assert reply.status_code in (200, 201, 302), (endpoint, reply.status_code, reply.text[:2000])
        actions = self.new_actions()
        assert action in actions, (endpoint, action, actions)
        self.covered.add(endpoint)


def token(client, url) -> str:
    return hidden(client.get(url).text, "csrf_token")


def one(app, statement):
    with app.app_context():
        return db.session.scalar(statement)


ROOT = Path(__file__).resolve().parent.parent


def test_every_state_changing_route_writes_an_audit_event(app, project, load_test_instrument, tmp_path):
    load_test_instrument("mini-guide")
    log = Recorder(app)
    log.new_actions()

    # --- sign-in, sign-out, password -------------------------------------------------------
    make_user(app, "boss@example.org", "admin")
    a = app.test_client()
    log.expect("auth.login", "auth.sign_in_failed", login(a, "boss@example.org", "wrong password!"))
    log.expect("auth.login", "auth.signed_in", login(a, "boss@example.org"))
    log.expect("auth.change_password", "user.password_changed", a.post("/account/password", data={
        "csrf_token": token(a, "/account/password"), "current": PASSWORD,
        "new": "another long password", "confirm": "another long password"}))

    # --- projects, sites, campaigns, accounts ----------------------------------------------
    log.expect("staff.create_project", "project.created", a.post("/staff/projects", data={
        "csrf_token": token(a, "/staff/projects"), "name": "Housing"}))
    pid = one(app, sa.text("SELECT id FROM projects WHERE name = 'Housing'"))
    page = f"/staff/projects/{pid}"
    log.expect("staff.project_waves", "project.waves_changed", a.post(page + "/waves", data={
        "csrf_token": token(a, page), "waves": "baseline\nfollow-up 1\nfollow-up 2"}))
    log.expect("staff.create_site", "site.created", a.post("/staff/sites", data={
        "csrf_token": token(a, "/staff/sites"), "name": "Riverside", "project": str(pid)}))
    site_id = one(app, sa.select(Site.id).where(Site.name == "Riverside"))
    log.expect("staff.create_campaign", "campaign.created", a.post("/staff/campaigns", data={
        "csrf_token": token(a, "/staff/campaigns"), "instrument": "community-capacity",
        "site": str(site_id), "wave": "baseline"}))
    campaign_id = one(app, sa.select(Campaign.id).where(Campaign.site_id == site_id))
    page = f"/staff/campaigns/{campaign_id}"
    log.expect("staff.campaign_status", "campaign.closed", a.post(page + "/status", data={
        "csrf_token": token(a, page), "status": "closed"}))
    log.expect("staff.create_user", "user.created", a.post("/staff/users", data={
        "csrf_token": token(a, "/staff/users"), "email": "new@example.org", "roles": "admin",
        "password": "a long enough password"}))
    new_id = one(app, sa.select(User.id).where(User.email == "new@example.org"))
    page = f"/staff/projects/{pid}"
    log.expect("staff.add_member", "project.member_added", a.post(page + "/members", data={
        "csrf_token": token(a, page), "email": "new@example.org", "role": "analyst"}))
    member_id = one(app, sa.select(ProjectMember.id).where(ProjectMember.user_id == new_id))
    log.expect("staff.remove_member", "project.member_removed", a.post(
        f"{page}/members/{member_id}/remove", data={"csrf_token": token(a, page)}))
    page = f"/staff/users/{new_id}"
    log.expect("staff.edit_user", "user.updated", a.post(page, data={
        "csrf_token": token(a, page), "email": "new@example.org", "active": ""}))

    # --- exports ---------------------------------------------------------------------------
    page = f"/staff/campaigns/{project['campaign_id']}"
    log.expect("staff.start_export", "export.started", a.post(page + "/export-job", data={
        "csrf_token": token(a, page), "status": "complete"}))
    thread_backend.wait_idle()
    with app.app_context():
        campaign = db.session.get(Campaign, project["campaign_id"])
        project_page, instrument_id = f"/staff/projects/{campaign.project_id}/export", campaign.instrument_id
    log.expect("staff.project_export", "export.started", a.post(project_page, data={
        "csrf_token": token(a, project_page), "instrument": instrument_id, "campaign": "0",
        "status": "complete", "language": "en", "answers": "labels", "output": "xlsx"}))
    thread_backend.wait_idle()
    # Reads that take data off the server are recorded too (GET routes, not enumerable by
    # method: listed here by hand).
    job_id = one(app, sa.text("SELECT max(id) FROM jobs"))
    reply = a.get(f"/staff/jobs/{job_id}/download")
    assert reply.status_code == 200 and reply.data[:2] == b"PK"
    log.expect("staff.job_download", "export.downloaded", reply)
    log.expect("staff.export_campaign", "export.downloaded", a.get(page + "/export"))
    log.expect("staff.audit_csv", "audit.exported", a.get("/staff/audit.csv"))

    # --- focus groups ----------------------------------------------------------------------
    new = a.get("/staff/focus-groups/new")
    option = re.search(r'<option value="(\d+)"[^>]*>Riverside', new.text).group(1)
    data = MultiDict({"csrf_token": hidden(new.text, "csrf_token"), "guide": "mini-guide",
                      "site": option, "wave": "baseline", "held_on": "2026-11-20",
                      "language": "en", "consent_given": "y",
                      "participants-0-pseudonym": "P1", "participants-0-real_name": "Amina Hassan",
                      "participants-1-pseudonym": "P2"})
    log.expect("focus_groups.new_session", "session.created", a.post("/staff/focus-groups/new", data=data))
    sid = one(app, sa.select(FocusGroup.id).where(FocusGroup.guide_id == "mini-guide"))
    base = f"/staff/focus-groups/{sid}"
    prompt = f"{base}/prompts/trust"
    log.expect("focus_groups.add_participant", "session.participant_added", a.post(
        base + "/participants", data={**form_fields(a.get(base).text, "/participants"),
                                      "label": "P3"}))
    log.expect("focus_groups.session_details", "session.details_edited", a.post(
        base + "/details", data={"csrf_token": token(a, base + "/details"), "participants_count": "3"}))
    log.expect("focus_groups.add_segment", "segment.added", a.post(prompt + "/segments", data={
        **form_fields(a.get(prompt).text, "/segments"), "speaker": "P1", "text": "first words"}))
    log.expect("focus_groups.quick_entry", "segment.imported", a.post(prompt + "/quick", data={
        **form_fields(a.get(prompt).text, "/quick"),
        "lines": "P2: call Amina Hassan on +44 20 7946 0000\nP1: more words"}))
    log.expect("focus_groups.import_file", "segment.imported", a.post(prompt + "/import", data={
        **form_fields(a.get(prompt).text, "/import"),
        "file": (io.BytesIO("P1: from a file\n".encode()), "notes.txt")},
        content_type="multipart/form-data"))
    first, second = one(app, sa.select(sa.func.min(Segment.id)).where(Segment.session_id == sid)), \
        one(app, sa.select(sa.func.max(Segment.id)).where(Segment.session_id == sid))
    log.expect("focus_groups.edit_segment", "segment.edited", a.post(f"{base}/segments/{first}", data={
        "csrf_token": token(a, f"{prompt}?edit={first}"), "speaker": "P1", "text": "edited",
        "clock": ""}))
    log.expect("focus_groups.change_segment", "segment.moved", a.post(
        f"{base}/segments/{second}/up", data={"csrf_token": token(a, prompt)}))
    log.expect("focus_groups.change_segment", "segment.deleted", a.post(
        f"{base}/segments/{first}/delete", data={"csrf_token": token(a, prompt)}))
    log.expect("focus_groups.save_notes", "session.notes_edited", a.post(prompt + "/notes", data={
        **form_fields(a.get(prompt).text, "/notes"), "notes": "a note"}))
    redact = a.get(base + "/redact")
    found = re.findall(r'name="redact" value="([^"]+)"', redact.text)
    seen = [(e["name"], e["value"]) for e in elements(redact.text) if e.get("name", "").startswith("seen-")]
    assert found
    log.expect("focus_groups.redact", "segment.redacted", a.post(base + "/redact", data=MultiDict(
        [("csrf_token", hidden(redact.text, "csrf_token"))] + [("redact", k) for k in found] + seen)))
    log.expect("focus_groups.finalise", "session.finalised", a.post(base + "/finalise", data={
        "csrf_token": token(a, base), "reviewed": "1"}))
    log.expect("focus_groups.reopen", "session.reopened", a.post(base + "/reopen", data={
        "csrf_token": token(a, base)}))
    log.expect("focus_groups.delete_session", "session.deleted", a.post(base + "/delete", data={
        "csrf_token": token(a, base + "/delete"), "confirm": "y"}))

    # --- themes ----------------------------------------------------------------------------
    themes = page_url(project)
    path, _, query = themes.partition("?")
    log.expect("analysis.run", "theme.run", a.post(f"{path}/run?{query}", data={
        "csrf_token": token(a, themes), "k": "2", "language": ""}))
    theme = next(iter(theme_ids(app, project).values()))
    log.expect("analysis.edit", "theme.renamed", a.post(f"{path}/edit?{query}", data={
        "csrf_token": token(a, themes), "action": "rename", "theme": theme, "label": "Lights"}))

    # --- the codebook (in a copy of the instruments folder: no test writes the repository's)
    folder = tmp_path / "instruments"
    shutil.copytree(ROOT / "instruments", folder)
    app.config["INSTRUMENTS_DIR"] = str(folder)
    log.expect("analysis.apply_codebook", "theme.codebook_applied", a.post(
        f"{path}/codebook?{query}", data={"csrf_token": token(a, themes)}))
    log.expect("analysis.promote", "codebook.theme_promoted", a.post(f"{path}/promote?{query}", data={
        "csrf_token": token(a, themes), "theme": theme, "language": "en",
        "description": "Lamps at night", "keywords": "lamp post"}))

    # --- double coding and proposals (issue 24) ---------------------------------------------
    from surveyapp import operations
    from surveyapp.models import CodingSample
    from tests.helpers import plant
    from tests.test_coding import _planted
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            "second@example.org", PASSWORD, ["analyst"], operations.staff.project_by_name("Council")))
    coders = [one(app, sa.select(User.id).where(User.email == e))
              for e in ("analyst@example.org", "second@example.org")]
    coding = f"{path}/coding?{query}"
    log.expect("analysis.coding", "coding.sample_drawn", a.post(coding, data={
        "csrf_token": token(a, coding), "size": "3", "seed": "1", "coders": [str(c) for c in coders]}))
    sample = one(app, sa.select(CodingSample.id))
    ref = one(app, sa.select(CodingSample.refs))[0]
    code_url, results_url = f"{path}/coding/{sample}/code?{query}", f"{path}/coding/{sample}?{query}"
    for email, code in (("analyst@example.org", "none"), ("second@example.org", str(theme))):
        coder = app.test_client()
        login(coder, email)
        log.expect("analysis.coding_code", "coding.finished", coder.post(code_url, data={
            "csrf_token": token(coder, code_url), "action": "done", f"code-{ref}": code}))
    log.expect("analysis.coding_resolve", "coding.resolved", a.post(
        f"{path}/coding/{sample}/resolve?{query}", data={
            "csrf_token": token(a, results_url), "item": ref, "theme": str(theme)}))
    # Proposals need 30 texts a person coded for each of two themes.
    lights, police = _planted(32, 5)
    planted = plant(app, app.test_client(), project["code"], lights + police)
    with app.app_context():
        source = question_source(project)
        first, second = [db.session.get(Theme, t) for t in sorted(theme_ids(app, project).values())[:2]]
        for refs, chosen in ((planted[:32], first), (planted[32:], second)):
            operations.transaction(lambda: operations.themes.assign(
                source, [f"r{r}:safer_ideas" for r in refs], chosen))
    proposals = f"{path}/proposals?{query}"
    log.expect("analysis.proposals", "coding.proposals_accepted", a.post(proposals, data={
        "csrf_token": token(a, proposals), "min_confidence": "0"}))

    # --- published results ------------------------------------------------------------------
    results = f"/staff/campaigns/{project['campaign_id']}/results"
    fields = {name: f"What happens next ({name})" for name in
              re.findall(r'name="(text_[a-z-]+)"', a.get(results).text)}
    assert fields
    log.expect("staff.results_next_steps", "results.next_steps_set", a.post(
        results + "/next-steps", data={"csrf_token": token(a, results), **fields}))
    with app.app_context():
        quoted = db.session.get(Theme, theme)
        digest = quote_digest(quoted.quotes[0])
    quote = {"theme_id": theme, "digest": digest}
    log.expect("staff.results_approve_quote", "results.quote_approved", a.post(
        results + "/quotes/approve", data={"csrf_token": token(a, results), **quote}))
    log.expect("staff.results_unapprove_quote", "results.quote_unapproved", a.post(
        results + "/quotes/unapprove", data={"csrf_token": token(a, results), **quote}))
    log.expect("staff.results_publish", "results.published", a.post(
        results + "/publish", data={"csrf_token": token(a, results)}))
    log.expect("staff.results_unpublish", "results.unpublished", a.post(
        results + "/unpublish", data={"csrf_token": token(a, results)}))

    # --- deletions -------------------------------------------------------------------------
    response_id = project["responses"][0]
    page = f"/staff/campaigns/{project['campaign_id']}/responses/{response_id}"
    with app.app_context():
        from surveyapp import operations
        from surveyapp.domain import panel_code
        linked = db.session.get(Campaign, project["campaign_id"])
        key = panel_code.link_key(b"k" * 32, linked.project_id, panel_code.new_code())
        operations.transaction(lambda: operations.panel.link(response_id, linked, key))
    log.expect("staff.unlink_response", "panel.unlinked", a.post(page + "/panel/unlink", data={
        "csrf_token": token(a, page + "/panel/unlink"), "confirm": "y"}))
    log.expect("staff.delete_contact_details", "response.contact_deleted", a.post(
        page + "/contact/delete", data={"csrf_token": token(a, page + "/contact/delete"), "confirm": "y"}))
    log.expect("staff.delete_response", "response.deleted", a.post(page + "/delete", data={
        "csrf_token": token(a, page + "/delete"), "confirm": "y"}))
    page = f"/staff/campaigns/{project['campaign_id']}/delete"
    log.expect("staff.delete_campaign", "campaign.deleted", a.post(page, data={
        "csrf_token": token(a, page), "confirm": "y"}))
    assert one(app, sa.select(sa.func.count()).select_from(Response)) == 0
    assert one(app, sa.select(sa.func.count()).select_from(Theme)) == 0

    log.expect("auth.logout", "auth.signed_out", a.post("/logout", data={
        "csrf_token": token(a, "/staff/")}))

    # Every state-changing route was exercised above or is listed as not a person's change.
    routes = state_changing_endpoints(app)
    assert routes - log.covered - set(NOT_A_PERSONS_CHANGE) == set()
    assert set(NOT_A_PERSONS_CHANGE) <= routes, "a listed route no longer exists"
    assert not log.covered & set(NOT_A_PERSONS_CHANGE)
    assert {"staff.job_download", "staff.export_campaign", "staff.audit_csv"} <= log.covered


def test_the_enumeration_notices_a_route_it_does_not_know(app):
    """A new POST route without an entry would fail the test above."""
    routes = state_changing_endpoints(app)
    assert "staff.create_campaign" in routes and "surveys.page" in routes
    app.add_url_rule("/staff/new-thing", "staff.new_thing", lambda: "", methods=["POST"])
    assert "staff.new_thing" in state_changing_endpoints(app) - routes
