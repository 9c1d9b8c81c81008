"""YAML codebooks: the shipped one loads and codes answers in all seven languages; a broken
one gets every problem as file:line:col. No app."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from surveyapp.domain.codebook import codebook_from_data, match_codebook
from surveyapp.domain.codebooks import (CodebookFileError, check_codebooks, codebook_for,
                                        load_codebook)
from surveyapp.domain.instruments import check_paths

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENTS = ROOT / "instruments"
LANGUAGES = {i.id: i.languages for i in check_paths([INSTRUMENTS])[0]}
SHIPPED = INSTRUMENTS / "codebooks" / "community-capacity.yaml"


def test_the_shipped_codebook_has_every_theme_in_every_language_of_its_instrument():
    codebook = load_codebook(SHIPPED, LANGUAGES)
    assert codebook.instruments == ("community-capacity",)
    theme_ids = [theme["code"] for theme in codebook.themes]
    assert {"street_lighting", "youth_activities", "police_response", "trust"} <= set(theme_ids)
    for theme in codebook.themes:
        assert set(theme["keywords"]) == set(LANGUAGES["community-capacity"]), theme["code"]
        assert theme["description"]


@pytest.mark.parametrize("language, answers", [
    ("en", ["The street lights on Elm are broken and it is so dark",
            "More things for teenagers after school", "The police never come when we call"]),
    ("es", ["Las luces de la calle no funcionan", "Actividades para los jóvenes",
            "La policía tarda mucho"]),
    ("fr", ["Les lampadaires sont cassés", "Des activités pour les jeunes",
            "La police ne vient jamais"]),
    ("ar", ["نحتاج إلى إنارة أفضل في الشوارع", "أنشطة للشباب بعد المدرسة", "الشرطة لا تأتي بسرعة"]),
    ("zh", ["路灯坏了，晚上太黑", "给青少年更多课后活动", "警察来得太慢"]),
    ("vi", ["Cần thêm đèn đường ở khu này", "Thêm hoạt động cho thanh niên", "Cảnh sát đến chậm quá"]),
    ("so", ["Nalalka waddooyinka ayaa jaban", "Waxqabad loogu talagalay dhalinyarada",
            "Booliska ma yimaadaan"]),
])
def test_the_shipped_codebook_codes_answers_in_each_language(language, answers):
    codebook = codebook_from_data(load_codebook(SHIPPED, LANGUAGES).themes)
    coded = match_codebook(codebook, answers, language=language)
    assert coded.codes == [("street_lighting",), ("youth_activities",), ("police_response",)]
    assert coded.untranslated == ()


def test_the_codebook_of_an_instrument_is_found_beside_it():
    assert codebook_for("community-capacity", INSTRUMENTS) == SHIPPED
    assert codebook_for("programme-feedback", INSTRUMENTS) is None


BROKEN = """\
instruments: [community-capacity]
themse: oops
themes:
  - id: lighting
    description: Street lights.
    keywords:
      en: [street light]
      de: [Straßenlaterne]
  - id: youth
    keywords:
      en: []
  - id: lighting
    descripton: again
    description: Twice.
    keywords: {en: [dark]}
  - id: police
    description: Police response.
"""
BROKEN_EXPECTED = [
    "broken.yaml:2:1: unknown key 'themse' in the codebook; did you mean 'themes'?",
    "broken.yaml:8:7: keywords of theme 'lighting' are in 'de', which the instrument does not "
    "declare (languages: en, es, fr, ar, zh, vi, so)",
    "broken.yaml:9:5: theme 'youth' needs a description: what answers it covers",
    "broken.yaml:11:11: keywords of theme 'youth' in 'en' is empty",
    "broken.yaml:12:9: duplicate theme id 'lighting' (first defined at line 4)",
    "broken.yaml:13:5: unknown key 'descripton' in theme 'lighting'; did you mean 'description'?",
    "broken.yaml:16:5: theme 'police' needs keywords: each language mapped to a list of words "
    "or phrases, e.g. {en: [street light, dark]}",
]


def test_a_broken_codebook_reports_every_problem_with_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(CodebookFileError) as caught:
        load_codebook(path, LANGUAGES)
    assert [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems] == BROKEN_EXPECTED


@pytest.mark.parametrize("text, expected", [
    ("themes: []\n", "1:1: the codebook needs 'instruments'"),
    ("instruments: [nobody]\nthemes:\n  - {id: a, description: A, keywords: {en: [a]}}\n",
     "1:15: unknown instrument 'nobody'"),
    ("instruments: [community-capacity]\nthemes:\n  - {id: Bad-Id, description: A, keywords: {en: [a]}}\n",
     "3:10: theme 'Bad-Id' needs an id of lower-case letters"),
    ("instruments: [community-capacity]\nthemes:\n  - {id: a, description: A, keywords: {en: dark}}\n",
     "3:44: keywords of theme 'a' in 'en' must be a list"),
    ("instruments: [community-capacity]\nthemes: [\n", "YAML syntax"),
    ("- just a list\n", "1:1: a codebook must be a YAML mapping"),
])
def test_codebook_mistakes_are_named(tmp_path, text, expected):
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookFileError) as caught:
        load_codebook(path, LANGUAGES)
    assert expected in str(caught.value)


def test_check_finds_codebooks_beside_instruments_and_checks_languages_there(tmp_path):
    (tmp_path / "codebooks").mkdir()
    (tmp_path / "community-capacity.yaml").write_text(
        (INSTRUMENTS / "community-capacity.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "codebooks" / "good.yaml").write_text(SHIPPED.read_text(encoding="utf-8"),
                                                      encoding="utf-8")
    (tmp_path / "codebooks" / "bad.yaml").write_text(textwrap.dedent("""\
        instruments: [community-capacity]
        themes:
          - {id: a, description: A, keywords: {xx: [a]}}
        """), encoding="utf-8")
    # Given the codebook file alone, the instruments come from the folder it sits in.
    codebooks, problems = check_codebooks([tmp_path / "codebooks" / "bad.yaml"], {})
    assert codebooks == [] and len(problems) == 1
    assert "keywords of theme 'a' are in 'xx', which the instrument does not declare" \
        in problems[0].message
    codebooks, problems = check_codebooks([tmp_path], {})
    assert [Path(c.path).name for c in codebooks] == ["good.yaml"] and len(problems) == 1
