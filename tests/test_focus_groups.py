"""Focus groups through the web: sessions, roster, segments, quick entry, imports, notes,
nothing lost to an expired token or login, redaction, finalising, filtering."""
from __future__ import annotations

import io
import re
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import FocusGroup, Participant, PromptNote, Segment
from tests.helpers import create_session, elements, form_fields, hidden, import_file, login, make_user, prompt_url, quick, segments


def test_create_session_with_roster_and_facilitator(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2"))
    with app.app_context():
        session = db.session.get(FocusGroup, session_id)
        assert [p.label for p in session.participants] == ["P1", "P2"]
        assert [u.email for u in session.facilitators] == ["fac@example.org"]
        assert session.consent_given and session.place == "Library" and session.status == "draft"
    page = facilitator.get(f"/staff/focus-groups/{session_id}")
    assert "What builds trust with the police?" in page.text


def test_add_edit_move_delete_segments(app, facilitator):
    session_id = create_session(facilitator)
    for speaker, text in (("P1", "first"), ("P2", "second"), ("F1", "third")):
        page = facilitator.get(prompt_url(session_id))
        fields = form_fields(page.text, "/segments")
        reply = facilitator.post(prompt_url(session_id) + "/segments", data={
            **fields, "speaker": speaker, "text": text, "clock": "00:01:02"})
        assert reply.status_code == 302
    assert [s[2] for s in segments(app, session_id)] == ["first", "second", "third"]
    with app.app_context():
        ids = db.session.scalars(sa.select(Segment.id).order_by(Segment.position)).all()
    page = facilitator.get(prompt_url(session_id))
    token = hidden(page.text, "csrf_token")
    facilitator.post(f"/staff/focus-groups/{session_id}/segments/{ids[2]}/up", data={"csrf_token": token})
    assert [s[2] for s in segments(app, session_id)] == ["first", "third", "second"]
    facilitator.post(f"/staff/focus-groups/{session_id}/segments/{ids[0]}/delete", data={"csrf_token": token})
    assert [s[2] for s in segments(app, session_id)] == ["third", "second"]
    edit = facilitator.get(prompt_url(session_id) + f"?edit={ids[1]}")
    reply = facilitator.post(f"/staff/focus-groups/{session_id}/segments/{ids[1]}", data={
        "csrf_token": hidden(edit.text, "csrf_token"), "speaker": "P3", "text": "second, edited",
        "clock": "1:00:05"})
    assert reply.status_code == 302
    assert ("trust", "P3", "second, edited", 3605) in segments(app, session_id)


def test_the_same_segment_form_posted_twice_saves_once(app, facilitator):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id))
    data = {**form_fields(page.text, "/segments"), "speaker": "P1", "text": "only once"}
    facilitator.post(prompt_url(session_id) + "/segments", data=data)
    facilitator.post(prompt_url(session_id) + "/segments", data=data)
    assert len(segments(app, session_id)) == 1


TRANSCRIPT = "\r\n".join([
    "[00:00:05] F1: Thank you all for coming.",
    "P1: I moved here ten years ago.",
    "It used to be quieter.",
    "",
    "P2: The youth club closed last year.",
    "[00:03:10] P9: Nobody told us why.",
])


def test_quick_entry_with_an_unknown_speaker_is_flagged_then_fixed(app, facilitator):
    session_id = create_session(facilitator)
    reply = quick(facilitator, session_id, TRANSCRIPT)
    assert reply.status_code == 422
    assert "Line 6: \u2068P9\u2069 is not in the roster." in reply.text  # the label isolated
    assert "It used to be quieter." in reply.text  # the text comes back untouched
    assert segments(app, session_id) == []  # nothing saved while a speaker is unknown

    fixed = quick(facilitator, session_id, TRANSCRIPT.replace("P9:", "P3:"))
    assert fixed.status_code == 302
    assert segments(app, session_id) == [
        ("trust", "F1", "Thank you all for coming.", 5),
        ("trust", "P1", "I moved here ten years ago.\nIt used to be quieter.", None),
        ("trust", "P2", "The youth club closed last year.", None),
        ("trust", "P3", "Nobody told us why.", 190),
    ]


def test_quick_entry_can_add_unknown_speakers_to_the_roster(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2"))
    reply = quick(facilitator, session_id, "P1: yes\nP7: me too", add_unknown="y")
    assert reply.status_code == 302
    with app.app_context():
        labels = db.session.scalars(sa.select(Participant.label).where(
            Participant.session_id == session_id).order_by(Participant.id)).all()
    assert labels == ["P1", "P2", "P7"]
    assert [s[1] for s in segments(app, session_id)] == ["P1", "P7"]


def test_quick_entry_posted_twice_saves_once(app, facilitator):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id))
    data = {**form_fields(page.text, "/quick"), "lines": "P1: one\nP2: two"}
    facilitator.post(prompt_url(session_id) + "/quick", data=data)
    facilitator.post(prompt_url(session_id) + "/quick", data=data)
    assert len(segments(app, session_id)) == 2


VTT = """WEBVTT

NOTE exported from the call

00:00:01.000 --> 00:00:04.000
<v F1>Welcome, everyone.

00:00:04.500 --> 00:00:09.000
<v P2>I think the <i>mediation</i> helped &amp; it was fair.

00:00:09.000 --> 00:00:12.000
<v P2>We talk to each other now.
"""


@pytest.mark.parametrize("name, content, expected", [
    ("call.vtt", VTT, [("F1", "Welcome, everyone.", 1),
                       ("P2", "I think the mediation helped & it was fair. We talk to each other now.", 4)]),
    ("notes.txt", "P1: From a file.\ncontinued here", [("P1", "From a file.\ncontinued here", None)]),
])
def test_import_a_file(app, facilitator, name, content, expected):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id))
    fields = form_fields(page.text, "/import")
    reply = facilitator.post(prompt_url(session_id) + "/import", data={
        **fields, "file": (io.BytesIO(content.encode("utf-8-sig")), name)},
        content_type="multipart/form-data")
    assert reply.status_code == 302, reply.text[:2000]
    assert [s[1:] for s in segments(app, session_id)] == expected


def test_a_file_that_is_not_webvtt_is_refused_clearly(facilitator):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id))
    reply = facilitator.post(prompt_url(session_id) + "/import", data={
        **form_fields(page.text, "/import"), "file": (io.BytesIO(b"hello"), "call.vtt")},
        content_type="multipart/form-data")
    assert reply.status_code == 422 and "not a WebVTT file" in reply.text


def test_notes_per_prompt(app, facilitator):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id, "youth"))
    facilitator.post(prompt_url(session_id, "youth") + "/notes", data={
        **form_fields(page.text, "/notes"), "notes": "Two participants left early."})
    with app.app_context():
        assert db.session.get(PromptNote, (session_id, "youth")).text == "Two participants left early."


def test_expired_csrf_token_brings_the_text_back(app, facilitator):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id))
    fields = form_fields(page.text, "/segments")
    fields["csrf_token"] = "expired-or-forged"
    reply = facilitator.post(prompt_url(session_id) + "/segments", data={
        **fields, "speaker": "P1", "text": "A long answer typed during the discussion."})
    assert reply.status_code == 422
    assert "A long answer typed during the discussion.</textarea>" in reply.text
    fresh = hidden(reply.text, "csrf_token")
    assert fresh != "expired-or-forged"
    assert segments(app, session_id) == []


def test_expired_login_holds_the_text_until_signing_back_in(app, facilitator):
    session_id = create_session(facilitator)
    page = facilitator.get(prompt_url(session_id))
    fields = form_fields(page.text, "/quick")
    with facilitator.session_transaction() as cookie:  # the login runs out
        for key in [k for k in cookie if k.startswith("_")]:
            del cookie[key]
    reply = facilitator.post(prompt_url(session_id) + "/quick", data={
        **fields, "lines": "P1: typed while signed out"})
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    back = login(facilitator, "fac@example.org", next_url=prompt_url(session_id))
    assert back.headers["Location"].endswith(prompt_url(session_id))
    page = facilitator.get(prompt_url(session_id))
    assert "P1: typed while signed out</textarea>" in page.text
    assert segments(app, session_id) == []  # shown again, saved only when sent


def test_redaction_assist_finds_and_replaces(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2"), real_names=("Amina Hassan",))
    quick(facilitator, session_id, "P1: Call me on +44 20 7946 0000 or amina@example.org.\n"
                                   "P2: Amina said we met Officer Daniel Brooks at the market.")
    page = facilitator.get(f"/staff/focus-groups/{session_id}/redact")
    found = re.findall(r'name="redact" value="([^"]+)"', page.text)
    texts = re.findall(r"<mark dir=\"auto\">([^<]+)</mark>", page.text)
    assert {"+44 20 7946 0000", "amina@example.org", "Amina", "Daniel Brooks"} <= set(texts)
    seen = [(e["name"], e["value"]) for e in elements(page.text) if e.get("name", "").startswith("seen-")]
    reply = facilitator.post(f"/staff/focus-groups/{session_id}/redact", data=MultiDict(
        [("csrf_token", hidden(page.text, "csrf_token"))] + [("redact", key) for key in found] + seen))
    assert reply.status_code == 302
    said = [s[2] for s in segments(app, session_id)]
    assert said == ["Call me on [redacted] or [redacted].",
                    "P1 said we met Officer [redacted] at the market."]


def test_finalised_session_is_read_only_except_to_admins(app, facilitator):
    session_id = create_session(facilitator)
    quick(facilitator, session_id, "P1: before")
    page = facilitator.get(f"/staff/focus-groups/{session_id}")
    facilitator.post(f"/staff/focus-groups/{session_id}/finalise", data={"csrf_token": hidden(page.text, "csrf_token")})
    token = hidden(facilitator.get(prompt_url(session_id)).text, "csrf_token")
    refused = facilitator.post(prompt_url(session_id) + "/quick", data={"csrf_token": token, "lines": "P1: after"})
    assert refused.status_code == 403
    assert "Save segment" not in facilitator.get(prompt_url(session_id)).text

    make_user(app, "boss@example.org", "admin")
    admin = app.test_client()
    login(admin, "boss@example.org")
    assert quick(admin, session_id, "P2: admin correction").status_code == 302
    assert [s[2] for s in segments(app, session_id)] == ["before", "admin correction"]


def test_analyst_reads_but_cannot_write(app, facilitator):
    session_id = create_session(facilitator)
    make_user(app, "ana@example.org", "analyst")
    analyst = app.test_client()
    login(analyst, "ana@example.org")
    assert analyst.get(prompt_url(session_id)).status_code == 404  # a draft: not redacted yet
    with app.app_context():
        operations.transaction(lambda: operations.focus_groups.finalise_focus_group(
            db.session.get(FocusGroup, session_id)))
    assert analyst.get(prompt_url(session_id)).status_code == 200
    assert analyst.post(prompt_url(session_id) + "/quick", data={"lines": "P1: x"}).status_code == 403


def test_sessions_are_filtered_by_site_wave_and_guide(app, facilitator):
    create_session(facilitator, wave="baseline")
    create_session(facilitator, wave="follow-up 1")
    listing = facilitator.get("/staff/focus-groups/?wave=follow-up+1").text
    assert listing.count('<tr><td><a href="/staff/focus-groups/') == 1
    assert facilitator.get("/staff/focus-groups/?guide=mini-guide").text.count('<tr><td><a href="/staff') == 2
    assert '<tr><td><a href="/staff' not in facilitator.get("/staff/focus-groups/?guide=nothing").text


def test_session_details_use_the_guides_fields(app, facilitator):
    session_id = create_session(facilitator)
    url = f"/staff/focus-groups/{session_id}/details"
    page = facilitator.get(url)
    refused = facilitator.post(url, data={"csrf_token": hidden(page.text, "csrf_token"),
                                          "participants_count": "400"})
    assert refused.status_code == 422 and 'id="e-participants_count"' in refused.text
    facilitator.post(url, data={"csrf_token": hidden(page.text, "csrf_token"), "participants_count": "9"})
    with app.app_context():
        assert db.session.get(FocusGroup, session_id).fields == {"participants_count": 9}


def test_finalising_shows_likely_personal_data_first(app, facilitator):
    session_id = create_session(facilitator)
    quick(facilitator, session_id, "P1: write to me at p1@example.org")
    page = facilitator.get(f"/staff/focus-groups/{session_id}")
    token = hidden(page.text, "csrf_token")
    reply = facilitator.post(f"/staff/focus-groups/{session_id}/finalise", data={"csrf_token": token})
    assert reply.headers["Location"].endswith(f"/staff/focus-groups/{session_id}/redact")
    with app.app_context():
        assert db.session.get(FocusGroup, session_id).status == "draft"
    review = facilitator.get(f"/staff/focus-groups/{session_id}/redact")
    assert "p1@example.org" in review.text and 'name="reviewed" value="1"' in review.text
    facilitator.post(f"/staff/focus-groups/{session_id}/finalise",
                     data={"csrf_token": hidden(review.text, "csrf_token"), "reviewed": "1"})
    with app.app_context():
        assert db.session.get(FocusGroup, session_id).status == "finalised"


def roster_of(app, session_id):
    with app.app_context():
        return [(p.label, p.real_name) for p in db.session.scalars(sa.select(Participant).where(
            Participant.session_id == session_id).order_by(Participant.id))]


def test_a_moderator_line_is_flagged_not_credited_to_the_previous_speaker(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2"))
    reply = quick(facilitator, session_id, "P1: I moved here.\nModerator: Shall we go on?")
    assert reply.status_code == 422
    assert "Line 2: \u2068MODERATOR\u2069 is not in the roster." in reply.text
    assert segments(app, session_id) == []
    assert "“Moderator:”" in reply.text   # the hint says what counts as a speaker
    added = quick(facilitator, session_id, "P1: I moved here.\nModerator: Shall we go on?",
                  add_unknown="y")
    assert added.status_code == 302
    assert [s[1:3] for s in segments(app, session_id)] == [("P1", "I moved here."),
                                                           ("MODERATOR", "Shall we go on?")]


CALL_WITH_NAMES = """WEBVTT

00:00:01.000 --> 00:00:03.000
<v Amina Yusuf>We never see them.

00:00:04.000 --> 00:00:06.000
<v Guest Speaker>I came with my sister.

00:00:07.000 --> 00:00:09.000
<v amina>Not since the club closed.
"""


def test_webvtt_real_names_map_to_pseudonyms_and_are_never_shown(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2", "P3"),
                                real_names=("", "", "Amina Yusuf"))
    reply = import_file(facilitator, session_id, "call.vtt", CALL_WITH_NAMES)
    assert reply.status_code == 422
    assert "amina" not in reply.text.lower()          # not as a voice, a label or a line
    assert "Line 2: \u2068GUEST SPEAKER\u2069 is not in the roster." in reply.text
    shown = re.search(r'<textarea[^>]*name="lines"[^>]*>\n?(.*?)</textarea>', reply.text, re.S).group(1)
    shown = shown.strip()
    assert shown.splitlines() == ["[00:00:01] P3: We never see them.",
                                  "[00:00:04] GUEST SPEAKER: I came with my sister.",
                                  "[00:00:07] P3: Not since the club closed."]
    # The converted lines, sent with "add the speakers", save at once.
    again = quick(facilitator, session_id, shown.replace("&#39;", "'"), add_unknown="y")
    assert again.status_code == 302
    assert [s[1] for s in segments(app, session_id)] == ["P3", "P4", "P3"]
    assert roster_of(app, session_id)[-1] == ("P4", "Guest Speaker")   # a name, kept to hide it


def test_the_import_form_can_add_speakers_not_in_the_roster(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2", "P3"),
                                real_names=("", "", "Amina Yusuf"))
    reply = import_file(facilitator, session_id, "call.vtt", CALL_WITH_NAMES, add_unknown="y")
    assert reply.status_code == 302, reply.text[:2000]
    assert [s[1:] for s in segments(app, session_id)] == [
        ("P3", "We never see them.", 1), ("P4", "I came with my sister.", 4),
        ("P3", "Not since the club closed.", 7)]
    assert [label for label, _ in roster_of(app, session_id)] == ["P1", "P2", "P3", "P4"]


def test_with_add_unknown_ticked_the_error_names_the_real_problem(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2"))
    reply = quick(facilitator, session_id, "P1: yes\n[99:99:99] P7: me too", add_unknown="y")
    assert reply.status_code == 422
    assert "Line 2: the time cannot be read." in reply.text
    assert "is not in the roster." not in reply.text
    assert "tick the box" not in reply.text
    assert segments(app, session_id) == []


LARGE_PASTE_LINES = 30_000


def test_a_30000_line_paste_is_saved_within_the_request(app, facilitator):
    """Under the request size limit, a whole session pasted at once saves (no 500, no
    timeout) and the prompt page stays a bounded size, paginated."""
    session_id = create_session(facilitator, roster=("P1", "P2"))
    lines = "\n".join(f"P{1 + n % 2}: line {n}" for n in range(LARGE_PASTE_LINES))
    reply = quick(facilitator, session_id, lines)
    assert reply.status_code == 302, reply.text[:500]
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Segment).where(
            Segment.session_id == session_id))
        last = db.session.scalar(sa.select(Segment).where(Segment.session_id == session_id)
                                 .order_by(Segment.position.desc()).limit(1))
    assert count == LARGE_PASTE_LINES
    assert (last.speaker, last.text, last.position) == ("P2", f"line {LARGE_PASTE_LINES - 1}",
                                                        LARGE_PASTE_LINES)
    page = facilitator.get(prompt_url(session_id))
    assert page.status_code == 200 and len(page.data) < 300_000
    assert "line 0<" in page.text and f"line {LARGE_PASTE_LINES - 1}<" not in page.text
    last_page = facilitator.get(prompt_url(session_id) + "?page=last")
    assert len(last_page.data) < 300_000 and f"line {LARGE_PASTE_LINES - 1}<" in last_page.text


def test_redaction_reports_what_it_could_not_apply(app, facilitator):
    session_id = create_session(facilitator, roster=("P1", "P2"))
    quick(facilitator, session_id, "P1: Call me on +44 20 7946 0000.\nP2: Mail p2@example.org.")
    page = facilitator.get(f"/staff/focus-groups/{session_id}/redact")
    with app.app_context():   # meanwhile, someone edits P1's segment in another tab
        segment = db.session.scalar(sa.select(Segment).where(Segment.speaker == "P1"))
        operations.transaction(lambda: operations.focus_groups.edit_segment(
            segment, speaker="P1", text="Well. Call me on +44 20 7946 0000.", start_seconds=None))
    fields = [("csrf_token", hidden(page.text, "csrf_token"))] + [
        (e["name"], e.get("value", "")) for e in elements(page.text)
        if e.get("name", "").startswith("seen-") or e.get("name") == "redact"]
    reply = facilitator.post(f"/staff/focus-groups/{session_id}/redact", data=MultiDict(fields),
                             follow_redirects=True)
    assert "1 replacement was not applied: its segment was changed" in reply.text
    assert "Replacements applied." in reply.text      # the other one was
    assert [s[2] for s in segments(app, session_id)] == ["Well. Call me on +44 20 7946 0000.",
                                                         "Mail [redacted]."]


def test_the_roster_shows_role_labels_never_codes(app, facilitator):
    session_id = create_session(facilitator, roster=("P1",))
    page = facilitator.get(f"/staff/focus-groups/{session_id}")
    facilitator.post(f"/staff/focus-groups/{session_id}/participants", data={
        **form_fields(page.text, "/participants"), "pseudonym": "P2", "role": "business_owner",
        "gender": "not_said"})
    roster = facilitator.get(f"/staff/focus-groups/{session_id}").text
    assert "<td>Business owner</td>" in roster and "<td>Prefers not to say</td>" in roster
    assert "business_owner" not in roster.replace('value="business_owner"', "")
    assert "not_said" not in roster.replace('value="not_said"', "")
    french = facilitator.get(f"/staff/focus-groups/{session_id}?lang=fr").text
    assert "<td>Commerçant ou chef d’entreprise</td>" in french


@pytest.mark.parametrize("where", ["roster", "new session"])
def test_a_pseudonym_that_grows_in_capitals_is_refused_clearly(app, facilitator, where):
    pseudonym = "ß" * 20   # 20 characters, 40 once upper-cased ("SS" each)
    if where == "roster":
        session_id = create_session(facilitator, roster=("P1",))
        page = facilitator.get(f"/staff/focus-groups/{session_id}")
        reply = facilitator.post(f"/staff/focus-groups/{session_id}/participants", data={
            **form_fields(page.text, "/participants"), "pseudonym": pseudonym})
    else:
        page = facilitator.get("/staff/focus-groups/new")
        site_id = re.search(r'<option value="(\d+)"[^>]*>Riverside<', page.text).group(1)
        reply = facilitator.post("/staff/focus-groups/new", data={
            "csrf_token": hidden(page.text, "csrf_token"), "guide": "mini-guide", "site": site_id,
            "wave": "baseline", "held_on": "2026-11-20", "language": "en",
            "participants-0-pseudonym": pseudonym})
    assert reply.status_code == 422
    assert "Use at most 20 characters: pseudonyms are kept in capitals" in reply.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant).where(
            Participant.label.like("SS%"))) == 0
