"""Themes in free-text answers: which answers say the same thing, in words a person would use.

    from surveyapp.domain.themes import extract_themes
    result = extract_themes(texts, language="en", k=None, seed=0)
    result.assignments   # one entry per text: an index into result.themes, or None
    result.themes        # Theme(label, key_phrases, count, share, quotes, sentiment,
                         #       key_words, languages, top), largest first
    result.top_themes    # with more than eight themes: TopTheme(label, themes, count, share)
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
  A label is a short phrase (at most five words; Chinese: a run of characters) from
  its own answers: its most distinctive collocation, else the phrase most of its
  answers use around its most distinctive word, else that word. It starts and ends on
  a content word and no two themes of a run share one.
* Answers in several languages: each answer's language is detected (script, then stop
  words only one language lists). When at least two languages each hold 5 answers and
  a tenth of them (and k allows a theme each), each language's answers are analysed in
  that language and themed on their own, k and k_max shared in proportion; every
  ``Theme.languages`` says which language its answers are in (one, always).
* More than eight themes get a second level: ``result.top_themes`` (a handful of
  ``TopTheme``s, grouping the themes' centroids) and ``Theme.top``.
* ``sentiment`` is a ``Sentiment`` for English (NLTK's VADER) and ``None`` for every
  other language: no number is better than a wrong one.

How (see ``themes_text.py`` for tokens per language): each answer becomes its non-stop
terms; in terse answers (median at most six terms) a term of one answer only is respelled
to a common term one edit away (``respell``: "withdrawl" joins "withdraw");
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
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from surveyapp.domain import themes_space as space_module
from surveyapp.domain.themes_text import (BOUNDARY, Preprocessor, Token, detect_language,
                                          normalise, profile, respell)

ENGINE_VERSION = "5"
DEFAULT_K_MIN = 2
DEFAULT_K_MAX = 40
MAX_QUOTES = 5
QUOTE_MAX_CHARS = 300
_LABEL_WORDS = 5
# Answers whose median is at most this many content terms are terse: a term in one of
# them only is more often a misspelling than a rare word, and is respelled (respell).
_TERSE_TERMS = 6
_TOP_LEVEL_AFTER = 8      # more themes than this get a second, coarser level
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
    languages: tuple[str, ...] = ()
    top: int | None = None


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
    ``unthemed`` counts the ``None`` assignments. ``top_themes`` is a second, coarser
    level when there are more than eight themes (else empty): each theme's ``top`` is
    its index there."""
    assignments: list[int | None]
    themes: list[Theme]
    parameters: ThemeParameters
    unthemed: int
    top_themes: tuple["TopTheme", ...] = ()


@dataclass(frozen=True)
class TopTheme:
    """A handful of related themes read as one heading: ``themes`` are indices into
    ``ThemeResult.themes`` (largest first), ``label`` is the largest one's, ``count``
    and ``share`` add up theirs."""
    label: str
    themes: tuple[int, ...]
    count: int
    share: float


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
    code = prep.language.code
    answered = [i for i, t in enumerate(texts) if not is_non_answer(t, code)]
    groups = _language_groups(texts, answered, code, k, k_max)
    preprocessing = tuple(prep.language.describe().items())
    if len(groups) > 1:
        preprocessing += (("languages", tuple(sorted(lang for lang, _ in groups))),)

    def params(chosen_k, selection, silhouette=()):
        return ThemeParameters(language, k, k_min, k_max, seed, extra, chosen_k, selection,
                               tuple(silhouette), preprocessing)

    parts = []
    shares = _share_of_k([len(indices) for _, indices in groups], k, k_min, k_max)
    for number, (lang, indices) in enumerate(groups):
        # Each language's answers are analysed in that language and themed on their own:
        # "luces" and "lights" share no term, so a joint run splits by language anyway,
        # and worse, lumps the small languages' subjects together.
        group_prep = prep if lang == code else profile(lang, extra)
        tokens = [group_prep.tokens(texts[i]) for i in indices]
        terms = [[tok.term for tok in doc if not tok.stop] for doc in tokens]
        lengths = sorted(len(doc) for doc in terms)
        if lengths and lengths[len(lengths) // 2] <= _TERSE_TERMS:
            terms = respell(terms)
        if number == 0:
            report(0.3, "vectorise")
        matrix, kept = _tfidf(terms)
        if not kept:
            continue
        group_k, group_min, group_max = shares[number]
        with threadpool_limits(limits=1):
            # One thread: BLAS/OpenMP threads fighting over shared cores made k-means ten
            # times slower here, and a web worker should not take the whole machine.
            part = _themes([texts[i] for i in indices], tokens, matrix, kept, group_prep,
                           group_k, group_min, group_max, seed, params,
                           report if number == 0 else _no_progress, total=len(texts),
                           language=lang)
        parts.append((indices, part))
    if not parts:
        report(1.0, "done")
        return ThemeResult([None] * len(texts), [], params(0, "empty"), len(texts))
    result = _merge(parts, len(texts), k, params)
    report(1.0, "done")
    return result


def _language_groups(texts, answered, code, k, k_max) -> list[tuple[str, list[int]]]:
    """(language, indices of its answers), largest first: one group in ``code`` unless at
    least two languages each hold 5 answers and a tenth of them, and the bounds leave
    every language a theme of its own. A language below that joins ``code``."""
    detected = {i: detect_language(texts[i], code) for i in answered}
    counts = Counter(detected.values())
    floor = max(5, math.ceil(0.1 * len(answered)))
    present = {lang for lang, n in counts.items() if n >= floor}
    members = defaultdict(list)
    for i in answered:
        members[detected[i] if detected[i] in present else code].append(i)
    limit = k if k is not None else k_max
    if len(present) < 2 or limit < len(members):
        return [(code, answered)]
    return sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _share_of_k(sizes: list[int], k, k_min, k_max) -> list[tuple]:
    """(k, k_min, k_max) per language group of ``sizes`` answers: a fixed k, or k_max,
    is shared out at one each plus the rest in proportion (largest remainder, ties to
    the larger group), so the groups' themes never add up to more than was asked for;
    k_min applies as given unless a group's share is smaller."""
    if len(sizes) == 1:
        return [(k, k_min, k_max)]
    limit = k if k is not None else k_max
    spare, total = limit - len(sizes), sum(sizes)
    exact = [spare * size / total for size in sizes]
    shares = [1 + int(e) for e in exact]
    order = sorted(range(len(sizes)), key=lambda g: (-(exact[g] - int(exact[g])), g))
    for g in order[:limit - sum(shares)]:
        shares[g] += 1
    if k is not None:
        return [(share, k_min, k_max) for share in shares]
    return [(None, min(k_min, share), share) for share in shares]


def _merge(parts, n, k, params) -> ThemeResult:
    """One result from the language groups' results: themes largest first (ties: the
    theme whose first answer comes first), assignments renumbered."""
    entries = []           # (count, first text index, theme, group number, old index)
    for number, (indices, part) in enumerate(parts):
        first = {}
        for local, assignment in enumerate(part.assignments):
            if assignment is not None and assignment not in first:
                first[assignment] = indices[local]
        for old, theme in enumerate(part.themes):
            entries.append((theme.count, first[old], theme, number, old))
    entries.sort(key=lambda e: (-e[0], e[1]))
    renumber = {(e[3], e[4]): new for new, e in enumerate(entries)}
    assignments: list[int | None] = [None] * n
    for number, (indices, part) in enumerate(parts):
        for local, assignment in enumerate(part.assignments):
            if assignment is not None:
                assignments[indices[local]] = renumber[(number, assignment)]
    themes = [e[2] for e in entries]
    # Each group's top level (a raw list: its themes' top cluster) becomes TopThemes;
    # a group of eight themes or fewer is one top theme when another group has a level.
    members = defaultdict(list)
    if any(part.top_themes for _, part in parts):
        for new, (_, _, _, number, old) in enumerate(entries):
            tops = parts[number][1].top_themes
            members[(number, tops[old] if tops else -1)].append(new)
    heads = sorted(members.values(), key=lambda m: (-sum(themes[t].count for t in m), m[0]))
    top_themes = tuple(TopTheme(themes[m[0]].label, tuple(m), sum(themes[t].count for t in m),
                                round(sum(themes[t].count for t in m) / n, 6)) for m in heads)
    for index, head in enumerate(heads):
        for t in head:
            themes[t] = replace(themes[t], top=index)
    largest = parts[0][1].parameters
    selection = "fixed" if k is not None else largest.selection
    return ThemeResult(assignments, themes, params(len(entries), selection, largest.silhouette),
                       sum(a is None for a in assignments), top_themes)


# Stage names passed to ``extract_themes``'s progress callback, in the order they start.
PROGRESS_STAGES = ("preprocess", "vectorise", "reduce", "choose_k", "cluster", "describe", "done")


def _no_progress(fraction: float, stage: str) -> None:
    pass


def _themes(texts, tokens, matrix, kept, prep, k, k_min, k_max, seed, params,
            report=_no_progress, total=None, language=None) -> ThemeResult:
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
        themes.append(describer.theme(members[t], total or len(texts),
                                      (language or prep.language.code,)))
        report(0.85 + 0.14 * (t + 1) / len(order), "describe")
    tops = ()
    if len(themes) > _TOP_LEVEL_AFTER:
        # Tens of themes are too many to read at once: group their centroids.
        ordered = np.array([renumber[int(label)] for label in labels])
        centroids = space_module.cluster_centroids(space, ordered, len(themes))
        count = max(2, round(math.sqrt(len(themes))))
        tops, _ = space_module.spherical_kmeans(sparse.csr_matrix(centroids), count, seed)
        tops = tops.tolist()
    # A language group's result: ``top_themes`` holds each theme's raw top cluster here;
    # _merge turns them into TopThemes (every caller sees a merged result).
    return ThemeResult(assignments, themes, params(len(order), selection, scores),
                       sum(a is None for a in assignments), tuple(tops))


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
        # Small runs are cheap, and few answers leave k-means many poor local optima.
        starts = 40 if n <= 200 else 10
        return space_module.spherical_kmeans(space, k, seed, n_init=starts)[0]
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
        self.used: set[str] = set()          # labels given to this run's themes so far
        self._frequent: list = []
        self.terms = matrix.terms
        self.present = (matrix > 0).astype(np.float64).tocsc()
        self.document_frequency = np.asarray(self.present.sum(axis=0)).ravel()
        self.surfaces: dict[str, Counter] = defaultdict(Counter)
        for doc in (tokens[i] for i in kept):
            for tok in doc:
                if not tok.stop and " " not in tok.term:
                    self.surfaces[tok.term][tok.surface] += 1

    def theme(self, rows: list[int], total: int, languages: tuple[str, ...]) -> Theme:
        words = self._key_words(rows)
        phrases = self._key_phrases(rows)
        return Theme(self._label(words, phrases), tuple(p for p, _ in phrases[:5]),
                     len(rows), round(len(rows) / total, 6), self._quotes(rows),
                     self._sentiment(rows), tuple(self._surface(t) for t in words[:8]),
                     languages)

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
        # Phrases that two or more answers use, most used first: label candidates when
        # no collocation holds a top word (a small theme rarely has one).
        self._frequent = sorted(
            ((min(surfaces[g].items(), key=lambda kv: (-kv[1], kv[0]))[0], g, answers_with[g])
             for g in answers_with if answers_with[g] >= 2 and len(set(g)) == len(g)),
            key=lambda e: (-e[2], -len(e[1]), e[0]))
        out, seen = [], set()
        for gram, _, _ in ranked:
            surface = min(surfaces[gram].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            if surface not in seen:
                seen.add(surface)
                out.append((surface, gram))
        return out

    def _label(self, words: list[str], phrases) -> str:
        """A short phrase as respondents wrote it: the first of (1) a key phrase holding
        one of the three most distinctive words, every word of it distinctive, (2) the
        phrase around the most distinctive word that most answers use, (3) that word
        alone. At most ``_LABEL_WORDS`` words; it starts and ends on a content word (a
        phrase is cut from content word to content word); no label of an earlier theme
        of the run is used again, so the next candidate (or word) is tried."""
        top, known = words[:3], set(words[:12])
        candidates = []
        for surface, gram in phrases[:5]:
            # Every word of the phrase must itself be distinctive: this keeps out chance
            # neighbours and, in Chinese, bigrams that straddle two words ("后警察").
            if set(top) & set(gram) and set(gram) <= (set(top) if _is_han(surface[0]) else known):
                candidates.append(surface)
        for term in top:
            for surface, gram, _ in self._frequent:
                if term in gram and set(gram) <= known and not _is_han(surface[0]):
                    candidates.append(surface)
            candidates.append(self._surface(term))
        for label in candidates:
            if len(label.split()) <= _LABEL_WORDS and label not in self.used:
                self.used.add(label)
                return label
        label = candidates[0] if candidates else "(various)"
        number = 2
        while f"{label} ({number})" in self.used:
            number += 1
        self.used.add(f"{label} ({number})")
        return f"{label} ({number})"

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
