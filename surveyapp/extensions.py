"""Extensions, created unbound; the factory binds each with init_app."""
from functools import partial

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event

from surveyapp import limit_storage  # noqa: F401  (registers worker-memory:// with limits)

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
