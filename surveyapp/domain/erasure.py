"""What deleting personal data has to reach beyond its own rows, and when retention expires it.

Plain data in, plain data out: the operations in surveyapp.operations.deletion decide
which rows to remove; this module says which theme quotes repeat a deleted text and
which moment a retention period ends at.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Mapping

_SPACES = re.compile(r"\s+")
_ELLIPSIS = "…"


def _normal(text: str) -> str:
    # The theme engine collapses whitespace and lower-cases nothing in quotes, but a
    # caseless match costs nothing and misses fewer copies.
    return _SPACES.sub(" ", text.strip()).casefold()


def texts_of(answers: Mapping[str, Any]) -> set[str]:
    """Every free text among ``answers`` (strings, and strings inside lists) worth
    looking for in quotes: codes of one word are left out, a quote is never one."""
    found: set[str] = set()
    for value in answers.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and " " in item.strip():
                found.add(item)
    return found


def is_quote_of(quote: str, text: str) -> bool:
    """Whether ``quote`` (as the theme engine writes quotes: whitespace collapsed, long
    ones cut at a word and ended with "…") was taken from ``text``."""
    quote_n, text_n = _normal(quote), _normal(text)
    if not quote_n or not text_n:
        return False
    if quote_n.endswith(_ELLIPSIS):
        stem = quote_n[:-1].rstrip()
        return bool(stem) and text_n.startswith(stem)
    return quote_n == text_n


def without_quotes_of(quotes: Iterable[str], texts: Iterable[str]) -> tuple[list[str], int]:
    """``quotes`` less those taken from any of ``texts``, and how many were dropped."""
    quotes, texts = list(quotes), list(texts)
    kept = [q for q in quotes if not any(is_quote_of(q, t) for t in texts)]
    return kept, len(quotes) - len(kept)


def retention_cutoff(now: dt.datetime, days: Any) -> dt.datetime | None:
    """The moment before which kept data has outlived ``days`` (None: keep it forever).

    ``days`` comes from configuration: a whole number of days from 0 up, or None/""
    to switch retention off. Raises ValueError naming the problem otherwise.
    """
    if days is None or days == "":
        return None
    if isinstance(days, bool) or not isinstance(days, int):
        try:
            days = int(str(days).strip())
        except ValueError:
            raise ValueError(f"{days!r} is not a whole number of days") from None
    if days < 0:
        raise ValueError(f"{days} days is negative")
    return now - dt.timedelta(days=days)
