"""Themes in free-text answers: which answers say the same thing, in words a person would use.

    from surveyapp.domain.themes import extract_themes
    result = extract_themes(texts, language="en", k=None, seed=0)
    result.assignments   # one entry per text: an index into result.themes, or None
    result.themes        # Theme(label, key_phrases, count, share, quotes, sentiment), largest first
    result.parameters    # everything needed to reproduce the run: extract_themes(texts, **p.as_kwargs())

The contract:

* Same texts and settings give the same result (``seed`` fixes every random choice),
  on every CPU, BLAS kernel and thread count: no decision goes through BLAS (see
  ``themes_space.py``; ``tests/domain/test_themes_machines.py`` checks it).
* ``assignments[i] is None`` when text *i* is unthemed: empty, a non-answer ("N/A",
  "don't know", "no sé", "je ne sais pas", "不知道", ...), only stop words, emoji only,
  or no word shared with any other answer. Every other text gets exactly one theme.
* ``k=None`` chooses the number of themes between ``k_min`` and ``k_max`` (default 2..40,
  never more than the distinct answers nor sqrt(n/2) unless k_min asks) by the mean
  cosine silhouette on the TF-IDF space (the
  smallest k within 0.005 of the best, so a near tie goes to fewer themes); a
  fixed ``k`` is honoured up to the number of distinct answers.
* Labels, key phrases and quotes are shown as respondents wrote them (lower-cased),
  never as stems. ``stop_words`` adds an instrument's own words ("um", "police").
* ``sentiment`` is a ``Sentiment`` for English (NLTK's VADER) and ``None`` for every
  other language: no number is better than a wrong one.

How (see ``text.py`` for tokens per language): each answer becomes its non-stop terms;
TF-IDF (sublinear, terms in at least two answers once there are 10+) -> unit-length
sparse rows, each leaning towards the 20 terms most often used with its own
(``themes_space.smooth``: short answers share few words) -> spherical k-means
(``themes_space.py``; no SVD: a truncated SVD cut through the many equal singular
values of short answers differently per BLAS kernel).
The number of themes is chosen on a fixed sample of at most 2,000 answers (10 k-means
starts per k up to 500 answers, 3 above); the chosen k gets 10 starts on that sample
and is then refitted on all answers from its centroids, so 100,000 answers cost little
more than one k-means.
A theme's words are ranked by how much more often its answers use them than the other
answers do (weighted log ratio); its key phrases are NLTK bigram/trigram collocations
(likelihood ratio, in at least two answers) within its answers (a fixed sample of
2,000 at most); its quotes are the answers closest to its centroid that are long
enough and not (near-)duplicates of each other.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from surveyapp.domain import themes_space as space_module
from surveyapp.domain.themes_text import BOUNDARY, Preprocessor, Token, normalise, profile

ENGINE_VERSION = "2"
DEFAULT_K_MIN = 2
DEFAULT_K_MAX = 40
MAX_QUOTES = 5
QUOTE_MAX_CHARS = 300
_SELECTION_SAMPLE = 2000
_SENTIMENT_SAMPLE = 500
_PHRASE_SAMPLE = 2000
# Parsimony: the smallest k whose silhouette is within this much of the best one.
_SILHOUETTE_TOLERANCE = 0.005

# Answers that say "nothing to say" in the languages we field; compared after
# normalising case, apostrophes and punctuation. Mixed-language runs are common, so
# every language's list applies to every run.
NON_ANSWERS = frozenset({
    # en
    "n/a", "na", "n.a", "none", "nothing", "no", "nope", "nil", "no comment", "no comments",
    "don't know", "dont know", "do not know", "idk", "i don't know", "i dont know",
    "i do not know", "not sure", "unsure", "no idea", "no answer", "nothing to add",
    "not applicable", "same", "same as above", "see above", "pass", "-", "?", ".",
    # es
    "no sé", "no se", "nada", "ninguno", "ninguna", "no lo sé", "no lo se", "ni idea",
    "no aplica", "sin comentarios", "no tengo idea",
    # fr
    "je ne sais pas", "je sais pas", "sais pas", "rien", "aucun", "aucune", "sans avis",
    "pas d'avis", "non applicable", "aucune idée", "aucune idee", "pas de commentaire",
    # ar
    "لا أعرف", "لا اعرف", "لا أدري", "لا ادري", "لا شيء", "لا شي", "لا يوجد", "لا تعليق",
    # zh
    "不知道", "没有", "無", "无", "沒有", "不清楚", "不晓得", "没意见", "没有意见",
    # vi
    "không biết", "không", "không có", "không ý kiến", "chưa biết", "không rõ",
    # so
    "ma garanayo", "maya", "waxba", "ma aqaano", "ma aqaan", "aan garanayn",
})
_PUNCTUATION_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Sentiment:
    """How a theme's answers feel (VADER compound score; English only).

    ``positive``/``neutral``/``negative`` are shares of the theme's answers (compound
    >= 0.05, in between, <= -0.05; they sum to 1), ``mean`` the mean compound score in
    [-1, 1], ``scored`` how many answers were scored (a fixed sample of at most 500).
    """
    positive: float
    neutral: float
    negative: float
    mean: float
    scored: int


@dataclass(frozen=True)
class Theme:
    """One theme. ``label`` reads like an analyst's heading ("street lights / dark");
    ``key_phrases`` are its most associated phrases (may be empty for tiny themes);
    ``count`` answers carry it, ``share`` = count / number of texts given; ``quotes``
    are up to five verbatim answers (trimmed to 300 characters with "…"), the most
    representative first; ``sentiment`` is None outside English."""
    label: str
    key_phrases: tuple[str, ...]
    count: int
    share: float
    quotes: tuple[str, ...]
    sentiment: Sentiment | None
    key_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThemeParameters:
    """What a run was asked for and what it chose; store it next to the result.

    ``as_kwargs()`` gives the arguments that reproduce the run exactly.
    """
    language: str
    k: int | None
    k_min: int
    k_max: int
    seed: int
    stop_words: tuple[str, ...]
    chosen_k: int
    selection: str                      # "fixed", "silhouette", "single" or "empty"
    silhouette: tuple[tuple[int, float], ...]
    preprocessing: tuple[tuple[str, object], ...]
    engine_version: str = ENGINE_VERSION

    def as_kwargs(self) -> dict:
        return {"language": self.language, "k": self.k, "k_min": self.k_min,
                "k_max": self.k_max, "seed": self.seed, "stop_words": self.stop_words}


@dataclass(frozen=True)
class ThemeResult:
    """``assignments`` has one entry per input text; ``themes`` is largest first;
    ``unthemed`` counts the ``None`` assignments."""
    assignments: list[int | None]
    themes: list[Theme]
    parameters: ThemeParameters
    unthemed: int


def is_non_answer(text: str, language: str = "en") -> bool:
    """True for "", "N/A", "Don't know.", "no sé", "不知道" and the like."""
    key = _SPACES.sub(" ", normalise(text or "", language).strip())
    if key in NON_ANSWERS:
        return True
    key = _PUNCTUATION_EDGES.sub("", key)
    return not key or key in NON_ANSWERS


def extract_themes(texts: Sequence[str], language: str = "en", k: int | None = None,
                   seed: int = 0, *, k_min: int = DEFAULT_K_MIN, k_max: int = DEFAULT_K_MAX,
                   stop_words: Iterable[str] = (),
                   progress: Callable[[float, str], None] | None = None) -> ThemeResult:
    """Group ``texts`` into themes (see the module docstring for the full contract).

    ``progress``, if given, is called as ``progress(fraction, stage)`` with fractions that
    rise from 0.0 to exactly 1.0 (the last call, on every path that returns), and a stage
    name from ``PROGRESS_STAGES``; it must not raise. Raises ``ValueError`` for bounds that cannot be met (k < 1, k_min < 1, k_max < k_min).
    """
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    if k_min < 1 or k_max < k_min:
        raise ValueError(f"need 1 <= k_min <= k_max (got k_min={k_min}, k_max={k_max})")
    report = progress or _no_progress
    report(0.0, "preprocess")
    texts = ["" if t is None else str(t) for t in texts]
    extra = tuple(sorted({w.strip() for w in stop_words if w and w.strip()}))
    prep = profile(language, extra)

    def params(chosen_k, selection, silhouette=()):
        return ThemeParameters(language, k, k_min, k_max, seed, extra, chosen_k, selection,
                               tuple(silhouette), tuple(prep.language.describe().items()))

    tokens = [[] if is_non_answer(t, prep.language.code) else prep.tokens(t) for t in texts]
    terms = [[tok.term for tok in doc if not tok.stop] for doc in tokens]
    report(0.3, "vectorise")
    matrix, kept = _tfidf(terms)
    if not kept:
        report(1.0, "done")
        return ThemeResult([None] * len(texts), [], params(0, "empty"), len(texts))

    with threadpool_limits(limits=1):
        # One thread: BLAS/OpenMP threads fighting over shared cores made k-means ten
        # times slower here, and a web worker should not take the whole machine.
        result = _themes(texts, tokens, matrix, kept, prep, k, k_min, k_max, seed, params, report)
    report(1.0, "done")
    return result


# Stage names passed to ``extract_themes``'s progress callback, in the order they start.
PROGRESS_STAGES = ("preprocess", "vectorise", "reduce", "choose_k", "cluster", "describe", "done")


def _no_progress(fraction: float, stage: str) -> None:
    pass


def _themes(texts, tokens, matrix, kept, prep, k, k_min, k_max, seed, params,
            report=_no_progress) -> ThemeResult:
    assignments: list[int | None] = [None] * len(texts)
    report(0.4, "reduce")
    # Unit TF-IDF rows leaning towards related terms (see themes_space: why no SVD).
    space = space_module.smooth(matrix)
    report(0.5, "choose_k")
    unique = space_module.distinct_rows(space)
    if k is not None:
        chosen, selection, scores = min(k, unique), "fixed", ()
    elif unique <= 1:
        chosen, selection, scores = 1, "single", ()
    else:
        # Rule of thumb k <= sqrt(n / 2): 45 answers do not hold 12 themes, whatever the
        # silhouette of 12 tiny clusters says. An analyst's k_min still wins.
        ceiling = max(k_min, 2, math.isqrt(len(kept) // 2))
        chosen, scores = _choose_k(space, max(1, min(k_min, unique)),
                                   min(k_max, unique, ceiling), seed)
        selection = "silhouette"
    report(0.8, "cluster")
    labels = _cluster(space, chosen, seed)

    # Largest theme first; ties keep the order in which themes first appear.
    sizes = Counter(labels.tolist())
    order = sorted(sizes, key=lambda c: (-sizes[c], int(np.argmax(labels == c))))
    renumber = {old: new for new, old in enumerate(order)}
    for row, doc_index in enumerate(kept):
        assignments[doc_index] = renumber[int(labels[row])]

    members = defaultdict(list)           # theme -> rows of `space`, in text order
    for row, label in enumerate(labels):
        members[renumber[int(label)]].append(row)
    report(0.85, "describe")
    describer = _Describer(texts, tokens, kept, matrix, space, prep, seed)
    themes = []
    for t in range(len(order)):
        themes.append(describer.theme(members[t], len(texts)))
        report(0.85 + 0.14 * (t + 1) / len(order), "describe")
    return ThemeResult(assignments, themes, params(len(order), selection, scores),
                       sum(a is None for a in assignments))


def _tfidf(terms: list[list[str]]):
    """TF-IDF rows (unit length, sparse) for the answers that have at least one kept
    term, their indices, and the vocabulary (``terms`` of the describer)."""
    present = [i for i, doc in enumerate(terms) if doc]
    if not present:
        return None, []
    # A term in one answer only cannot join two answers; below 10 answers keep all.
    min_df = 2 if len(present) >= 10 else 1
    matrix, vocabulary, nonzero = space_module.tfidf([terms[i] for i in present], min_df)
    kept = [i for i, keep in zip(present, nonzero) if keep]
    if not kept:               # every term is in one answer only: nothing is shared
        return None, []
    matrix = matrix[np.flatnonzero(nonzero)]
    matrix.terms = np.asarray(vocabulary, dtype=object)      # for the describer
    return matrix, kept


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _choose_k(space, low: int, high: int, seed: int):
    """The smallest k in [low, high] whose mean silhouette (cosine, on a fixed sample) is
    within ``_SILHOUETTE_TOLERANCE`` of the best: a near tie goes to fewer themes, which
    an analyst reads faster and which are less likely to split one theme in two."""
    sample = space[_sample(space.shape[0], _SELECTION_SAMPLE, seed)]
    distinct = space_module.distinct_rows(sample)
    scores = []
    for k in range(max(2, low), min(high, distinct) + 1):
        labels, _ = space_module.spherical_kmeans(
            sample, k, seed, n_init=10 if sample.shape[0] <= 500 else 3)
        if len(set(labels.tolist())) < 2:
            continue
        scores.append((k, round(space_module.silhouette(sample, labels), 6)))
    if not scores:
        return 1, ()
    best = max(score for _, score in scores)
    return min(k for k, score in scores if score >= best - _SILHOUETTE_TOLERANCE), tuple(scores)


def _cluster(space, k: int, seed: int) -> np.ndarray:
    """k-means labels for every row; large inputs start from a sample's centroids."""
    n = space.shape[0]
    if k <= 1:
        return np.zeros(n, dtype=int)
    if n <= _SELECTION_SAMPLE:
        return space_module.spherical_kmeans(space, k, seed)[0]
    sample = space[_sample(n, _SELECTION_SAMPLE, seed)]
    if space_module.distinct_rows(sample) < k:
        # Fewer distinct answers in the sample than themes asked for: use them all.
        return space_module.spherical_kmeans(space, k, seed, n_init=3)[0]
    centroids = space_module.spherical_kmeans(sample, k, seed)[1]
    return space_module.spherical_kmeans(space, k, seed, init=centroids)[0]


class _Describer:
    """Labels, key phrases, quotes and sentiment for the themes of one run."""

    def __init__(self, texts, tokens, kept, matrix, space, prep: Preprocessor, seed):
        self.texts, self.tokens, self.kept = texts, tokens, kept
        self.space, self.prep, self.seed = space, prep, seed
        self.terms = matrix.terms
        self.present = (matrix > 0).astype(np.float64).tocsc()
        self.document_frequency = np.asarray(self.present.sum(axis=0)).ravel()
        self.surfaces: dict[str, Counter] = defaultdict(Counter)
        for doc in (tokens[i] for i in kept):
            for tok in doc:
                if not tok.stop and " " not in tok.term:
                    self.surfaces[tok.term][tok.surface] += 1

    def theme(self, rows: list[int], total: int) -> Theme:
        words = self._key_words(rows)
        phrases = self._key_phrases(rows)
        return Theme(self._label(words, phrases), tuple(p for p, _ in phrases[:5]),
                     len(rows), round(len(rows) / total, 6), self._quotes(rows),
                     self._sentiment(rows), tuple(self._surface(t) for t in words[:8]))

    def _surface(self, term: str) -> str:
        counts = self.surfaces.get(term)
        return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else term

    def _key_words(self, rows: list[int]) -> list[str]:
        """Terms its answers use much more often than the rest do (weighted log ratio)."""
        n, size = self.present.shape[0], len(rows)
        inside = np.asarray(self.present[rows].sum(axis=0)).ravel()
        p_in = inside / size
        p_out = (self.document_frequency - inside) / max(n - size, 1)
        smoothing = 1.0 / n
        # Rounded: np.log's last bit depends on the CPU's SIMD path, and the order must not.
        score = np.round(p_in * np.log((p_in + smoothing) / (p_out + smoothing)), 9)
        order = np.lexsort((self.terms, -score))
        return [self.terms[i] for i in order[:12] if inside[i] > 0 and score[i] > 0]

    def _key_phrases(self, rows: list[int]) -> list[tuple[str, tuple[str, ...]]]:
        """(surface phrase, its terms) from NLTK collocations within the theme.

        Content words are collocated across at most two stop words and never across a
        clause boundary, so "luces de la calle" is the phrase (luz, call); the phrase is
        shown as most often written, stop words included.
        """
        from nltk.collocations import (BigramAssocMeasures, BigramCollocationFinder,
                                       TrigramAssocMeasures, TrigramCollocationFinder)
        segments, surfaces, answers_with = [], defaultdict(Counter), Counter()
        # A fixed sample of 2,000 answers finds a theme's phrases as well as all of them.
        for row in (rows[i] for i in _sample(len(rows), _PHRASE_SAMPLE, self.seed)):
            grams = set()
            for segment in _segments(self.tokens[self.kept[row]]):
                segments.append([tok.term for tok, _ in segment])
                for n in (2, 3):
                    for i in range(len(segment) - n + 1):
                        part = segment[i:i + n]
                        terms = tuple(tok.term for tok, _ in part)
                        spelled = [part[0][0].surface]
                        for tok, inner in part[1:]:
                            spelled += [t.surface for t in inner] + [tok.surface]
                        surfaces[terms][_join(spelled)] += 1
                        grams.add(terms)
            answers_with.update(grams)
        min_freq = 2 if len(rows) < 200 else 3
        found = []
        for finder_class, measure in (
                (BigramCollocationFinder, BigramAssocMeasures.likelihood_ratio),
                (TrigramCollocationFinder, TrigramAssocMeasures.likelihood_ratio)):
            finder = finder_class.from_documents(segments)
            finder.apply_word_filter(lambda w: w is None)
            # One answer repeating itself ("lighting lighting lighting") is no phrase, and
            # must go BEFORE scoring: a gram of one repeated word counts its word more
            # often than the contingency table allows, and NLTK's likelihood ratio then
            # takes the log of a negative cell (ValueError: math domain error).
            finder.apply_ngram_filter(lambda *gram: len(set(gram)) < len(gram))
            finder.apply_freq_filter(min_freq)
            for gram, score in finder.score_ngrams(_never_raises(measure)):
                if answers_with[gram] >= 2 and score > -math.inf:
                    found.append((gram, score, answers_with[gram]))
        # A trigram replaces a bigram it extends when it is at least half as frequent.
        bigram_freq = {g: f for g, _, f in found if len(g) == 2}
        drop = {part for gram, _, freq in found if len(gram) == 3
                for part in (gram[:2], gram[1:]) if freq * 2 >= bigram_freq.get(part, math.inf)}
        ranked = sorted((g for g in found if g[0] not in drop),
                        key=lambda g: (-g[2], -g[1], g[0]))
        out, seen = [], set()
        for gram, _, _ in ranked:
            surface = min(surfaces[gram].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            if surface not in seen:
                seen.add(surface)
                out.append((surface, gram))
        return out

    def _label(self, words: list[str], phrases) -> str:
        """A distinctive phrase (if one holds a top word), then distinctive words."""
        parts, covered = [], set()
        top, known = set(words[:3]), set(words[:10])
        for surface, gram in phrases[:5]:
            # Every word of the phrase must itself be distinctive: this keeps out chance
            # neighbours and, in Chinese, bigrams that straddle two words ("后警察").
            if top & set(gram) and set(gram) <= (top if _is_han(surface[0]) else known):
                parts.append(surface)
                covered |= set(gram)
                break
        for term in words:
            if len(parts) >= 2:
                break
            surface = self._surface(term)
            if term in covered or any(surface in p or p in surface for p in parts):
                continue
            parts.append(surface)
            covered.add(term)
        if not parts:
            parts = [self._surface(words[0])] if words else ["(various)"]
        return " / ".join(parts)

    def _quotes(self, rows: list[int]) -> tuple[str, ...]:
        centroid = np.asarray(self.space[rows].sum(axis=0))
        similarity = space_module.similarities(self.space[rows], centroid).ravel()
        order = sorted(range(len(rows)), key=lambda i: (-similarity[i], rows[i]))
        chosen, chosen_terms, seen = [], [], set()
        for relaxed in (False, True):
            for i in order:
                if len(chosen) >= MAX_QUOTES:
                    break
                index = self.kept[rows[i]]
                text = _SPACES.sub(" ", self.texts[index].strip())
                key = normalise(text, self.prep.language.code)
                if key in seen:
                    continue
                terms = {t.term for t in self.tokens[index] if not t.stop}
                if not relaxed and not _long_enough(self.tokens[index]):
                    continue
                if any(_jaccard(terms, other) >= 0.8 for other in chosen_terms):
                    continue
                seen.add(key)
                chosen.append(_trim(text))
                chosen_terms.append(terms)
            if len(chosen) >= 3:
                break
        return tuple(chosen)

    def _sentiment(self, rows: list[int]) -> Sentiment | None:
        if self.prep.language.code != "en":
            return None
        analyser = vader()
        picked = [rows[i] for i in _sample(len(rows), _SENTIMENT_SAMPLE, self.seed)]
        # Answers repeat ("more lights"); NLTK's VADER is slow, so each text is scored once.
        texts = [self.texts[self.kept[r]][:2000] for r in picked]
        compound = {t: analyser.polarity_scores(t)["compound"] for t in set(texts)}
        scores = [compound[t] for t in texts]
        n = len(scores)
        positive = sum(s >= 0.05 for s in scores)
        negative = sum(s <= -0.05 for s in scores)
        return Sentiment(round(positive / n, 6), round((n - positive - negative) / n, 6),
                         round(negative / n, 6), round(sum(scores) / n, 6), n)


def _never_raises(measure):
    """``measure`` scoring an impossible contingency table as -inf instead of raising:
    one odd answer must not fail a whole run."""
    def score(*counts):
        try:
            return measure(*counts)
        except (ValueError, ZeroDivisionError, OverflowError):
            return -math.inf
    return score


def _join(parts: Iterable[str]) -> str:
    out = ""
    for part in parts:
        if out and _is_han(out[-1]) and _is_han(part[0]):
            # Overlapping character bigrams ("路灯", "灯坏") read as one run ("路灯坏").
            out += part[1:] if out[-1] == part[0] else part
        else:
            out += (" " if out else "") + part
    return out


def _segments(tokens: list[Token]):
    """Runs of (content token, stop tokens just before it) between clause boundaries; a
    run also ends after three stop words in a row. vi syllable pairs are left out (the
    syllables themselves are collocated)."""
    segment, pending = [], []
    for tok in tokens:
        if " " in tok.term:
            continue
        if tok.term == BOUNDARY or (tok.stop and len(pending) == 2):
            if len(segment) >= 2:
                yield segment
            segment, pending = [], []
        elif tok.stop:
            pending.append(tok)
        else:
            segment.append((tok, tuple(pending) if segment else ()))
            pending = []
    if len(segment) >= 2:
        yield segment


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _long_enough(tokens: list[Token]) -> bool:
    words = [t for t in tokens if " " not in t.term and t.term != BOUNDARY]
    han = sum(1 for t in words if _is_han(t.term[0]))
    return len(words) - han >= 4 or han >= 5


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _trim(text: str) -> str:
    if len(text) <= QUOTE_MAX_CHARS:
        return text
    cut = text[:QUOTE_MAX_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > QUOTE_MAX_CHARS // 2 else cut).rstrip() + "…"


# --- VADER -------------------------------------------------------------------------------

_VADER_MEMBER = "vader_lexicon/vader_lexicon.txt"


def nltk_data_dir() -> str:
    """The folder the project builds NLTK data in: $SURVEYAPP_NLTK_DATA, else a cache dir."""
    configured = os.environ.get("SURVEYAPP_NLTK_DATA")
    if configured:
        return configured
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "surveyapp", "nltk_data")


def build_vader_data(folder: str) -> str:
    """Write ``sentiment/vader_lexicon.zip`` (from the vaderSentiment package) under
    ``folder`` unless it is there; returns the zip's path."""
    import vaderSentiment
    target = os.path.join(folder, "sentiment", "vader_lexicon.zip")
    if os.path.exists(target):
        return target
    source = os.path.join(os.path.dirname(vaderSentiment.__file__), "vader_lexicon.txt")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".zip")
    os.close(handle)
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(source, _VADER_MEMBER)
    os.replace(temporary, target)       # atomic: a parallel run never sees half a zip
    return target


def vader():
    """NLTK's VADER analyser: the deployment's own vader_lexicon when NLTK finds one,
    else the lexicon from vaderSentiment, zipped into ``nltk_data_dir()``, which goes
    first on ``nltk.data.path`` (NLTK 3.10 loads nothing from outside that path)."""
    import nltk
    return _vader_for(tuple(nltk.data.path))


@lru_cache(maxsize=4)
def _vader_for(data_path: tuple[str, ...]):
    import nltk
    from nltk.sentiment.vader import SentimentIntensityAnalyzer
    # NLTK caches loaded resources by name, not by folder: with a new data path the
    # lexicon must be read again, or a deployment's own lexicon would never be seen.
    nltk.data.clear_cache()
    try:
        nltk.data.find("sentiment/vader_lexicon.zip")
        return SentimentIntensityAnalyzer()
    except LookupError:
        pass
    folder = nltk_data_dir()
    try:
        build_vader_data(folder)
    except OSError:                     # read-only home: a private temp folder will do
        folder = os.path.join(tempfile.gettempdir(), f"surveyapp-nltk-data-{os.getuid()}")
        build_vader_data(folder)
    if folder not in nltk.data.path:
        nltk.data.path.insert(0, folder)
    return SentimentIntensityAnalyzer(lexicon_file=f"sentiment/vader_lexicon.zip/{_VADER_MEMBER}")
