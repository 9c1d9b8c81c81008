"""Panel codes across waves (issue 25 item 1): a baseline response takes a code, a
follow-up links by it (HTML flow and API), wrong and unknown codes get their messages and
the survey goes on, a second use in a wave is refused with nothing lost, admins unlink,
partners never see linkage, and neither the code nor the secret reaches the database."""
from __future__ import annotations

import html
import random
import re

import pytest
import sqlalchemy as sa

from surveyapp import create_app, queries
from surveyapp.domain import panel_code
from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import AuditEvent, PanelLink, Response
from surveyapp.operations.audit import ip_hash
from tests.conftest import app_config, sqlite_copy
from tests.helpers import (CAPACITY, catalog_text, complete, hidden, location_path, member, page_id,
                           payload, post_page, signed_in, to_form)

SECRET = b"test-panel-secret-of-32-characters"  # tests/conftest.py's PANEL_SECRET
CODE_IN_PAGE = re.compile(r'class="panel-code"[^>]*><bdi>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{3})</bdi>')
FOLLOW_UP = "follow-up 1"


def answers_for(wave, seed=5, lang="en"):
    return synthetic_answers(CAPACITY, random.Random(seed), Context("Riverside", wave, lang), tendency=0.6)


def take_code(client, done_path) -> str:
    """Press "Give me a code" on the thank-you page; the code shown."""
    done = client.get(done_path)
    assert done.status_code == 200 and "panel-offer" in done.text
    reply = client.post(done_path.removesuffix("/done") + "/panel-code",
                        data={"csrf_token": hidden(done.text, "csrf_token")})
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    found = CODE_IN_PAGE.search(reply.text)
    assert found, reply.text[:3000]
    assert "<svg" in reply.text and "style=" not in reply.text.split("<svg", 1)[1].split("</svg>")[0]
    return found.group(1)


def start_with_code(client, code, typed, lang="en", action=None):
    landing = client.get(f"/s/{code}?lang={lang}")
    assert landing.status_code == 200
    data = {"csrf_token": hidden(landing.text, "csrf_token"),
            "submission_id": hidden(landing.text, "submission_id"), "language": lang,
            "panel_code": typed}
    if action:
        data["action"] = action
    return client.post(f"/s/{code}/start", data=data)


def finish(client, path, answers):
    for _ in range(len(CAPACITY.pages) + 1):
        if path.split("?")[0].endswith("/done"):
            return path
        page = next(p for p in CAPACITY.pages if p.id == page_id(path))
        reply = post_page(client, path.split("?")[0], to_form(page, answers))
        assert reply.status_code == 302, reply.text[:2000]
        path = location_path(reply)
    raise AssertionError("never reached the end")


def links(app, code):
    with app.app_context():
        project_id = queries.campaigns.campaign_by_code(code).project_id
        return queries.panel.links(project_id), project_id


def count(app, model=Response):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def a_code(seed) -> str:
    return panel_code.new_code(random.Random(seed))


# ----------------------------------------------------------------------------- online

def test_a_baseline_code_links_the_follow_up_online(app, client, make_campaign):
    baseline = make_campaign()
    later = make_campaign(wave=FOLLOW_UP)
    # The baseline's landing page asks for no code; its thank-you page offers one.
    assert 'name="panel_code"' not in client.get(f"/s/{baseline}").text
    done = complete(client, baseline, answers_for("baseline"))
    code = take_code(client, done)
    assert panel_code.check(code).valid
    # Shown once: asking again gives no code, and says why.
    again = client.post(done.removesuffix("/done") + "/panel-code",
                        data={"csrf_token": hidden(client.get(f"/s/{baseline}").text, "csrf_token")})
    assert CODE_IN_PAGE.search(again.text) is None and "already given" in again.text
    assert "panel-offer" not in client.get(done).text

    # The follow-up, on another device, typed loosely (lower case, spaces, a phone's en dash).
    other = app.test_client()
    assert 'name="panel_code"' in other.get(f"/s/{later}").text
    typed = code.lower().replace("-", " \u2013 ", 1)
    reply = start_with_code(other, later, typed)
    assert reply.status_code == 302 and "panel=linked" in reply.headers["Location"]
    first = other.get(location_path(reply))
    assert "Your code was accepted" in first.text
    finish(other, location_path(reply), answers_for(FOLLOW_UP, seed=6))

    rows, project_id = links(app, baseline)
    assert sorted(wave for _, wave, _ in rows) == ["baseline", FOLLOW_UP]
    assert len({key for _, _, key in rows}) == 1
    assert rows[0][2] == panel_code.link_key(SECRET, project_id, code)
    with app.app_context():
        statuses = {r.id: r.status for r in db.session.scalars(sa.select(Response))}
    assert all(statuses[response_id] == "complete" for response_id, _, _ in rows)
    # The follow-up's thank-you page gives out no code of its own.
    assert count(app, PanelLink) == 2


WRONG = [  # (typed, msgid, what the message names)
    ("K7QM-4XTD", "A panel code has 11 letters and numbers, like K7QM-4XTD-P9Q. Please check the code.", None),
    ("K7QM-4XTD-P0Q", "A panel code never contains “%(character)s”. Codes use no 0, O, 1, I or L. "
                      "Please check the code.", "0"),
    (None, "This code has a typing mistake: one character is wrong, or two are swapped. "
           "Please check the code.", None),
]


@pytest.mark.parametrize("lang", ["es", "ar"])
@pytest.mark.parametrize("typed, msgid, character", WRONG)
def test_a_wrong_code_is_explained_in_the_respondents_language(app, client, make_campaign,
                                                               lang, typed, msgid, character):
    later = make_campaign(wave=FOLLOW_UP)
    if typed is None:  # one mistyped symbol of a real code
        good = a_code(1)
        typed = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    reply = start_with_code(client, later, typed, lang=lang)
    assert reply.status_code == 422
    expected = catalog_text(lang, msgid)
    if character:
        expected = expected.replace("%(character)s", character)
    assert expected in html.unescape(reply.text)
    assert f'value="{typed}"' in reply.text  # kept, to be fixed
    assert count(app) == 0  # nothing started yet
    # "Go on without a code" starts the survey, unlinked.
    without = start_with_code(client, later, typed, lang=lang, action="without_code")
    assert without.status_code == 302 and "panel=" not in without.headers["Location"]
    assert count(app) == 1 and count(app, PanelLink) == 0


def test_an_unknown_code_gets_a_message_and_the_survey_goes_on_unlinked(app, client, make_campaign):
    make_campaign()
    later = make_campaign(wave=FOLLOW_UP)
    reply = start_with_code(client, later, a_code(2))  # valid, never given out
    assert reply.status_code == 302 and "panel=unknown" in reply.headers["Location"]
    assert "We could not find this code" in client.get(location_path(reply)).text
    assert finish(client, location_path(reply), answers_for(FOLLOW_UP)).endswith("/done")
    assert count(app) == 1 and count(app, PanelLink) == 0


def test_a_second_use_in_a_wave_is_refused_and_nothing_is_lost(app, client, make_campaign):
    baseline = make_campaign()
    later = make_campaign(wave=FOLLOW_UP)
    code = take_code(client, complete(client, baseline, answers_for("baseline")))
    first, second = app.test_client(), app.test_client()
    one = start_with_code(first, later, code)
    assert "panel=linked" in one.headers["Location"]
    two = start_with_code(second, later, code)
    assert "panel=used" in two.headers["Location"]
    assert "already been used for this round" in second.get(location_path(two)).text
    finish(second, location_path(two), answers_for(FOLLOW_UP, seed=8))
    finish(first, location_path(one), answers_for(FOLLOW_UP, seed=9))
    rows, _ = links(app, baseline)
    assert sorted(wave for _, wave, _ in rows) == ["baseline", FOLLOW_UP]  # one per wave
    with app.app_context():
        complete_count = db.session.scalar(sa.select(sa.func.count()).where(Response.status == "complete"))
    assert complete_count == 3  # the refused resident's answers are stored all the same


def test_a_double_tap_on_start_with_a_code_stays_linked(app, client, make_campaign):
    baseline = make_campaign()
    later = make_campaign(wave=FOLLOW_UP)
    code = take_code(client, complete(client, baseline, answers_for("baseline")))
    other = app.test_client()
    landing = other.get(f"/s/{later}")
    data = {"csrf_token": hidden(landing.text, "csrf_token"),
            "submission_id": hidden(landing.text, "submission_id"), "language": "en", "panel_code": code}
    assert "panel=linked" in other.post(f"/s/{later}/start", data=data).headers["Location"]
    assert "panel=linked" in other.post(f"/s/{later}/start", data=data).headers["Location"]
    assert count(app, PanelLink) == 2


# ----------------------------------------------------------------------------- API

def test_codes_link_through_the_api_with_machine_readable_reasons(app, client, make_campaign):
    baseline = make_campaign()
    later = make_campaign(wave=FOLLOW_UP)
    code = a_code(3)  # made on a device, as the offline app does
    made = client.post("/api/v1/submissions", json=payload(baseline, seed=1, panel_code=code))
    assert made.status_code == 201 and made.json["panel"] == {"linked": True}
    linked = client.post("/api/v1/submissions", json=payload(later, seed=2, panel_code=code.replace("-", "")))
    assert linked.status_code == 201 and linked.json["panel"] == {"linked": True}
    # A retry of the same submission is acknowledged, still linked.
    body = payload(later, seed=3, panel_code=a_code(4))
    cases = {
        "unknown_code": body,
        "code_used": payload(later, seed=4, panel_code=code),
        "check_failed": payload(later, seed=5, panel_code=code[:-1] + ("A" if code[-1] != "A" else "B")),
        "wrong_length": payload(later, seed=6, panel_code="K7QM"),
        "bad_character": payload(later, seed=7, panel_code="K7QM-4XTD-PIQ"),
    }
    for reason, sent in cases.items():
        reply = client.post("/api/v1/submissions", json=sent)
        assert reply.status_code == 201, (reason, reply.json)
        assert reply.json["panel"]["linked"] is False and reply.json["panel"]["reason"] == reason
    assert client.post("/api/v1/submissions", json=cases["bad_character"]).json["panel"]["character"] == "I"
    retry = client.post("/api/v1/submissions", json={**payload(later, seed=2, panel_code=code),
                                                     "submission_id": linked.json["submission_id"]})
    assert retry.status_code in (200, 409)
    assert client.post("/api/v1/submissions", json=payload(later, seed=9, panel_code=7)).status_code == 400
    without = client.post("/api/v1/submissions", json=payload(later, seed=10))
    assert without.status_code == 201 and "panel" not in without.json
    rows, _ = links(app, baseline)
    assert sorted(wave for _, wave, _ in rows) == ["baseline", FOLLOW_UP]
    assert count(app) == 2 + len(cases) + 1  # every response stored, linked or not


def test_a_code_taken_after_the_response_was_sent_links_it_on_the_resend(app, client, make_campaign):
    """The offline app sends a baseline response at once; a code taken afterwards goes with
    the same submission again, which the server answers as a retry and links."""
    baseline = make_campaign()
    body = payload(baseline, seed=1)
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    again = client.post("/api/v1/submissions", json={**body, "panel_code": a_code(11)})
    assert again.status_code == 200 and again.json["panel"] == {"linked": True}
    assert count(app) == 1 and count(app, PanelLink) == 1


def test_an_api_retry_of_a_linked_submission_says_linked(app, client, make_campaign):
    baseline = make_campaign()
    body = payload(baseline, seed=1, panel_code=a_code(5))
    assert client.post("/api/v1/submissions", json=body).json["panel"] == {"linked": True}
    again = client.post("/api/v1/submissions", json=body)
    assert again.status_code == 200 and again.json["panel"] == {"linked": True}
    assert count(app, PanelLink) == 1


# ----------------------------------------------------------------------------- limits

def test_wrong_and_unknown_codes_are_rate_limited_per_address_and_only_failures_count(
        sqlite_template, tmp_path):
    from tests.conftest import campaign_maker
    app = create_app({**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path),
                      "RATELIMIT_ENABLED": True, "RESUME_GUESS_RATE_LIMIT": "3/minute"})
    try:
        make = campaign_maker(app)
        baseline, later = make(), make(wave=FOLLOW_UP)
        client = app.test_client()
        good = a_code(6)
        assert client.post("/api/v1/submissions", json=payload(baseline, panel_code=good)).status_code == 201
        # Starts without a code and with a good code are not counted...
        for _ in range(4):
            assert start_with_code(app.test_client(), later, "").status_code == 302
        # ...wrong and unknown ones are: three, then refused.
        assert start_with_code(client, later, "K7QM").status_code == 422
        assert start_with_code(client, later, a_code(7)).status_code == 302
        assert client.post("/api/v1/submissions", json=payload(later, seed=3, panel_code=a_code(8))).status_code == 201
        assert start_with_code(client, later, a_code(9)).status_code == 429
        # A start without a code still goes through.
        assert start_with_code(app.test_client(), later, "").status_code == 302
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# ----------------------------------------------------------------------------- unlinking

def test_an_admin_unlinks_a_response_and_the_audit_log_says_who(app, client, make_campaign):
    baseline = make_campaign()
    body = payload(baseline, seed=1, panel_code=a_code(10))
    assert client.post("/api/v1/submissions", json=body).json["panel"] == {"linked": True}
    with app.app_context():
        row = db.session.scalar(sa.select(Response))
        response_id, campaign_id = row.id, row.campaign_id
    page = f"/staff/campaigns/{campaign_id}/responses/{response_id}"
    unlink = page + "/panel/unlink"
    analyst = member(app, "ana@example.org", "analyst", "Default")
    assert "Unlink from panel" not in analyst.get(page).text
    assert "Linked to a panel" not in analyst.get(page).text
    assert analyst.get(unlink).status_code == 403
    assert analyst.post(unlink, data={"confirm": "y"}).status_code == 403
    assert count(app, PanelLink) == 1

    admin = signed_in(app, "boss@example.org", "admin")
    assert "Unlink from panel" in admin.get(page).text
    form = admin.get(unlink)
    assert form.status_code == 200
    done = admin.post(unlink, data={"csrf_token": hidden(form.text, "csrf_token"), "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith(page)
    assert count(app, PanelLink) == 0 and count(app) == 1  # the answers stay
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "panel.unlinked"))
        assert event.actor == "boss@example.org" and event.target_id == str(response_id)
        assert event.ip_hash == ip_hash("127.0.0.1")  # the address, kept as the audit log keeps it
        assert event.details["wave"] == "baseline"
    assert "Unlink from panel" not in admin.get(page).text


# ----------------------------------------------------------------------------- what partners see

def test_a_partner_crawl_finds_no_mention_of_linkage(app, make_campaign):
    baseline = make_campaign(site="Alderbank", project="Council")
    later = make_campaign(site="Alderbank", wave=FOLLOW_UP, project="Council")
    api = app.test_client()
    for seed in range(6):
        code = a_code(100 + seed)
        assert api.post("/api/v1/submissions", json=payload(baseline, seed=seed, panel_code=code)).status_code == 201
        assert api.post("/api/v1/submissions", json=payload(later, seed=50 + seed, panel_code=code)).status_code == 201
    assert count(app, PanelLink) == 12
    partner = member(app, "partner@example.org", "partner", "Council")
    seen, queue, texts = set(), ["/staff/"], []
    while queue and len(seen) < 80:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        reply = partner.get(path)
        if reply.status_code != 200:
            continue
        texts.append((path, reply.get_data(as_text=True) if reply.mimetype.startswith(("text/", "application/json")) else ""))
        if "text/html" in reply.content_type:
            queue += [link for link in re.findall(r'href="(/staff/[^"#]*)', reply.text) if link not in seen]
    assert len(seen) > 5
    for path, text in texts:
        lowered = text.lower()
        assert "panel" not in lowered and "linked" not in lowered and "unlink" not in lowered, path


# ----------------------------------------------------------------------------- secrets

def test_no_code_and_no_secret_reach_the_database(app, client, make_campaign):
    baseline = make_campaign()
    later = make_campaign(wave=FOLLOW_UP)
    code = take_code(client, complete(client, baseline, answers_for("baseline")))
    reply = start_with_code(app.test_client(), later, code)
    assert "panel=linked" in reply.headers["Location"]
    canonical = panel_code.normalise(code)
    dump = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                dump.append(" ".join(str(value) for value in row))
    text = "\n".join(dump)
    assert text.count(panel_code.link_key(SECRET, links(app, baseline)[1], code)) == 2  # the keys are there
    for needle in (code, canonical, SECRET.decode(), SECRET.hex(), app.config["SECRET_KEY"]):
        assert needle not in text, needle


def test_the_panel_secret_is_made_once_in_the_instance_folder_and_required_in_production(tmp_path):
    from surveyapp.config import ConfigurationError, finalise

    def settings(**overrides):
        values = {"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "s",
                  "INSTANCE_PATH": str(tmp_path), **overrides}
        finalise(values)
        return values

    first = settings()
    stored = (tmp_path / "panel_secret").read_text().strip()
    assert len(bytes.fromhex(stored)) >= 32 and first["PANEL_SECRET"] == stored
    assert settings()["PANEL_SECRET"] == stored  # a second worker reads the same
    assert settings(PANEL_SECRET=12345678901234567890123456789012345)["PANEL_SECRET"].isdigit()
    with pytest.raises(ConfigurationError, match="SURVEYAPP_PANEL_SECRET"):
        settings(ENV="production", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379")
    with pytest.raises(ConfigurationError, match="at least 32"):
        settings(PANEL_SECRET="short")
