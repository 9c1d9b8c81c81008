"""Hypothesis: extract_themes on hostile corpora returns a result that keeps the contract,
or raises a clear ValueError for bounds that cannot be met, and nothing else. No app.

Corpora mix repeated words and phrases, exact and near duplicates, one-token and
one-character answers, numbers only, emoji, mixed scripts, 40,000-character texts,
identical answers, 0/1/2 answers, and k above the number of distinct answers.
``HYPOTHESIS_PROFILE=long`` runs 25 times as many examples; add
``--hypothesis-show-statistics`` to see how many ran.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp.domain import themes as themes_module
from surveyapp.domain.themes import extract_themes, is_non_answer

_LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
_SETTINGS = dict(deadline=None, derandomize=not _LONG,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORDS = ["lights", "light", "street", "dark", "police", "slow", "youth", "club", "kids", "bus",
         "the", "and", "of", "not", "luces", "calle", "policía", "lampadaires", "nuit",
         "الشرطة", "أضواء", "路灯", "警察", "太暗", "đèn đường", "booliska", "свет", "😀", "👍🏽",
         "42", "2024", "x", "é", "a", "N/A", "don't know", "no sé", "-", "!!!", "lights!", "LIGHTS"]


def _answer():
    word = st.sampled_from(WORDS)
    return st.one_of(
        st.lists(word, min_size=1, max_size=8).map(" ".join),                    # ordinary-ish
        st.tuples(word, st.integers(2, 30)).map(lambda p: " ".join([p[0]] * p[1])),  # "lights lights ..."
        st.tuples(st.lists(word, min_size=2, max_size=3).map(" ".join),
                  st.integers(2, 6)).map(lambda p: ". ".join([p[0]] * p[1])),    # a phrase, repeated
        st.sampled_from(["1", "12345", "3.5", "0 0 0", "😀", "😀😀👍", "a", "é", "字", "?", "", "   "]),
        st.text(min_size=0, max_size=12),                                       # anything at all
        st.integers(1, 40).map(lambda n: ("lights are broken and dark " * n * 60)[:40_000]
                                if n == 40 else "lights " * n),                  # up to 40,000 chars
    )


def _near_duplicate(text: str, variant: int) -> str:
    return [text, text.upper(), text + "!", " " + text + " ", text.replace(" ", "  ")][variant % 5]


@st.composite
def corpora(draw):
    distinct = draw(st.lists(_answer(), min_size=0, max_size=12))
    if not distinct:
        return []
    copies = draw(st.lists(st.tuples(st.integers(0, len(distinct) - 1), st.integers(0, 4)),
                           min_size=0, max_size=40))
    corpus = distinct + [_near_duplicate(distinct[i], v) for i, v in copies]
    if draw(st.booleans()) and len(corpus) > 2:
        corpus = [corpus[0]] * len(corpus)                                      # all identical
    return corpus


def check_contract(texts, result, k, k_min, k_max, language):
    n = len(texts)
    assert len(result.assignments) == n
    assert result.unthemed == sum(a is None for a in result.assignments)
    themes = result.themes
    assert all(a is None or 0 <= a < len(themes) for a in result.assignments)
    for index, theme in enumerate(themes):
        members = [t for t, a in zip(texts, result.assignments) if a == index]
        assert theme.count == len(members) >= 1
        assert theme.share == round(theme.count / n, 6)
        assert isinstance(theme.label, str) and theme.label.strip()
        assert 1 <= len(theme.quotes) <= themes_module.MAX_QUOTES
        assert all(len(q) <= themes_module.QUOTE_MAX_CHARS for q in theme.quotes)
        assert all(isinstance(p, str) and p for p in theme.key_phrases + theme.key_words)
    assert [t.count for t in themes] == sorted((t.count for t in themes), reverse=True)
    p = result.parameters
    assert p.chosen_k == len(themes)
    if k is not None:
        assert len(themes) <= k
    elif p.selection == "silhouette":
        assert len(themes) <= k_max
    for text, assignment in zip(texts, result.assignments):
        if is_non_answer(text, language):
            assert assignment is None, text


@settings(max_examples=1000 if _LONG else 40, **_SETTINGS)
@given(texts=corpora(), language=st.sampled_from(["en", "es", "fr", "ar", "zh", "vi", "so", "xx"]),
       k=st.one_of(st.none(), st.integers(1, 60)))
def test_hostile_corpora_give_a_result_that_keeps_the_contract(texts, language, k):
    result = extract_themes(texts, language=language, k=k)
    check_contract(texts, result, k, themes_module.DEFAULT_K_MIN, themes_module.DEFAULT_K_MAX,
                   language)


@settings(max_examples=500 if _LONG else 20, **_SETTINGS)
@given(texts=corpora(), k=st.one_of(st.none(), st.integers(-2, 60)),
       k_min=st.integers(-1, 30), k_max=st.integers(-1, 30))
def test_any_bounds_give_a_result_or_a_clear_value_error(texts, k, k_min, k_max):
    impossible = (k is not None and k < 1) or k_min < 1 or k_max < k_min
    try:
        result = extract_themes(texts, language="en", k=k, k_min=k_min, k_max=k_max)
    except ValueError as error:
        assert impossible, error
        assert "k" in str(error)
        return
    assert not impossible
    check_contract(texts, result, k, k_min, k_max, "en")


@settings(max_examples=200 if _LONG else 8, **_SETTINGS)
@given(texts=corpora(), seed=st.integers(0, 2**32 - 1))
def test_hostile_corpora_give_the_same_result_twice(texts, seed):
    assert extract_themes(texts, seed=seed) == extract_themes(list(texts), seed=seed)


POOLS = {
    "en": ["the street lights are broken", "more police patrols please", "the youth club closed",
           "lights", "police police police", "the the the"],
    "fr": ["les lampadaires sont en panne", "la police ne vient pas", "rien pour les jeunes",
           "les les les", "lampadaires"],
    "es": ["las luces de la calle", "la policía no viene", "nada para los jóvenes", "las las"],
    "ar": ["أضواء الشارع مطفأة", "الشرطة لا تأتي", "لا شيء للشباب", "الشرطة"],
}


@st.composite
def mixed_corpora(draw):
    corpus = []
    for language in draw(st.lists(st.sampled_from(sorted(POOLS)), min_size=1, max_size=4,
                                  unique=True)):
        corpus += draw(st.lists(st.sampled_from(POOLS[language]), min_size=0, max_size=15))
    return draw(st.permutations(corpus)) if corpus else corpus


@settings(max_examples=500 if _LONG else 20, **_SETTINGS)
@given(texts=mixed_corpora(), k=st.one_of(st.none(), st.integers(1, 20)),
       k_max=st.integers(2, 20))
def test_mixed_language_corpora_keep_the_contract_and_one_language_per_theme(texts, k, k_max):
    result = extract_themes(texts, language="en", k=k, k_max=k_max)
    check_contract(texts, result, k, themes_module.DEFAULT_K_MIN, k_max, "en")
    assert all(len(theme.languages) == 1 for theme in result.themes)
