"""How an answer reads to a person: choice labels instead of codes, numbers in the reader's locale.

The response page, the workbook and the dashboard all show answers through
``answer_text``, so a code (``business_owner``) or a float artefact (``3.0``)
can never show up in one place and not another.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from babel.dates import format_date
from babel.numbers import format_decimal

from surveyapp.domain.instruments import OTHER_VALUE, Instrument, Question, localise


@dataclass(frozen=True)
class AnswerLine:
    """One stored answer as read: ``part`` is a matrix item's label (or "Other"), else None."""
    part: str | None
    text: str


def format_number(value: int | float, language: str) -> str:
    """``3.0`` reads ``3``; ``2.5`` reads ``2,5`` in French. No rounding: every digit typed stays."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return format_decimal(value, locale=language, decimal_quantization=False)


def format_fixed(value: float, language: str, digits: int = 1) -> str:
    """``value`` with exactly ``digits`` decimals in the reader's locale: 45 reads ``45.0``
    beside ``45.8`` (a score never loses its decimal), and ``-0.04`` reads ``0.0``, never
    ``-0.0``."""
    rounded = round(float(value), digits) + 0.0   # + 0.0 turns -0.0 into 0.0
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(rounded, format=pattern, locale=language)


def format_signed(value: float, language: str, digits: int = 1) -> str:
    """A change with its sign: ``+11.8``, ``−3.2`` (a true minus sign), and ``0.0`` with
    none when it rounds to nothing."""
    text = format_fixed(abs(value), language, digits)
    rounded = round(float(value), digits)
    if rounded == 0:
        return text
    return ("+" if rounded > 0 else "\u2212") + text


# Left-to-right isolate: a range or a signed number inside right-to-left text keeps its
# order (low before high, the sign before its digits) whatever surrounds it.
LTR_ISOLATE, POP_ISOLATE = "\u2066", "\u2069"


def format_range(low: float, high: float, language: str, digits: int = 1, *,
                 rtl: bool = False) -> str:
    """A confidence interval as ``[4.9, 18.7]``; isolated left to right in RTL text."""
    text = f"[{format_fixed(low, language, digits)}, {format_fixed(high, language, digits)}]"
    return f"{LTR_ISOLATE}{text}{POP_ISOLATE}" if rtl else text


def answer_text(question: Question, key: str, value: Any, language: str, fallback: str, *,
                other_label: str) -> AnswerLine:
    """The answer stored under ``key`` as a person reads it in ``language``.

    ``other_label`` is the interface's word for "Other" (the caller translates it).
    """
    t = lambda text: localise(text, language, fallback)  # noqa: E731
    item_id = key.partition(".")[2]
    if item_id == OTHER_VALUE and question.other:
        return AnswerLine(other_label, str(value))
    part = next((t(item.label) for item in question.items if item.id == item_id), None)
    if question.choices is not None:
        labels = {choice.value: t(choice.label) for choice in question.choices.choices}
        labels[OTHER_VALUE] = other_label
        values = value if isinstance(value, list) else [value]
        return AnswerLine(part, ", ".join(labels.get(v, str(v)) for v in values))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return AnswerLine(part, format_number(value, language))
    if question.type == "date" and isinstance(value, str):
        try:
            return AnswerLine(part, format_date(dt.date.fromisoformat(value), "medium", locale=language))
        except ValueError:
            pass  # an unexpected stored form is shown as it is, not hidden
    return AnswerLine(part, str(value))


def answered_questions(instrument: Instrument, answers: Mapping[str, Any], language: str, *,
                       other_label: str) -> list[tuple[str, list[AnswerLine]]]:
    """Each answered question's label with its answer lines, in instrument order.

    Answers to pii questions are never included, whatever ``answers`` holds.
    """
    fallback = instrument.default_language
    shown = []
    for question in instrument.questions:
        if question.pii:
            continue
        lines = [answer_text(question, key, answers[key], language, fallback, other_label=other_label)
                 for key in question.answer_keys if key in answers]
        if lines:
            shown.append((localise(question.label, language, fallback), lines))
    return shown
