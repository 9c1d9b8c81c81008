"""How answers read to a person: labels, not codes; numbers in the reader's locale. No app."""
from pathlib import Path

import pytest

from surveyapp.domain.instruments import load_file
from surveyapp.domain.labels import (answer_text, answered_questions, format_fixed, format_number,
                                     format_signed)

ROOT = Path(__file__).resolve().parents[2]
ALL_TYPES = load_file(ROOT / "tests" / "data" / "all-types.yaml")
QUESTIONS = {q.id: q for q in ALL_TYPES.questions}


@pytest.mark.parametrize("value, language, shown", [
    (3.0, "en", "3"),          # a decimal answer stored as a float reads as typed
    (3, "en", "3"),
    (2.5, "fr", "2,5"),        # the reader's decimal comma
    (2.125, "en", "2.125"),    # no rounding: every digit typed stays
    (1234.5, "en", "1,234.5"),
    (0.1, "ar", "0.1"),
])
def test_numbers_read_as_typed_in_the_readers_locale(value, language, shown):
    assert format_number(value, language) == shown


def test_a_decimal_answer_of_three_shows_three():
    line = answer_text(QUESTIONS["hours"], "hours", 3.0, "en", "en", other_label="Other")
    assert line.text == "3" and line.part is None


def test_choices_show_labels_and_matrix_items_name_their_part():
    attended = QUESTIONS["attended"]
    code = attended.choices.choices[0].value
    label = attended.choices.choices[0].label["en"]
    assert answer_text(attended, "attended", code, "en", "en", other_label="Other").text == label
    trust = QUESTIONS["trust"]
    line = answer_text(trust, "trust.police", trust.choices.choices[0].value, "en", "en", other_label="Other")
    assert line.part == "Police" and line.text == trust.choices.choices[0].label["en"]


def test_an_unknown_code_is_shown_rather_than_hidden():
    line = answer_text(QUESTIONS["attended"], "attended", "retired_code", "en", "en", other_label="Other")
    assert line.text == "retired_code"


def test_dates_read_in_the_readers_locale():
    line = answer_text(QUESTIONS["met_on"], "met_on", "2026-03-04", "en", "en", other_label="Other")
    assert line.text == "Mar 4, 2026"


def test_answered_questions_keep_instrument_order_and_skip_unanswered():
    shown = answered_questions(ALL_TYPES, {"years": 5, "name": "Ana", "hours": 1.0}, "en",
                               other_label="Other")
    assert [(label, [line.text for line in lines]) for label, lines in shown] == [
        ("Name", ["Ana"]), ("Years", ["5"]), ("Hours", ["1"])]


@pytest.mark.parametrize("value, language, expected", [
    (45, "en", "45.0"), (45.8, "en", "45.8"), (45.75, "fr", "45,8"), (-0.04, "en", "0.0"),
    (-0.0, "en", "0.0"), (1234.56, "es", "1.234,6"),
])
def test_fixed_decimals_so_one_figure_never_reads_two_ways(value, language, expected):
    assert format_fixed(value, language) == expected


@pytest.mark.parametrize("value, expected", [
    (11.8, "+11.8"), (-3.21, "\u22123.2"), (0.04, "0.0"), (-0.04, "0.0"), (0, "0.0"),
])
def test_changes_carry_their_sign(value, expected):
    assert format_signed(value, "en") == expected
