"""Interview guides (kind: interview): the shipped one loads in its seven languages, and
the checker treats an interview guide as it treats a focus-group guide. No app."""
from pathlib import Path
import textwrap

import pytest

from surveyapp.domain.instruments import InstrumentError, load_file, load_instrument, localise

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "es", "fr", "ar", "zh", "vi", "so")

GUIDE = textwrap.dedent("""\
    id: tiny-interview
    version: "1"
    kind: interview
    languages: [en, ar]
    default_language: en
    title: {en: Tiny interview, ar: مقابلة صغيرة}
    consent: {en: Agree?, ar: موافق؟}
    prompts:
      - id: changed
        label: {en: What changed for you?, ar: ما الذي تغيّر بالنسبة إليك؟}
    """)


def problems_of(text: str) -> list[str]:
    try:
        load_instrument(text, "x.yaml")
    except InstrumentError as error:
        return [str(p) for p in error.problems]
    return []


def test_the_shipped_interview_guide_loads_in_all_seven_languages():
    guide = load_file(ROOT / "instruments" / "programme-interview.yaml")
    assert guide.kind == "interview" and guide.is_guide and not guide.pages
    assert guide.languages == LANGUAGES
    assert [p.id for p in guide.prompts] == ["programme_role", "what_changed", "trust",
                                              "what_should_change"]
    texts = [guide.title, guide.consent, *(p.label for p in guide.prompts),
             *(probe for p in guide.prompts for probe in p.probes),
             *(q.label for q in guide.session_fields)]
    for language in LANGUAGES:
        # The loader already refuses a missing language; here: each text is its own
        # translation, not the English copied in.
        for text in texts:
            assert text[language].strip()
            if language != "en":
                assert text[language] != text["en"], (language, text["en"])
    # The prompts the brief asks for: the programme, what changed, police and council, change.
    english = " ".join(localise(p.label, "en", "en") for p in guide.prompts).lower()
    for words in ("programme", "changed", "police", "council", "should change"):
        assert words in english
    assert "P1" in guide.consent["en"] and "voluntary" in guide.consent["en"]


def test_an_interview_guide_loads_like_a_focus_group_guide():
    guide = load_instrument(GUIDE, "x.yaml")
    assert guide.kind == "interview" and guide.is_guide
    assert guide.prompt("changed").label["ar"] == "ما الذي تغيّر بالنسبة إليك؟"
    survey = load_instrument(GUIDE.replace("kind: interview", "kind: focus_group"), "x.yaml")
    assert survey.is_guide


@pytest.mark.parametrize("old, new, expected", [
    ("kind: interview", "kind: interveiw", "kind 'interveiw' is not supported; use one of "
                                           "survey, focus_group, interview"),
    ("prompts:", "pages: []\nprompts:", "an interview guide has prompts, not pages"),
    ("prompts:\n  - id: changed\n", "other:\n  - id: changed\n", "an interview guide needs 'prompts'"),
    ("kind: interview\n", "", "'prompts' belongs to a guide (focus_group or interview), not a survey"),
])
def test_an_interview_guide_is_checked_like_a_guide(old, new, expected):
    assert old in GUIDE
    problems = problems_of(GUIDE.replace(old, new))
    assert any(expected in p for p in problems), problems
