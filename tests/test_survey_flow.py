"""The respondent's HTML flow, without JavaScript: consent, pages, skip logic, errors in the
respondent's language, save and resume (on the page left, in the language chosen), drafts of
invalid values kept through Back/Save/language switch, a campaign closing mid-survey, an
expired CSRF token, idempotent start and submit."""
from __future__ import annotations

import random
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.helpers import (
    CAPACITY, catalog_text, complete, elements, expired_csrf_token, hidden, html_attrs,
    location_path, page_id, post_page, start, to_form)



def responses(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Response)).all()
        return [(r.status, dict(r.answers), r.language) for r in rows]


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_complete_community_capacity_through_html(app, client, make_campaign, lang):
    code = make_campaign(wave="follow-up")
    context = Context(site="Riverside", wave="follow-up", language=lang)
    answers = synthetic_answers(CAPACITY, random.Random(11), context, tendency=0.7)
    assert complete(client, code, answers, lang).endswith("/done")
    ((status, stored, language),) = responses(app)
    assert status == "complete" and language == lang
    assert stored == answers
    # Every question type was answered along the way.
    answered_types = {CAPACITY.question(key.split(".")[0]).type for key in stored}
    assert {"select_one", "integer", "matrix", "select_multiple", "likert", "textarea",
            "ranking", "date", "decimal"} <= answered_types


def test_index_lists_open_listed_campaigns_only(app, client, make_campaign):
    listed = make_campaign()
    hidden_code = make_campaign(unlisted=True, site="Hillcrest")  # one open per site and wave
    page = client.get("/")
    assert f"/s/{listed}" in page.text and f"/s/{hidden_code}" not in page.text
    assert client.get(f"/s/{hidden_code}").status_code == 200  # unlisted, still reachable


@pytest.mark.parametrize("query, header, lang, direction", [
    ("?lang=ar", "", "ar", "rtl"),
    ("", "ar-EG,ar;q=0.9", "ar", "rtl"),
    ("", "fr-CA,fr;q=0.8", "fr", "ltr"),
    ("?lang=es", "ar", "es", "ltr"),
    ("?lang=xx", "de", "en", "ltr"),
])
def test_language_and_direction(client, make_campaign, query, header, lang, direction):
    code = make_campaign()
    page = client.get(f"/s/{code}{query}", headers={"Accept-Language": header})
    attrs = html_attrs(page.text)
    assert (attrs["lang"], attrs["dir"]) == (lang, direction)


def test_switcher_choice_sticks_for_the_session(client, make_campaign):
    code = make_campaign()
    client.get(f"/s/{code}?lang=fr")
    assert html_attrs(client.get(f"/s/{code}").text)["lang"] == "fr"


def test_error_is_shown_next_to_the_field_in_the_respondents_language(app, client, make_campaign):
    code = make_campaign()
    path = start(client, code, "es")
    page = next(p for p in CAPACITY.pages if p.id == page_id(path))
    first_required = next(q for q in page.questions if q.required)
    reply = post_page(client, path, [])
    assert reply.status_code == 422
    field = next(e for e in elements(reply.text)
                 if e.get("id") == f"f-{first_required.id}")
    assert field.get("aria-invalid") == "true"
    assert f"e-{first_required.id}" in field.get("aria-describedby", "")
    assert catalog_text("es", "Please answer this question.") in reply.text
    assert responses(app)[0][1] == {}  # nothing stored from an invalid page


ALL_TYPES_BASE = {"years": "5", "trust.police": "3", "trust.council": "1"}


def test_skip_logic_hidden_page_is_skipped_and_not_required(app, client, make_campaign,
                                                            load_test_instrument):
    load_test_instrument("all-types")
    code = make_campaign("all-types")
    path = start(client, code)
    assert page_id(path) == "one"
    reply = post_page(client, path, [*ALL_TYPES_BASE.items(), ("attended", "no")])
    # how_often (page two) needs attended == 'yes': page two is skipped, the survey ends.
    assert location_path(reply).endswith("/done")
    ((status, stored, _),) = responses(app)
    assert status == "complete" and "how_often" not in stored


def test_skip_logic_shown_question_is_required(app, client, make_campaign, load_test_instrument):
    load_test_instrument("all-types")
    code = make_campaign("all-types")
    path = start(client, code)
    reply = post_page(client, path, [*ALL_TYPES_BASE.items(), ("attended", "yes")])
    two = location_path(reply)
    assert page_id(two) == "two"
    body = client.get(two).text
    assert 'id="q-how_often"' in body and 'id="q-follow_up_only"' not in body
    refused = post_page(client, two, [])
    assert refused.status_code == 422 and 'id="e-how_often"' in refused.text
    accepted = post_page(client, two, [("how_often", "3")])
    assert location_path(accepted).endswith("/done")
    assert responses(app)[0][1]["how_often"] == 3


def test_skip_logic_on_the_same_page_drops_the_hidden_answer(app, client, make_campaign):
    """Without JavaScript a same-page condition cannot hide the question, so it is shown;
    the server drops its answer when the condition is false."""
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(1), Context("Riverside", "baseline", "en"))
    path = start(client, code)
    while page_id(path) != "participation_page":
        page = next(p for p in CAPACITY.pages if p.id == page_id(path))
        path = location_path(post_page(client, path, to_form(page, answers)))
    body = client.get(path).text
    assert 'id="q-meetings_count"' in body
    reply = post_page(client, path, [("attended_meeting", "no"), ("meetings_count", "3")])
    assert reply.status_code == 302
    stored = responses(app)[0][1]
    assert stored["attended_meeting"] == "no" and "meetings_count" not in stored


def test_save_and_resume_on_another_device(app, client, make_campaign):
    code = make_campaign()
    context = Context("Riverside", "baseline", "en")
    answers = synthetic_answers(CAPACITY, random.Random(2), context)
    path = start(client, code)
    first = CAPACITY.pages[0]
    path = location_path(post_page(client, path, to_form(first, answers)))
    second = next(p for p in CAPACITY.pages if p.id == page_id(path))
    reply = post_page(client, path, to_form(second, answers), action="save")
    saved = client.get(location_path(reply))
    resume_code = re.search(r'class="code" dir="ltr">([A-Z0-9-]+)<', saved.text).group(1)

    phone = app.test_client()  # no cookies from the first device
    reply = phone.get(f"/resume?code={resume_code.lower()}")
    assert reply.status_code == 302
    resumed = location_path(reply)
    # The page they saved on, not the one after it: it may be only half answered.
    assert page_id(resumed) == second.id
    (status, stored, _), = responses(app)
    assert status == "partial"
    for key in dict(to_form(first, answers)) | dict(to_form(second, answers)):
        assert key in stored
    # The resumed page shows the saved answers filled in.
    back = phone.get(resumed)
    for name, value in to_form(second, answers)[:3]:
        assert re.search(rf'name="{re.escape(name)}" value="{re.escape(value)}"( checked)?', back.text) \
            or f">{value}<" in back.text


def resume_path(app, client):
    """Where the resume code of the only response leads a device without cookies."""
    with app.app_context():
        resume_code = db.session.scalar(sa.select(Response.resume_code))
    reply = app.test_client().get(f"/resume?code={resume_code}")
    assert reply.status_code == 302, reply.text[:500]
    return location_path(reply)


def test_resume_reopens_a_half_answered_page(app, client, make_campaign):
    code = make_campaign()
    path = start(client, code)
    assert page_id(path) == "about_you"
    reply = post_page(client, path, [("area", "north"), ("age_band", "25-34")], action="save")
    assert reply.status_code == 302
    resumed = resume_path(app, client)
    assert page_id(resumed) == "about_you"
    body = app.test_client().get(resumed).text
    assert re.search(r'name="area" value="north" checked', body)


def test_resume_after_back_opens_the_page_gone_back_to(app, client, make_campaign):
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(3), Context("Riverside", "baseline", "en"))
    path = start(client, code)
    for _ in range(2):
        page = next(p for p in CAPACITY.pages if p.id == page_id(path))
        path = location_path(post_page(client, path, to_form(page, answers)))
    assert page_id(path) == "skills_page"
    back = location_path(post_page(client, path, [], action="back"))
    assert page_id(back) == "resources_page"
    assert page_id(resume_path(app, client)) == "resources_page"


def test_language_chosen_mid_survey_comes_back_on_resume(app, client, make_campaign):
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(4), Context("Riverside", "baseline", "en"))
    path = start(client, code, "en")
    path = location_path(post_page(client, path, to_form(CAPACITY.pages[0], answers)))
    switched = post_page(client, path, [], action="lang:es")
    assert switched.status_code == 302 and "lang=es" in switched.headers["Location"]
    assert html_attrs(client.get(location_path(switched)).text)["lang"] == "es"
    assert responses(app)[0][2] == "es"
    # Another device, whose browser asks for English, resumes in Spanish.
    resumed = resume_path(app, client)
    page = app.test_client().get(resumed, headers={"Accept-Language": "en"})
    assert html_attrs(page.text)["lang"] == "es"


def test_switching_to_a_language_the_survey_lacks_keeps_the_current_one(app, client, make_campaign):
    code = make_campaign()
    path = start(client, code, "fr")
    reply = post_page(client, path, [], action="lang:de")
    assert reply.status_code == 302 and "lang=fr" in reply.headers["Location"]
    assert responses(app)[0][2] == "fr"


def walk_to(client, path, target, answers):
    while page_id(path) != target:
        page = next(p for p in CAPACITY.pages if p.id == page_id(path))
        reply = post_page(client, path, to_form(page, answers))
        assert reply.status_code == 302, reply.text[:1000]
        path = location_path(reply)
    return path


@pytest.mark.parametrize("action", ["back", "save", "lang:fr"])
def test_invalid_typed_value_is_kept_with_its_message(app, client, make_campaign, action):
    """Back, Save and the language switch store what is valid and keep what is not, shown
    again with its message on the page, on any device: typed text is never dropped."""
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(5), Context("Riverside", "baseline", "en"))
    path = walk_to(client, start(client, code, "es"), "participation_page", answers)
    reply = post_page(client, path, [("attended_meeting", "no"), ("volunteer_hours", "dos horas")],
                      action=action)
    assert reply.status_code == 302
    stored = responses(app)[0][1]
    assert stored["attended_meeting"] == "no" and "volunteer_hours" not in stored

    other_device = app.test_client()
    page = other_device.get(path.split("?")[0])
    assert page.status_code == 200
    field = next(e for e in elements(page.text) if e.get("id") == "f-volunteer_hours")
    assert field["value"] == "dos horas" and field.get("aria-invalid") == "true"
    language = "fr" if action == "lang:fr" else "es"
    assert catalog_text(language, "Please enter a number, such as 2.5.") in page.text
    assert 'id="e-attended_meeting"' not in page.text  # only what was typed is flagged

    # Corrected, the draft is gone and the answer stored.
    fixed = post_page(other_device, path.split("?")[0], [("attended_meeting", "no"),
                                                           ("volunteer_hours", "2,5")])
    assert fixed.status_code == 302
    assert responses(app)[0][1]["volunteer_hours"] == 2.5
    again = other_device.get(path.split("?")[0]).text
    assert "dos horas" not in again and 'id="e-volunteer_hours"' not in again


def test_paging_back_over_a_blank_required_answer_is_not_flagged(app, client, make_campaign):
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(6), Context("Riverside", "baseline", "en"))
    path = walk_to(client, start(client, code), "participation_page", answers)
    post_page(client, path, [], action="back")
    page = client.get(path)
    assert page.status_code == 200 and 'class="errors"' not in page.text


def test_unknown_resume_code_gets_a_clear_message(client):
    reply = client.get("/resume?code=ZZZZ-ZZZZ")
    assert reply.status_code == 404 and 'id="code-err"' in reply.text


def test_expired_csrf_token_keeps_the_answers(app, client, make_campaign):
    code = make_campaign()
    path = start(client, code)
    page = CAPACITY.pages[0]
    answers = synthetic_answers(CAPACITY, random.Random(8), Context("Riverside", "baseline", "en"))
    pairs = to_form(page, answers)
    current = hidden(client.get(path).text, "csrf_token")
    token = expired_csrf_token(app, client)  # signed two hours ago; the limit is one
    reply = client.post(path, data=MultiDict([("csrf_token", token), ("action", "next"), *pairs]))
    assert reply.status_code == 400
    assert 'role="alert"' in reply.text
    fresh = hidden(reply.text, "csrf_token")
    assert fresh != token
    for name, value in pairs:  # every answer typed is on the page again
        assert f'value="{value}"' in reply.text, name
    assert responses(app)[0][1] == {}
    assert current != token  # the page's own token differs only by its timestamp
    again = client.post(path, data=MultiDict([("csrf_token", fresh), ("action", "next"), *pairs]))
    assert again.status_code == 302
    assert set(dict(pairs)) <= set(responses(app)[0][1])


def test_double_tap_on_start_opens_one_response(app, client, make_campaign):
    code = make_campaign()
    landing = client.get(f"/s/{code}")
    data = {"csrf_token": hidden(landing.text, "csrf_token"),
            "submission_id": hidden(landing.text, "submission_id"), "language": "en"}
    first = client.post(f"/s/{code}/start", data=data)
    second = client.post(f"/s/{code}/start", data=data)
    assert location_path(first) == location_path(second)
    assert len(responses(app)) == 1


def test_double_tap_on_submit_stores_one_complete_response(app, client, make_campaign,
                                                         load_test_instrument):
    load_test_instrument("all-types")
    code = make_campaign("all-types")
    path = start(client, code)
    token = hidden(client.get(path).text, "csrf_token")
    form = MultiDict([("csrf_token", token), ("action", "next"), *ALL_TYPES_BASE.items()])
    first = client.post(path, data=form)
    second = client.post(path, data=form)
    assert location_path(first).endswith("/done") and location_path(second).endswith("/done")
    assert [r[0] for r in responses(app)] == ["complete"]


CLOSE = {"status": "UPDATE campaigns SET status = 'closed'",
         "closes_at": "UPDATE campaigns SET closes_at = '2020-01-01 00:00:00+00:00'"}


@pytest.mark.parametrize("how", sorted(CLOSE))
def test_campaign_closing_mid_survey_says_so_and_keeps_the_answers(app, client, make_campaign, how):
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(7), Context("Riverside", "baseline", "es"))
    path = walk_to(client, start(client, code, "es"), "skills_page", answers)
    kept = responses(app)[0][1]
    assert kept
    with app.app_context():
        db.session.execute(sa.text(CLOSE[how]))
        db.session.commit()
    closed = catalog_text("es", "This survey has closed")
    base = path.rsplit("/", 1)[0]
    with app.app_context():
        resume_code = db.session.scalar(sa.select(Response.resume_code))
    for reply in (client.get(path), post_page_closed(client, path),
                  client.get(f"{base}/saved"), client.get(f"{base}/done"),
                  client.get(f"/s/{code}"), client.get(f"/resume?code={resume_code}"),
                  app.test_client().get(f"/resume?code={resume_code}")):
        if reply.status_code == 302:  # /done of a partial response goes to its page
            reply = client.get(location_path(reply))
        assert reply.status_code == 410, reply.text[:300]
        assert closed in reply.text and html_attrs(reply.text)["lang"] == "es"
    assert responses(app)[0][1] == kept  # nothing lost, nothing new accepted
    assert client.post(f"{base}/skills_page/relevance", data={}).status_code == 410


def post_page_closed(client, path):
    """Post a page of a closed campaign (its GET no longer carries a form token)."""
    return client.post(path, data={"action": "next", "info_sources": "radio"})


def test_unknown_campaign_is_not_found(client):
    assert client.get("/s/nosuch").status_code == 404


@pytest.mark.parametrize("lang", ["xx", "%00", "..%2F..", "en_US_POSIX_x", "ar-EG", ""])
@pytest.mark.parametrize("where", ["/resume", "/resume?code=ZZZZ-ZZZZ", "/", "/s/{code}",
                                   "/s/{code}/{resume}/about_you", "/s/{code}/{resume}/saved"])
def test_an_unknown_language_gives_a_clear_page(app, client, make_campaign, where, lang):
    code = make_campaign()
    start(client, code)
    with app.app_context():
        resume_code = db.session.scalar(sa.select(Response.resume_code))
    url = where.format(code=code, resume=resume_code)
    reply = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert reply.status_code in (200, 404), reply.text[:300]
    assert "<html" in reply.text and html_attrs(reply.text)["lang"] in CAPACITY.languages


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_survey_pages_are_small_and_self_contained(client, make_campaign, lang):
    """Every page of the survey weighs at most 30 KB with its CSS and JS, and loads
    nothing from another host."""
    code = make_campaign()
    path = start(client, code, lang)
    base = path.rsplit("/", 1)[0]
    assets = sum(len(client.get(f"/static/{name}").data) for name in ("survey.css", "survey.js"))
    heaviest = 0
    for page in CAPACITY.pages:
        html = client.get(f"{base}/{page.id}").data
        heaviest = max(heaviest, len(html))
        assert not re.search(rb'(src|href|action)="(https?:)?//', html)
    assert heaviest + assets <= 30 * 1024, (heaviest, assets)


@pytest.mark.parametrize("path", ["/s/%00", "/s/abc%00def", "/s/x/%00/p", "/resume?code=%00",
                                  "/s/zzzzzz/AAAAAAAA/about_you", "/s/zzzzzz/AAAAAAAA/done"])
def test_odd_urls_are_clean_404s(client, path):
    reply = client.get(path)
    assert reply.status_code == 404
    assert "<html" in reply.text  # our page, not a traceback


@pytest.mark.parametrize("pairs", [
    [("years_here", "\x00"), ("area", "north\x00")],
    [("area", "x" * 100_000)],
    [("age_band", "18-24"), ("age_band", "25-34")],
    [("years_here", "1e309"), ("gender", "🙂")],
    [("area", "other"), ("area.other", "\u202e\u0000")],
])
@pytest.mark.parametrize("action", ["next", "save"])
def test_garbage_in_a_page_is_refused_politely(app, client, make_campaign, pairs, action):
    path = start(client, make_campaign(), "ar")
    reply = post_page(client, path, pairs, action=action)
    assert reply.status_code in (302, 422)
    if reply.status_code == 422:
        assert html_attrs(reply.text)["dir"] == "rtl"
    # What Save kept as a draft comes back on the page, without the control characters.
    again = client.get(path)
    assert again.status_code == 200 and "\x00" not in again.text


def test_relevance_endpoint_answers_from_the_typed_values(client, make_campaign):
    code = make_campaign()
    path = start(client, code)
    base = path.rsplit("/", 1)[0]
    page = client.get(f"{base}/participation_page")
    assert 'data-relevance="' in page.text
    url = f"{base}/participation_page/relevance"
    shown_yes = client.post(url, data={"attended_meeting": "yes"}).json["shown"]
    shown_no = client.post(url, data={"attended_meeting": "no"}).json["shown"]
    assert "meetings_count" in shown_yes and "meeting_barriers" not in shown_yes
    assert "meeting_barriers" in shown_no and "meetings_count" not in shown_no
    # A page without same-page conditions does not ask.
    assert 'data-relevance="' not in client.get(f"{base}/about_you").text


def test_contact_details_are_stored_apart_from_the_answers(app, client, make_campaign):
    """The consent promises it: answers to pii questions go to their own table."""
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(9), Context("Riverside", "baseline", "en"))
    answers.update({"follow_up_invite": "yes", "contact": "resident@example.org"})
    complete(client, code, answers)
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        assert "contact" not in response.answers
        assert response.private.answers == {"contact": "resident@example.org"}
        assert response.all_answers == answers
        private_rows = db.session.execute(sa.text("SELECT count(*) FROM private_answers")).scalar()
        assert private_rows == 1


@pytest.mark.parametrize("action", ["next", "back", "lang:es"])
def test_a_page_post_writes_the_response_in_one_update(app, client, make_campaign, action):
    """Answers, draft and the page moved to go out together: one UPDATE of responses per post."""
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(5), Context("Riverside", "baseline", "en"))  # answers page 2
    path = start(client, code)
    path = location_path(post_page(client, path, to_form(CAPACITY.pages[0], answers)))
    page = next(p for p in CAPACITY.pages if p.id == page_id(path))
    form = client.get(path)
    updates = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE RESPONSES"):
            updates.append(statement)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        reply = client.post(path, data=MultiDict([("csrf_token", hidden(form.text, "csrf_token")),
                                                  ("action", action), *to_form(page, answers)]))
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert reply.status_code == 302
    assert len(updates) == 1, updates
    with app.app_context():
        (row,) = db.session.scalars(sa.select(Response)).all()
        expected = {"next": CAPACITY.pages[2].id, "back": CAPACITY.pages[0].id,
                    "lang:es": page.id}[action]
        assert row.current_page == expected and page_id(location_path(reply)) == expected
        assert row.language == ("es" if action == "lang:es" else "en")
        typed = {k: v for k, v in row.all_answers.items() if k in {key for q in page.questions for key in q.answer_keys}}
        assert typed  # what was typed on the page is stored whichever way the respondent left it


def test_a_page_is_shown_from_one_statement(app, client, make_campaign):
    """The campaign (read afresh) and the response with its private answers and draft."""
    code = make_campaign()
    path = start(client, code)
    statements = []
    with app.app_context():
        engine = db.engine
    listen = lambda _conn, _cursor, statement, *_args: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        reply = client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert reply.status_code == 200
    assert len(statements) == 1, statements
    # A resume code of another campaign is still a 404.
    other = make_campaign(site="Elsewhere")
    assert client.get(path.replace(f"/s/{code}/", f"/s/{other}/")).status_code == 404


def test_respondent_pages_leave_the_session_cookie_alone(client, make_campaign):
    """Once a response is started, showing its pages sets no cookie: Flask-Login's strong
    session protection once ran on every render (its context processor loaded the user),
    rewrote the session of a respondent who never signed in and deleted a remember-me
    cookie, on every page. A staff page still loads the user (and signs nobody in)."""
    code = make_campaign()
    path = start(client, code)
    for _ in range(2):
        shown = client.get(path)
        assert shown.status_code == 200
        assert shown.headers.getlist("Set-Cookie") == []
    assert client.get("/staff/").status_code == 302
