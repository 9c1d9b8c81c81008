"""Language-aware preprocessing for free-text answers: normalise, tokenise, stem, stop words.

Plain data in, plain data out; nothing here downloads anything. Only this module and
``themes.py`` import nltk, and only the parts that need no ``nltk.download``:
``RegexpTokenizer``, ``SnowballStemmer``, and the stop-word corpus *when a deployment
has one* (``nltk.corpus.stopwords``); otherwise stop words come from ``stopwordsiso``.

What each language gets (``LanguageProfile``):

* en, es, fr, ar and the other Snowball languages (de, it, pt, nl, ru, ...): words,
  lower-cased, stemmed with NLTK's Snowball stemmer. Arabic is first stripped of
  diacritics and tatweel and its alef forms are unified, so one word is one token.
* zh (and any Han characters in any text): Chinese has no spaces and we ship no word
  segmenter, so each run of Han characters becomes its overlapping character bigrams
  ("路灯太暗" -> "路灯", "灯太", "太暗"); a lone character stays a unigram. Bigrams that
  are stop words, made only of stop characters, or hold a function character
  (的, 了, 们, ...) are dropped.
* vi: Vietnamese is written one syllable per space and most words are two syllables
  ("đèn đường", street light), so the terms are syllables plus adjacent syllable
  bigrams; no stemming (Vietnamese does not inflect).
* so: Somali has no Snowball stemmer and we know no honest light stemmer, so words are
  lower-cased and not stemmed.
* anything else: lower-cased words, no stemming, stopwordsiso's list if it has one.

Every token keeps its surface form next to its term, so a caller can show a person
"community" and never the stem "communiti".
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable


# ISO 639-1 -> the names NLTK uses for Snowball stemmers and its stop-word corpus.
_NLTK_NAMES = {
    "ar": "arabic", "da": "danish", "de": "german", "en": "english", "es": "spanish",
    "fi": "finnish", "fr": "french", "hu": "hungarian", "it": "italian", "nl": "dutch",
    "no": "norwegian", "nb": "norwegian", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sv": "swedish", "zh": "chinese", "so": "somali", "vi": "vietnamese",
}

# stopwords-iso's English list (1,298 words) was built for web search and lists words a
# survey answer is *about* ("home", "work", "young people", "problem", "information").
# These stay content words; the list is otherwise used as it is.
_CONTENT_WORDS_KEPT = frozenset({
    "home", "homes", "work", "works", "working", "young", "younger", "youngest", "problem",
    "problems", "area", "areas", "information", "open", "opened", "opening", "opens",
    "place", "places", "world", "help", "helped", "helping", "helps", "show", "showed",
    "showing", "shows", "group", "groups", "grouped", "grouping", "school", "interest",
    "interested", "interesting", "interests", "member", "members", "order", "parts",
    "point", "points", "room", "rooms", "state", "states", "turn", "face", "faces",
    "facts", "high", "higher", "highest", "old", "older", "oldest", "long", "longer",
    "small", "smaller", "large", "larger", "big", "needs", "best", "better", "worse", "good",
    "new", "newer", "early", "late", "later", "number", "numbers", "present", "side",
    "sides", "way", "ways", "year", "years", "man", "men", "woman", "women", "children",
    "presented", "presenting", "presents", "clear", "clearly", "open", "problem",
    "full", "thing", "things", "light", "lights", "today",
})

# Filler that people type into survey boxes in every language; analysts add their own.
_SURVEY_FILLER = frozenset({
    "um", "umm", "uh", "uhm", "erm", "hmm", "ok", "okay", "yeah", "yea", "yes", "lol",
    "pls", "plz", "please", "etc", "thx", "thanks", "im", "dont", "doesnt", "cant", "wont",
    "isnt", "arent", "didnt", "ive", "theyre", "theres", "thats", "u", "ur",
    # zh: "need", "hope", "should", "can", "think" open half of all answers (stopwords-iso
    # has their English equivalents but not these)
    "需要", "希望", "应该", "可以", "觉得", "认为", "一些", "更多",
})

# Chinese function characters that glue onto content words in character bigrams ("的路",
# "灯了"): a bigram holding one is no term. stopwordsiso's 282 single characters are too
# many for this rule (上, 下, 大 start real words: 晚上, 下班, 大人); they only drop a
# bigram when both of its characters are stop characters.
_HAN_FUNCTION_CHARACTERS = frozenset("的了是在我你他她它们也都就和与把被给又很这那个吗吧呢啊着过还而一")

_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_ALEF = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627",
                              "\u0671": "\u0627", "\u0649": "\u064a"})
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
# A token is a run of Han characters, a word of letters (no digits) that may hold an
# inner apostrophe or hyphen ("don't", "ma'aha", "after-school"), or a clause mark.
_CLAUSE_MARKS = ".,;:!?()\"“”。，；：！？、،؛؟"
# Elided articles and pronouns glued to the next word by an apostrophe: without this,
# "d'éclairage" and "éclairage" would be two terms, and a codebook keyword would miss one.
_ELISIONS = {
    "fr": re.compile(r"^(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)'(?=\w)"),
    "it": re.compile(r"^(?:[cdlmnstv]|un|all|dall|dell|nell|sull|quell|quest|anch|com)'(?=\w)"),
    "ca": re.compile(r"^(?:[dlmnst])'(?=\w)"),
}
_TOKEN_PATTERN = (f"[{_HAN}]+|[^\\W\\d_{_HAN}]+(?:['’\\-][^\\W\\d_{_HAN}]+)*"
                  f"|[{re.escape(_CLAUSE_MARKS)}]")


# nltk is imported when text is first analysed, not with this module: importing it costs
# ~1.5 s of CPU (it pulls in scipy.stats), which every gunicorn worker would pay at boot
# though only theme runs and codebook matching use it.
@lru_cache(maxsize=1)
def _tokenizer():
    from nltk.tokenize import RegexpTokenizer
    return RegexpTokenizer(_TOKEN_PATTERN)


@lru_cache(maxsize=1)
def _snowball():
    from nltk.stem.snowball import SnowballStemmer
    return SnowballStemmer
BOUNDARY = "\x00"
"""The term of a clause boundary token (punctuation, a new Han run): phrases never cross it."""


@dataclass(frozen=True, slots=True)     # a million of these for 100,000 answers
class Token:
    """One term of an answer: ``term`` is what is counted (a stem, a syllable pair, a
    character bigram), ``surface`` the lower-cased form as the respondent wrote it,
    ``stop`` whether it is a stop word (kept so phrases do not jump over them)."""
    term: str
    surface: str
    stop: bool


@dataclass(frozen=True)
class LanguageProfile:
    """How one language is preprocessed; ``describe()`` is recorded on each theme run."""
    code: str
    stemmer: str | None          # NLTK Snowball language name, or None (no stemming)
    stop_word_source: str        # "nltk", "stopwordsiso" or "none"
    syllable_bigrams: bool       # vi: add adjacent syllable pairs as terms

    def describe(self) -> dict:
        return {"language": self.code, "stemmer": self.stemmer,
                "stop_words": self.stop_word_source, "syllable_bigrams": self.syllable_bigrams}


def language_code(language: str | None) -> str:
    """The primary subtag, lower-cased: "en-US" -> "en", "zh_Hans" -> "zh", None -> "en"."""
    code = re.split(r"[-_]", (language or "en").strip())[0].lower()
    return code or "en"


def normalise(text: str, code: str) -> str:
    """NFKC, case-folded, typographic apostrophes unified; Arabic without diacritics."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    if code == "ar":
        text = _ARABIC_DIACRITICS.sub("", text).translate(_ARABIC_ALEF)
    return text


@lru_cache(maxsize=64)
def _nltk_stop_words(nltk_name: str, data_path: tuple[str, ...]) -> frozenset[str] | None:
    # A fresh loader each time (cached per nltk.data.path): nltk.corpus.stopwords binds
    # itself to the first folder it finds, forever, which would outlive a changed path.
    from nltk.corpus.reader import WordListCorpusReader
    from nltk.corpus.util import LazyCorpusLoader
    loader = LazyCorpusLoader("stopwords", WordListCorpusReader, r"(?!README|\.).*",
                              encoding="utf8")
    try:
        if nltk_name not in loader.fileids():
            return None
        return frozenset(w.casefold() for w in loader.words(nltk_name))
    except (LookupError, OSError):
        return None


@lru_cache(maxsize=64)
def _iso_stop_words(code: str) -> frozenset[str] | None:
    import stopwordsiso
    if not stopwordsiso.has_lang(code):
        return None
    words = frozenset(w.casefold() for w in stopwordsiso.stopwords(code))
    return words - _CONTENT_WORDS_KEPT if code == "en" else words


def stop_words(language: str, extra: Iterable[str] = ()) -> tuple[frozenset[str], str]:
    """Stop words for ``language`` plus survey filler plus ``extra``, and where they came from.

    NLTK's stop-word corpus is used when the deployment has it (it is a short list of
    function words), else stopwordsiso. Extra words are normalised like answer text;
    the ``Preprocessor`` also drops every word whose stem is the stem of an *extra* word,
    so ``"police"`` drops "police" and "policing".
    """
    import nltk
    code = language_code(language)
    nltk_name = _NLTK_NAMES.get(code)
    words = _nltk_stop_words(nltk_name, tuple(nltk.data.path)) if nltk_name else None
    source = "nltk"
    if words is None:
        words, source = _iso_stop_words(code), "stopwordsiso"
    if words is None:
        words, source = frozenset(), "none"
    added = {normalise(w, code).strip() for w in extra if w and w.strip()}
    if code == "ar":
        # Answers are compared without diacritics and with one alef (normalise): the list
        # must be too, or "إلى" never matches the "الي" an answer becomes.
        words = frozenset(normalise(w, code) for w in words)
    return words | _SURVEY_FILLER | frozenset(added), source


@lru_cache(maxsize=64)
def _stem_function(code: str):
    name = _NLTK_NAMES.get(code)
    if name in _snowball().languages:
        stem = _snowball()(name).stem
        # Answers repeat the same few hundred words; caching the stem is most of the speed.
        return lru_cache(maxsize=200_000)(stem)
    return lambda word: word


def profile(language: str, extra_stop_words: Iterable[str] = ()) -> "Preprocessor":
    """The preprocessor for ``language`` (any BCP 47-ish code; unknown ones fall back to
    lower-cased, unstemmed words)."""
    code = language_code(language)
    extra = tuple(extra_stop_words)
    words, source = stop_words(code, extra)
    name = _NLTK_NAMES.get(code)
    stemmer = name if name in _snowball().languages else None
    added = {normalise(w, code).strip() for w in extra if w and w.strip()}
    return Preprocessor(LanguageProfile(code, stemmer, source, code == "vi"), words, added)


class Preprocessor:
    """Turns one answer into ``Token``s for one language (see the module docstring)."""

    def __init__(self, language: LanguageProfile, stop: frozenset[str],
                 extra: Iterable[str] = ()):
        self.language = language
        self.stop = stop
        self._stem = _stem_function(language.code)
        # Only the analyst's own words drop every word of their stem ("police" drops
        # "policing"). Doing so for the whole list dropped content words whose stem a
        # function word shares: "evening" (even), "respect" (respectively), "fair"
        # (fairly), "place" (placed), "good", "work", "computers"...
        self._stop_stems = frozenset(self._stem(w) for w in extra)

    def tokens(self, text: str) -> list[Token]:
        """Every term of ``text`` in order, stop words flagged rather than removed, clause
        boundaries as stop tokens whose term is ``BOUNDARY``."""
        out: list[Token] = []
        stop, stem = self.stop, self._stem
        boundary = Token(BOUNDARY, "", True)
        for word in _tokenizer().tokenize(normalise(text, self.language.code)):
            if word in _CLAUSE_MARKS:
                out.append(boundary)
                continue
            if _HAN_RUN.fullmatch(word):
                out.append(boundary)
                out.extend(self._han_tokens(word))
                out.append(boundary)
                continue
            word = word.strip("'-")
            elided = _ELISIONS.get(self.language.code)
            if elided is not None:
                word = elided.sub("", word)  # "d'éclairage" is "éclairage"
            if len(word) < 2 and not word.isalpha():
                continue
            term = stem(word)
            out.append(Token(term, word, word in stop or term in self._stop_stems
                             or len(word) < 2))
        if self.language.syllable_bigrams:
            out = self._with_syllable_bigrams(out)
        return out

    def _han_tokens(self, run: str) -> list[Token]:
        stop = self.stop
        if len(run) == 1:
            return [Token(run, run, run in stop)]
        grams = [run[i:i + 2] for i in range(len(run) - 1)]
        glue = _HAN_FUNCTION_CHARACTERS
        return [Token(g, g, g in stop or (g[0] in stop and g[1] in stop)
                      or g[0] in glue or g[1] in glue) for g in grams]

    def _with_syllable_bigrams(self, tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        for i, token in enumerate(tokens):
            out.append(token)
            if i + 1 < len(tokens) and BOUNDARY not in (token.term, tokens[i + 1].term):
                nxt = tokens[i + 1]
                pair = f"{token.surface} {nxt.surface}"
                stop = pair in self.stop or token.stop or nxt.stop
                out.append(Token(pair, pair, stop))
        return out


# --- which language is this answer in? ---------------------------------------------------

# The languages we field; a run's own language joins them.
FIELDED_LANGUAGES = ("en", "es", "fr", "ar", "zh", "vi", "so")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f]")
_VIETNAMESE_LETTER = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
# Letters that only some Latin-script languages use: one is worth one distinctive word.
_LETTER_HINTS = {"es": re.compile("[ñ¿¡áíóú]"), "fr": re.compile("[çœàèêëîïûù]")}
_WORD = re.compile(r"[^\W\d_]+")
# The commonest function words of the Latin-script languages, which stopwords-iso lists
# for several of them at once ("las" is in the French list, "de" and "la" in English):
# each is worth two distinctive words.
_MARKERS = {
    "en": frozenset("the and of to is are was were with for this that not it they we you".split()),
    "es": frozenset("el los las del y una por para con muy más está están hay pero porque nos".split()),
    "fr": frozenset("le les des du et une pour avec très est sont dans pas nous vous il ils".split()),
    "so": frozenset("waa iyo ka ku oo ma waxaa aan ay uu si".split()),
}


@lru_cache(maxsize=16)
def _distinctive_stop_words(codes: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Per language, its stopwords-iso words that no other candidate lists: "the" says
    English, "les" French, "las" Spanish; "de", "a", "no" say nothing."""
    lists = {c: frozenset(w.casefold() for w in (_iso_stop_words(c) or ())) for c in codes}
    return {c: frozenset(w for w in words if len(w) > 1
                         and not any(w in lists[o] for o in codes if o != c))
            for c, words in lists.items()}


def detect_language(text: str, default: str, candidates: Iterable[str] = FIELDED_LANGUAGES) -> str:
    """The language ``text`` is most likely written in, among ``candidates`` and
    ``default``: by script (Arabic, Han, Vietnamese letters), then by the stop words only
    one candidate lists; ``default`` when nothing tells (a short answer without stop
    words reads the same in any language)."""
    default = language_code(default)
    codes = tuple(sorted(set(candidates) | {default}))
    text = normalise(text or "", "")
    scores = Counter()
    if "ar" in codes and _ARABIC_LETTER.search(text):
        scores["ar"] += 2 * len(_ARABIC_LETTER.findall(text))
    if "zh" in codes and _HAN_RUN.search(text):
        scores["zh"] += 2 * sum(len(r) for r in _HAN_RUN.findall(text))
    if "vi" in codes and _VIETNAMESE_LETTER.search(text):
        scores["vi"] += 2 * len(_VIETNAMESE_LETTER.findall(text))
    distinctive = _distinctive_stop_words(codes)
    for word in _WORD.findall(text):
        for code in codes:
            if word in _MARKERS.get(code, ()):
                scores[code] += 2
            elif word in distinctive[code]:
                scores[code] += 1
    for code, pattern in _LETTER_HINTS.items():
        if code in codes:
            scores[code] += len(pattern.findall(text))
    scores = +scores                         # drop the zero counts
    if not scores:
        return default
    best = max(scores.values())
    leaders = sorted(c for c, s in scores.items() if s == best)
    return default if default in leaders else leaders[0]


# --- spelling ----------------------------------------------------------------------------

def respell(documents: list[list[str]], min_length: int = 4) -> list[list[str]]:
    """``documents`` (lists of terms) with each term used by one document only replaced
    by the most used term (in 3+ documents) that is one edit away (a letter dropped,
    added, changed or two swapped) and starts with the same letter; ties to the
    alphabetically first. Terms shorter than ``min_length``, or not all letters (Han
    bigrams, Vietnamese syllable pairs), are left alone.

    Terse answers misspell their key word ("goverment", "withdrawl"), and a word in one
    answer only joins that answer to no other. Only for terse answers: in long ones a
    rare word is usually a real one (see extract_themes).
    """
    frequency = Counter(t for doc in documents for t in set(doc))
    common = sorted(t for t, f in frequency.items() if f >= 3 and t.isalpha()
                    and len(t) >= min_length - 1 and not _HAN_RUN.search(t))
    by_key: dict[str, list[str]] = {}
    for term in common:
        for key in _one_deleted(term) | {term}:
            by_key.setdefault(key, []).append(term)
    fixes = {}
    for term, f in frequency.items():
        if f > 1 or len(term) < min_length or not term.isalpha() or _HAN_RUN.search(term):
            continue
        near = {c for key in _one_deleted(term) | {term} for c in by_key.get(key, ())
                if c != term and c[0] == term[0] and _one_edit(term, c)}
        if near:
            fixes[term] = min(near, key=lambda c: (-frequency[c], c))
    return [[fixes.get(t, t) for t in doc] for doc in documents] if fixes else documents


def _one_deleted(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or swap."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
