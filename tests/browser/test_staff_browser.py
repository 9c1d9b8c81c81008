"""A facilitator's evening on a phone, in a real browser: sign in, create a focus-group
session, paste a 30-line transcript with one unknown speaker, fix it, reload and find every
segment; a draft survives a reload; then print the campaign's flyer on A4 and on Letter.

Every page is saved as a full-page screenshot under tests/artifacts/browser/ (``staff-*``),
with the flyer's PDFs (and a PNG of the A4 one when ``pdftoppm`` is installed) for a human
to look at.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import Campaign
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
EMAIL = "facilitator@example.org"
GUIDE = "community-safety-focus-group"
FIRST_PROMPT = "neighbourhood_likes"  # the guide's first prompt (its id never changes)
ROSTER = [f"P{n}" for n in range(1, 7)]
UNKNOWN_LINE = 22  # the line, counted from 1, whose speaker is not in the roster

# The discussion as it was typed up: (time or None, speaker, lines). The first line of a
# turn starts with "SPEAKER:"; further lines carry no speaker and continue the turn.
TURNS = [
    ("00:00:05", "F1", ["Thank you all for coming tonight. Let's start with an easy one: "
                        "what do you like most about living here?"]),
    (None, "P1", ["The park by the river. My kids are there every weekend."]),
    (None, "P2", ["The people, honestly. My neighbours took in my post for a month when I was in hospital."]),
    ("00:01:10", "P3", ["The market on Saturdays. It's the one time everyone is out on the street.",
                        "It gets crowded, but in a good way."]),
    (None, "P4", ["I like that it's quiet after nine."]),
    (None, "P5", ["Quiet? Not on my street."]),
    (None, "F1", ["Tell us more about that."]),
    ("00:02:40", "P5", ["There's a group that hangs around the bus shelter most nights.",
                        "Mostly they're just bored. Nobody has anywhere to go since the youth club shut."]),
    (None, "P6", ["That's true. My nephew used to go to the youth club three nights a week."]),
    (None, "P1", ["The library does a homework club, but only until five."]),
    (None, "F1", ["If a new neighbour moved in, what would you show them first?"]),
    ("00:04:15", "P2", ["The community garden behind the church."]),
    (None, "P4", ["The health centre. The new one is good, once you get an appointment."]),
    (None, "P3", ["The Saturday market again, and the bakery on the corner."]),
    (None, "P6", ["I'd tell them which streets to avoid after dark, to be honest."]),
    (None, "F1", ["Which streets, and why?"]),
    ("00:05:30", "P6", ["The underpass by the station mostly. The lights have been broken since spring."]),
    (None, "P5", ["I reported those lights twice.", "Nothing happened either time."]),
    (None, "P6", ["The council said it was the rail company's job."]),  # typed as P7 at first
    (None, "P1", ["That's always the way. Everyone says it's someone else's job."]),
    ("00:07:05", "F1", ["What has changed for the better here in recent years?"]),
    (None, "P4", ["The new crossing outside the school."]),
    (None, "P3", ["More people know each other since the street party last summer."]),
    (None, "P2", ["The mentoring scheme. My daughter's mentor got her through her exams."]),
    (None, "P5", ["Agreed, that one worked."]),
    (None, "P6", ["A bit better than five years ago. Not a lot, but better."]),
    (None, "F1", ["Thank you. Let's move on to the next question."]),
]


def transcript_lines(turns) -> list[str]:
    lines = []
    for clock, speaker, said in turns:
        lines.append((f"[{clock}] " if clock else "") + f"{speaker}: {said[0]}")
        lines.extend(said[1:])
    return lines


FIXED = "\n".join(transcript_lines(TURNS))
LINES = FIXED.split("\n")
PASTED = "\n".join(LINES[:UNKNOWN_LINE - 1] + [LINES[UNKNOWN_LINE - 1].replace("P6:", "P7:", 1)]
                   + LINES[UNKNOWN_LINE:])

# Elements reaching past the phone's edge (the page should scroll only downwards). Not
# innerWidth: on a mobile viewport it grows with the overflowing content.
WIDE_JS = """width => ({
  scrollWidth: document.documentElement.scrollWidth,
  wide: [...document.querySelectorAll("body *")]
    .filter(e => !e.matches(".skip") && !e.closest("table.data")
                 && e.getBoundingClientRect().right > width + 0.5)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                     + (e.className ? "." + e.className : "")),
})"""
PAGE_RE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")  # a page object, not /Pages


def shoot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"staff-{name}.png"), full_page=True)


def follow(page, locator):
    """Click a link or button and wait for the page it leads to; return the response."""
    with page.expect_navigation() as navigation:
        locator.click()
    return navigation.value


def fits_the_phone(page, where: str) -> None:
    layout = page.evaluate(WIDE_JS, PHONE_WIDTH)
    assert layout["scrollWidth"] <= PHONE_WIDTH, (where, layout)


def said(page) -> list[tuple[str, str | None, str]]:
    """(speaker, time, text) of each segment listed on the prompt page, in order."""
    items = page.locator("ol.segments > li")
    return [tuple(item) for item in items.evaluate_all("""items => items.map(li => [
        li.querySelector(".who").textContent,
        li.querySelector(".time") ? li.querySelector(".time").textContent : null,
        li.querySelector(".said").textContent])""")]


def pdf_pages(path: Path) -> int:
    return len(PAGE_RE.findall(path.read_bytes()))


def test_facilitator_transcribes_a_session_and_prints_a_flyer(
        sqlite_app, browser_server, sqlite_campaign, new_phone, screenshots):
    assert len(LINES) == 30 and len(TURNS) == 27
    make_user(sqlite_app, EMAIL, "facilitator")
    with sqlite_app.app_context():
        operations.transaction(lambda: operations.campaigns.get_or_create_site("Riverside"))
    code = sqlite_campaign("community-capacity", site="Riverside", wave="baseline")
    with sqlite_app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code))

    page = new_phone()

    # Sign in.
    page.goto(f"{browser_server}/login")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    shoot(page, screenshots, "01-login")
    follow(page, page.locator("main form button.primary"))
    assert "/login" not in page.url, page.locator(".error, .flash").all_inner_texts()
    fits_the_phone(page, "home")

    # Focus groups -> New session.
    follow(page, page.locator("header.staff nav").get_by_role("link", name="Focus groups"))
    shoot(page, screenshots, "02-focus-groups")
    fits_the_phone(page, "focus groups")
    follow(page, page.get_by_role("link", name="New focus group"))
    page.locator("#guide").select_option(GUIDE)
    page.locator("#site").select_option(label="Riverside")
    page.locator("#wave").select_option("baseline")
    page.locator("#held_on").fill("2026-05-14")
    page.locator("#place").fill("Riverside Community Centre")
    page.locator("#language").select_option("en")
    assert page.locator('input[name="facilitators"]:checked').count() == 1  # the user, ticked
    pseudonyms = page.locator('input[name$="-pseudonym"]')
    assert pseudonyms.evaluate_all("inputs => inputs.map(i => i.value)") == ["P1", "P2"]
    # "Add a participant" adds a row in place (roster.js), its pseudonym the next one.
    page.locator('select[name="participants-1-role"]').select_option("youth")
    page.evaluate("window.stillThisPage = true")
    for _ in range(len(ROSTER) - 2):
        page.get_by_role("button", name="Add a participant").click()
    assert page.evaluate("window.stillThisPage === true")   # no round trip to the server
    assert pseudonyms.evaluate_all("inputs => inputs.map(i => i.value)") == ROSTER
    assert page.locator('select[name="participants-5-role"]').input_value() == ""  # a fresh row
    assert page.evaluate("document.activeElement.name") == "participants-5-pseudonym"
    from tests.browser.test_respondent_a11y import axe_counts
    counts = axe_counts(page)     # the added rows too: labels tied to their fields
    assert counts["serious"] == counts["critical"] == 0, counts["rules"]
    page.locator('input[name="consent_given"]').check()
    shoot(page, screenshots, "03-new-session")
    fits_the_phone(page, "new session")
    reply = follow(page, page.get_by_role("button", name="Create session"))
    assert reply.status == 200 and re.search(r"/staff/focus-groups/\d+$", page.url), (
        page.url, page.locator(".error").all_inner_texts())
    assert page.locator("table.data tbody td strong").all_inner_texts() == ROSTER
    shoot(page, screenshots, "04-session")
    fits_the_phone(page, "session")

    # The first prompt: paste the transcript with its unknown speaker.
    follow(page, page.locator("ol.prompts a").first)
    assert page.url.endswith(f"/prompts/{FIRST_PROMPT}")
    prompt_url = page.url
    quick = page.locator('form[action$="/quick"]')
    quick.locator("textarea").focus()
    page.keyboard.insert_text(PASTED)  # what a paste does: one insertion, one input event
    reply = follow(page, quick.get_by_role("button", name="Save all lines"))
    assert reply.status == 422
    errors = page.locator(".errors")
    assert errors.locator("li").count() == 1
    message = errors.locator("li").inner_text().replace("\u2068", "").replace("\u2069", "")
    assert message.startswith(f"Line {UNKNOWN_LINE}: P7 is not in the roster.")
    assert errors.locator("li q").inner_text() == PASTED.split("\n")[UNKNOWN_LINE - 1]
    assert page.locator("ol.segments").count() == 0  # nothing saved
    textarea = page.locator('form[action$="/quick"] textarea')
    assert textarea.input_value().replace("\r\n", "\n").strip("\n") == PASTED  # nothing lost
    shoot(page, screenshots, "05-unknown-speaker")
    fits_the_phone(page, "prompt with errors")

    # Fix the one line in the text that came back, and save.
    textarea.fill(textarea.input_value().replace("P7:", "P6:"))
    reply = follow(page, page.locator('form[action$="/quick"]').get_by_role("button", name="Save all lines"))
    assert reply.status == 200 and page.url == prompt_url + "?saved=quick&page=last"  # the save is confirmed
    assert page.locator(".flash").inner_text() == f"{len(TURNS)} segments saved."

    # Reload: every turn is there, in order, continuation lines joined into their turn.
    page.reload()
    expected = [(speaker, clock, "\n".join(lines)) for clock, speaker, lines in TURNS]
    assert page.locator("ol.segments > li").count() == len(TURNS)
    listed = said(page)
    assert listed[0] == expected[0]
    assert listed[-1] == ("F1", None, "Thank you. Let's move on to the next question.")
    assert listed[3] == ("P3", "00:01:10", "The market on Saturdays. It's the one time everyone "
                         "is out on the street.\nIt gets crowded, but in a good way.")
    assert listed == expected
    assert page.locator(".flash").count() == 0  # the message was shown once
    assert page.locator(".notice").count() == 0  # no draft left behind by the sent forms
    shoot(page, screenshots, "06-transcript")
    fits_the_phone(page, "transcript")

    # A draft typed into "Add what was said" survives a reload that did not send it.
    segment = page.locator('form[action$="/segments"]')
    segment.locator('select[name="speaker"]').select_option("P4")
    segment.locator('input[name="clock"]').fill("00:08:20")
    draft = "The bus shelter needs a light too.\nAnd a bin."
    segment.locator("textarea").fill(draft)
    page.reload()
    segment = page.locator('form[action$="/segments"]')
    assert segment.locator("textarea").input_value() == draft
    assert segment.locator('select[name="speaker"]').input_value() == "P4"
    assert segment.locator('input[name="clock"]').input_value() == "00:08:20"
    assert segment.locator(".notice").inner_text() == "A draft kept on this device was put back."
    assert page.locator(".notice").count() == 1  # only this form had a draft
    assert page.locator("ol.segments > li").count() == len(TURNS)  # nothing sent by the reload
    shoot(page, screenshots, "07-draft-restored")

    # Sending it while the connection is down fails; the draft is still there afterwards,
    # and sending it again (online) saves it once.
    page.context.set_offline(True)
    try:
        segment.locator("button").click()
        page.wait_for_timeout(500)
    finally:
        page.context.set_offline(False)
    page.goto(prompt_url)
    segment = page.locator('form[action$="/segments"]')
    assert segment.locator("textarea").input_value() == draft
    with page.expect_navigation():
        segment.locator("button").click()
    assert page.locator("ol.segments > li").count() == len(TURNS) + 1
    page.goto(prompt_url)
    assert page.locator('form[action$="/segments"] textarea').input_value() == ""
    assert page.js_errors == []

    # The campaign's flyer, reached from Campaigns: on screen, then printed on A4 and on
    # Letter, one page each.
    follow(page, page.locator("header.staff nav").get_by_role("link", name="Campaigns"))
    fits_the_phone(page, "campaigns")
    follow(page, page.locator("table.data a", has_text="Community capacity assessment"))  # its title, not its slug
    assert page.url == f"{browser_server}/staff/campaigns/{campaign_id}"
    shoot(page, screenshots, "08-campaign")
    fits_the_phone(page, "campaign")
    reply = follow(page, page.get_by_role("link", name="Printable flyer"))
    assert reply.status == 200 and page.url == f"{browser_server}/staff/campaigns/{campaign_id}/flyer"
    assert page.locator(".qr svg").count() == 1
    assert page.locator(".qr svg").bounding_box()["width"] > 150
    link = f"{browser_server}/s/{code}"
    assert page.locator("p.link").inner_text() == link
    assert page.locator('.invitations section[dir="rtl"][lang="ar"]').count() == 1
    shoot(page, screenshots, "09-flyer")
    fits_the_phone(page, "flyer")
    for paper in ("A4", "Letter"):
        path = screenshots / f"staff-flyer-{paper}.pdf"
        page.pdf(path=str(path), format=paper, print_background=True)
        assert pdf_pages(path) == 1, (paper, pdf_pages(path))
    if shutil.which("pdftoppm"):  # a picture of the printed page, for a human to look at
        subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile",
                        str(screenshots / "staff-flyer-A4.pdf"), str(screenshots / "staff-flyer-A4")],
                       check=True, timeout=60)
    assert page.js_errors == []
