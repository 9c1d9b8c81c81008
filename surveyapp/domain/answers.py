"""Check answers against an instrument: one validation path for the HTML flow and the API.

Raw answers arrive either as form strings (``"42"``, ``["a", "b"]``) or as JSON
values (``42``, ``["a", "b"]``); :func:`validate_page` and
:func:`validate_submission` turn them into the stored, typed values and a list
of :class:`AnswerError`. Errors carry a ``code`` and ``params``; the web layer
turns them into sentences in the respondent's language.

Answers are a flat mapping from *answer key* to value: a question's id, or
``question.item`` for a matrix item, or ``question.other`` for the text of an
"Other" choice. A question whose ``relevant`` is false is skipped: it is not
required and its answer is dropped.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from surveyapp.domain.instruments import OTHER_VALUE, Instrument, Page, Question

_INTEGER_RE = re.compile(r"^[+-]?\d+$")
# C0 controls other than tab and newline: PostgreSQL refuses NUL in JSON text, and none
# of them is something a person typed on purpose.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DECIMAL_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
# Half of a UTF-16 pair on its own: JSON's \ud800 escape decodes to one, but it is not
# text (UTF-8 cannot encode it and PostgreSQL's JSONB refuses it).
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Deeper than any answer can be (a list of strings is depth 2 inside the body).
MAX_JSON_DEPTH = 16
# Python refuses to read longer digit strings as int (and no answer needs one).
_MAX_DIGITS = 100

Answers = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What expressions can see besides answers: ``@site``, ``@wave``, ``@language``."""
    site: str | None = None
    wave: str | None = None
    language: str | None = None

    def as_mapping(self) -> dict[str, str | None]:
        return {"site": self.site, "wave": self.wave, "language": self.language}


@dataclass(frozen=True)
class AnswerError:
    """Why one answer was refused. ``code`` is one of the CODES; ``params`` fill its message."""
    key: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # The instrument's own constraint_message, in every language, when it has one.
    custom_message: Mapping[str, str] | None = None

    @property
    def question_id(self) -> str:
        return self.key.split(".")[0]


CODES = (
    "required", "not_text", "too_long", "not_integer", "not_number", "too_small", "too_large",
    "not_a_choice", "too_few_choices", "too_many_choices", "duplicate_choice", "not_a_date",
    "too_early", "too_late", "other_required", "constraint", "unknown_question",
)


class _Refused(Exception):
    def __init__(self, code: str, **params):
        self.code, self.params = code, params


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def is_relevant(question: Question, answers: Mapping[str, Any], context: Context) -> bool:
    """Whether ``question`` applies, given the answers so far."""
    if question.relevant is None:
        return True
    return question.relevant.test(answers, context=context.as_mapping())


def unstorable(document: Any) -> str | None:
    """Why a decoded JSON ``document`` cannot be taken in: ``"too_deep"``, ``"invalid_text"``.

    None when it is fine. ``invalid_text`` is a lone surrogate in any key or string,
    or a NUL in a key (PostgreSQL stores neither; NUL in a text answer is stripped
    later, like the other control characters). Walks without recursion, so a body
    nested a thousand deep costs a loop, not the stack.
    """
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return "too_deep"
            if isinstance(value, dict):
                for key, item in value.items():
                    if "\x00" in key or _LONE_SURROGATE_RE.search(key):
                        return "invalid_text"
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and _LONE_SURROGATE_RE.search(value):
            return "invalid_text"
    return None


# ----------------------------------------------------------------------------- coercion

def _text(question: Question, value: Any) -> str:
    if not isinstance(value, str):
        raise _Refused("not_text")
    # Normalise line endings so a phone's \r\n and a laptop's \n store alike.
    text = _CONTROL_RE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if question.type == "text":
        text = " ".join(text.split())
    if question.max_length and len(text) > question.max_length:
        raise _Refused("too_long", max=question.max_length, length=len(text))
    return text


def _number(question: Question, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _Refused("not_integer" if question.type == "integer" else "not_number")
    if question.type == "integer":
        if isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, int):
            number = value
        elif isinstance(value, str) and _INTEGER_RE.match(value.strip()):
            if len(value.strip()) > _MAX_DIGITS:
                raise _Refused("not_integer")
            number = int(value.strip())
        else:
            raise _Refused("not_integer")
    else:
        if isinstance(value, (int, float)):
            number = value
        elif isinstance(value, str) and _DECIMAL_RE.match(value.strip()):
            # Many of our languages write a decimal comma: "2,5".
            number = float(value.strip().replace(",", "."))
        else:
            raise _Refused("not_number")
        if isinstance(number, float) and not math.isfinite(number):
            raise _Refused("not_number")
    if question.min is not None and number < question.min:
        raise _Refused("too_small", min=question.min)
    if question.max is not None and number > question.max:
        raise _Refused("too_large", max=question.max)
    return number


def _choice(question: Question, value: Any, values: tuple) -> str | int:
    """The declared choice value matching ``value`` (form strings match integer values)."""
    if isinstance(value, bool):
        raise _Refused("not_a_choice")
    for candidate in values:
        if value == candidate or (isinstance(value, str) and value.strip() == str(candidate)):
            return candidate
    raise _Refused("not_a_choice")


def _choices(question: Question, value: Any) -> list:
    items = value if isinstance(value, list) else [value]
    chosen = []
    for item in items:
        if _blank(item):
            continue
        choice = _choice(question, item, question.choice_values)
        if choice in chosen:
            if question.type == "ranking":
                raise _Refused("duplicate_choice")
            continue
        chosen.append(choice)
    if question.type == "select_multiple":
        # Keep the list's order, not the order of ticking, so exports compare.
        order = {v: i for i, v in enumerate(question.choice_values)}
        chosen.sort(key=order.__getitem__)
    if question.min_choices is not None and len(chosen) < question.min_choices and chosen:
        raise _Refused("too_few_choices", min=question.min_choices)
    if question.max_choices is not None and len(chosen) > question.max_choices:
        raise _Refused("too_many_choices", max=question.max_choices)
    return chosen


def _date(question: Question, value: Any) -> str:
    try:
        day = dt.date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None or len(value.strip()) != 10:
        raise _Refused("not_a_date")
    if question.min is not None and day < dt.date.fromisoformat(question.min):
        raise _Refused("too_early", min=question.min)
    if question.max is not None and day > dt.date.fromisoformat(question.max):
        raise _Refused("too_late", max=question.max)
    return day.isoformat()


def _coerce(question: Question, value: Any) -> Any:
    if question.type in {"text", "textarea"}:
        return _text(question, value)
    if question.type in {"integer", "decimal"}:
        return _number(question, value)
    if question.type in {"select_one", "likert"}:
        return _choice(question, value, question.choice_values)
    if question.type in {"select_multiple", "ranking"}:
        return _choices(question, value)
    if question.type == "date":
        return _date(question, value)
    raise AssertionError(f"no coercion for {question.type}")


# ----------------------------------------------------------------------------- validation

def validate_question(question: Question, raw: Mapping[str, Any], answers: Answers,
                      context: Context) -> tuple[Answers, list[AnswerError]]:
    """Check one relevant question; return its typed answers and its errors.

    ``answers`` holds the earlier answers, for the constraint to refer to.
    """
    values: Answers = {}
    errors: list[AnswerError] = []
    if question.type == "note":
        return values, errors

    if question.type == "matrix":
        for key in question.answer_keys:
            value = raw.get(key)
            if _blank(value):
                if question.required:
                    errors.append(AnswerError(key, "required"))
                continue
            try:
                values[key] = _choice(question, value, question.choice_values)
            except _Refused as refused:
                errors.append(AnswerError(key, refused.code, refused.params))
        return values, errors

    value = raw.get(question.id)
    if _blank(value):
        if question.required:
            errors.append(AnswerError(question.id, "required"))
        return values, errors
    try:
        typed = _coerce(question, value)
    except _Refused as refused:
        return values, [AnswerError(question.id, refused.code, refused.params)]
    if _blank(typed):
        if question.required:
            errors.append(AnswerError(question.id, "required"))
        return values, errors

    if question.other:
        chose_other = typed == OTHER_VALUE or (isinstance(typed, list) and OTHER_VALUE in typed)
        other_key = f"{question.id}.{OTHER_VALUE}"
        if chose_other:
            try:
                other_text = _text(question, raw.get(other_key) or "")
            except _Refused as refused:
                errors.append(AnswerError(other_key, refused.code, refused.params))
                other_text = ""
            if other_text:
                values[other_key] = other_text
            elif not errors:
                errors.append(AnswerError(other_key, "other_required"))

    if question.constraint is not None:
        scope = {**answers, question.id: typed}
        if not question.constraint.test(scope, context=context.as_mapping(), self_value=typed):
            errors.append(AnswerError(question.id, "constraint",
                                      custom_message=question.constraint_message))
    if not errors:
        values[question.id] = typed
    return values, errors


def _walk(questions, raw: Mapping[str, Any], prior: Mapping[str, Any], context: Context):
    """Yield (question, values, errors) for each question that applies, in order.

    Each question sees ``prior`` plus the valid answers before it; a question whose
    ``relevant`` is false is skipped, so its answer is never read.
    """
    scope = dict(prior)
    for question in questions:
        for key in question.answer_keys:
            scope.pop(key, None)
        if not is_relevant(question, scope, context):
            continue
        values, errors = validate_question(question, raw, scope, context)
        scope.update(values)
        yield question, values, errors


def validate_questions(questions, raw: Mapping[str, Any], prior: Mapping[str, Any],
                       context: Context) -> tuple[Answers, list[AnswerError]]:
    """Validate ``questions`` in order; return the answers of the relevant ones and every error."""
    result: Answers = {}
    errors: list[AnswerError] = []
    for _, values, question_errors in _walk(questions, raw, prior, context):
        result.update(values)
        errors.extend(question_errors)
    return result, errors


def _other_pages(page: Page, stored: Mapping[str, Any]) -> dict[str, Any]:
    page_keys = {key for q in page.questions for key in q.answer_keys}
    return {k: v for k, v in stored.items() if k not in page_keys}


def relevant_on_page(page: Page, raw: Mapping[str, Any], stored: Mapping[str, Any],
                     context: Context) -> list[str]:
    """Ids of the page's questions that apply, given what is on the page so far.

    Lets a page hide and show questions as the respondent answers, with the same
    rules the server applies when the page is posted.
    """
    return [q.id for q, _, _ in _walk(page.questions, raw, _other_pages(page, stored), context)]


def validate_page(instrument: Instrument, page: Page, raw: Mapping[str, Any],
                  stored: Mapping[str, Any], context: Context) -> tuple[Answers, list[AnswerError]]:
    """Check one page's posted answers against the answers stored from other pages.

    Returns the answers to keep for this page and its errors.
    """
    return validate_questions(page.questions, raw, _other_pages(page, stored), context)


def validate_submission(instrument: Instrument, raw: Mapping[str, Any],
                        context: Context) -> tuple[Answers, list[AnswerError]]:
    """Check a whole response: every question in order, every key known.

    Used when the API receives a submission and when the HTML flow completes,
    so both apply the same rules. Answers to questions that turned out not to
    be relevant are dropped, not refused.
    """
    known = set(instrument.answer_keys)
    errors = [AnswerError(key, "unknown_question") for key in raw if key not in known]
    answers, answer_errors = validate_questions(instrument.questions, raw, {}, context)
    return answers, errors + answer_errors


def split_private(instrument: Instrument, answers: Mapping[str, Any]) -> tuple[Answers, Answers]:
    """(answers to ordinary questions, answers to ``pii: true`` questions)."""
    private_keys = {key for q in instrument.questions if q.pii for key in q.answer_keys}
    ordinary = {k: v for k, v in answers.items() if k not in private_keys}
    private = {k: v for k, v in answers.items() if k in private_keys}
    return ordinary, private


def page_is_shown(page: Page, answers: Mapping[str, Any], context: Context) -> bool:
    """A page is skipped when none of its questions is relevant."""
    return any(is_relevant(q, answers, context) for q in page.questions)


def form_to_raw(page: Page, form) -> dict[str, Any]:
    """Read one page's answers out of an HTML form (a MultiDict), as raw values.

    Lists come from repeated fields: ticked checkboxes of a select_multiple, and
    the rank-position selects of a ranking, in the order they appear.
    """
    raw: dict[str, Any] = {}
    for question in page.questions:
        for key in question.answer_keys:
            if question.type in {"select_multiple", "ranking"} and key == question.id:
                raw[key] = [v for v in form.getlist(key) if v.strip()]
            elif key in form:
                raw[key] = form.get(key)
    return raw
