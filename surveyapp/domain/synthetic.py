"""Plausible, valid answers for demos, benchmarks and tests.

``synthetic_answers(instrument, rng, context, tendency)`` walks the questions in
order, honours skip logic and constraints, and returns answers that
``validate_submission`` accepts. ``tendency`` (0..1) tilts scale answers up or
down so that sites and waves differ the way real data might. PII questions are
always left empty.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from surveyapp.domain.answers import Context, is_relevant, validate_question
from surveyapp.domain.instruments import OTHER_VALUE, Instrument, Question

OPEN_ANSWERS = {
    "en": [
        "Better street lighting near the park and the bus stop would make people feel safer at night.",
        "More activities for young people after school, so they are not hanging around with nothing to do.",
        "The mediation sessions helped my neighbours and me settle a long dispute about noise.",
        "Police officers who walk the area and know residents by name, not only patrol cars.",
        "A community centre that stays open in the evening and on weekends.",
        "The mentoring programme gave my son someone to talk to and he is back in school.",
        "People do not report problems because they do not trust that anything will happen.",
        "Regular meetings between residents and the police where we can raise concerns.",
        "Cleaning up the empty lots and abandoned houses where drugs are sold.",
        "The awareness workshop taught us how to report online and who to call.",
        "Landlords should fix broken doors and locks in the flats.",
        "We need more volunteers and some funding for the neighbourhood watch.",
    ],
    "es": [
        "Más iluminación en las calles cerca del parque haría que la gente se sintiera más segura.",
        "Actividades para los jóvenes después de la escuela.",
        "La mediación nos ayudó a resolver un conflicto con los vecinos.",
        "Que la policía camine por el barrio y conozca a los vecinos.",
    ],
    "fr": [
        "Un meilleur éclairage dans les rues près du parc rassurerait les habitants.",
        "Des activités pour les jeunes après l'école.",
        "La médiation nous a aidés à régler un conflit de voisinage.",
    ],
    "ar": [
        "إنارة أفضل للشوارع قرب الحديقة ستجعل الناس يشعرون بأمان أكبر.",
        "أنشطة للشباب بعد المدرسة.",
        "ساعدتنا جلسات الوساطة على حل خلاف مع الجيران.",
    ],
}


def synthetic_answers(instrument: Instrument, rng: random.Random, context: Context,
                      tendency: float = 0.5, *, person: float | None = None) -> dict[str, Any]:
    """Answers that pass validation, with skip logic applied.

    A respondent's scale answers share one leaning (``tendency`` plus this person's own
    offset), reversed on negatively worded items, as real residents' do: a domain's items
    then hang together (Cronbach's alpha about 0.7-0.8) instead of being unrelated noise.
    ``person`` fixes that leaning (0..1), e.g. to answer a follow-up as the same resident
    did at baseline (``leaning(...)`` gives one)."""
    if person is None:
        person = leaning(rng, tendency)
    reverse = {item for domain in instrument.scoring.domains for item in domain.reverse} \
        if instrument.scoring else set()
    answers: dict[str, Any] = {}
    for question in instrument.questions:
        if question.type == "note" or question.pii or not is_relevant(question, answers, context):
            continue
        if not question.required and rng.random() < 0.1:
            continue  # people skip optional questions
        for _ in range(20):
            raw = _raw_answer(question, rng, context, person, reverse)
            values, errors = validate_question(question, raw, answers, context)
            if not errors:
                answers.update(values)
                break
    return answers


def leaning(rng: random.Random, tendency: float) -> float:
    """One respondent's own leaning (0..1) around ``tendency``."""
    return min(1.0, max(0.0, rng.gauss(tendency, 0.2)))


def _raw_answer(question: Question, rng: random.Random, context: Context,
                tendency: float, reverse: set = frozenset()) -> dict[str, Any]:
    kind = question.type
    lean = lambda key: 1 - tendency if key in reverse else tendency  # noqa: E731
    if kind == "matrix":
        return {key: _scaled(question.choices.values, rng, lean(key)) for key in question.answer_keys}
    if kind == "likert":
        return {question.id: _scaled(question.choices.values, rng, lean(question.id))}
    if kind == "select_one":
        values = [v for v in question.choice_values if v != OTHER_VALUE]
        return {question.id: rng.choice(values)}
    if kind == "select_multiple":
        values = [v for v in question.choice_values if v != OTHER_VALUE]
        high = min(len(values), question.max_choices or 3)
        low = min(high, max(1, question.min_choices or 1))
        return {question.id: rng.sample(values, rng.randint(low, high))}
    if kind == "ranking":
        values = list(question.choice_values)
        high = min(len(values), question.max_choices or len(values))
        low = min(high, max(1, question.min_choices or high))
        return {question.id: rng.sample(values, rng.randint(low, high))}
    if kind in {"integer", "decimal"}:
        low = question.min if question.min is not None else 0
        high = question.max if question.max is not None else max(low, 0) + 40
        high = min(high, low + 40)
        number = rng.randint(int(low), int(high))
        return {question.id: number if kind == "integer" else number + rng.choice([0, 0.5])}
    if kind == "date":
        day = dt.date.today() - dt.timedelta(days=rng.randint(1, 300))
        return {question.id: day.isoformat()}
    if kind == "textarea":
        bank = OPEN_ANSWERS.get(context.language or "en", OPEN_ANSWERS["en"])
        return {question.id: " ".join(rng.sample(bank, rng.randint(1, 2)))}
    return {question.id: rng.choice(["Yes", "Not sure", "Sometimes", "Often"])}


def _scaled(values, rng: random.Random, tendency: float):
    """A scale value near ``tendency`` of the way up the scale."""
    ordered = sorted(values)
    centre = tendency * (len(ordered) - 1)
    index = round(min(len(ordered) - 1, max(0, rng.gauss(centre, 0.8))))
    return ordered[index]
