"""Respondent pages. Thin: find the campaign and response, call operations, render.

Every page works without JavaScript. The response being answered is named in
the URL by its resume code, so a lost cookie loses nothing; the session only
remembers the chosen language and which responses this browser has open.
"""
from __future__ import annotations

import uuid

import segno
from flask import (abort, current_app, g, jsonify, redirect, render_template, request, session,
                   url_for)
from markupsafe import Markup
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from surveyapp import operations, queries
from surveyapp.domain import navigation, panel_code
from surveyapp.domain import offline as offline_doc
from surveyapp.domain.answers import CODES, AnswerError, form_to_raw, is_relevant, relevant_on_page, validate_page
from surveyapp.domain.instruments import localise, text_direction
from surveyapp.access import public
from surveyapp.extensions import csrf
from surveyapp.i18n import LANGUAGE_NAMES, app_ui_languages, choose_language, remember_language
from surveyapp.messages import describe
from surveyapp.surveys import bp, limits


# ----------------------------------------------------------------------------- helpers

@bp.before_request
def _gets_only_read():
    """Every respondent GET only reads: its statements run without a transaction (one
    round trip each on PostgreSQL instead of three; see read_without_transaction)."""
    if request.method in ("GET", "HEAD"):
        operations.read_without_transaction()


class _Closed(Exception):
    """The campaign has closed: every respondent page says so instead of going on."""


def _open_campaign(code: str):
    """The campaign, its current version and parsed instrument.

    404 for an unknown (or not yet opened) campaign; ``_Closed`` for one that has closed.
    """
    campaign = queries.respondent.respondent_campaign(code)
    if campaign is None:
        abort(404)
    found = queries.respondent.respondent_version(campaign)
    if found is None:
        abort(404)
    version, instrument = found
    if not queries.campaigns.is_open(campaign):
        if queries.campaigns.has_closed(campaign):
            _set_language(instrument)
            raise _Closed(campaign, instrument)
        abort(404)
    return campaign, version, instrument


@bp.errorhandler(_Closed)
def _closed_page(closed):
    """The campaign closed (perhaps while the respondent was half-way): say so in their
    language. What they saved stays stored; nothing new is accepted."""
    campaign, instrument = closed.args
    language = getattr(g, "language", None) or instrument.default_language
    return render_template("surveys/closed.html", campaign=campaign, instrument=instrument,
                           t=_translator(instrument, language)), 410


def _refuse_if_closed(campaign, instrument, response) -> None:
    """Raise ``_Closed`` when the campaign of this (partial) response has closed; 404 when
    it is otherwise not open (taken back to draft, or not open yet)."""
    if queries.campaigns.is_open(campaign):
        return
    if not queries.campaigns.has_closed(campaign):
        abort(404)
    _set_language(instrument, response.language)
    raise _Closed(campaign, instrument)


def _set_language(instrument, saved: str | None = None) -> str:
    language = choose_language(instrument.languages, instrument.default_language, saved)
    remember_language(language)
    g.language = language
    return language


def _response_for(code, resume_code):
    """(campaign, response, instrument) named by a respondent URL; 404 unless they match.

    The campaign is read afresh (its status changes), with the response in one
    statement; the instrument comes from the per-process cache of versions (which never
    change).
    """
    campaign, response = queries.respondent.respondent_response(code, resume_code) or abort(404)
    _, instrument = queries.instruments.version_and_instrument(response.instrument_version_id)
    return campaign, response, instrument


def _translator(instrument, language):
    """A function templates call to put instrument text in the respondent's language."""
    return lambda text: localise(text, language, instrument.default_language)


@bp.app_template_global()
def is_chosen(values: dict, key: str, choice) -> bool:
    """Whether ``choice`` is the answer under ``key`` (or one of them, for a list), compared
    as text: a page re-shown with what was typed holds strings, stored answers numbers."""
    value = values.get(key)
    if value is None:
        return False
    if isinstance(value, (list, tuple, set)):
        return str(choice) in {str(item) for item in value}
    return str(value) == str(choice)


def _remember_open_response(campaign, response):
    open_responses = session.get("open", {})
    open_responses[campaign.code] = response.resume_code
    session["open"] = open_responses


# ----------------------------------------------------------------------------- pages

@bp.get("/")
@public
def index():
    campaigns = queries.respondent.listed_open_campaigns()
    entries = []
    for campaign in campaigns:
        version = queries.campaigns.campaign_version(campaign)
        if version is None:
            continue
        instrument = queries.instruments.instrument_of(version)
        language = instrument.language_for(request.accept_languages.best_match(instrument.languages))
        entries.append({"campaign": campaign, "language": language,
                        "dir": text_direction(language),
                        "title": localise(instrument.title, language, instrument.default_language)})
    return render_template("surveys/index.html", entries=entries)


@bp.get("/s/<code>")
@public
@limits.per_address
def landing(code):
    campaign, version, instrument = _open_campaign(code)
    language = _set_language(instrument)
    return _render_landing(campaign, instrument, language)


def _render_landing(campaign, instrument, language, notice=None, status=200, *,
                    panel_typed="", panel_problem=None):
    resume_code = session.get("open", {}).get(campaign.code)
    return render_template(
        "surveys/landing.html", campaign=campaign, instrument=instrument, t=_translator(instrument, language),
        submission_id=uuid.uuid4(), resume_code=resume_code, notice=notice,
        languages=instrument.languages, asks_panel_code=queries.panel.is_follow_up(campaign),
        panel_typed=panel_typed, panel_problem=panel_problem), status


def _panel_code_problem(answer) -> str:
    """Why a typed panel code fails its check, in the page's language."""
    if answer.reason == panel_code.BAD_CHARACTER:
        return _("A panel code never contains “%(character)s”. Codes use no 0, O, 1, I or L. "
                 "Please check the code.", character=answer.character)
    if answer.reason == panel_code.WRONG_LENGTH:
        return _("A panel code has 11 letters and numbers, like K7QM-4XTD-P9Q. Please check the code.")
    return _("This code has a typing mistake: one character is wrong, or two are swapped. "
             "Please check the code.")


@bp.post("/s/<code>/start")
@public
@csrf.exempt
@limits.per_address
@limits.start_per_address
@limits.start_per_session
@limits.panel_code_guesses
def start(code):
    campaign, version, instrument = _open_campaign(code)
    language = _set_language(instrument, request.form.get("language"))
    if not _csrf_ok():
        return _render_landing(campaign, instrument, language, notice="expired", status=400)
    try:
        submission_id = uuid.UUID(request.form.get("submission_id", ""))
    except ValueError:
        abort(400)
    typed = request.form.get("panel_code", "").strip()
    # Only a follow-up's first page asks for a code; online, a baseline gives one out at the
    # end (a code chosen by whoever posts the form is not one the server made). Without a
    # code, a start costs no panel query at all.
    if typed and (request.form.get("action") == "without_code" or not queries.panel.is_follow_up(campaign)):
        typed = ""
    answer = queries.panel.judge_code(campaign, typed, operations.panel.secret())
    g.panel_code_failed = answer.outcome in queries.panel.FAILURES  # counted by the limit
    if answer.outcome == queries.panel.INVALID:
        # Nothing is started: they fix the code, or go on without one.
        return _render_landing(campaign, instrument, language, status=422, panel_typed=typed,
                               panel_problem=_panel_code_problem(answer))

    def work():
        started = operations.surveys.start_response(campaign, version, submission_id, language)
        return started, _panel_outcome(started.id, campaign, answer)

    response, panel_notice = operations.transaction(work)
    _remember_open_response(campaign, response)
    if response.status == "complete":
        return redirect(url_for(".done", code=campaign.code, resume_code=response.resume_code))
    context = queries.respondent.response_context(campaign, response.language)
    target = navigation.resume_page(instrument, response.current_page, response.answers, context)
    return redirect(url_for(".page", code=campaign.code, resume_code=response.resume_code,
                            page_id=target.id, panel=panel_notice))


def _panel_outcome(response_id, campaign, answer) -> str | None:
    """Link the response when the code was accepted; what the first page should say about
    the code (None when no code was given). A code "used" by this very response (a double
    tap on Start) counts as linked."""
    if answer.outcome == queries.panel.ACCEPTED:
        if operations.panel.link(response_id, campaign, answer.link_key):
            return "linked"
    if answer.outcome in (queries.panel.ACCEPTED, queries.panel.USED):
        existing = queries.panel.link_of(response_id)
        return "linked" if existing is not None and existing.link_key == answer.link_key else "used"
    return "unknown" if answer.outcome == queries.panel.UNKNOWN else None


@bp.get("/resume")
@public
@limits.per_address
@limits.resume_guesses
def resume():
    """Continue a response from its resume code, typed in on any device."""
    code = request.args.get("code", "")
    response = queries.respondent.response_by_resume_code(code) if code else None
    if response is None:
        # Only a language we have a catalog for: anything else would reach Babel as a locale.
        asked = request.args.get("lang")
        g.language = asked if asked in app_ui_languages() else None
        return render_template("surveys/resume.html", code=code, not_found=bool(code)), (404 if code else 200)
    campaign = response.campaign
    instrument = queries.instruments.instrument_of(response.instrument_version)
    if response.status == "complete":
        return redirect(url_for(".done", code=campaign.code, resume_code=response.resume_code))
    _refuse_if_closed(campaign, instrument, response)
    _remember_open_response(campaign, response)
    context = queries.respondent.response_context(campaign, response.language)
    target = navigation.resume_page(instrument, response.current_page, response.all_answers, context)
    # In the language stored with the response, even on a device that chose another one.
    return redirect(url_for(".page", code=campaign.code, resume_code=response.resume_code,
                            page_id=target.id, lang=response.language))


@bp.route("/s/<code>/<resume_code>/<page_id>", methods=["GET", "POST"])
@public
@csrf.exempt  # checked below, so that an expired token keeps the answers
@limits.per_address
@limits.resume_guesses
@limits.per_response
def page(code, resume_code, page_id):
    campaign, response, instrument = _response_for(code, resume_code)
    if response.status == "complete":
        return redirect(url_for(".done", code=code, resume_code=resume_code))
    _refuse_if_closed(campaign, instrument, response)
    language = _set_language(instrument, response.language)
    page = next((p for p in instrument.pages if p.id == page_id), None) or abort(404)
    context = queries.respondent.response_context(campaign, language)

    if request.method == "GET":
        draft = operations.surveys.draft_of(response, page)
        values = {**response.all_answers, **draft}
        return _render_page(campaign, response, instrument, page, language, context, values=values,
                            errors=_draft_errors(instrument, page, values, draft, context),
                            panel_notice=request.args.get("panel"))

    raw = form_to_raw(page, request.form)
    if not _csrf_ok():
        # The token expired (a long pause on one page): show the answers again with a
        # fresh token, and store nothing until the respondent presses the button again.
        return _render_page(campaign, response, instrument, page, language, context,
                            values={**response.all_answers, **raw}, notice="expired", status=400)

    action = request.form.get("action", "next")
    # Back, Save and the language switch store what is valid and keep the rest as a
    # draft, shown with its message on return: leaving a page never loses what was typed.
    if action.startswith("lang:"):
        chosen = action.removeprefix("lang:")
        chosen = chosen if chosen in instrument.languages else language

        operations.transaction(lambda: operations.surveys.switch_language(
            response, instrument, page, raw, context, chosen))
        return redirect(url_for(".page", code=code, resume_code=resume_code, page_id=page.id,
                                lang=chosen))
    if action == "save":
        operations.transaction(lambda: operations.surveys.save_page(
            response, instrument, page, raw, context, keep_valid=True))
        return redirect(url_for(".saved", code=code, resume_code=resume_code))
    if action == "back":
        earlier = operations.transaction(lambda: operations.surveys.go_back(
            response, instrument, page, raw, context))
        return redirect(url_for(".page", code=code, resume_code=resume_code, page_id=earlier.id))

    errors, later, incomplete = operations.transaction(lambda: operations.surveys.go_forward_or_complete(
        response, instrument, page, raw, context))
    if errors:
        return _render_page(campaign, response, instrument, page, language, context,
                            values={**response.all_answers, **raw}, errors=errors, status=422)
    if later is not None:
        return redirect(url_for(".page", code=code, resume_code=resume_code, page_id=later.id))
    if incomplete:
        # An earlier page no longer passes (e.g. the instrument changed): send them there.
        first = next(p for p in instrument.pages if p.id == instrument.question(incomplete[0].question_id).page_id)
        return _render_page(campaign, response, instrument, first, language, context,
                            values=response.all_answers, errors=incomplete, status=422)
    session.get("open", {}).pop(code, None)
    session.modified = True
    return redirect(url_for(".done", code=code, resume_code=resume_code))


def _draft_errors(instrument, page, values, draft, context):
    """The messages for what was typed and kept in the page's draft (none without a draft)."""
    if not draft:
        return []
    drafted = {key.split(".")[0] for key in draft}
    _, errors = validate_page(instrument, page, values, values, context)
    return [error for error in errors if error.question_id in drafted]


@bp.post("/s/<code>/<resume_code>/<page_id>/relevance")
@public
@csrf.exempt  # reads only: nothing is stored
@limits.per_address
@limits.resume_guesses
@limits.per_response
def relevance(code, resume_code, page_id):
    """Which questions of the page apply to what is typed so far (for showing and hiding)."""
    campaign, response, instrument = _response_for(code, resume_code)
    if not queries.campaigns.is_open(campaign):
        return {"shown": None, "closed": True}, 410
    page = next((p for p in instrument.pages if p.id == page_id), None) or abort(404)
    context = queries.respondent.response_context(campaign, response.language)
    raw = form_to_raw(page, request.form)
    return {"shown": relevant_on_page(page, raw, response.all_answers, context)}


def _render_page(campaign, response, instrument, page, language, context, *, values,
                 errors=(), notice=None, status=200, panel_notice=None):
    position, page_count = navigation.position_of(instrument, page, values, context)
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
        panel_notice=panel_notice if panel_notice in ("linked", "unknown", "used") else None,
        position=position, page_count=page_count, is_last=position >= page_count,
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
@limits.per_address
@limits.resume_guesses
@limits.per_response
def saved(code, resume_code):
    campaign, response, instrument = _response_for(code, resume_code)
    if response.status != "complete":
        _refuse_if_closed(campaign, instrument, response)
    language = _set_language(instrument, response.language)
    return render_template("surveys/saved.html", campaign=campaign, response=response,
                           instrument=instrument, t=_translator(instrument, language),
                           resume_code=operations.surveys.format_resume_code(response.resume_code))


@bp.get("/s/<code>/<resume_code>/done")
@public
@limits.per_address
@limits.resume_guesses
@limits.per_response
def done(code, resume_code):
    campaign, response, instrument = _response_for(code, resume_code)
    _set_language(instrument, response.language)
    if response.status != "complete":
        return redirect(url_for(".page", code=code, resume_code=resume_code,
                                page_id=response.current_page or instrument.pages[0].id))
    return _render_done(campaign, response, instrument)


def _render_done(campaign, response, instrument, *, code=None, already=False):
    """The thank-you page; at a baseline it offers a panel code (``code``: the one just made,
    shown this once; ``already``: one was given before and cannot be shown again)."""
    # Once this campaign's results are published, the thank-you page leads to them.
    results = (url_for("results.page", code=campaign.code, lang=g.language)
               if queries.results.is_published(campaign) else None)
    offers_code = (code is None and not already and queries.panel.is_first_wave(campaign)
                   and queries.panel.link_of(response.id) is None)
    qr = None
    if code is not None:
        # segno writes only paths and numeric attributes (no style attribute, which the
        # CSP refuses), and the code holds nothing but the alphabet: safe to inline.
        qr = Markup(segno.make(code, error="m").svg_inline(
            dark="#000", light="#fff", border=4, omitsize=True))
    return render_template("surveys/done.html", campaign=campaign, instrument=instrument,
                           t=_translator(instrument, g.language), results_link=results,
                           resume_code=response.resume_code, offers_code=offers_code,
                           panel_code=code, panel_qr=qr, panel_already=already)


@bp.post("/s/<code>/<resume_code>/panel-code")
@public
@csrf.exempt  # checked below: an expired token shows the page again with its offer
@limits.per_address
@limits.resume_guesses
@limits.per_response
def panel_code_issue(code, resume_code):
    """Give a completed baseline response a panel code and show it, once."""
    campaign, response, instrument = _response_for(code, resume_code)
    _set_language(instrument, response.language)
    if response.status != "complete" or not queries.panel.is_first_wave(campaign):
        return redirect(url_for(".done", code=code, resume_code=resume_code))
    if not _csrf_ok():
        return _render_done(campaign, response, instrument), 400
    issued = operations.transaction(lambda: operations.panel.issue_code(response.id, campaign))
    response_page = _render_done(campaign, response, instrument, code=issued, already=issued is None)
    reply = current_app.make_response(response_page)
    # The code is on this page only: no cache, no back-button copy, no shared proxy.
    reply.headers["Cache-Control"] = "no-store"
    return reply


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


# ----------------------------------------------------------------------------- offline app
# The offline app (static/offline/) is one page per campaign whose service worker keeps
# the page, its script and style, and the instrument document; after one visit online
# the device collects with no connection and sends through the submission API.

def _offline_ui(language: str) -> dict:
    """The interface strings of the offline app in ``language``. ``{n}`` (and ``{total}``)
    are filled in on the device; ``sent_now`` holds one text per CLDR plural category,
    which the device picks with ``Intl.PluralRules`` (see offline_doc.plural_samples)."""
    with force_locale(language):
        return {
            "next": _("Next"), "back": _("Back"), "submit": _("Submit"), "other": _("Other"),
            "other_specify": _("If other, please specify:"), "language": _("Language"),
            "before": _("Before you start"), "agree": _("I agree, start the survey"),
            "page": _("Page %(num)s of %(total)s", num="{n}", total="{total}"),
            "start": _("Start a new response"),
            "queued": _("Responses waiting to be sent: %(num)s", num="{n}"),
            "sent": _("Responses sent from this device: %(num)s", num="{n}"),
            "sent_now": {category: ngettext("%(count)s response was sent.",
                                            "%(count)s responses were sent.", n, count="{n}")
                         for category, n in offline_doc.plural_samples(language).items()},
            "refused": _("Not accepted by the server, kept on this device:"),
            "saved": _("Response saved on this device. It is sent when there is a connection."),
            "storage_evictable": _("Answers stay on this device until they are sent. If the "
                                   "device runs short of space, the browser may remove them, "
                                   "so please send them when you can."),
            "storage_failed": _("This browser does not let this page keep answers on the "
                                "device. Answers are sent while there is a connection, but "
                                "are lost if this page is closed before that."),
            "ready": _("Ready: this device can collect answers without a connection."),
            "offline": _("No connection: answers are kept on this device."),
            # Panel codes (the same texts as the online pages; {character} filled on the device).
            "panel_label": _("Your code from last time (optional)"),
            "panel_hint": _("If you answered this survey before and kept a code, type it here to "
                            "link your answers. You can leave it empty."),
            "panel_without": _("Go on without a code"),
            "panel_length": _panel_code_problem(queries.panel.CodeAnswer(
                queries.panel.INVALID, panel_code.WRONG_LENGTH)),
            "panel_character": _panel_code_problem(queries.panel.CodeAnswer(
                queries.panel.INVALID, panel_code.BAD_CHARACTER, "{character}")),
            "panel_typo": _panel_code_problem(queries.panel.CodeAnswer(
                queries.panel.INVALID, panel_code.CHECK_FAILED)),
            "panel_offer": _("Keep a code to link your answers next time"),
            "panel_offer_text": _panel_offer_text(),
            "panel_give": _("Give me a code"),
            "panel_yours": _("Your code for next time"),
            "panel_next_time": _("Next time you answer this survey, type this code on the first "
                                 "page. It does not contain your name or anything about you."),
            "panel_once": _("Write it down, print it or take a photo now: it is shown only this "
                            "once and we cannot show it again."),
        }


def _panel_offer_text() -> str:
    return _("We may ask the same questions again later, to see what has changed. If you keep a "
             "short code and type it in next time, your two sets of answers can be compared. The "
             "code is not your name and says nothing about you: only the code links them. It is up "
             "to you.")


def _offline_messages(instrument, language: str) -> dict[str, str]:
    """Every validation message the device may show, in ``language``. ``{min}``, ``{max}``
    and ``{length}`` are filled in on the device; choice counts are rendered here for
    each count the instrument uses, since plural rules differ by language."""
    holes = {"min": "{min}", "max": "{max}", "length": "{length}"}
    with force_locale(language):
        messages = {code: describe(AnswerError("", code, holes), language,
                                   instrument.default_language)
                    for code in CODES if code not in ("too_few_choices", "too_many_choices")}
        for q in instrument.questions:
            for code, count in (("too_few_choices", q.min_choices),
                                ("too_many_choices", q.max_choices)):
                if count is not None:
                    params = {"min": count, "max": count}
                    messages[f"{code}:{count}"] = describe(
                        AnswerError("", code, params), language, instrument.default_language)
    return messages


@bp.get("/s/<code>/offline/")
@public
@limits.per_address
def offline(code):
    campaign, version, instrument = _open_campaign(code)
    language = _set_language(instrument)
    return render_template("surveys/offline.html", campaign=campaign, instrument=instrument,
                           language=language, direction=text_direction(language))


@bp.get("/s/<code>/offline/instrument.json")
@public
@limits.per_address
def offline_instrument(code):
    """The pinned version's instrument for the device: ``?lang=es,ar`` keeps those
    languages only (the default language always stays); without it, every language."""
    campaign, version, instrument = _open_campaign(code)
    wanted = [x for x in request.args.get("lang", "").split(",") if x in instrument.languages]
    context = queries.respondent.response_context(campaign, None)
    doc = offline_doc.instrument_document(
        instrument, wanted or None, context={"site": context.site, "wave": context.wave})
    doc["campaign"] = campaign.code
    doc["submit_url"] = url_for("api.submit")
    # Where panel codes come in: given out at the project's first wave, asked for at a later one.
    doc["panel"] = ("baseline" if queries.panel.is_first_wave(campaign)
                    else "follow_up" if queries.panel.is_follow_up(campaign) else None)
    doc["messages"] = {lang: _offline_messages(instrument, lang) for lang in doc["languages"]}
    doc["ui"] = {lang: _offline_ui(lang) for lang in doc["languages"]}
    # Endonyms, as the online switcher shows them: a reader finds their own language.
    doc["language_names"] = {lang: LANGUAGE_NAMES.get(lang, lang) for lang in doc["languages"]}
    response = jsonify(doc)
    response.headers["Cache-Control"] = "no-cache"  # the device revalidates when online
    return response


@bp.get("/s/<code>/offline/sw.js")
@public
@limits.per_address
def offline_worker(code):
    """The service worker, served under the campaign's offline path so that its scope
    (the path it is served from) covers that page and no other."""
    _open_campaign(code)
    response = current_app.send_static_file("offline/sw.js")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/s/<code>/offline/manifest.webmanifest")
@public
@limits.per_address
def offline_manifest(code):
    campaign, version, instrument = _open_campaign(code)
    language = _set_language(instrument)
    start = url_for("surveys.offline", code=code)
    response = jsonify(name=localise(instrument.title, language, instrument.default_language),
                       start_url=start, scope=start, display="standalone",
                       lang=language, dir=text_direction(language),
                       background_color="#ffffff", theme_color="#1f4e79")
    response.mimetype = "application/manifest+json"
    return response
