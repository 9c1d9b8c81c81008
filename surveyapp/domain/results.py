"""What may be published back to residents: plain rules, no Flask, no database.

A publication shows one campaign's figures (a site at a wave). Every number goes through
``shown`` (None: suppressed, below the project's minimum cell size), and publishing is
refused while ``publish_problems`` finds anything:

* ``missing_translations``: the "what happens next" text is missing in some of the
  instrument's languages (``detail`` lists them, in the instrument's order);
* ``too_few_responses``: the campaign's response count is itself below the minimum
  cell size, so the page's headline and every figure under it would be suppressed;
* ``quote_in_small_theme``: an approved quote belongs to a theme whose count is
  suppressed: its words would be shown for a group smaller than the minimum while its
  size is hidden (``detail`` lists the themes' labels). The pages never show such a
  quote; the refusal makes the analyst unapprove it knowingly.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

MAX_NEXT_STEPS = 1200  # characters per language: the one-pager must stay one page
MAX_THEMES = 6         # the largest themes shown (page and one-pager)
MAX_QUOTES = 2         # approved quotes shown per theme


@dataclass(frozen=True)
class Problem:
    """Why publishing is refused: ``code`` (see the module docstring) and its details."""
    code: str
    detail: tuple = ()


def quote_digest(text: str) -> str:
    """The key an approval holds for a quote: sha256 of its exact text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shown(count: int | None, min_cell_size: int) -> int | None:
    """``count`` as it may be published: None (suppressed) below ``min_cell_size``; zero
    is shown (nobody is identified by an empty group)."""
    if count is None:
        return None
    return count if count == 0 or count >= max(min_cell_size, 1) else None


def missing_languages(next_steps: Mapping[str, str], languages: Sequence[str]) -> list[str]:
    """The languages of ``languages`` with no (or only blank) next-steps text."""
    return [lang for lang in languages if not (next_steps.get(lang) or "").strip()]


def publish_problems(*, languages: Sequence[str], next_steps: Mapping[str, str],
                     responses: int, min_cell_size: int,
                     approved_in_small_themes: Iterable[str] = ()) -> list[Problem]:
    """Every reason the publication may not go up yet (empty: it may)."""
    problems = []
    missing = missing_languages(next_steps, languages)
    if missing:
        problems.append(Problem("missing_translations", tuple(missing)))
    if shown(responses, min_cell_size) in (None, 0):
        problems.append(Problem("too_few_responses", (responses, min_cell_size)))
    small = tuple(dict.fromkeys(approved_in_small_themes))
    if small:
        problems.append(Problem("quote_in_small_theme", small))
    return problems
