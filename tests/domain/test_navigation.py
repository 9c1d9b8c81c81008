"""Page navigation with skip logic: next, previous, resume. No app, no database."""
import pytest

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import load_instrument
from surveyapp.domain.navigation import (
    first_page, next_page, position_of, previous_page, resume_page, shown_pages)

# Four pages; "youth" applies only to the young, "follow" only in the follow-up wave.
INSTRUMENT = load_instrument("""
id: nav
version: "1"
languages: [en]
default_language: en
title: {en: Navigation}
consent: {en: OK}
choice_lists:
  yes_no:
    - {value: 'yes', label: {en: 'Yes'}}
    - {value: 'no', label: {en: 'No'}}
pages:
  - id: start
    questions:
      - {id: young, type: select_one, choices: yes_no, required: true, label: {en: Young?}}
  - id: youth
    questions:
      - {id: school, type: text, relevant: "young == 'yes'", label: {en: School}}
  - id: follow
    questions:
      - {id: since, type: text, relevant: "@wave == 'follow-up'", label: {en: Since}}
  - id: end
    questions:
      - {id: comment, type: textarea, label: {en: Comment}}
""")
PAGES = {p.id: p for p in INSTRUMENT.pages}
BASELINE = Context(site="Riverside", wave="baseline", language="en")
FOLLOW_UP = Context(site="Riverside", wave="follow-up", language="en")


def ids(pages):
    return [p.id for p in pages]


@pytest.mark.parametrize("answers, context, expected", [
    ({}, BASELINE, ["start", "end"]),
    ({"young": "yes"}, BASELINE, ["start", "youth", "end"]),
    ({"young": "no"}, FOLLOW_UP, ["start", "follow", "end"]),
])
def test_shown_pages_follow_skip_logic(answers, context, expected):
    assert ids(shown_pages(INSTRUMENT, answers, context)) == expected


@pytest.mark.parametrize("page, answers, context, expected", [
    ("start", {"young": "yes"}, BASELINE, "youth"),
    ("start", {"young": "no"}, BASELINE, "end"),
    ("start", {"young": "no"}, FOLLOW_UP, "follow"),
    ("youth", {"young": "yes"}, BASELINE, "end"),
    ("end", {"young": "yes"}, FOLLOW_UP, None),
])
def test_next_page_skips_pages_that_do_not_apply(page, answers, context, expected):
    found = next_page(INSTRUMENT, PAGES[page], answers, context)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize("page, answers, expected", [
    ("end", {"young": "yes"}, "youth"),
    ("end", {"young": "no"}, "start"),
    ("start", {}, "start"),
])
def test_previous_page_skips_back_over_hidden_pages(page, answers, expected):
    assert previous_page(INSTRUMENT, PAGES[page], answers, BASELINE).id == expected


@pytest.mark.parametrize("current, answers, expected", [
    (None, {}, "start"),                 # new response: the beginning
    ("start", {}, "start"),              # saved half-way through the first page: that page
    ("youth", {"young": "yes"}, "youth"),  # the page they were on, not the one after
    ("youth", {"young": "no"}, "end"),   # that page no longer applies: the next that does
    ("follow", {"young": "no"}, "end"),  # hidden in this wave
    ("gone", {"young": "no"}, "start"),  # removed in a new version: from the start
])
def test_resume_reopens_the_page_the_respondent_was_on(current, answers, expected):
    assert resume_page(INSTRUMENT, current, answers, BASELINE).id == expected


def test_resume_after_the_last_page_stops_at_the_last_shown_page():
    last_hidden = load_instrument(INSTRUMENT_WITH_HIDDEN_END)
    page = resume_page(last_hidden, "tail", {"young": "no"}, BASELINE)
    assert page.id == "start"


INSTRUMENT_WITH_HIDDEN_END = """
id: nav2
version: "1"
languages: [en]
default_language: en
title: {en: Navigation}
consent: {en: OK}
choice_lists:
  yes_no:
    - {value: 'yes', label: {en: 'Yes'}}
    - {value: 'no', label: {en: 'No'}}
pages:
  - id: start
    questions:
      - {id: young, type: select_one, choices: yes_no, label: {en: Young?}}
  - id: tail
    questions:
      - {id: school, type: text, relevant: "young == 'yes'", label: {en: School}}
"""


def test_first_page_and_position():
    assert first_page(INSTRUMENT, {}, BASELINE).id == "start"
    assert position_of(INSTRUMENT, PAGES["end"], {"young": "yes"}, BASELINE) == (3, 3)
    assert position_of(INSTRUMENT, PAGES["youth"], {"young": "no"}, BASELINE) == (1, 2)
