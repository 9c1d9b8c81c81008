"""domain.results: what may be published, without an app."""
import pytest

from surveyapp.domain.results import Problem, missing_languages, publish_problems, quote_digest, shown


@pytest.mark.parametrize("count, minimum, expected", [
    (0, 5, 0), (4, 5, None), (5, 5, 5), (12, 5, 12), (1, 0, 1), (None, 5, None)])
def test_shown_suppresses_below_the_minimum(count, minimum, expected):
    assert shown(count, minimum) == expected


def test_missing_languages_keep_the_instrument_order_and_count_blank_as_missing():
    assert missing_languages({"en": "x", "fr": "  ", "so": "y"}, ["en", "fr", "ar", "so"]) == ["fr", "ar"]


@pytest.mark.parametrize("texts, responses, small, codes", [
    ({"en": "a", "ar": "b"}, 12, (), []),
    ({"en": "a"}, 12, (), [Problem("missing_translations", ("ar",))]),
    ({"en": "a", "ar": "b"}, 3, (), [Problem("too_few_responses", (3, 5))]),
    ({"en": "a", "ar": "b"}, 0, (), [Problem("too_few_responses", (0, 5))]),
    ({}, 12, ("lights", "lights"), [Problem("missing_translations", ("en", "ar")),
                                    Problem("quote_in_small_theme", ("lights",))]),
])
def test_publish_problems_list_every_reason(texts, responses, small, codes):
    assert publish_problems(languages=["en", "ar"], next_steps=texts, responses=responses,
                            min_cell_size=5, approved_in_small_themes=small) == codes


def test_a_quote_digest_changes_with_any_edit():
    assert quote_digest("Dark at night") != quote_digest("Dark at night.")
    assert len(quote_digest("x")) == 64
