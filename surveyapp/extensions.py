"""Extensions, created unbound; the factory binds each with init_app."""
import time
from functools import partial

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event, exc

from surveyapp import limit_storage  # noqa: F401  (registers sqlite:// and worker-memory:// with limits)

# Named constraints so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(compare_type=True, render_as_batch=True)
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"
# The key is used only in the limiter's storage for the window; no address reaches the database.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_sqlite_pragmas(app) -> None:
    """Put every SQLite connection in WAL mode with a busy timeout.

    WAL lets readers run beside the one writer; the timeout makes a writer wait for
    the lock instead of failing at once. Both are per connection, hence the event.
    The pool keeps connections open: closing the last one checkpoints the WAL.
    """
    timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    journal = app.config["SQLITE_JOURNAL_MODE"]
    if journal.upper() not in {"WAL", "DELETE", "TRUNCATE", "PERSIST"}:
        raise ValueError(f"SQLITE_JOURNAL_MODE {journal!r} is not one SQLite supports here")
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect",
                             partial(_sqlite_pragmas, timeout=timeout, journal=journal))


def _sqlite_pragmas(dbapi_connection, _record, *, timeout: int, journal: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {timeout}")
    cursor.execute(f"PRAGMA journal_mode = {journal}")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def init_connection_checks(app) -> None:
    """Check a pooled connection to a database server before use, if it sat idle a while.

    A server restart (or a proxy's idle timeout) leaves dead connections in each worker's
    pool. SQLAlchemy's ``pool_pre_ping`` finds them with a round trip on every checkout,
    which cost a tenth of a respondent page on PostgreSQL; here only a connection idle for
    DB_PING_IDLE_SECONDS is pinged (a busy pool reuses connections within milliseconds),
    and a dead one is replaced before the request sees it. One that dies while in use
    fails that request, and SQLAlchemy then drops the rest of that pool (its disconnect
    handling): clients retry, so nothing accepted is lost. SQLite files never go stale.
    """
    idle = float(app.config["DB_PING_IDLE_SECONDS"])
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                continue
            event.listen(engine, "checkin", _stamp_checkin)
            event.listen(engine, "checkout", partial(_ping_if_idle, dialect=engine.dialect, idle=idle))


def _stamp_checkin(_dbapi_connection, record) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy, *, dialect, idle: float) -> None:
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < idle:
        return  # new, or back in the pool a moment ago
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError() from error
        raise
