"""Committing a unit of work, and the INSERT that lets a unique constraint decide races."""
from __future__ import annotations

import random
import secrets
import time
from typing import Callable, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from surveyapp.extensions import db

T = TypeVar("T")


def transaction(work: Callable[[], T], *, attempts: int = 6) -> T:
    """Run ``work`` and commit; on a SQLite lock, roll back and run it again.

    SQLite can report "database is locked" once its busy timeout runs out, and
    (rarely) after the commit went through; re-running is safe because the
    writes are idempotent.
    """
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



def dialect_insert(table):
    """INSERT for the session's database, with ``on_conflict_do_nothing`` available."""
    dialect = db.session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect](table)


def random_code(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
