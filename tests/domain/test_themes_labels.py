"""Labels a person would write, answers in several languages, and the second level. No app."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from surveyapp.domain import themes_text as text_module
from surveyapp.domain.themes import _TOP_LEVEL_AFTER, extract_themes

DATA = Path(__file__).resolve().parents[1] / "data" / "themes"
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def planted(name: str) -> tuple[list[str], list[str]]:
    rows = [line.split("\t", 1) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return [label for label, _ in rows], [answer for _, answer in rows]


def is_han(word: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in word)


def assert_labels_a_person_would_write(texts, result, language):
    labels = [t.label for t in result.themes]
    assert len(set(labels)) == len(labels), labels                    # no duplicates
    for index, theme in enumerate(result.themes):
        label = theme.label
        assert " / " not in label and label.strip() == label and label, label
        prep = text_module.profile((theme.languages or (language,))[0])
        tokens = [t for t in prep.tokens(label) if t.term != text_module.BOUNDARY]
        assert any(not t.stop for t in tokens), label                 # a content word
        assert not tokens[-1].stop and not tokens[0].stop, label      # no stop word at an end
        if not is_han(label):
            assert 1 <= len(label.split()) <= 5, label
        # In the surface form its own answers use (so never a word of another language).
        own = " ".join(text_module.normalise(t, prep.language.code)
                       for t, a in zip(texts, result.assignments) if a == index)
        for word in WORD.findall(label):
            assert word in own, (word, label)


@pytest.mark.parametrize("name, language, k", [
    ("survey_en.tsv", "en", None), ("survey_en.tsv", "en", 6), ("survey_es.tsv", "es", None),
    ("survey_zh.tsv", "zh", None), ("survey_mixed_en.tsv", "en", None),
    ("survey_mixed_langs.tsv", "en", None), ("sib200_fra_Latn.tsv", "fr", 12),
    ("sib200_arb_Arab.tsv", "ar", None),
])
def test_labels_are_short_phrases_in_the_words_of_their_answers(name, language, k):
    labels, texts = planted(name)
    result = extract_themes(texts, language=language, k=k)
    assert result.themes
    assert_labels_a_person_would_write(texts, result, language)


def test_planted_themes_get_their_subject_as_a_phrase():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts, language="en")
    shown = sorted(t.label for t in result.themes)
    assert any(re.fullmatch(r"(street )?lights?( \w+)?", s) for s in shown), shown
    assert any(s.startswith("police") for s in shown), shown
    assert sum(len(s.split()) >= 2 for s in shown) >= 2, shown


# --- several languages in one question ---------------------------------------------------

@pytest.mark.parametrize("text, language", [
    ("fix the roads!!! so many pot holes", "en"), ("the lights are out", "en"),
    ("las luces de la calle están rotas", "es"), ("la policía no viene", "es"),
    ("les lampadaires sont en panne dans ma rue", "fr"), ("la police arrive trop tard", "fr"),
    ("الشرطة تتأخر كثيرا", "ar"), ("路灯坏了", "zh"), ("đèn đường bị hỏng", "vi"),
    ("booliska way soo daahaan markaan wacno", "so"),
    ("police", "en"), ("parque", "en"),            # nothing tells: the question's language
])
def test_each_answers_language_is_detected(text, language):
    assert text_module.detect_language(text, "en") == language


def test_mixed_language_answers_are_themed_per_language_and_by_subject():
    subjects, texts = planted("survey_mixed_langs.tsv")
    languages = [text_module.detect_language(t, "en") for t in texts]
    result = extract_themes(texts, language="en")
    assert dict(result.parameters.preprocessing)["languages"] == ("ar", "en", "es", "fr")
    purities, weighted = [], 0
    for index, theme in enumerate(result.themes):
        members = [i for i, a in enumerate(result.assignments) if a == index]
        # A theme never mixes languages, and says which one it is in.
        assert len(theme.languages) == 1
        assert {languages[i] for i in members} == set(theme.languages)
        top, count = Counter(subjects[i] for i in members).most_common(1)[0]
        purities.append(count / len(members))
        weighted += count
    assert {t.languages[0] for t in result.themes} == {"en", "fr", "es", "ar"}
    # By subject: nine answers in ten overall; every theme three in four at least (a
    # youth answer about "the street" may sit with lighting).
    assert weighted / len(texts) >= 0.9, purities
    assert min(purities) >= 0.75, purities
    # Every subject has a theme of its own in every language.
    for language in ("en", "fr", "es", "ar"):
        found = {Counter(subjects[i] for i, a in enumerate(result.assignments)
                         if a == index).most_common(1)[0][0]
                 for index, theme in enumerate(result.themes) if theme.languages == (language,)}
        assert found == {"lighting", "youth", "police"}, (language, found)


def test_one_language_questions_are_not_split_by_a_stray_foreign_answer():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts + ["la police ne vient jamais", "las luces están rotas"],
                            language="en")
    assert "languages" not in dict(result.parameters.preprocessing)
    assert all(t.languages == ("en",) for t in result.themes)


# --- two levels --------------------------------------------------------------------------

def test_many_themes_get_a_handful_of_top_themes():
    labels, texts = planted("sib200_eng_Latn.tsv")
    result = extract_themes(texts, language="en", k=12)
    assert len(result.themes) == 12 > _TOP_LEVEL_AFTER
    assert 2 <= len(result.top_themes) <= 6
    seen = []
    for index, top in enumerate(result.top_themes):
        assert top.count == sum(result.themes[t].count for t in top.themes)
        assert top.label == result.themes[top.themes[0]].label
        assert all(result.themes[t].top == index for t in top.themes)
        seen += top.themes
    assert sorted(seen) == list(range(12))
    assert [t.count for t in result.top_themes] == sorted((t.count for t in result.top_themes),
                                                          reverse=True)


def test_few_themes_have_no_second_level():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts, language="en")
    assert result.top_themes == () and all(t.top is None for t in result.themes)


def test_arabic_stop_words_match_answers_written_with_any_alef():
    # Answers lose their hamza on alef when normalised ("إلى" -> "الي"); the stop list
    # must too, or labels end on "to" ("الرحلة الي").
    tokens = text_module.profile("ar").tokens("الرحلة إلى المدينة")
    assert [(t.surface, t.stop) for t in tokens] == [
        ("الرحلة", False), ("الي", True), ("المدينة", False)]


# --- spelling ----------------------------------------------------------------------------

def test_a_term_in_one_answer_is_respelled_to_a_common_term_one_edit_away():
    docs = [["withdraw", "cash"]] * 3 + [["withdrawl"], ["recieve"], ["receive"] * 1,
                                           ["zebra"], ["cat"], ["路灯"]]
    fixed = text_module.respell(docs)
    assert fixed[3] == ["withdraw"]                     # one letter dropped
    assert fixed[4] == ["recieve"]                      # "receive" is in one answer only
    assert fixed[6:] == [["zebra"], ["cat"], ["路灯"]]  # nothing near, too short, Han


def test_a_misspelt_one_word_answer_joins_its_theme():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts + ["polise!!"], language="en")
    police = {a for label, a in zip(labels, result.assignments) if label == "police"}
    assert result.assignments[-1] is not None and result.assignments[-1] in police
