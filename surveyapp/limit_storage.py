"""Rate-limit storages of our own: ``sqlite://`` (the default) counts across the worker
processes of one host in a file; ``worker-memory://`` is ``limits``' memory storage
without its timers, per process.

``worker-memory://``: the embedded (per-worker) storage.

``limits.storage.MemoryStorage`` prunes expired counters on a ``threading.Timer`` of
0.01 s that it restarts whenever a hit finds the last one finished, which under load is
nearly every hit: one new OS thread per request. Pruning is only housekeeping (a fixed
window's counter is already reset when it is read after its expiry, and a moving
window compares timestamps), so here the same sweep runs inline, at most once every
``SWEEP_SECONDS``. Counting is unchanged: every hit still goes through ``limits``' own
code, per process.

Configured as ``RATELIMIT_STORAGE_URI = "worker-memory://"``: each process counts alone,
so ``120/minute`` is 240 with two workers. This relies on the private name of
``MemoryStorage``'s scheduling method, which is why limits is pinned in requirements.txt
and tests/test_respondent_limits.py checks that no thread is started per hit.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path

from limits.storage import MemoryStorage, Storage


class WorkerMemoryStorage(MemoryStorage):
    """Per-process counters like ``memory://``, swept inline instead of by a timer thread."""

    STORAGE_SCHEME = ["worker-memory"]
    #: How often (at most) a hit also prunes expired keys, so memory stays bounded.
    SWEEP_SECONDS = 5.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:
        # Called by MemoryStorage before each hit, in place of starting a Timer.
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS


class SQLiteStorage(Storage):
    """Counters in one SQLite file that every worker process on the host opens, so a limit
    such as ``120/minute`` is 120 across `make run`'s workers, not 120 in each.

    Configured as ``RATELIMIT_STORAGE_URI = "sqlite:///PATH"``, read as SQLAlchemy reads
    its URLs (four slashes for an absolute path); the default is instance/rate-limits.sqlite. Fixed-window counting, Flask-Limiter's default strategy
    (the moving-window and sliding-window strategies need Redis). Each hit is one atomic
    UPSERT (SQLite 3.35 or later for RETURNING) in autocommit, so two workers counting at
    once never lose a hit. The counters are disposable: WAL without fsync (a power cut may
    forget the last seconds' counts), and expired ones are pruned at most every
    ``SWEEP_SECONDS``. A file is one host: several app servers need a storage they all
    reach (redis://). A database error is raised to Flask-Limiter, which counts in memory
    meanwhile (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and never answers a 500 for it.
    """

    STORAGE_SCHEME = ["sqlite"]
    SWEEP_SECONDS = 60.0
    #: How long a hit waits for another worker's write (then the limiter falls back).
    BUSY_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        # Other options (a Redis socket timeout in RATELIMIT_STORAGE_OPTIONS) do not apply.
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        # As SQLAlchemy reads its sqlite:// URLs: sqlite:///relative, sqlite:////absolute.
        path = urllib.parse.urlparse(uri or "").path[1:]
        if not path:
            raise ValueError("the sqlite rate-limit storage needs a file: sqlite:///PATH")
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        # One connection per process, opened on first use: never carried across a fork
        # (gunicorn --preload builds the app, and this storage, in the master).
        if self._connection is None or self._pid != os.getpid():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.BUSY_SECONDS,
                                         isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, "
                               "count INTEGER NOT NULL, expires REAL NOT NULL) WITHOUT ROWID")
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def _execute(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db().execute(sql, parameters).fetchall()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._execute("DELETE FROM counters WHERE expires <= ?", (now,))
        # An expired counter starts again at ``amount``, with a new window.
        return self._execute(
            "INSERT INTO counters (key, count, expires) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN counters.expires <= ?4 THEN ?2 ELSE counters.count + ?2 END, "
            "expires = CASE WHEN counters.expires <= ?4 THEN ?3 ELSE counters.expires END "
            "RETURNING count", (key, amount, now + expiry, now))[0][0]

    def get(self, key: str) -> int:
        rows = self._execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                             (key, time.time()))
        return rows[0][0] if rows else 0

    def get_expiry(self, key: str) -> float:
        rows = self._execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                             (key, time.time()))
        return rows[0][0] if rows else time.time()

    def check(self) -> bool:
        try:
            self._execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        with self._lock:
            return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._execute("DELETE FROM counters WHERE key = ?", (key,))
