"""How a re-run of the theme engine lands on an analyst's review: plain data in, a plan out.

An item is named by its *ref*. ``held`` maps the refs an analyst placed to the theme id
they chose (None: "no theme"); analyst placements always win over the engine's. An
existing theme's *free members* are the items the engine put there that no analyst
placed.

``plan_rerun(found, existing, held)`` decides, for each theme the new run found:

1. **Nothing left to hold:** every one of its texts was placed by an analyst -> dropped
   (it would be a theme of 0 texts still showing its quotes and tone).
2. **The same theme:** its free members overlap an existing theme's free members
   (Jaccard of the refs) by at least ``overlap`` -> that theme, best pairs first, one to
   one. The theme keeps its id and, once renamed, the analyst's label.
3. **Following the analyst:** at least ``overlap`` of all its texts were placed by an
   analyst under one theme -> that theme (a merge stays merged, and new texts like the
   merged ones join the surviving theme; a split-off theme gets the new texts like its
   own); placed mostly under "no theme" -> dropped, its other texts stay without one.
4. Otherwise a new theme.

An existing theme stays when a found theme lands on it or an analyst placed one of the
current texts there; every other one goes. ``describe`` re-describes a theme whose texts
are no longer exactly what the engine described (quotes and key phrases only from its own
texts, tone over its own texts).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

DROP = "drop"     # a found theme with no theme to land on


@dataclass(frozen=True)
class RerunPlan:
    """``targets[i]`` for found theme *i*: an existing theme id, None (a new theme) or
    DROP; ``same[i]`` is True when it is the existing theme itself (rule 2), False when
    it follows the analyst into it (rule 3); ``keep`` the existing theme ids that stay."""
    targets: list
    same: list[bool]
    keep: set[int]


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def plan_rerun(found: Sequence[set[str]], existing: Mapping[int, set[str]],
               held: Mapping[str, int | None], overlap: float = 0.5) -> RerunPlan:
    """The plan for ``found`` (each found theme's refs) over ``existing`` (theme id ->
    free members) and ``held`` (the analyst's placements of current items); see the
    module docstring. Deterministic: ties go to the lower index, then the lower id."""
    free = [set(members) - held.keys() for members in found]
    targets: list = [None] * len(found)
    same = [False] * len(found)
    for index, members in enumerate(free):
        if not members:
            targets[index] = DROP
    pairs = sorted(((_jaccard(members, existing[theme]), index, theme)
                    for index, members in enumerate(free) if members
                    for theme in existing), key=lambda p: (-p[0], p[1], p[2]))
    taken = set()
    for score, index, theme in pairs:
        if score >= overlap and targets[index] is None and not same[index] and theme not in taken:
            targets[index], same[index] = theme, True
            taken.add(theme)
    for index, members in enumerate(found):
        if targets[index] is not None or same[index]:
            continue
        placed = Counter(held[ref] for ref in members if ref in held)
        if not placed:
            continue
        # Most placed first; "no theme" (None) sorts like theme 0 among equals.
        where, count = min(placed.items(), key=lambda p: (-p[1], p[0] or 0))
        if count >= overlap * len(members):
            if where is None:
                targets[index] = DROP
            elif where in existing:
                targets[index] = where
    keep = {t for t in targets if t is not None and t != DROP}
    keep |= {t for t in held.values() if t is not None and t in existing}
    return RerunPlan(targets, same, keep)


# ----------------------------------------------------------------------------- describe

def _flat(text: str) -> str:
    """Case- and punctuation-blind form for "does this text use this phrase"."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _is_quote_of(quote: str, texts: set[str]) -> bool:
    if quote in texts:
        return True
    if quote.endswith("…"):         # the engine trims long quotes
        start = quote[:-1].rstrip()
        return any(t.startswith(start) for t in texts)
    return False


def describe(parts: Sequence[tuple[Sequence[str], Sequence[str]]], texts: Sequence[str], *,
             max_quotes: int = 5) -> tuple[list[str], list[str]]:
    """(key phrases, quotes) of a theme whose texts are ``texts``, from ``parts``: the
    (key phrases, quotes) of the descriptions it inherits, most important first. A quote
    is kept only if it is one of ``texts`` (whitespace as the engine shows it), a key
    phrase only if one of ``texts`` uses it; no duplicates; at most ``max_quotes``."""
    own = {" ".join(t.split()) for t in texts}
    flat = [_flat(t) for t in own]
    phrases, quotes = [], []
    longest = max((len(p) for p, _ in parts), default=0)
    for part_phrases, part_quotes in parts:
        for phrase in part_phrases:
            key = _flat(phrase)
            if phrase not in phrases and key and any(key in t for t in flat):
                phrases.append(phrase)
        for quote in part_quotes:
            if quote not in quotes and _is_quote_of(quote, own):
                quotes.append(quote)
    return phrases[:longest], quotes[:max_quotes]


def tone(scores: Sequence[float]) -> dict | None:
    """A theme's tone from VADER compound scores of its texts, as the engine's
    ``Sentiment`` reads (shares at +-0.05, the mean); None without scores."""
    n = len(scores)
    if not n:
        return None
    positive = sum(s >= 0.05 for s in scores)
    negative = sum(s <= -0.05 for s in scores)
    return {"positive": round(positive / n, 6), "neutral": round((n - positive - negative) / n, 6),
            "negative": round(negative / n, 6), "mean": round(sum(scores) / n, 6), "scored": n}
