"""Deductive coding: match answers against an analyst's codebook of themes and keywords.

    codebook = codebook_from_data([
        {"code": "lighting", "label": "Street lighting", "description": "...",
         "keywords": {"en": ["street light", "dark", "lamp post"], "es": ["farola", "luces de la calle"]}},
        ...])
    coded = match_codebook(codebook, texts, language="en")
    coded.codes[i]        # the codes answer i matches, in codebook order (may be several, or none)
    coded.evidence[i]     # {code: the keywords that matched}
    coded.counts          # {code: answers matched}
    coded.untranslated    # codes with no keywords in this language (they match nothing)

Matching is on the same terms as ``extract_themes`` (``text.py``): a keyword is
tokenised and stemmed like an answer, so "street light" matches "Street lights" and
"streetlight" does not match "street light" (no guessing at compounds). A phrase matches
its content words in order, within one clause, with stop words allowed in between
("luces de la calle" matches "las luces en la calle"); a Chinese keyword matches its
character bigrams in a row. Keywords are only ever looked up in the answer's language.
YAML parsing with file:line:col errors belongs to the caller; this takes plain data.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from surveyapp.domain.themes_text import BOUNDARY, Preprocessor, language_code, profile
from surveyapp.domain.themes import is_non_answer


class CodebookError(ValueError):
    """A codebook that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Code:
    """One theme of a codebook: ``keywords`` maps a language code to words or phrases."""
    code: str
    label: str
    description: str
    keywords: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Codebook:
    codes: tuple[Code, ...]


@dataclass(frozen=True)
class CodedAnswers:
    """The result of ``match_codebook``; lists have one entry per text given."""
    codes: list[tuple[str, ...]]
    evidence: list[dict[str, tuple[str, ...]]]
    counts: dict[str, int]
    untranslated: tuple[str, ...]
    language: str


def codebook_from_data(data: Sequence[Mapping]) -> Codebook:
    """A ``Codebook`` from plain data (a list of mappings, as parsed from YAML or JSON).

    Each entry needs ``code`` (unique) and ``keywords`` ({language: [keyword, ...]});
    ``label`` defaults to the code, ``description`` to "". Raises ``CodebookError``
    listing every problem (entry number and code) rather than the first one.
    """
    problems, codes, seen = [], [], set()
    for number, entry in enumerate(data, 1):
        where = f"entry {number}"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: expected a mapping with code and keywords")
            continue
        code = str(entry.get("code") or "").strip()
        if not code:
            problems.append(f"{where}: code is missing")
        elif code in seen:
            problems.append(f"{where}: code {code!r} is used twice")
        where = f"{where} ({code or '?'})"
        seen.add(code)
        keywords = entry.get("keywords")
        if not isinstance(keywords, Mapping) or not keywords:
            problems.append(f"{where}: keywords must map a language to a list of words or phrases")
            continue
        clean = {}
        for language, words in keywords.items():
            if isinstance(words, str) or not isinstance(words, Iterable):
                problems.append(f"{where}: keywords for {language!r} must be a list")
                continue
            words = tuple(str(w).strip() for w in words if str(w).strip())
            if words:
                clean[language_code(str(language))] = words
        codes.append(Code(code, str(entry.get("label") or code), str(entry.get("description") or ""),
                          clean))
    if problems:
        raise CodebookError(problems)
    return Codebook(tuple(codes))


def match_codebook(codebook: Codebook, texts: Sequence[str], language: str = "en", *,
                   stop_words: Iterable[str] = ()) -> CodedAnswers:
    """Which codes each text matches (see the module docstring). Non-answers match nothing."""
    prep = profile(language, stop_words)
    code = prep.language.code
    patterns = []            # (code, keyword, terms, uses stop words)
    untranslated = []
    for entry in codebook.codes:
        words = entry.keywords.get(code, ())
        if not words:
            untranslated.append(entry.code)
        for keyword in words:
            terms, with_stops = _keyword_terms(prep, keyword)
            if terms:
                patterns.append((entry.code, keyword, terms, with_stops))
    coded, evidence, counts = [], [], Counter()
    for text in texts:
        found: dict[str, list[str]] = {}
        if text and not is_non_answer(text, code):
            content, every = _clauses(prep, text)
            for entry_code, keyword, terms, with_stops in patterns:
                if any(_contains(clause, terms) for clause in (every if with_stops else content)):
                    found.setdefault(entry_code, []).append(keyword)
        order = [e.code for e in codebook.codes if e.code in found]
        coded.append(tuple(order))
        evidence.append({c: tuple(found[c]) for c in order})
        counts.update(order)
    return CodedAnswers(coded, evidence, {e.code: counts[e.code] for e in codebook.codes},
                        tuple(untranslated), code)


def _keyword_terms(prep: Preprocessor, keyword: str) -> tuple[tuple[str, ...], bool]:
    """A keyword's content terms; a keyword of stop words only ("home"?) keeps them all."""
    tokens = [t for t in prep.tokens(keyword) if t.term != BOUNDARY and " " not in t.term]
    content = tuple(t.term for t in tokens if not t.stop)
    return (content, False) if content else (tuple(t.term for t in tokens), True)


def _clauses(prep: Preprocessor, text: str):
    """Per clause: the content terms, and all terms (for keywords made of stop words)."""
    content, every = [[]], [[]]
    for token in prep.tokens(text):
        if token.term == BOUNDARY:
            content.append([])
            every.append([])
        elif " " not in token.term:
            every[-1].append(token.term)
            if not token.stop:
                content[-1].append(token.term)
    return content, every


def _contains(clause: list[str], terms: tuple[str, ...]) -> bool:
    n = len(terms)
    return any(tuple(clause[i:i + n]) == terms for i in range(len(clause) - n + 1))
