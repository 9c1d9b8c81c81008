"""Answer validation for every question type, skip logic and whole submissions. No app."""
import random
from pathlib import Path

import pytest

from surveyapp.domain.answers import Context, relevant_on_page, validate_page, validate_submission
from surveyapp.domain.instruments import check_paths, load_file
from surveyapp.domain.synthetic import synthetic_answers

ROOT = Path(__file__).resolve().parents[2]

ALL_TYPES = load_file(ROOT / "tests" / "data" / "all-types.yaml")

BASELINE = Context(site="Riverside", wave="baseline", language="en")
VALID = {"years": 5, "trust.police": 3, "trust.council": 1}


def check(raw, context=BASELINE):
    return validate_submission(ALL_TYPES, raw, context)


def codes(errors):
    return {(e.key, e.code) for e in errors}


@pytest.mark.parametrize("raw, stored", [
    ({"name": "  Ana   María "}, {"name": "Ana María"}),
    ({"story": "line one\r\nline two"}, {"story": "line one\nline two"}),
    ({"years": "12"}, {"years": 12}),
    ({"years": 12.0}, {"years": 12}),
    ({"hours": "2,5"}, {"hours": 2.5}),
    ({"hours": 3}, {"hours": 3}),
    ({"attended": "yes", "years": 1}, {"attended": "yes", "years": 1}),
    ({"programmes": ["mediation", "mentoring"]}, {"programmes": ["mentoring", "mediation"]}),
    ({"programmes": ["other"], "programmes.other": "Boxing club"},
     {"programmes": ["other"], "programmes.other": "Boxing club"}),
    ({"safe": "2"}, {"safe": 2}),
    ({"met_on": "2024-02-29"}, {"met_on": "2024-02-29"}),
    ({"priorities": ["workshops", "mentoring"]}, {"priorities": ["workshops", "mentoring"]}),
    ({"name": ""}, {}),
])
def test_valid_answers_are_stored_typed(raw, stored):
    answers, errors = check({**VALID, **raw})
    assert errors == []
    assert {k: v for k, v in answers.items() if k not in VALID or k in raw} == stored


@pytest.mark.parametrize("raw, key, code", [
    ({"name": "x" * 11}, "name", "too_long"),
    ({"name": 5}, "name", "not_text"),
    ({"years": "twelve"}, "years", "not_integer"),
    ({"years": 2.5}, "years", "not_integer"),
    ({"years": True}, "years", "not_integer"),
    ({"years": -1}, "years", "too_small"),
    ({"years": 101}, "years", "too_large"),
    ({"years": None}, "years", "required"),
    ({"hours": "abc"}, "hours", "not_number"),
    ({"hours": "nan"}, "hours", "not_number"),
    ({"hours": 11}, "hours", "too_large"),
    ({"attended": "maybe"}, "attended", "not_a_choice"),
    ({"programmes": ["mentoring", "knitting"]}, "programmes", "not_a_choice"),
    ({"programmes": ["mentoring", "mediation", "workshops", "other"], "programmes.other": "x"},
     "programmes", "too_many_choices"),
    ({"programmes": ["none", "mentoring"]}, "programmes", "constraint"),
    ({"programmes": ["other"]}, "programmes.other", "other_required"),
    ({"safe": 4}, "safe", "not_a_choice"),
    ({"trust.police": None}, "trust.police", "required"),
    ({"trust.council": "7"}, "trust.council", "not_a_choice"),
    ({"met_on": "31/12/2024"}, "met_on", "not_a_date"),
    ({"met_on": "2024-02-30"}, "met_on", "not_a_date"),
    ({"met_on": "2019-12-31"}, "met_on", "too_early"),
    ({"met_on": "2031-01-01"}, "met_on", "too_late"),
    ({"priorities": ["mentoring"]}, "priorities", "too_few_choices"),
    ({"priorities": ["mentoring", "mentoring"]}, "priorities", "duplicate_choice"),
    ({"nonsense": 1}, "nonsense", "unknown_question"),
])
def test_bad_answers_are_refused_with_a_code(raw, key, code):
    answers, errors = check({**VALID, **raw})
    assert (key, code) in codes(errors)
    assert key not in answers


def test_constraint_error_carries_the_instruments_message():
    _, errors = check({**VALID, "programmes": ["none", "mediation"]})
    (error,) = errors
    assert error.custom_message == {"en": "'None' cannot go with other programmes."}


def test_skip_logic_hidden_question_is_not_required_and_not_stored():
    # attended == 'no': how_often is hidden, so its absence is fine and a sent value is dropped.
    answers, errors = check({**VALID, "attended": "no", "how_often": 3})
    assert errors == []
    assert "how_often" not in answers


def test_skip_logic_shown_question_is_required():
    _, errors = check({**VALID, "attended": "yes", "years": 5})
    assert ("how_often", "required") in codes(errors)
    answers, errors = check({**VALID, "attended": "yes", "how_often": 2})
    assert errors == [] and answers["how_often"] == 2


def test_skip_logic_reads_the_wave():
    follow_up = Context(site="Riverside", wave="follow-up", language="en")
    _, errors = check(VALID, follow_up)
    assert ("follow_up_only", "required") in codes(errors)
    assert check(VALID, BASELINE)[1] == []


def test_page_validation_sees_answers_from_earlier_pages():
    page_two = ALL_TYPES.pages[1]
    stored = {**VALID, "attended": "yes"}
    answers, errors = validate_page(ALL_TYPES, page_two, {}, stored, BASELINE)
    assert codes(errors) == {("how_often", "required")}
    answers, errors = validate_page(ALL_TYPES, page_two, {"how_often": "4"}, stored, BASELINE)
    assert errors == [] and answers == {"how_often": 4}


def test_other_text_is_dropped_when_other_is_not_chosen():
    answers, errors = check({**VALID, "programmes": ["mentoring"], "programmes.other": "stale"})
    assert errors == [] and "programmes.other" not in answers


@pytest.mark.parametrize("wave", ["baseline", "follow-up"])
def test_synthetic_answers_for_shipped_instruments_validate(wave):
    instruments, _ = check_paths([ROOT / "instruments"])
    rng = random.Random(3)
    for instrument in instruments:
        for language in instrument.languages:
            context = Context(site="Riverside", wave=wave, language=language)
            for _ in range(5):
                answers = synthetic_answers(instrument, rng, context)
                clean, errors = validate_submission(instrument, answers, context)
                assert errors == [], (instrument.id, errors)
                assert clean == answers


def test_relevant_on_page_follows_what_is_typed_so_far():
    page_one, page_two = ALL_TYPES.pages
    assert "how_often" not in relevant_on_page(page_two, {}, {"attended": "no", "years": 5}, BASELINE)
    assert "how_often" in relevant_on_page(page_two, {}, {"attended": "yes", "years": 5}, BASELINE)
    # An invalid earlier answer counts as unanswered.
    assert "how_often" not in relevant_on_page(page_two, {}, {"attended": "yes", "years": 1}, BASELINE)
    assert relevant_on_page(page_one, {}, {}, BASELINE)[0] == "intro"
