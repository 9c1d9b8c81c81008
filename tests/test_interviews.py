"""Interviews beside focus groups: the new-session form offers the rows filled in (and one
more on request, without JavaScript), waves and languages in words; an interview has one
participant and goes through transcription, redaction, themes and the export."""
from __future__ import annotations

import io
import re

import openpyxl
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from surveyapp import queries
from surveyapp.extensions import db
from surveyapp.models import FocusGroup
from surveyapp.queries import export
from surveyapp.queries.themes import Source
from tests.helpers import (elements, form_fields, hidden, login, make_user, prompt_url, quick,
                           segments)

NEW = "/staff/focus-groups/new"
INTERVIEW = "programme-interview"
REAL_NAME = "Amina Hassan"


def pseudonyms(html: str) -> list[str]:
    return [e.get("value", "") for e in elements(html) if e.get("name", "").endswith("-pseudonym")]


def options(html: str, select_id: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select)


def new_session_data(page: str, guide: str, rows: dict[int, dict], **extra) -> MultiDict:
    site_id = re.search(r'<option[^>]*value="(\d+)"[^>]*>Riverside<', page).group(1)
    data = MultiDict({"csrf_token": hidden(page, "csrf_token"), "kind": hidden(page, "kind"),
                      "guide": guide, "site": site_id, "wave": "baseline", "held_on": "2026-11-20",
                      "place": "Library", "language": "en", "consent_given": "y", **extra})
    for index, row in rows.items():
        for name, value in row.items():
            data[f"participants-{index}-{name}"] = value
    return data


def test_the_focus_group_form_offers_two_rows_and_adds_one_without_javascript(app, facilitator):
    page = facilitator.get(NEW).text
    assert pseudonyms(page) == ["P1", "P2"]          # not P1 to P12
    assert 'name="add_row"' in page and re.search(r'src="/static/roster\.[0-9a-f]+\.js"', page)
    # Waves from the project's list, in words; languages by name; age bands in words.
    assert options(page, "wave") == [("baseline", "Baseline"), ("follow-up 1", "Follow-up 1")]
    assert ("ar", "العربية") in options(page, "language") and ("en", "English") in options(page, "language")
    assert ("under-18", "Under 18") in options(page, "participants-0-age_band")
    assert ">under-18<" not in page and ">65+<" not in page

    typed = new_session_data(page, "mini-guide", {
        0: {"pseudonym": "P1", "real_name": REAL_NAME, "age_band": "18-24"},
        1: {"pseudonym": "P2", "role": "youth"}}, add_row="1", consent_note="Read in English")
    again = facilitator.post(NEW, data=typed)
    assert again.status_code == 200
    assert pseudonyms(again.text) == ["P1", "P2", "P3"]
    fields = {e["name"]: e for e in elements(again.text) if e.get("name")}
    assert fields["participants-0-real_name"]["value"] == REAL_NAME
    assert fields["place"]["value"] == "Library"
    assert '<option selected value="18-24">' in again.text
    assert '<option selected value="youth">' in again.text
    assert "Read in English" in again.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FocusGroup)) == 0

    # The longer form saves all three rows.
    created = facilitator.post(NEW, data=new_session_data(again.text, "mini-guide", {
        0: {"pseudonym": "P1"}, 1: {"pseudonym": "P2"}, 2: {"pseudonym": "P3", "age_band": "65+"}}))
    assert created.status_code == 302
    session_page = facilitator.get(created.headers["Location"]).text
    assert "<td>65 and over</td>" in session_page and "<dd>Focus group</dd>" in session_page


def test_a_wave_not_of_the_sites_project_is_refused(app, facilitator):
    page = facilitator.get(NEW).text
    reply = facilitator.post(NEW, data=new_session_data(page, "mini-guide", {0: {"pseudonym": "P1"}},
                                                        wave="follow-up"))
    assert reply.status_code == 422 and "Not a valid choice" in reply.text


def create_interview(client, **row):
    page = client.get(NEW + "?kind=interview").text
    reply = client.post(NEW, data=new_session_data(page, INTERVIEW, {0: {"pseudonym": "P1", **row}},
                                                   **{"language": "en"}))
    assert reply.status_code == 302, reply.text[:2000]
    return int(reply.headers["Location"].rstrip("/").split("/")[-1])


def test_the_interview_form_offers_one_row_and_refuses_two(app, facilitator):
    page = facilitator.get(NEW + "?kind=interview").text
    assert "New interview" in page and pseudonyms(page) == ["P1"]
    assert "Language of the interview" in page and "Language of the discussion" not in page
    assert 'name="add_row"' not in page
    assert [value for value, _label in options(page, "guide")] == [INTERVIEW]
    assert ("so", "Soomaali") in options(page, "language")
    reply = facilitator.post(NEW, data=new_session_data(page, INTERVIEW, {
        0: {"pseudonym": "P1"}, 1: {"pseudonym": "P2"}}))
    assert reply.status_code == 422
    assert "An interview has one participant." in reply.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FocusGroup)) == 0
    # A focus-group guide is not offered on the interview form (nor taken from a post).
    reply = facilitator.post(NEW, data=new_session_data(page, "mini-guide", {0: {"pseudonym": "P1"}}))
    assert reply.status_code == 422


def test_an_interview_is_told_apart_and_keeps_its_one_participant(app, facilitator):
    interview = create_interview(facilitator, role="programme_staff")
    page = facilitator.get(f"/staff/focus-groups/{interview}").text
    assert "<dd>Interview</dd>" in page and "Interview questions" in page
    assert "<dt>Interviewer</dt>" in page and "given by the person interviewed" in page
    assert "<td>Programme staff or volunteer</td>" in page
    assert "/participants" not in page     # no "Add a participant" on a full interview
    refused = facilitator.post(f"/staff/focus-groups/{interview}/participants", data={
        "csrf_token": hidden(page, "csrf_token"), "pseudonym": "P2"})
    assert refused.status_code == 422 and "An interview has one participant." in refused.text
    # A transcript line by someone else is not added to the roster, even when asked to.
    reply = quick(facilitator, interview, "F1: Hello.\nP2: I am here too.", add_unknown="y")
    assert reply.status_code == 422 and "An interview has one participant." in reply.text
    assert "\u2068P2\u2069 is not in the roster" in reply.text
    with app.app_context():
        assert [p.label for p in db.session.get(FocusGroup, interview).participants] == ["P1"]
    assert segments(app, interview) == []

    # The navigation and the list tell interviews and focus groups apart.
    from tests.helpers import create_session
    create_session(facilitator, roster=("P1", "P2"))
    nav = facilitator.get("/staff/").text
    assert 'href="/staff/focus-groups/?kind=interview"' in nav
    assert 'href="/staff/focus-groups/?kind=focus_group"' in nav
    listed = {kind: facilitator.get(f"/staff/focus-groups/?kind={kind}").text
              for kind in ("interview", "focus_group", "")}
    assert listed["interview"].count("<td>Interview</td>") == 1
    assert "<td>Focus group</td>" not in listed["interview"]
    assert listed["focus_group"].count("<td>Focus group</td>") == 1
    assert "<td>Interview</td>" not in listed["focus_group"]
    assert listed[""].count('<tr><td><a href="/staff/focus-groups/') == 2


WORDS = [
    "The mentoring sessions gave my son somewhere to go after school.",
    "My son now talks to the youth worker every week, and he is calmer at home.",
    "The youth club and the mentoring helped the young people on our street.",
    "After school the young people have the mentoring, so fewer of them hang around.",
    f"I called {REAL_NAME} at the council twice and nobody came back to me.",
    "The council still does not answer when we report the broken lights.",
    "The street lights near the park are still broken, the council was told.",
    "We reported the lights to the council and nothing changed in a year.",
]


def test_an_interview_goes_through_transcription_redaction_themes_and_export(app, facilitator):
    interview = create_interview(facilitator, real_name=REAL_NAME, age_band="35-44", role="resident")
    url = prompt_url(interview, "what_changed")
    assert "What, if anything, has changed for you" in facilitator.get(url).text
    lines = "\n".join(["F1: What has changed for you?"] + [f"P1: {text}" for text in WORDS])
    page = facilitator.get(url).text
    saved = facilitator.post(url + "/quick", data={**form_fields(page, "/quick"), "lines": lines})
    assert saved.status_code == 302
    assert [s[1] for s in segments(app, interview)] == ["F1"] + ["P1"] * len(WORDS)

    # Redaction finds the interviewee's real name, and finalising follows.
    redact = facilitator.get(f"/staff/focus-groups/{interview}/redact").text
    keys = [e["value"] for e in elements(redact) if e.get("name") == "redact"]
    assert keys and REAL_NAME in redact
    form = MultiDict({"csrf_token": hidden(redact, "csrf_token"), "redact": keys[0]})
    for element in elements(redact):
        if element.get("name", "").startswith("seen-"):
            form[element["name"]] = element["value"]
    assert facilitator.post(f"/staff/focus-groups/{interview}/redact", data=form).status_code == 302
    assert not [s for s in segments(app, interview) if REAL_NAME in s[2]]
    finalise = facilitator.get(f"/staff/focus-groups/{interview}").text
    assert facilitator.post(f"/staff/focus-groups/{interview}/finalise", data={
        "csrf_token": hidden(finalise, "csrf_token"), "reviewed": "1"}).status_code == 302

    with app.app_context():
        focus_group = db.session.get(FocusGroup, interview)
        assert focus_group.status == "finalised"
        project_id = focus_group.project_id
        # Themes of the interview's prompt, over its segments (as the analysis page runs them).
        source = Source("prompt", project_id, INTERVIEW, "what_changed")
        items = queries.themes.source_items(source)
        assert len(items) == len(WORDS) + 1 and {i.site for i in items} == {"Riverside"}
        assert all(REAL_NAME not in i.text for i in items)
        assert items[1].answers == {"age_band": "35-44", "role": "resident"}

    # An analyst themes the interview's prompt on the analysis page, as a focus group's.
    make_user(app, "analyst@example.org", "analyst")
    analyst = app.test_client()
    assert login(analyst, "analyst@example.org").status_code == 302
    url = f"/staff/projects/{project_id}/themes/{INTERVIEW}/what_changed"
    page = analyst.get(url)
    assert page.status_code == 200 and f"{len(WORDS) + 1} texts" in page.text
    assert analyst.post(url + "/run", data={"csrf_token": hidden(page.text, "csrf_token"),
                                            "k": "2"}).status_code == 302
    with app.app_context():
        assert len(queries.themes.themes_of(source)) == 2
        assert len(queries.themes.effective_themes(source)) == len(items)

        # The export: an Interviews sheet with its segments; none in Focus groups.
        stream = io.BytesIO()
        result = export.write_export(export.ExportFilters(
            instrument_id="community-capacity", project_id=project_id), stream)
    assert result.rows["Interviews"] == len(WORDS) + 1 and result.rows.get("Focus groups", 0) == 0
    book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)
    rows = list(book["Interviews"].iter_rows(values_only=True))
    records = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert {r["guide"] for r in records} == {INTERVIEW} and {r["prompt_id"] for r in records} == {"what_changed"}
    assert [r["speaker"] for r in records] == ["F1"] + ["P1"] * len(WORDS)
    assert records[1]["age_band"] == "35-44" and REAL_NAME not in str(records)
    assert list(book["Focus groups"].iter_rows(values_only=True))[1:] == []
    themes_sheet = [row for row in book["Themes"].iter_rows(values_only=True)]
    assert any("What, if anything, has changed for you" in str(row) for row in themes_sheet)
    about = dict(row[:2] for row in book["About"].iter_rows(values_only=True))
    assert about["interview segments"] == len(WORDS) + 1


def test_the_command_line_names_an_interview_guide_as_such(app, runner, tmp_path):
    themes = runner.invoke(args=["themes", INTERVIEW, "--question", "trust"])
    assert themes.exit_code == 1
    assert "programme-interview is a interview guide" not in themes.output
    assert ("programme-interview is an interview guide: give --prompt, one of programme_role, "
            "what_changed, trust, what_should_change") in " ".join(themes.output.split())
    xlsform = runner.invoke(args=["instruments", "export-xlsform", INTERVIEW, "-o", str(tmp_path / "x.xlsx")])
    assert xlsform.exit_code == 1
    assert "is an interview guide; only questionnaires become XLSForms" in xlsform.output


def test_the_interview_form_in_french(app, facilitator):
    page = facilitator.get(NEW + "?kind=interview&lang=fr").text
    assert "Nouvel entretien" in page and "La personne interrogée" in page
    assert ("under-18", "Moins de 18 ans") in options(page, "participants-0-age_band")
    assert ("fr", "Français") in options(page, "language")
