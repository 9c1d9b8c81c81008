"""Responses: the HTML flow page by page, and whole submissions through the API."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from surveyapp import queries
from surveyapp.domain.answers import (
    AnswerError, Context, split_private, validate_page, validate_submission)
from surveyapp.domain import navigation
from surveyapp.domain.instruments import Instrument, Page
from surveyapp.domain.disclosure import new_record_key
from surveyapp.extensions import db
from surveyapp.models import Campaign, InstrumentVersion, PrivateAnswers, Response, ResponseDraft, utcnow
from surveyapp.operations import scores
from surveyapp.operations.transactions import insert_or_nothing, random_code

# Letters that survive being read aloud or copied from paper: no 0/O, 1/I/L.
_RESUME_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def new_resume_code() -> str:
    return random_code(_RESUME_ALPHABET, 8)


def format_resume_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class StartedResponse:
    """What the first page needs of a response just opened, or found again."""
    id: int
    resume_code: str
    status: str
    current_page: str | None
    language: str | None
    answers: dict[str, Any]  # every answer, the private ones included


def start_response(campaign: Campaign, version: InstrumentVersion, submission_id: uuid.UUID,
                   language: str) -> StartedResponse:
    """Open a partial response, or return the one already opened with this submission id.

    The consent form carries the submission id, so a double tap on "Start" opens one. A new
    response costs its INSERT alone (a retry is told apart after it finds the id taken).
    """
    inserted = _insert_response(submission_id=submission_id, campaign_id=campaign.id,
                                instrument_version_id=version.id, language=language,
                                status="partial", answers={}, source="web")
    if inserted is not None:
        response_id, resume_code = inserted
        return StartedResponse(response_id, resume_code, "partial", None, language, {})
    existing = _response_by_submission(submission_id)
    return StartedResponse(existing.id, existing.resume_code, existing.status,
                           existing.current_page, existing.language, existing.all_answers)


def save_page(response: Response, instrument: Instrument, page: Page, raw: dict[str, Any],
              context: Context, *, keep_valid: bool = False,
              now_on: str | None = None) -> list[AnswerError]:
    """Validate and store one page's answers; return the errors.

    With errors, nothing is stored, unless ``keep_valid``: then the answers that
    passed are stored, the rest are left as they were, and what was typed into the
    rest is kept in the response's draft, to come back with its message (for "back",
    "save" and the language switch). A page that passes clears its draft.
    ``now_on`` is the page the respondent goes to next (this one by default): it is
    where a resume code reopens the survey.
    """
    errors, stored = _apply_page(response, instrument, page, raw, context, keep_valid=keep_valid)
    if not stored:
        return errors
    response.current_page = now_on or page.id
    db.session.flush()
    return errors


def go_forward(response: Response, instrument: Instrument, page: Page, raw: dict[str, Any],
               context: Context) -> tuple[list[AnswerError], Page | None]:
    """"Next": store the page as ``save_page`` does and move on, in one UPDATE of the response.

    Returns (errors, the next shown page). With errors nothing is stored and the page
    is None; without, a None page means ``page`` was the last (time to submit), and the
    respondent stays on it.
    """
    errors, stored = _apply_page(response, instrument, page, raw, context, keep_valid=False)
    if not stored:
        return errors, None
    later = navigation.next_page(instrument, page, response.all_answers, context)
    response.current_page = later.id if later is not None else page.id
    db.session.flush()
    return errors, later


def go_forward_or_complete(response: Response, instrument: Instrument, page: Page,
                           raw: dict[str, Any], context: Context
                           ) -> tuple[list[AnswerError], Page | None, list[AnswerError]]:
    """"Next" on any page: ``go_forward``, and past the last page ``complete_response``, in
    one transaction (one commit for the last page, and no reload of the response between).

    Returns (the page's errors, the next page, the completion's errors): with page errors
    nothing is stored; the completion's errors (an earlier page no longer passes) leave
    the page stored and the response partial.
    """
    errors, later = go_forward(response, instrument, page, raw, context)
    if errors or later is not None:
        return errors, later, []
    return [], None, complete_response(response, instrument, context)


def go_back(response: Response, instrument: Instrument, page: Page, raw: dict[str, Any],
            context: Context) -> Page:
    """"Back": keep what is valid (the rest as a draft, as ``save_page`` with
    ``keep_valid``) and move to the previous shown page, in one UPDATE; return that page."""
    _apply_page(response, instrument, page, raw, context, keep_valid=True)
    earlier = navigation.previous_page(instrument, page, response.all_answers, context)
    response.current_page = earlier.id
    db.session.flush()
    return earlier


def switch_language(response: Response, instrument: Instrument, page: Page, raw: dict[str, Any],
                    context: Context, language: str) -> None:
    """The language switch: keep the page as ``go_back`` does and store ``language`` (a
    resume code reopens the survey in it), in one UPDATE."""
    _apply_page(response, instrument, page, raw, context, keep_valid=True)
    response.current_page = page.id
    response.language = language
    db.session.flush()


def _apply_page(response: Response, instrument: Instrument, page: Page, raw: dict[str, Any],
                context: Context, *, keep_valid: bool) -> tuple[list[AnswerError], bool]:
    """Put the page's answers (and draft) on ``response`` without flushing: the caller
    flushes once, with the page the respondent goes to. Returns (errors, whether
    anything was put): with errors and not ``keep_valid``, nothing is."""
    stored = response.all_answers
    page_answers, errors = validate_page(instrument, page, raw, stored, context)
    if errors and not keep_valid:
        return errors, False
    page_keys = {key for q in page.questions for key in q.answer_keys}
    failed = {error.question_id for error in errors}
    merged = {k: v for k, v in stored.items() if k not in page_keys or k.split(".")[0] in failed}
    merged.update(page_answers)
    _store_answers(response, instrument, merged)
    _keep_draft(response, page, raw, errors)
    response.language = context.language or response.language
    return errors, True


def _keep_draft(response: Response, page: Page, raw: dict[str, Any], errors: list[AnswerError]) -> None:
    """Keep what was typed into the answers that did not pass; forget the page's draft otherwise.

    A required answer left blank is not kept: there is nothing typed to lose, and the
    respondent who merely pages back should not meet "Please answer" on return.
    """
    typed = {error.question_id for error in errors if error.code != "required"}
    kept = {k: _storable(v) for k, v in raw.items() if k.split(".")[0] in typed}
    pages = dict(response.draft.pages) if response.draft else {}
    if kept:
        pages[page.id] = kept
    else:
        pages.pop(page.id, None)
    if pages:
        if response.draft is None:
            response.draft = ResponseDraft(pages=pages)
        else:
            response.draft.pages = pages
    elif response.draft is not None:
        response.draft = None


def _storable(value: Any) -> Any:
    """A raw form value without C0 controls: PostgreSQL refuses NUL in JSON text, and none
    of them is something a person typed on purpose."""
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return _CONTROLS.sub("", value) if isinstance(value, str) else value


def draft_of(response: Response, page: Page) -> dict[str, Any]:
    """The raw values kept for ``page`` (empty when it has none)."""
    return dict(response.draft.pages.get(page.id, {})) if response.draft else {}


def _store_answers(response: Response, instrument: Instrument, answers: dict[str, Any]) -> None:
    """Put ordinary answers on the response and pii answers in their own row."""
    ordinary, private = split_private(instrument, answers)
    response.answers = ordinary
    if private:
        if response.private is None:
            response.private = PrivateAnswers(answers=private)
        else:
            response.private.answers = private
    elif response.private is not None:
        response.private = None  # the respondent cleared it: keep nothing


def complete_response(response: Response, instrument: Instrument,
                      context: Context) -> list[AnswerError]:
    """Check the whole response once more and mark it complete; return errors if any.

    A later answer may have made an earlier one irrelevant; those are dropped here.
    """
    if response.status == "complete":
        return []
    answers, errors = validate_submission(instrument, response.all_answers, context)
    if errors:
        return errors
    now = utcnow()
    _store_answers(response, instrument, answers)
    response.status = "complete"
    response.draft = None  # every page passed: nothing typed is waiting any more
    response.submitted_at = response.submitted_at or now
    response.received_at = now
    db.session.flush()
    scores.store_scores(response.id, instrument, answers)
    return []



@dataclass
class SubmitResult:
    """``outcome`` is created, duplicate, conflict or invalid.

    ``submission_id``, ``response_id``, ``status`` and ``received_at`` describe the stored
    response (created or duplicate); ``response`` is the stored row when one was read
    (duplicate, conflict): a new response is inserted without loading a row back.
    """
    outcome: str
    response: Response | None = None
    errors: list[AnswerError] = field(default_factory=list)
    submission_id: uuid.UUID | None = None
    response_id: int | None = None
    status: str | None = None
    received_at: dt.datetime | None = None


def payload_hash(campaign_code: str, answers: dict[str, Any]) -> str:
    canonical = json.dumps({"campaign": campaign_code, "answers": answers},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def submit_response(campaign, version, instrument: Instrument, *,
                    submission_id: uuid.UUID, language: str, answers: dict[str, Any],
                    started_at: dt.datetime | None = None,
                    submitted_at: dt.datetime | None = None, source: str = "api") -> SubmitResult:
    """Store a whole, complete response exactly once.

    ``campaign`` and ``version`` are a Campaign and an InstrumentVersion, or the plain
    ``queries.respondent.CampaignState`` and ``queries.instruments.VersionRef`` (only their ids, code, site name
    and wave are read).

    The same submission id with the same answers is a retry (``duplicate``, and
    nothing changes); with other answers it is a ``conflict``. The database's
    unique constraint decides races: one INSERT ... ON CONFLICT DO NOTHING lets
    exactly one of any number of simultaneous requests create the row, and is the
    only statement a new response costs before its scores (no lookup first: a retry
    is told apart after the INSERT finds the id taken).
    """
    digest = payload_hash(campaign.code, answers)
    context = queries.respondent.response_context(campaign, language)
    clean, errors = validate_submission(instrument, answers, context)
    if errors:
        # A retry of a response stored before is acknowledged, not judged again.
        existing = _response_by_submission(submission_id)
        if existing is not None:
            return _retry(existing, digest)
        return SubmitResult("invalid", errors=errors)
    now = utcnow()
    ordinary, private = split_private(instrument, clean)
    inserted = _insert_response(
        submission_id=submission_id, campaign_id=campaign.id, instrument_version_id=version.id,
        language=language, status="complete", answers=ordinary, payload_hash=digest,
        source=source, started_at=started_at or now, submitted_at=submitted_at or now,
        received_at=now)
    if inserted is None:
        return _retry(_response_by_submission(submission_id), digest)
    response_id, _resume_code = inserted
    if private:
        db.session.connection().execute(sa.insert(PrivateAnswers.__table__),
                                        {"response_id": response_id, "answers": private})
    scores.store_scores(response_id, instrument, clean)
    return SubmitResult("created", submission_id=submission_id, response_id=response_id,
                        status="complete", received_at=now)


def _retry(existing: Response, digest: str) -> SubmitResult:
    """The answer to a submission id already stored: the same payload is a duplicate."""
    if existing.payload_hash != digest:
        return SubmitResult("conflict", existing)
    return SubmitResult("duplicate", existing, submission_id=existing.submission_id,
                        response_id=existing.id, status=existing.status, received_at=existing.received_at)


def _response_by_submission(submission_id: uuid.UUID) -> Response | None:
    return db.session.scalar(sa.select(Response).where(Response.submission_id == submission_id)
                             .execution_options(populate_existing=True))


def _insert_response(**values) -> tuple[int, str] | None:
    """INSERT the response unless its submission id exists; (id, resume code) if this call
    inserted it."""
    values.setdefault("started_at", utcnow())
    values["updated_at"] = utcnow()
    # A text INSERT applies no column default: the disclosure key is one more parameter.
    values.setdefault("record_key", new_record_key())
    statement = insert_or_nothing(Response.__table__, tuple(sorted({"resume_code", *values})),
                                  returning="id")
    connection = db.session.connection()
    for _ in range(5):
        # No conflict target: a clash on the resume code is skipped too (no savepoint,
        # which pysqlite handles badly), and told apart from a retry just below.
        resume_code = new_resume_code()
        inserted = connection.execute(statement, {**values, "resume_code": resume_code}).first()
        if inserted is not None:
            return inserted[0], resume_code
        if _response_by_submission(values["submission_id"]) is not None:
            return None
    raise RuntimeError("could not draw an unused resume code")
