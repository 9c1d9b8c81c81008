"""Deductive coding against a codebook: stems, phrases, languages, and clear errors. No app."""
from pathlib import Path

import pytest

from surveyapp.domain.codebook import CodebookError, codebook_from_data, match_codebook

DATA = Path(__file__).resolve().parents[1] / "data" / "themes"

CODEBOOK = codebook_from_data([
    {"code": "lighting", "label": "Street lighting", "description": "Lights, lamps, darkness",
     "keywords": {"en": ["street light", "lamp post", "dark", "lighting"],
                  "es": ["luces de la calle", "farola", "oscuro", "alumbrado"],
                  "zh": ["路灯", "照明"]}},
    {"code": "youth", "label": "Youth programmes",
     "keywords": {"en": ["youth", "teen", "after school", "rec center"],
                  "es": ["jóvenes", "jovenes", "adolescentes", "juvenil", "niños"], "zh": ["青少年", "课后"]}},
    {"code": "police", "label": "Police response",
     "keywords": {"en": ["police", "cops", "officer", "response time"],
                  "es": ["policía", "policia", "patrullas"]}},
])


def planted(name):
    rows = [line.split("\t", 1) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return [label for label, _ in rows], [text for _, text in rows]


def test_keywords_match_on_stems_and_phrases_in_order():
    coded = match_codebook(CODEBOOK, [
        "The STREET LIGHTS are out",          # plural, capitals: stems match
        "posts by the lamp",                  # words out of order: not the phrase
        "a lamp-post fell", "lamp posts are broken", "it gets so dark here",
        "teenagers are bored", "the teens are bored",
        "we called the police, then the officers came", "",
    ], language="en")
    assert coded.codes == [("lighting",), (), (), ("lighting",), ("lighting",), (), ("youth",),
                           ("police",), ()]
    assert coded.evidence[7] == {"police": ("police", "officer")}
    assert coded.counts == {"lighting": 3, "youth": 1, "police": 1}


def test_an_answer_can_carry_several_codes_and_non_answers_carry_none():
    coded = match_codebook(CODEBOOK, ["too dark, and the police never come", "N/A", "don't know"])
    assert coded.codes == [("lighting", "police"), (), ()]


@pytest.mark.parametrize("name, language, expected_share", [
    ("survey_en.tsv", "en", 0.9), ("survey_es.tsv", "es", 0.9), ("survey_zh.tsv", "zh", 0.8)])
def test_planted_answers_are_coded_to_their_own_theme(name, language, expected_share):
    labels, texts = planted(name)
    coded = match_codebook(CODEBOOK, texts, language=language)
    names = {"alumbrado": "lighting", "jovenes": "youth", "policia": "police",
             "路灯": "lighting", "青少年": "youth", "警察": "police"}
    right = sum(names.get(label, label) in codes for label, codes in zip(labels, coded.codes))
    wrong = sum(any(c != names.get(label, label) for c in codes)
                for label, codes in zip(labels, coded.codes))
    if language == "zh":       # this codebook has no Chinese keywords for police
        assert coded.untranslated == ("police",)
        considered = [label for label in labels if label != "警察"]
        right = sum(names[label] in codes for label, codes in zip(labels, coded.codes) if label != "警察")
        assert right / len(considered) >= expected_share
    else:
        assert coded.untranslated == ()
        assert right / len(texts) >= expected_share, right
    assert wrong <= len(texts) * 0.1


def test_spanish_phrase_matches_across_stop_words_but_not_across_clauses():
    coded = match_codebook(CODEBOOK, ["las luces en la calle no sirven", "luces, la calle"],
                           language="es")
    assert coded.codes == [("lighting",), ()]


@pytest.mark.parametrize("data, problem", [
    ([{"keywords": {"en": ["x"]}}], "entry 1: code is missing"),
    ([{"code": "a", "keywords": {"en": ["x"]}}, {"code": "a", "keywords": {"en": ["y"]}}],
     "entry 2: code 'a' is used twice"),
    ([{"code": "a"}], "entry 1 (a): keywords must map a language"),
    ([{"code": "a", "keywords": {"en": "lights"}}], "keywords for 'en' must be a list"),
    (["lights"], "entry 1: expected a mapping"),
])
def test_a_broken_codebook_names_every_problem(data, problem):
    with pytest.raises(CodebookError) as raised:
        codebook_from_data(data)
    assert problem in raised.value.problems[0]


def test_every_problem_is_listed_at_once():
    with pytest.raises(CodebookError) as raised:
        codebook_from_data([{"keywords": {}}, {"code": "b"}])
    assert len(raised.value.problems) == 3


@pytest.mark.parametrize("language, elided, plain", [
    ("fr", "Le manque d'éclairage dans l'allée", "éclairage allée"),
    ("fr", "Jusqu’à l’école, qu'il pleuve", "à école pleuve"),
    ("it", "Manca l'illuminazione dell'area", "illuminazione area"),
])
def test_elided_articles_leave_the_word_they_are_glued_to(language, elided, plain):
    """"d'éclairage" is "éclairage": a codebook keyword and the themes must see one term."""
    from surveyapp.domain.themes_text import profile
    preprocessor = profile(language)
    terms = {t.term for t in preprocessor.tokens(elided) if not t.stop}
    assert {t.term for t in preprocessor.tokens(plain) if not t.stop} <= terms
