"""POST /api/v1/submissions: store one complete response, exactly once. See docs/api.md."""
from __future__ import annotations

import datetime as dt
import uuid

from flask import current_app, g, jsonify, request

from surveyapp import operations, queries
from surveyapp.api import bp
from surveyapp.access import public
from surveyapp.domain.answers import unstorable
from surveyapp.extensions import csrf, limiter
from surveyapp.messages import describe
from surveyapp.surveys import limits

STATUS_BY_OUTCOME = {"created": 201, "duplicate": 200}
# What a device clock can plausibly say (a phone reset to 1970 included); both databases
# store it, and it converts to UTC without leaving Python's years 1-9999.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
MAX_REPORTED_ERRORS = 50
# Where a response was collected: a tool posting directly, or the offline app's queue.
SOURCES = ("api", "offline")
UNSTORABLE = {
    "too_deep": "The body is nested too deeply.",
    "invalid_text": "Text must be valid Unicode: no unpaired surrogates, no NUL in keys.",
}


def _api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


@bp.post("/submissions")
@public
@csrf.exempt
@limiter.limit(_api_limit)
@limits.panel_code_guesses
def submit():
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser's stack allows
        return _problem(400, "too_deep", UNSTORABLE["too_deep"])
    if not isinstance(payload, dict):
        return _problem(400, "invalid_json", "The body must be a JSON object.")
    problem = unstorable(payload)
    if problem:
        return _problem(400, problem, UNSTORABLE[problem])
    try:
        submission_id = uuid.UUID(str(payload.get("submission_id", "")))
    except ValueError:
        return _problem(400, "invalid_submission_id", "submission_id must be a UUID.")
    answers = payload.get("answers")
    if not isinstance(answers, dict):
        return _problem(400, "invalid_answers", "answers must be an object keyed by question id.")
    times = {}
    for key in ("started_at", "submitted_at"):
        try:
            times[key] = _timestamp(payload.get(key))
        except ValueError:
            return _problem(400, f"invalid_{key}",
                            f"{key} must be an ISO 8601 date-time between 1970 and 2100.")

    source = payload.get("source", "api")
    if source not in SOURCES:
        return _problem(400, "invalid_source", f"source must be one of: {', '.join(SOURCES)}.")
    typed_code = payload.get("panel_code")
    if typed_code is not None and not isinstance(typed_code, str):
        return _problem(400, "invalid_panel_code", "panel_code must be a string (or left out).")

    # Plain values read in one statement: nothing of them is reloaded after the commit.
    campaign = queries.respondent.respondent_campaign(str(payload.get("campaign", "")))
    # A retry of a stored submission is acknowledged even after the campaign closed: a device
    # that never heard the first reply must learn it was stored, not be refused forever.
    if campaign is None or not (queries.campaigns.is_open(campaign)
                                or queries.respondent.has_submission(campaign, submission_id)):
        return _problem(404, "unknown_campaign", "No open campaign has this code.")
    found = queries.respondent.respondent_version(campaign)
    if found is None:
        return _problem(404, "unknown_campaign", "No open campaign has this code.")
    version, instrument = found
    language = instrument.language_for(str(payload.get("language") or ""))
    g.language = language  # error messages in the respondent's language

    # Judged before the response is stored; whatever the code comes to, the answers are
    # stored (a code never costs a response), and the reply says what became of it.
    answer = queries.panel.judge_code(campaign, typed_code, operations.panel.secret())
    g.panel_code_failed = answer.outcome in queries.panel.FAILURES  # counted by the limit

    def work():
        result = operations.surveys.submit_response(
            campaign, version, instrument, submission_id=submission_id, language=language,
            answers=answers, source=source, **times)
        panel = None
        if result.response_id is not None and answer.outcome != queries.panel.NO_CODE:
            panel = _panel_reply(result.response_id, campaign, answer)
        return result, panel

    result, panel = operations.transaction(work)
    if result.outcome == "invalid":
        # Only the first few: 60,000 unknown keys must not make a multi-megabyte reply.
        errors = [{"question": e.key, "code": e.code,
                   "message": describe(e, language, instrument.default_language)}
                  for e in result.errors[:MAX_REPORTED_ERRORS]]
        return jsonify(error="invalid_answers", errors=errors,
                       error_count=len(result.errors)), 422
    if result.outcome == "conflict":
        return _problem(409, "conflict", "This submission_id was already used for other answers.")
    reply = dict(submission_id=str(result.submission_id), campaign=campaign.code,
                 status=result.status, received_at=queries.campaigns.as_utc(result.received_at).isoformat())
    if panel is not None:
        reply["panel"] = panel
    return jsonify(reply), STATUS_BY_OUTCOME[result.outcome]


# The machine-readable reasons a panel code did not link (docs/api.md).
PANEL_REASONS = {queries.panel.UNKNOWN: "unknown_code", queries.panel.USED: "code_used",
                 queries.panel.NO_PANEL: "not_a_panel_wave"}


def _panel_reply(response_id: int, campaign, answer) -> dict:
    """Link the stored response when the code was accepted, and say what became of the
    code: ``{"linked": true}`` or ``{"linked": false, "reason": ...}``. A retry of a
    linked submission is linked already (its code now reads as used by itself)."""
    if answer.outcome == queries.panel.ACCEPTED and operations.panel.link(response_id, campaign,
                                                                          answer.link_key):
        return {"linked": True}
    if answer.link_key is not None:
        existing = queries.panel.link_of(response_id)
        if existing is not None and existing.link_key == answer.link_key:
            return {"linked": True}
        return {"linked": False, "reason": "code_used"}
    if answer.outcome == queries.panel.INVALID:
        reply = {"linked": False, "reason": answer.reason}
        if answer.character is not None:
            reply["character"] = answer.character
        return reply
    return {"linked": False, "reason": PANEL_REASONS[answer.outcome]}


def _timestamp(value) -> dt.datetime | None:
    """An aware datetime from ISO 8601 text; ValueError outside EARLIEST..LATEST."""
    if value in (None, ""):
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    try:
        # Year 1 at +05:00 is year 0 in UTC: fine for SQLite's text, refused by PostgreSQL.
        utc = moment.astimezone(dt.timezone.utc)
    except OverflowError as error:
        raise ValueError(str(error)) from error
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"{value!r} is outside {EARLIEST.year}..{LATEST.year}")
    return utc


def _problem(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status
