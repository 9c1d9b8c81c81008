"""Committing a unit of work, and the INSERT that lets a unique constraint decide races."""
from __future__ import annotations

import random
import secrets
import time
from functools import lru_cache
from typing import Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from surveyapp.extensions import db

T = TypeVar("T")
AUTOCOMMIT = "AUTOCOMMIT"


def read_without_transaction() -> None:
    """Run this request's statements each on its own, outside a transaction.

    For requests that only read (the respondent GET pages): on PostgreSQL a transaction
    costs a BEGIN and a ROLLBACK round trip around the page's one SELECT (a GET page took
    9.8 ms with them, 8.2 ms without, in process); a page needs no snapshot across
    statements. Takes effect before the request's first statement, and nothing after it
    may write (``transaction`` refuses). SQLAlchemy resets the connection when it goes
    back to the pool.
    """
    if not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": AUTOCOMMIT})


def transaction(work: Callable[[], T], *, attempts: int = 6) -> T:
    """Run ``work`` and commit; on a SQLite lock, roll back and run it again.

    SQLite can report "database is locked" once its busy timeout runs out, and
    (rarely) after the commit went through; re-running is safe because the
    writes are idempotent.
    """
    if db.session().in_transaction() and db.session.connection().get_execution_options().get(
            "isolation_level") == AUTOCOMMIT:
        # A request that declared it only reads (read_without_transaction) may not write:
        # its statements would each commit on their own, not as one unit.
        raise RuntimeError("a write in a request that reads without a transaction")
    for attempt in range(attempts):
        try:
            result = work()
            db.session.commit()
            return result
        except OperationalError as error:
            db.session.rollback()
            if "locked" not in str(error.orig).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (2 ** attempt) * random.random())
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")



@lru_cache(maxsize=32)
def insert_or_nothing(table: sa.Table, columns: tuple[str, ...], *, returning: str | None = None) -> sa.TextClause:
    """``INSERT ... ON CONFLICT DO NOTHING [RETURNING ...]`` of these columns of ``table``,
    one text for SQLite and PostgreSQL, with typed parameters (JSON, UUID and dates are
    converted as the columns declare).

    Why not ``dialect_insert(table).on_conflict_do_nothing()``: SQLAlchemy 2.0 has no cache
    key for the dialects' insert constructs, so it compiled them again on every call
    (0.3 ms of every new response); a text clause is compiled once.
    """
    text = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
            f"({', '.join(':' + name for name in columns)}) ON CONFLICT DO NOTHING"
            + (f" RETURNING {returning}" if returning else ""))
    return sa.text(text).bindparams(*(sa.bindparam(name, type_=table.c[name].type) for name in columns))


def dialect_insert(table):
    """INSERT for the session's database, with ``on_conflict_do_nothing`` available."""
    dialect = db.session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect](table)


def random_code(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
