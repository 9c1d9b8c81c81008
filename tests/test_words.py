"""Words, not codes, on the staff pages (issue 23 item 5): questionnaires by title,
languages by name, roles and response statuses in words, the audit log's actions and
details readable ("k: None", "kinds: ['roster_name']" were on the page).

One demo project (`surveyapp demo seed`), with a partner added and the events the issue
quotes recorded by their operations; then every page is read as a person reads it: its
visible text (attribute values and the values of options are for machines, not people).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import Campaign, FocusGroup, InstrumentVersion, Response, Segment, User
from surveyapp.operations import audit
from tests.helpers import login

ROLES = ("admin", "facilitator", "analyst", "partner")
STATUSES = ("complete", "partial", "all")
ACTION = re.compile(r"\b(?:auth|user|project|site|campaign|instrument|response|export|audit|"
                    r"session|segment|theme|codebook|results|retention|database|demo)\.[a-z_]+\b")


class _Visible(HTMLParser):
    """The text nodes a reader sees, each with the tag it sits in."""

    def __init__(self):
        super().__init__()
        self.nodes: list[tuple[str, str]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("br", "input", "meta", "link", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        # A textarea holds what the user edits (the wave list as stored), not words for them.
        if data.strip() and not {"script", "style", "title", "textarea"} & set(self.stack):
            self.nodes.append((self.stack[-1] if self.stack else "", data.strip()))


def visible(html: str) -> list[tuple[str, str]]:
    parser = _Visible()
    parser.feed(html)
    return parser.nodes


def codes_shown(html: str, instrument_ids, languages) -> list[str]:
    """Every code a person would read on the page."""
    found = []
    language = "|".join(sorted(languages))
    language_list = re.compile(rf"(?<![\w-])(?:{language})(?:, (?:{language}))+(?![\w-])")
    for tag, text in visible(html):
        found += [f"instrument id {i!r} in {text!r}" for i in instrument_ids if i in text]
        found += [f"action {m!r}" for m in ACTION.findall(text)]
        if re.search(r"\bNone\b|\['|\bk: ", text):
            found.append(f"raw value in {text!r}")
        found += [f"kind of personal data in {text!r}" for kind in
                  ("roster_name", "capitalised_name") if kind in text]
        if text in languages or language_list.search(text):
            found.append(f"language codes {text!r}")
        if tag == "option" and text in STATUSES:
            found.append(f"status option {text!r}")
        # Short cells and labels only: prose ("an analyst") may name a role in words.
        if len(text) < 30 and re.fullmatch(rf"[,\s]*(?:{'|'.join(ROLES)})\s*", text):
            found.append(f"role code {text!r}")
        if "follow-up 1" in text or text == "baseline" or "all sites" in text:
            found.append(f"wave or site code {text!r}")
    return found


@pytest.fixture
def demo(app, runner):
    """The demo project, a partner in it, and the events issue 23 quotes (a redaction of a
    roster name, a theme run whose k was chosen by the engine) recorded as the operations
    record them."""
    assert runner.invoke(args=["demo", "seed", "--responses", "4"]).exit_code == 0
    created = runner.invoke(args=["users", "create", "pat@example.org", "--role", "partner",
                                  "--project", "Demo project", "--password-stdin"],
                            input="a partner's password\n")
    assert created.exit_code == 0, created.output
    with app.app_context():
        segment = db.session.scalar(sa.select(Segment).limit(1))
        project = operations.staff.project_by_name(operations.demo.DEMO_PROJECT)

        def work():
            if segment is not None:
                operations.focus_groups.redact_segment(segment, segment.text, kinds=["roster_name"],
                                                       actor="cli")
            # What store_run records when the engine chose k itself (k is None then).
            audit.record("theme.run", actor="cli", project_id=project.id, target_type="theme_run",
                         target_id=1, details={"source": "question:1:*:community-capacity:safer_ideas",
                                               "k": None, "texts": 12})
        operations.transaction(work)
        campaign = db.session.scalar(sa.select(Campaign).where(
            Campaign.instrument_id == "community-capacity").order_by(Campaign.id))
        response = db.session.scalar(sa.select(Response).where(Response.campaign_id == campaign.id))
        ids = {"project": project.id, "campaign": campaign.id, "response": response.id,
               "user": db.session.scalar(sa.select(User.id).where(User.email == "pat@example.org")),
               "focus_group": db.session.scalar(sa.select(FocusGroup.id)),
               "prompt": segment.prompt_id if segment is not None else None}
        instrument_ids = set(db.session.scalars(sa.select(InstrumentVersion.instrument_id)))
        languages = {code for version in db.session.scalars(sa.select(InstrumentVersion))
                     for code in _languages(version)}
    email, password = (Path(app.instance_path) / "demo-login.txt").read_text().split()[:2]
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client, ids, instrument_ids, languages


def _languages(version):
    from surveyapp.queries.instruments import instrument_of
    return instrument_of(version).languages


PAGES = {
    "home": "/staff/",
    "campaigns": "/staff/campaigns",
    "campaign": "/staff/campaigns/{campaign}",
    "responses": "/staff/campaigns/{campaign}/responses",
    "response": "/staff/campaigns/{campaign}/responses/{response}",
    "results": "/staff/campaigns/{campaign}/results",
    "project": "/staff/projects/{project}",
    "project export": "/staff/projects/{project}/export",
    "sites": "/staff/sites",
    "users": "/staff/users",
    "user": "/staff/users/{user}",
    "audit log": "/staff/audit",
    "themes summary": "/staff/projects/{project}/themes/summary",
}


@pytest.mark.parametrize("page", PAGES)
def test_the_page_shows_words_not_codes(demo, page):
    client, ids, instrument_ids, languages = demo
    reply = client.get(PAGES[page].format(**ids))
    assert reply.status_code == 200
    assert codes_shown(reply.text, instrument_ids, languages) == []


def test_the_words_are_the_right_ones(demo):
    """What replaced the codes: a partner reads as a partner (it read "Analyst" on the
    project page), the redaction and the theme run as sentences, languages by name."""
    client, ids, _instrument_ids, _languages = demo
    project = client.get(f"/staff/projects/{ids['project']}").text
    row = project[project.index("pat@example.org"):].split("</tr>")[0]
    assert "Partner (aggregates only)" in row
    log = client.get("/staff/audit").text
    assert "Personal data replaced" in log and "name in the roster" in log
    # The prompt by its words, not its id (the guide's prompt ids are codes too).
    assert ids["prompt"] and ids["prompt"] not in " ".join(text for _tag, text in visible(log))
    assert "Prompt: " in log
    assert "Themes found" in log and "Texts: 12" in log and "Number of themes" not in log
    assert "Account created" in log and "Roles: Partner (aggregates only)" in log
    # The action filter offers the actions in words; choosing one keeps only its events.
    assert '<option value="segment.redacted">Personal data replaced</option>' in log
    narrowed = client.get("/staff/audit?action=segment.redacted").text
    assert "Personal data replaced" in narrowed and "Account created</td>" not in narrowed
    assert '<option value="segment.redacted" selected>' in narrowed
    export = client.get(f"/staff/projects/{ids['project']}/export").text
    assert re.search(r'<option[^>]*value="ar"[^>]*>Arabic</option>', export)
    # In French, the same languages by their French names.
    french = client.get(f"/staff/projects/{ids['project']}/export?lang=fr").text
    assert re.search(r'<option[^>]*value="ar"[^>]*>Arabe</option>', french)


def test_a_code_on_a_page_is_found():
    """The check itself can fail: each kind of code it looks for, planted in a page."""
    page = ("<p>community-capacity</p><td>campaign.created</td><td>k: None</td>"
            "<td>kinds: ['roster_name']</td><option value='ar'>ar</option><p>ar, en, es</p>"
            "<select><option>complete</option></select><td>partner</td><td>follow-up 1</td>")
    found = codes_shown(page, {"community-capacity"}, {"ar", "en", "es"})
    assert len(found) >= 9, found
    assert codes_shown("<p lang='ar' title='community-capacity'>Arabic</p>",
                       {"community-capacity"}, {"ar"}) == []
