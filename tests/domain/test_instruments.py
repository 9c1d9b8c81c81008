"""Instrument loading: the shipped files load, and every class of mistake is reported
with its file:line:col. No app, no database."""
from pathlib import Path
import textwrap

import pytest

from surveyapp.domain.instruments import (
    InstrumentError, check_paths, load_instrument, text_direction)
from tests.helpers import BROKEN_EXPECTED

ROOT = Path(__file__).resolve().parents[2]

GOOD = textwrap.dedent("""\
    id: tiny
    version: "1"
    languages: [en, ar]
    default_language: en
    title: {en: Tiny, ar: صغير}
    consent: {en: Agree?, ar: موافق؟}
    choice_lists:
      yes_no:
        - {value: 'yes', label: {en: 'Yes', ar: نعم}}
        - {value: 'no', label: {en: 'No', ar: لا}}
      agree:
        - {value: 1, label: {en: Disagree, ar: لا أوافق}}
        - {value: 2, label: {en: Agree, ar: أوافق}}
    pages:
      - id: one
        questions:
          - id: attended
            type: select_one
            choices: yes_no
            label: {en: Attended?, ar: حضرت؟}
          - id: years
            type: integer
            min: 0
            max: 100
            label: {en: Years?, ar: سنوات؟}
          - id: how_many
            type: integer
            relevant: "attended == 'yes' and years >= 2"
            label: {en: How many?, ar: كم؟}
          - id: trust
            type: matrix
            choices: agree
            label: {en: Trust, ar: ثقة}
            items:
              - {id: police, label: {en: Police, ar: الشرطة}}
              - {id: council, label: {en: Council, ar: المجلس}}
    scoring:
      scale: {min: 1, max: 2}
      domains:
        - id: trust
          label: {en: Trust, ar: الثقة}
          items: [trust.police, trust.council]
          reverse: [trust.council]
    """)


def replace(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def problems_of(text: str) -> list[str]:
    with pytest.raises(InstrumentError) as caught:
        load_instrument(text, "x.yaml")
    return [str(p) for p in caught.value.problems]


def test_good_instrument_loads_into_dataclasses():
    instrument = load_instrument(GOOD, "x.yaml")
    assert [q.id for q in instrument.questions] == ["attended", "years", "how_many", "trust"]
    assert instrument.answer_keys == ("attended", "years", "how_many", "trust.police", "trust.council")
    assert instrument.question("how_many").relevant.names == {"attended", "years"}
    assert instrument.scoring.domains[0].reverse == {"trust.council"}
    assert instrument.choice_lists["agree"].is_scale
    assert len(instrument.content_hash) == 64


@pytest.mark.parametrize("old, new, expected", [
    # unknown key, with a suggestion
    ("        min: 0\n", "        minn: 0\n",
     "x.yaml:23:9: unknown key 'minn' in question 'years'; did you mean 'min'?"),
    ("version: \"1\"\n", "version: \"1\"\nlanguage: [en]\n",
     "x.yaml:3:1: unknown key 'language' in the instrument; did you mean 'languages'?"),
    # duplicate question id
    ("      - id: how_many\n", "      - id: years\n",
     "x.yaml:26:13: duplicate question id 'years' (first defined at line 21)"),
    # relevant referring to an unknown question (the column is the name's, inside the quotes)
    ("attended == 'yes' and years >= 2", "attendd == 'yes'",
     "x.yaml:28:20: relevant of question 'how_many' refers to unknown question 'attendd'; "
     "did you mean 'attended'?"),
    # relevant referring to a later question
    ("attended == 'yes' and years >= 2", "attended == 'yes' or trust.police >= 1",
     "x.yaml:28:41: relevant of question 'how_many' refers to 'trust', which comes later"),
    # relevant that fails to parse: the column of the second 'and'
    ("attended == 'yes' and years >= 2", "attended == 'yes' and and",
     "x.yaml:28:42: relevant of question 'how_many' does not parse: unexpected 'and'"),
    # a choice list that does not exist
    ("        choices: yes_no\n", "        choices: yes_noo\n",
     "x.yaml:19:18: unknown choice list 'yes_noo'; did you mean 'yes_no'?"),
    # missing translation for a declared language
    ("label: {en: Years?, ar: سنوات؟}", "label: {en: Years?}",
     "x.yaml:25:16: label of question 'years' has no 'ar' text (languages: en, ar)"),
    # scoring item that is not a question on the scale
    ("items: [trust.police, trust.council]", "items: [trust.police, years, trust.council]",
     "x.yaml:42:29: scoring item 'years' is not a likert question or matrix item"),
    # reverse item outside the domain's items
    ("reverse: [trust.council]", "reverse: [trust.mayor]",
     "x.yaml:43:17: reverse item 'trust.mayor' of domain 'trust' is not among its items"),
    # a relevant may not use '.'
    ("attended == 'yes' and years >= 2", ". > 1",
     "x.yaml:28:19: relevant of question 'how_many' uses '.', which only a constraint may use"),
    # bad type
    ("        type: integer\n        min: 0", "        type: integr\n        min: 0",
     "x.yaml:22:15: question 'years' needs a type, one of text, textarea, integer"),
    # key that does not apply to the type
    ("        choices: yes_no\n", "        choices: yes_no\n        max: 3\n",
     "x.yaml:20:9: key 'max' does not apply to select_one question 'attended'"),
    # a matrix on a list of words is no scale
    ("        choices: agree\n", "        choices: yes_no\n",
     "x.yaml:32:18: matrix question 'trust' needs a choice list with whole-number values"),
    # default language not declared
    ("default_language: en", "default_language: fr",
     "x.yaml:4:19: default_language 'fr' is not one of languages (en, ar)"),
    # text in an undeclared language
    ("title: {en: Tiny, ar: صغير}", "title: {en: Tiny, ar: صغير, de: Klein}",
     "x.yaml:5:29: title of the instrument has text in 'de', which is not declared in languages"),
    # duplicate choice value
    ("- {value: 'no', label", "- {value: 'yes', label",
     "x.yaml:10:15: choice value 'yes' appears twice in choice list 'yes_no'"),
    # YAML syntax error: the flow mapping never closes
    ("title: {en: Tiny, ar: صغير}", "title: {en: Tiny, ar: صغير",
     "x.yaml:6:8: YAML syntax"),
])
def test_each_mistake_is_reported_at_its_line(old, new, expected):
    problems = problems_of(replace(old, new))
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once():
    text = (GOOD.replace("        min: 0\n", "        minn: 0\n", 1)
                .replace("choices: yes_no\n", "choices: nope\n", 1)
                .replace("label: {en: Years?, ar: سنوات؟}", "label: {en: Years?}", 1))
    problems = problems_of(text)
    assert len(problems) == 3, problems
    assert [p.split(":")[1] for p in problems] == sorted((p.split(":")[1] for p in problems), key=int)


@pytest.mark.parametrize("language, direction", [
    ("ar", "rtl"), ("fa", "rtl"), ("he", "rtl"), ("ur", "rtl"), ("ar-EG", "rtl"),
    ("en", "ltr"), ("es", "ltr"), ("zh", "ltr"), ("so", "ltr"),
])
def test_direction_comes_from_the_language(language, direction):
    assert text_direction(language) == direction


def test_shipped_instruments_load_without_problems():
    instruments, problems = check_paths([ROOT / "instruments"])
    assert problems == []
    ids = {i.id for i in instruments}
    assert {"community-capacity", "programme-feedback"} <= ids
    for instrument in instruments:
        assert {"en", "es", "fr", "ar"} <= set(instrument.languages)


def test_community_capacity_covers_the_brief():
    instruments, _ = check_paths([ROOT / "instruments" / "community-capacity.yaml"])
    (survey,) = instruments
    types = {q.type for q in survey.questions}
    assert {"matrix", "textarea", "select_one", "integer"} <= types
    assert sum(q.type == "textarea" for q in survey.questions) >= 3
    domains = {d.id for d in survey.scoring.domains}
    assert {"resources", "skills", "participation", "trust", "safety"} <= domains
    # It runs at both waves: some logic looks at the wave.
    assert any(q.relevant and "@wave" in q.relevant.source for q in survey.questions)


def test_broken_fixture_reports_every_expected_problem():
    _, problems = check_paths([ROOT / "tests" / "data" / "broken.yaml"])
    text = "\n".join(map(str, problems))
    for expected in BROKEN_EXPECTED:
        assert expected in text, f"missing: {expected}\n--- got:\n{text}"


def test_the_complete_example_in_the_docs_loads():
    docs = (ROOT / "docs" / "instruments.md").read_text(encoding="utf-8")
    section = docs.split("## A complete example", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    instrument = load_instrument(example, "docs/instruments.md")
    used = {q.type for q in instrument.questions}
    assert used == {"text", "textarea", "integer", "decimal", "select_one", "select_multiple",
                    "likert", "matrix", "date", "note", "ranking"}
