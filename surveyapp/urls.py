"""What a URL may carry: ids and page numbers the databases can hold, redirects on this site.

Every ``<int:...>`` route argument goes through :class:`DatabaseIntegerConverter`, every
id in a query string or form through :func:`database_id`, and every ``?page=`` argument
through :func:`_refuse_impossible_page`, so a view never sees
a number its query would overflow (SQLite raises OverflowError past 2**63, PostgreSQL
"integer out of range" past 2**31 on an INTEGER column): such URLs are a 404.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

# PostgreSQL's INTEGER, the type of every id column but responses.id (BIGINT).
MAX_ID = 2 ** 31 - 1
# 50 rows a page: a million pages is far past any campaign, and the OFFSET stays small.
MAX_PAGE = 1_000_000


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:...>`` that matches only 0..MAX_ID unless the rule says ``int(max=...)``."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    # Before the blueprints register: rules are compiled with the converter of their time.
    app.url_map.converters["int"] = DatabaseIntegerConverter
    app.before_request(_refuse_impossible_page)


def database_id(value: str) -> int:
    """The ``type=`` of every id read from a query string or a form:
    ``request.args.get("site", type=database_id)``.

    An id a row can have (0..MAX_ID, ASCII digits) comes back as an int; anything else
    present (junk, a sign, 2**63) is a 404, as the same id in the URL's path would be,
    before a query could overflow. An absent value still gives the ``get`` default."""
    if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID:
        return int(value)
    abort(404)


def _refuse_impossible_page() -> None:
    page = request.args.get("page", "")
    # isdigit() alone is true of "²", which int() refuses; other junk is the view's (type=int).
    if page.isascii() and page.isdigit() and (len(page) > 7 or int(page) > MAX_PAGE):
        abort(404)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: no open redirect."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
