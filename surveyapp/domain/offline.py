"""The instrument as one JSON document, for the offline app (surveyapp/static/offline/).

The browser renders and validates a questionnaire from this document with the
same rules as :mod:`surveyapp.domain.answers`: every question's type, limits,
``relevant`` and ``constraint`` (as expression source, which the JavaScript
evaluator parses), and its texts in the requested languages. Plain Python, no
Flask: the view adds the validation messages and interface strings, which are
gettext catalogue entries.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from babel import Locale

from surveyapp.domain.instruments import Instrument, Question, Text, text_direction

# Numbers tried when looking for one of each plural category: 0-199 holds every category
# CLDR gives these languages but "many" in French and Spanish, which starts at a million.
_PLURAL_PROBES = (*range(200), 1_000_000)


def _text(text: Text | None, languages: Iterable[str]) -> dict[str, str] | None:
    if not text:
        return None
    return {lang: text[lang] for lang in languages if text.get(lang)}


def _question(question: Question, languages: tuple[str, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": question.id, "type": question.type,
                           "label": _text(question.label, languages)}
    optional = {
        "hint": _text(question.hint, languages),
        "required": question.required or None,
        "relevant": question.relevant.source if question.relevant else None,
        "constraint": question.constraint.source if question.constraint else None,
        "constraint_message": _text(question.constraint_message, languages),
        "min": question.min, "max": question.max, "max_length": question.max_length,
        "choices": question.choices.id if question.choices else None,
        "other": question.other or None,
        "items": [{"id": item.id, "label": _text(item.label, languages)}
                  for item in question.items] or None,
        "min_choices": question.min_choices, "max_choices": question.max_choices,
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    return doc


def instrument_document(instrument: Instrument, languages: Iterable[str] | None = None,
                        *, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The survey ``instrument`` as JSON-ready data, with texts in ``languages`` only.

    ``languages`` defaults to all of the instrument's; unknown ones are ignored and
    the default language is always kept (it is every text's fallback). ``context``
    is what ``@site``, ``@wave`` need on the device (``@language`` is the device's).
    """
    wanted = set(languages or instrument.languages) | {instrument.default_language}
    langs = tuple(lang for lang in instrument.languages if lang in wanted)
    used_lists = {q.choices.id for q in instrument.questions if q.choices}
    return {
        "id": instrument.id, "version": instrument.version, "hash": instrument.content_hash,
        "languages": list(langs), "default_language": instrument.default_language,
        "directions": {lang: text_direction(lang) for lang in langs},
        "title": _text(instrument.title, langs),
        "consent": _text(instrument.consent, langs),
        "context": dict(context or {}),
        "choice_lists": {
            cid: [{"value": c.value, "label": _text(c.label, langs)} for c in cl.choices]
            for cid, cl in instrument.choice_lists.items() if cid in used_lists},
        "pages": [{"id": page.id, "title": _text(page.title, langs),
                   "questions": [_question(q, langs) for q in page.questions]}
                  for page in instrument.pages],
    }


def plural_samples(language: str) -> dict[str, int]:
    """One number per CLDR plural category of ``language``: {"one": 1, "other": 0, ...}.

    The server renders a message with each sample (gettext picks the form), and the
    device picks the rendered text by ``Intl.PluralRules(language).select(n)``: the
    same CLDR categories, so Arabic's six forms reach the device without shipping the
    catalogue's plural formula (which it could only run through ``eval``). "other"
    is always present, the fallback for a category the device knows and we did not.
    """
    rule = Locale.parse(language).plural_form
    samples: dict[str, int] = {}
    for n in _PLURAL_PROBES:
        samples.setdefault(rule(n), n)
    return samples
