"""Theme extraction on planted survey answers, degenerate input, stop words and sentiment. No app."""
from __future__ import annotations

import re
import time
import zipfile
from collections import Counter
from pathlib import Path

import nltk
import pytest

from surveyapp.domain import themes_text as text_module
from surveyapp.domain import themes as themes_module
from surveyapp.domain.themes import Sentiment, ThemeResult, extract_themes, is_non_answer

DATA = Path(__file__).resolve().parents[1] / "data" / "themes"


def planted(name: str) -> tuple[list[str], list[str]]:
    """(labels, texts) of a planted fixture: ``label<TAB>answer`` lines."""
    rows = [line.split("\t", 1) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return [label for label, _ in rows], [answer for _, answer in rows]


def majority(labels: list[str], result: ThemeResult) -> dict[int, tuple[str, float]]:
    """theme -> (its most common planted label, the share of its answers that carry it)."""
    out = {}
    for index in range(len(result.themes)):
        counts = Counter(label for label, a in zip(labels, result.assignments) if a == index)
        label, count = counts.most_common(1)[0]
        out[index] = (label, count / sum(counts.values()))
    return out


def assert_planted_themes_recovered(labels, texts, result, label_words):
    """Every planted label heads a theme of purity >= 0.8 whose label names it, and whose
    quotes are distinct answers about it."""
    by_label = {}
    for index, (label, purity) in majority(labels, result).items():
        by_label.setdefault(label, []).append((purity, index))
    assert set(by_label) == set(label_words), by_label
    of_text = dict(zip(texts, labels))
    for label, words in label_words.items():
        purity, index = max(by_label[label])
        theme = result.themes[index]
        assert purity >= 0.8, (label, purity, theme.label)
        assert re.search(words, theme.label), (label, theme.label)
        assert 3 <= len(theme.quotes) <= 5, theme.quotes
        assert len(set(theme.quotes)) == len(theme.quotes)
        # Quotes are verbatim answers, and all of them are about the planted theme.
        assert all(of_text[quote] == label for quote in theme.quotes), (label, theme.quotes)


def test_three_planted_english_themes_come_back_with_fitting_labels_and_quotes():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts, language="en")
    assert result.parameters.chosen_k == 3 and result.parameters.selection == "silhouette"
    assert len(result.themes) == 3 and result.unthemed == 0
    assert_planted_themes_recovered(labels, texts, result, {
        "lighting": r"light", "youth": r"youth|program|teen", "police": r"police"})
    assert sum(t.count for t in result.themes) == len(texts)
    assert [t.count for t in result.themes] == sorted((t.count for t in result.themes), reverse=True)
    assert all(t.share == pytest.approx(t.count / len(texts)) for t in result.themes)
    police = next(t for t in result.themes if "police" in t.label)
    assert "police response" in police.key_phrases


def test_planted_spanish_themes_come_back_with_spanish_labels():
    labels, texts = planted("survey_es.tsv")
    result = extract_themes(texts, language="es", k=3)
    assert_planted_themes_recovered(labels, texts, result, {
        "alumbrado": r"luz|luces|calle|oscur|farol", "jovenes": r"joven|adolescent|program",
        "policia": r"polic"})
    # Automatic k may split the youth answers in two, but no theme mixes subjects.
    auto = extract_themes(texts, language="es")
    assert 3 <= auto.parameters.chosen_k <= 4
    assert all(purity >= 0.8 for _, purity in majority(labels, auto).values())


def test_planted_chinese_themes_come_back_from_character_bigrams():
    labels, texts = planted("survey_zh.tsv")
    result = extract_themes(texts, language="zh", k=3)
    assert_planted_themes_recovered(labels, texts, result, {
        "路灯": r"路灯|照明|黑", "青少年": r"青少年|孩子|年轻", "警察": r"警"})
    assert all(theme.sentiment is None for theme in result.themes)
    auto = extract_themes(texts, language="zh")
    assert 3 <= auto.parameters.chosen_k <= 4
    assert all(purity >= 0.8 for _, purity in majority(labels, auto).values())


def test_vietnamese_themes_use_syllable_pairs():
    lights = ["đèn đường bị hỏng, buổi tối rất tối", "cần thêm đèn đường ở khu phố",
              "đèn đường gần trường học không sáng", "sửa đèn đường trong công viên",
              "đèn đường hỏng lâu rồi, đi bộ ban đêm rất sợ", "lắp thêm đèn đường cho hẻm"]
    police = ["cảnh sát đến quá chậm khi gọi", "gọi cảnh sát mà không ai đến",
              "cảnh sát cần tuần tra ban đêm nhiều hơn", "cảnh sát phản hồi chậm",
              "cần thêm cảnh sát tuần tra khu phố", "cảnh sát đến trễ hai tiếng"]
    result = extract_themes(lights + police, language="vi", k=2)
    groups = [set(result.assignments[:6]), set(result.assignments[6:])]
    assert groups[0] != groups[1] and all(len(g) == 1 for g in groups)
    labels = {result.themes[next(iter(g))].label for g in groups}
    assert any("đèn đường" in label for label in labels), labels
    assert any("cảnh sát" in label for label in labels), labels


@pytest.mark.parametrize("language, texts", [
    ("fr", ["les lampadaires sont en panne dans ma rue", "il fait trop noir la nuit, pas de lampadaires",
            "réparer les lampadaires du parc", "plus de lampadaires dans les rues sombres",
            "la police arrive trop tard quand on appelle", "la police ne vient jamais la nuit",
            "plus de patrouilles de police dans le quartier", "la police met une heure à venir"]),
    ("ar", ["أضواء الشوارع مطفأة منذ شهور", "نحتاج إلى أضواء في الشوارع ليلا",
            "الشارع مظلم والأضواء مكسورة", "أصلحوا أضواء الحديقة والشوارع",
            "الشرطة تتأخر كثيرا عند الاتصال", "الشرطة لا تأتي عندما نتصل",
            "نريد دوريات الشرطة في الليل", "استجابة الشرطة بطيئة جدا"]),
    ("so", ["nalalka waddada waa jaban yihiin", "nalal badan waddada ku rakib",
            "habeenkii waddada waa mugdi, nalal ma jiraan", "nalalka waddada dayactir",
            "booliska way soo daahaan markaan wacno", "booliska ma yimaadaan habeenkii",
            "booliska waa inay roondeeyaan xaafadda", "booliska jawaabtoodu waa gaabis"]),
])
def test_two_planted_themes_split_cleanly_in_french_arabic_and_somali(language, texts):
    result = extract_themes(texts, language=language, k=2)
    assert len(set(result.assignments[:4])) == 1 and len(set(result.assignments[4:])) == 1
    assert result.assignments[0] != result.assignments[4]
    assert all(theme.sentiment is None for theme in result.themes)


# --- unthemed and degenerate input -------------------------------------------------------

@pytest.mark.parametrize("answer", [
    "", "   ", "N/A", "n/a.", "None", "Don't know", "don’t know!", "IDK", "no sé", "No se.",
    "je ne sais pas", "Je sais pas", "不知道", "không biết", "لا أعرف", "ma garanayo", "-", "...",
])
def test_non_answers_are_recognised(answer):
    assert is_non_answer(answer)


@pytest.mark.parametrize("answer", ["no lights", "I don't know why the lights are off", "police"])
def test_real_answers_are_not_non_answers(answer):
    assert not is_non_answer(answer)


def test_non_answers_stop_words_and_emoji_are_unthemed_and_the_rest_keep_their_themes():
    labels, texts = planted("survey_en.tsv")
    junk = ["", "N/A", "don't know", "no sé", "je ne sais pas", "the and of it", "😀😀👍", "   ",
            None, "?!"]
    result = extract_themes(texts + junk, language="en")
    assert result.assignments[len(texts):] == [None] * len(junk)
    assert result.unthemed == len(junk)
    assert None not in result.assignments[:len(texts)]
    assert len(result.assignments) == len(texts) + len(junk)
    assert sum(t.count for t in result.themes) == len(texts)


def test_no_input_gives_no_themes():
    result = extract_themes([], language="en")
    assert result.assignments == [] and result.themes == []
    assert result.parameters.selection == "empty"


def test_only_unthemed_input_gives_no_themes():
    result = extract_themes(["", "N/A", "🙂"], language="en")
    assert result.assignments == [None, None, None] and result.themes == []


def test_one_answer_is_one_theme_quoting_it():
    result = extract_themes(["The street lights on my road are broken"], language="en")
    assert result.assignments == [0]
    [theme] = result.themes
    assert theme.count == 1 and theme.share == 1.0
    assert theme.quotes == ("The street lights on my road are broken",)
    assert theme.label and "/" in theme.label or theme.label in ("street", "lights", "road", "broken")


def test_identical_answers_are_one_theme_with_one_quote():
    texts = ["More street lights please"] * 40
    result = extract_themes(texts, language="en")
    assert result.assignments == [0] * 40 and len(result.themes) == 1
    assert result.themes[0].quotes == ("More street lights please",)
    assert result.parameters.selection == "single"


def test_one_word_answers_and_duplicates_cluster_by_word():
    texts = ["lights"] * 10 + ["police"] * 10 + ["Lights!"] * 5 + ["POLICE"] * 5
    result = extract_themes(texts, language="en")
    assert len(result.themes) == 2
    assert len(set(result.assignments[:10] + result.assignments[20:25])) == 1
    assert len(set(result.assignments[10:20] + result.assignments[25:])) == 1
    assert {t.label for t in result.themes} == {"lights", "police"}


def test_a_40000_character_answer_and_mixed_languages_do_not_break_the_run():
    labels, texts = planted("survey_en.tsv")
    essay = ("The lights on our street are broken and nobody fixes them. " * 700)[:40_000]
    mixed = ["las luces de la calle están rotas, the street lights are broken",
             "路灯坏了 the lights are out", "police 警察 never come"]
    result = extract_themes(texts + [essay] + mixed, language="en")
    assert len(result.assignments) == len(texts) + 4
    assert result.assignments[len(texts)] is not None
    for theme in result.themes:
        assert all(len(quote) <= themes_module.QUOTE_MAX_CHARS for quote in theme.quotes)
    lighting = result.themes[result.assignments[len(texts)]]
    assert "light" in lighting.label


@pytest.mark.parametrize("k", [None, 2, 3])
def test_a_word_repeated_in_a_few_answers_does_not_crash_the_key_phrases(k):
    # NLTK's likelihood ratio raised "math domain error" on the gram (lights, lights):
    # it counts one word more often than its contingency table allows.
    labels, texts = planted("survey_en.tsv")
    ordinary = [t for label, t in zip(labels, texts) if label == "police"]
    ordinary += [t for label, t in zip(labels, texts) if label == "youth"][:24 - len(ordinary)]
    repeated = ["lights lights lights lights"] * 5
    result = extract_themes(ordinary + repeated, language="en", k=k)
    assert len(result.assignments) == 29 and result.unthemed == 0
    [theme] = {result.themes[a] for a in result.assignments[24:]}
    assert "lights" in theme.label
    assert not any(len(set(p.split())) < len(p.split()) for t in result.themes for p in t.key_phrases)


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "k must be at least 1"),
    ({"k_min": 0}, "k_min"),
    ({"k_min": 5, "k_max": 3}, "k_min"),
])
def test_impossible_bounds_are_refused_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        extract_themes(["lights"], **kwargs)


def test_analyst_bounds_and_fixed_k_are_honoured():
    labels, texts = planted("survey_en.tsv")
    assert len(extract_themes(texts, k=2).themes) == 2
    assert len(extract_themes(texts, k_min=5, k_max=5).themes) == 5
    bounded = extract_themes(texts, k_min=2, k_max=2)
    assert bounded.parameters.chosen_k == 2 and [k for k, _ in bounded.parameters.silhouette] == [2]
    # More themes asked for than there are distinct answers: one per distinct answer.
    assert len(extract_themes(["lights", "police", "lights"], k=5).themes) == 2


# --- reproducible ------------------------------------------------------------------------

def test_same_input_and_settings_give_the_same_result_and_parameters_reproduce_it():
    labels, texts = planted("survey_en.tsv")
    first = extract_themes(texts, language="en", seed=7, stop_words=("um",))
    second = extract_themes(list(texts), language="en", seed=7, stop_words=("um",))
    assert first == second
    again = extract_themes(texts, **first.parameters.as_kwargs())
    assert again == first
    p = first.parameters
    assert (p.language, p.k, p.k_min, p.k_max, p.seed, p.stop_words) == (
        "en", None, 2, themes_module.DEFAULT_K_MAX, 7, ("um",))
    assert dict(p.preprocessing)["stemmer"] == "english"
    assert p.chosen_k == len(first.themes) and p.silhouette


# --- words a person reads ----------------------------------------------------------------

def words_of(texts):
    return {w for t in texts for w in re.findall(r"[^\W\d_]+(?:['\-][^\W\d_]+)*", t.casefold())}


@pytest.mark.parametrize("name, language", [("survey_en.tsv", "en"), ("survey_es.tsv", "es")])
def test_labels_and_phrases_show_words_as_written_never_stems(name, language):
    labels, texts = planted(name)
    texts = texts + ["Our community needs community centres", "community safety and communities",
                     "the community garden", "communities together"]
    written = words_of(texts)
    result = extract_themes(texts, language=language)
    shown = [t.label for t in result.themes] + [p for t in result.themes for p in t.key_phrases] \
        + [w for t in result.themes for w in t.key_words]
    for piece in shown:
        for word in re.findall(r"[^\W\d_]+(?:['\-][^\W\d_]+)*", piece):
            assert word in written, (word, piece)
    # The planted "community" answers are a theme of their own, shown as written.
    assert re.search(r"\bcommunit(y|ies)\b", " ".join(shown))


def test_extra_stop_words_leave_the_labels():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts, language="en", stop_words=("police", "lights"))
    shown = " ".join([t.label for t in result.themes] + [w for t in result.themes for w in t.key_words])
    assert "police" not in shown and "lights" not in shown
    # "light" (singular) goes too: extra stop words are matched on their stems.
    assert not re.search(r"\blight\b", shown)


@pytest.mark.parametrize("word", ["evening", "respect", "fair", "place", "good", "work"])
def test_a_content_word_is_kept_when_a_stop_word_shares_its_stem(word):
    # stopwords-iso lists "even", "respectively", "fairly", "placed"...: their stems are not
    # stop words, or "police in the evening" would lose "evening".
    tokens = text_module.profile("en").tokens(f"more police in the {word}")
    assert [t.surface for t in tokens if not t.stop] == ["police", word]


def test_an_analysts_stop_word_drops_the_words_of_its_stem_only():
    tokens = text_module.profile("en", ["police"]).tokens("policing the police, in the evening")
    assert [t.surface for t in tokens if not t.stop and t.term != text_module.BOUNDARY] == ["evening"]


# --- stop words: stopwordsiso, or NLTK's corpus when the deployment has one --------------

def test_stop_words_come_from_stopwordsiso_without_nltk_data(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    words, source = text_module.stop_words("en")
    assert source == "stopwordsiso"
    assert {"the", "because", "however"} <= words
    # stopwords-iso lists some words surveys are about; those stay content words.
    assert not {"home", "work", "young", "problem", "police", "light"} & words
    for language in ("es", "fr", "ar", "zh", "vi", "so"):
        words, source = text_module.stop_words(language)
        assert source == "stopwordsiso" and words


def test_stop_words_come_from_nltks_corpus_when_the_deployment_has_it(monkeypatch, tmp_path):
    corpus = tmp_path / "corpora" / "stopwords"
    corpus.mkdir(parents=True)
    (corpus / "english").write_text("the\nstreet\nare\n", encoding="utf-8")
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)] + list(nltk.data.path))
    words, source = text_module.stop_words("en")
    assert source == "nltk"
    assert {"the", "street", "are"} <= words and "because" not in words
    result = extract_themes(planted("survey_en.tsv")[1], language="en")
    assert dict(result.parameters.preprocessing)["stop_words"] == "nltk"
    assert not any("street" in t.label for t in result.themes)
    # Spanish has no file in this corpus: stopwordsiso still serves it.
    assert text_module.stop_words("es")[1] == "stopwordsiso"


def test_unknown_languages_fall_back_to_unstemmed_words():
    result = extract_themes(["taa taa lampu", "taa lampu mati", "polisi lambat", "polisi lambat sekali"],
                            language="xx-Latn", k=2)
    assert dict(result.parameters.preprocessing) == {
        "language": "xx", "stemmer": None, "stop_words": "none", "syllable_bigrams": False}
    assert len(set(result.assignments[:2])) == 1 and len(set(result.assignments[2:])) == 1


# --- sentiment: VADER for English, None elsewhere ----------------------------------------

@pytest.fixture
def vader_cache_cleared():
    themes_module._vader_for.cache_clear()
    yield
    themes_module._vader_for.cache_clear()


def test_english_themes_carry_vader_sentiment_built_from_vadersentiment(
        monkeypatch, tmp_path, vader_cache_cleared):
    monkeypatch.setenv("SURVEYAPP_NLTK_DATA", str(tmp_path / "built"))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    texts = ["I love the new youth centre, it is wonderful and great"] * 3 \
        + ["the police are terrible, awful and useless, I hate waiting"] * 3
    result = extract_themes(texts, language="en", k=2)
    built = tmp_path / "built" / "sentiment" / "vader_lexicon.zip"
    assert built.exists() and nltk.data.path[0] == str(tmp_path / "built")
    assert zipfile.ZipFile(built).namelist() == ["vader_lexicon/vader_lexicon.txt"]
    happy = result.themes[result.assignments[0]].sentiment
    angry = result.themes[result.assignments[3]].sentiment
    assert isinstance(happy, Sentiment) and happy.positive == 1.0 and happy.mean > 0.5
    assert angry.negative == 1.0 and angry.mean < -0.5 and angry.scored == 3
    assert happy.positive + happy.neutral + happy.negative == pytest.approx(1.0)


def test_a_deployments_own_vader_lexicon_is_used_when_nltk_finds_it(
        monkeypatch, tmp_path, vader_cache_cleared):
    # A lexicon in which "streetlight" is the happiest word there is.
    with zipfile.ZipFile(tmp_path / "lexicon.zip", "w") as archive:
        archive.writestr("vader_lexicon/vader_lexicon.txt", "streetlight\t4.0\t0.5\t[4, 4, 4, 4, 4, 4, 4, 4, 4, 4]")  # VADER reads no trailing newline
    (tmp_path / "sentiment").mkdir()
    (tmp_path / "lexicon.zip").rename(tmp_path / "sentiment" / "vader_lexicon.zip")
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setenv("SURVEYAPP_NLTK_DATA", str(tmp_path / "never-built"))
    assert themes_module.vader().polarity_scores("streetlight")["compound"] > 0.5
    assert themes_module.vader().polarity_scores("wonderful")["compound"] == 0
    assert not (tmp_path / "never-built").exists()


@pytest.mark.parametrize("name, language", [("survey_es.tsv", "es"), ("survey_zh.tsv", "zh")])
def test_sentiment_is_not_available_outside_english(name, language):
    result = extract_themes(planted(name)[1], language=language)
    assert result.themes and all(theme.sentiment is None for theme in result.themes)


def test_planted_english_sentiment_is_more_negative_for_police_than_for_youth():
    labels, texts = planted("survey_en.tsv")
    result = extract_themes(texts, language="en", k=3)
    by_label = {label: result.themes[i] for i, (label, _) in majority(labels, result).items()}
    assert by_label["police"].sentiment.mean < by_label["youth"].sentiment.mean
    assert by_label["police"].sentiment.negative > by_label["police"].sentiment.positive


# --- fast enough -------------------------------------------------------------------------

@pytest.mark.slow
def test_seven_thousand_short_answers_take_well_under_a_minute():
    labels, texts = planted("survey_en.tsv")
    many = [f"{text} {word}" for word in ("today", "again", "really", "still") for text in texts] * 27
    many = many[:7000]
    start = time.process_time()
    result = extract_themes(many, language="en")
    seconds = time.process_time() - start
    assert len(result.assignments) == 7000 and result.unthemed == 0
    assert seconds < 30, seconds


def test_progress_reports_rising_stage_fractions_that_end_at_one_and_change_nothing():
    labels, texts = planted("survey_en.tsv")
    calls = []
    result = extract_themes(texts, "en", seed=0, progress=lambda f, s: calls.append((f, s)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and fractions.count(1.0) == 1
    stages = [s for _, s in calls]
    assert set(stages) == set(themes_module.PROGRESS_STAGES)
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == list(
        themes_module.PROGRESS_STAGES)
    # The callback only observes: the result is the one the contract call gives.
    plain = extract_themes(texts, language="en", k=None, seed=0)
    assert result.assignments == plain.assignments and result.themes == plain.themes


@pytest.mark.parametrize("texts", [[], ["N/A", "don't know"]])
def test_progress_ends_at_one_on_empty_input_too(texts):
    calls = []
    extract_themes(texts, progress=lambda f, s: calls.append((f, s)))
    assert calls[0] == (0.0, "preprocess") and calls[-1] == (1.0, "done")
