"""Respondent pages. Thin: find the campaign and response, call operations, render.

Every page works without JavaScript. The response being answered is named in
the URL by its resume code, so a lost cookie loses nothing; the session only
remembers the chosen language and which responses this browser has open.
"""
from __future__ import annotations

import uuid

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from surveyapp import operations, queries
from surveyapp.domain.answers import form_to_raw, is_relevant, page_is_shown, relevant_on_page
from surveyapp.domain.instruments import localise, text_direction
from surveyapp.access import public
from surveyapp.extensions import csrf, limiter
from surveyapp.i18n import choose_language, remember_language
from surveyapp.messages import describe
from surveyapp.surveys import bp


# ----------------------------------------------------------------------------- helpers

def _open_campaign(code: str):
    """The campaign, its current version and parsed instrument; 404 unless open."""
    campaign = queries.campaign_by_code(code)
    if campaign is None or not queries.is_open(campaign):
        abort(404)
    version = queries.campaign_version(campaign)
    if version is None:
        abort(404)
    return campaign, version, queries.instrument_of(version)


def _set_language(instrument, saved: str | None = None) -> str:
    language = choose_language(instrument.languages, instrument.default_language, saved)
    remember_language(language)
    g.language = language
    return language


def _response_for(campaign, resume_code):
    response = queries.response_by_resume_code(resume_code)
    if response is None or response.campaign_id != campaign.id:
        abort(404)
    return response


def _shown_pages(instrument, answers, context):
    return [p for p in instrument.pages if page_is_shown(p, answers, context)]


def _translator(instrument, language):
    """A function templates call to put instrument text in the respondent's language."""
    return lambda text: localise(text, language, instrument.default_language)


def _remember_open_response(campaign, response):
    open_responses = session.get("open", {})
    open_responses[campaign.code] = response.resume_code
    session["open"] = open_responses


# ----------------------------------------------------------------------------- pages

@bp.get("/")
@public
def index():
    campaigns = queries.listed_open_campaigns()
    entries = []
    for campaign in campaigns:
        version = queries.campaign_version(campaign)
        if version is None:
            continue
        instrument = queries.instrument_of(version)
        language = instrument.language_for(request.accept_languages.best_match(instrument.languages))
        entries.append({"campaign": campaign, "language": language,
                        "dir": text_direction(language),
                        "title": localise(instrument.title, language, instrument.default_language)})
    return render_template("surveys/index.html", entries=entries)


@bp.get("/s/<code>")
@public
def landing(code):
    campaign, version, instrument = _open_campaign(code)
    language = _set_language(instrument)
    return _render_landing(campaign, instrument, language)


def _render_landing(campaign, instrument, language, notice=None, status=200):
    resume_code = session.get("open", {}).get(campaign.code)
    return render_template(
        "surveys/landing.html", campaign=campaign, instrument=instrument, t=_translator(instrument, language),
        submission_id=uuid.uuid4(), resume_code=resume_code, notice=notice,
        languages=instrument.languages), status


@bp.post("/s/<code>/start")
@public
@csrf.exempt
def start(code):
    campaign, version, instrument = _open_campaign(code)
    language = _set_language(instrument, request.form.get("language"))
    if not _csrf_ok():
        return _render_landing(campaign, instrument, language, notice="expired", status=400)
    try:
        submission_id = uuid.UUID(request.form.get("submission_id", ""))
    except ValueError:
        abort(400)
    response = operations.transaction(
        lambda: operations.surveys.start_response(campaign, version, submission_id, language))
    _remember_open_response(campaign, response)
    return _redirect_to_page(campaign, response, instrument, 0)


@bp.get("/resume")
@public
@limiter.limit("20/minute")
def resume():
    """Continue a response from its resume code, typed in on any device."""
    code = request.args.get("code", "")
    response = queries.response_by_resume_code(code) if code else None
    if response is None:
        g.language = request.args.get("lang") or None
        return render_template("surveys/resume.html", code=code, not_found=bool(code)), (404 if code else 200)
    campaign = response.campaign
    instrument = queries.instrument_of(response.instrument_version)
    _remember_open_response(campaign, response)
    page_index = next((i for i, p in enumerate(instrument.pages) if p.id == response.current_page), -1)
    return _redirect_to_page(campaign, response, instrument, page_index + 1)


def _redirect_to_page(campaign, response, instrument, index, lang=None):
    if response.status == "complete":
        return redirect(url_for(".done", code=campaign.code, resume_code=response.resume_code))
    context = queries.response_context(campaign, response.language)
    shown = _shown_pages(instrument, response.all_answers, context)
    remaining = [p for p in instrument.pages[index:] if p in shown]
    target = remaining[0] if remaining else (shown[-1] if shown else instrument.pages[-1])
    return redirect(url_for(".page", code=campaign.code, resume_code=response.resume_code,
                            page_id=target.id, lang=lang))


# Resume codes are bearer tokens: these limits make guessing one hopeless
# (31^8 codes at a few hundred tries a minute) while no respondent comes near them.
RESPONDENT_LIMIT = "300/minute"


@bp.route("/s/<code>/<resume_code>/<page_id>", methods=["GET", "POST"])
@public
@csrf.exempt  # checked below, so that an expired token keeps the answers
@limiter.limit(RESPONDENT_LIMIT)
def page(code, resume_code, page_id):
    campaign = queries.campaign_by_code(code) or abort(404)
    response = _response_for(campaign, resume_code)
    instrument = queries.instrument_of(response.instrument_version)
    if response.status == "complete":
        return redirect(url_for(".done", code=code, resume_code=resume_code))
    if not queries.is_open(campaign):
        abort(404)
    language = _set_language(instrument, response.language)
    page = next((p for p in instrument.pages if p.id == page_id), None) or abort(404)
    context = queries.response_context(campaign, language)

    if request.method == "GET":
        return _render_page(campaign, response, instrument, page, language, context,
                            values=response.all_answers)

    raw = form_to_raw(page, request.form)
    if not _csrf_ok():
        # The token expired (a long pause on one page): show the answers again with a
        # fresh token, and store nothing until the respondent presses the button again.
        return _render_page(campaign, response, instrument, page, language, context,
                            values={**response.all_answers, **raw}, notice="expired", status=400)

    action = request.form.get("action", "next")
    if action.startswith("lang:"):
        # The language switcher posts the page: keep what is valid, come back in the new language.
        operations.transaction(lambda: operations.surveys.save_page(
            response, instrument, page, raw, context, keep_valid=True))
        return redirect(url_for(".page", code=code, resume_code=resume_code, page_id=page.id,
                                lang=action.removeprefix("lang:")))
    if action in {"back", "save"}:
        # Keep whatever is valid; moving back or leaving must not lose answers.
        operations.transaction(lambda: operations.surveys.save_page(
            response, instrument, page, raw, context, keep_valid=True))
        if action == "save":
            return redirect(url_for(".saved", code=code, resume_code=resume_code))
        shown = _shown_pages(instrument, response.all_answers, context)
        earlier = [p for p in shown if instrument.pages.index(p) < instrument.pages.index(page)]
        target = earlier[-1] if earlier else page
        return redirect(url_for(".page", code=code, resume_code=resume_code, page_id=target.id))

    errors = operations.transaction(
        lambda: operations.surveys.save_page(response, instrument, page, raw, context))
    if errors:
        return _render_page(campaign, response, instrument, page, language, context,
                            values={**response.all_answers, **raw}, errors=errors, status=422)

    shown = _shown_pages(instrument, response.all_answers, context)
    later = [p for p in shown if instrument.pages.index(p) > instrument.pages.index(page)]
    if later:
        return redirect(url_for(".page", code=code, resume_code=resume_code, page_id=later[0].id))

    errors = operations.transaction(
        lambda: operations.surveys.complete_response(response, instrument, context))
    if errors:
        # An earlier page no longer passes (e.g. the instrument changed): send them there.
        first = next(p for p in instrument.pages if p.id == instrument.question(errors[0].question_id).page_id)
        return _render_page(campaign, response, instrument, first, language, context,
                            values=response.all_answers, errors=errors, status=422)
    session.get("open", {}).pop(code, None)
    session.modified = True
    return redirect(url_for(".done", code=code, resume_code=resume_code))


@bp.post("/s/<code>/<resume_code>/<page_id>/relevance")
@public
@csrf.exempt  # reads only: nothing is stored
@limiter.limit(RESPONDENT_LIMIT)
def relevance(code, resume_code, page_id):
    """Which questions of the page apply to what is typed so far (for showing and hiding)."""
    campaign = queries.campaign_by_code(code) or abort(404)
    response = _response_for(campaign, resume_code)
    instrument = queries.instrument_of(response.instrument_version)
    page = next((p for p in instrument.pages if p.id == page_id), None) or abort(404)
    context = queries.response_context(campaign, response.language)
    raw = form_to_raw(page, request.form)
    return {"shown": relevant_on_page(page, raw, response.all_answers, context)}


def _render_page(campaign, response, instrument, page, language, context, *, values,
                 errors=(), notice=None, status=200):
    shown = _shown_pages(instrument, values, context)
    position = shown.index(page) + 1 if page in shown else 1
    questions = [q for q in page.questions if _display(q, page, values, context)]
    t = _translator(instrument, language)
    error_text, summary = {}, []
    for error in errors:
        if error.key not in error_text:
            error_text[error.key] = describe(error, language, instrument.default_language)
            summary.append((error.key, _answer_label(instrument, error.key, t), error_text[error.key]))
    return render_template(
        "surveys/page.html", campaign=campaign, response=response, instrument=instrument,
        page=page, questions=questions, values=values, errors=error_text, notice=notice,
        error_summary=summary, decides_on_page=any(_decided_on_page(q, page) for q in questions),
        position=position, page_count=max(len(shown), 1), is_last=position >= len(shown),
        t=t, languages=instrument.languages,
        resume_code=operations.surveys.format_resume_code(response.resume_code),
    ), status


def _answer_label(instrument, key, t) -> str:
    """What the error summary calls an answer: its matrix item's label, else its question's."""
    question = instrument.question(key.split(".")[0])
    item_id = key.partition(".")[2]
    item = next((i for i in question.items if i.id == item_id), None)
    return t(item.label if item else question.label)


def _decided_on_page(question, page) -> bool:
    same_page = {key for q in page.questions for key in q.answer_keys}
    return question.relevant is not None and bool(question.relevant.names & same_page)


def _display(question, page, values, context) -> bool:
    """Show a question unless its condition, decided by other pages' answers, is false.

    A condition on an earlier question of the same page cannot be decided before the
    page is posted (without JavaScript), so such a question is shown; the server
    drops its answer if the condition turns out false.
    """
    if question.relevant is None or _decided_on_page(question, page):
        return True
    return is_relevant(question, values, context)


@bp.get("/s/<code>/<resume_code>/saved")
@public
@limiter.limit(RESPONDENT_LIMIT)
def saved(code, resume_code):
    campaign = queries.campaign_by_code(code) or abort(404)
    response = _response_for(campaign, resume_code)
    instrument = queries.instrument_of(response.instrument_version)
    language = _set_language(instrument, response.language)
    return render_template("surveys/saved.html", campaign=campaign, response=response,
                           instrument=instrument, t=_translator(instrument, language),
                           resume_code=operations.surveys.format_resume_code(response.resume_code))


@bp.get("/s/<code>/<resume_code>/done")
@public
@limiter.limit(RESPONDENT_LIMIT)
def done(code, resume_code):
    campaign = queries.campaign_by_code(code) or abort(404)
    response = _response_for(campaign, resume_code)
    instrument = queries.instrument_of(response.instrument_version)
    _set_language(instrument, response.language)
    if response.status != "complete":
        return redirect(url_for(".page", code=code, resume_code=resume_code,
                                page_id=response.current_page or instrument.pages[0].id))
    return render_template("surveys/done.html", campaign=campaign, instrument=instrument,
                           t=_translator(instrument, g.language))


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True
