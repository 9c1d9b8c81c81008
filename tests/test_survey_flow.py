"""The respondent's HTML flow, without JavaScript: consent, pages, skip logic, errors in the
respondent's language, save and resume, an expired CSRF token, idempotent start and submit."""
from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import check_paths
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.helpers import catalog_text, elements, hidden, html_attrs, location_path, to_form

ROOT = Path(__file__).resolve().parent.parent
INSTRUMENTS = {i.id: i for i in check_paths([ROOT / "instruments"])[0]}
CAPACITY = INSTRUMENTS["community-capacity"]


def start(client, code, lang="en"):
    landing = client.get(f"/s/{code}?lang={lang}")
    assert landing.status_code == 200
    reply = client.post(f"/s/{code}/start", data={
        "csrf_token": hidden(landing.text, "csrf_token"),
        "submission_id": hidden(landing.text, "submission_id"), "language": lang})
    assert reply.status_code == 302
    return location_path(reply)


def post_page(client, path, pairs, action="next"):
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return client.post(path, data=MultiDict([("csrf_token", hidden(page.text, "csrf_token")),
                                             ("action", action), *pairs]))


def responses(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Response)).all()
        return [(r.status, dict(r.answers), r.language) for r in rows]


def page_id(path):
    return path.rstrip("/").split("/")[-1]


def complete(client, code, answers, lang="en"):
    """Answer page after page as a browser would; return the final path."""
    path = start(client, code, lang)
    for _ in range(len(CAPACITY.pages) + 1):
        if path.endswith("/done"):
            return path
        page = next(p for p in CAPACITY.pages if p.id == page_id(path))
        reply = post_page(client, path, to_form(page, answers))
        assert reply.status_code == 302, reply.text[:2000]
        path = location_path(reply)
    raise AssertionError("never reached the end")


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
    assert CAPACITY.pages.index(next(p for p in CAPACITY.pages if p.id == page_id(resumed))) > \
        CAPACITY.pages.index(second)
    (status, stored, _), = responses(app)
    assert status == "partial"
    for key in dict(to_form(first, answers)) | dict(to_form(second, answers)):
        assert key in stored
    # Going back shows the saved answers filled in.
    back = phone.get(path)
    for name, value in to_form(second, answers)[:3]:
        assert re.search(rf'name="{re.escape(name)}" value="{re.escape(value)}"( checked)?', back.text) \
            or f">{value}<" in back.text


def test_unknown_resume_code_gets_a_clear_message(client):
    reply = client.get("/resume?code=ZZZZ-ZZZZ")
    assert reply.status_code == 404 and 'id="code-err"' in reply.text


def test_expired_csrf_token_keeps_the_answers(app, client, make_campaign):
    code = make_campaign()
    path = start(client, code)
    page = CAPACITY.pages[0]
    answers = synthetic_answers(CAPACITY, random.Random(8), Context("Riverside", "baseline", "en"))
    pairs = to_form(page, answers)
    token = hidden(client.get(path).text, "csrf_token")
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    time.sleep(2.1)
    reply = client.post(path, data=MultiDict([("csrf_token", token), ("action", "next"), *pairs]))
    assert reply.status_code == 400
    assert 'role="alert"' in reply.text
    fresh = hidden(reply.text, "csrf_token")
    assert fresh != token
    for name, value in pairs:  # every answer typed is on the page again
        assert f'value="{value}"' in reply.text, name
    assert responses(app)[0][1] == {}
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
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


def test_closed_campaign_is_not_found(app, client, make_campaign):
    code = make_campaign()
    with app.app_context():
        db.session.execute(sa.text("UPDATE campaigns SET status = 'closed'"))
        db.session.commit()
    assert client.get(f"/s/{code}").status_code == 404
    assert client.get("/s/nosuch").status_code == 404


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
def test_garbage_in_a_page_is_refused_politely(app, client, make_campaign, pairs):
    path = start(client, make_campaign(), "ar")
    reply = post_page(client, path, pairs)
    assert reply.status_code in (302, 422)
    if reply.status_code == 422:
        assert html_attrs(reply.text)["dir"] == "rtl"


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
