"""Whole-database snapshots: ``surveyapp backup PATH`` and ``surveyapp restore PATH``.

A snapshot is consistent while the app keeps serving: on SQLite it is taken with the
online backup API in one step (a single read transaction, so every committed response
is in it whole or not at all, and writers carry on under WAL); on PostgreSQL it is
``pg_dump --format=custom``, which reads one repeatable-read snapshot. The file is
written beside PATH and renamed into place, so PATH is never half a backup.

Restoring replaces the whole database and is the one write that does not go through a
unit of work: the app must be stopped meanwhile. It refuses a database that holds data
(any row outside the instrument versions) unless ``force`` is given.

SQLite backups are SQLite files; PostgreSQL backups are pg_dump archives. A backup is
restored into the same kind of database it came from.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa

from surveyapp.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
# Tables whose rows do not make a database "in use": the shipped instruments are loaded
# into every new database before anyone works in it.
NOT_DATA = {"alembic_version", "instrument_versions"}


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Snapshot:
    path: Path
    kind: str       # "sqlite" or "postgresql"
    bytes: int


def _url() -> sa.engine.URL:
    return db.engine.url


def _sqlite_file(url: sa.engine.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _libpq(url: sa.engine.URL) -> tuple[str, str | None]:
    """A libpq connection URI for pg_dump/pg_restore, and the schema named by a
    ``search_path`` in its options (then only that schema is dumped)."""
    plain = url.set(drivername="postgresql")
    schema = None
    options = plain.query.get("options")
    if options:
        text = unquote(options if isinstance(options, str) else options[0])
        for part in text.split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0].strip()
    return plain.render_as_string(hide_password=False), schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools "
                          f"(Debian: apt-get install postgresql-client) of the server's version")
    return found


def backup(path: str | os.PathLike) -> Snapshot:
    """Write a consistent snapshot of the app's database to ``path`` (replaced if there)."""
    target = Path(path)
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give the backup file's name")
    if not target.parent.exists():
        raise BackupError(f"{target.parent} does not exist")
    url = _url()
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        if url.get_backend_name() == "sqlite":
            kind = "sqlite"
            _sqlite_backup(_sqlite_file(url), partial)
        elif url.get_backend_name() == "postgresql":
            kind = "postgresql"
            uri, schema = _libpq(url)
            command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                       "--file", str(partial), *(["--schema", schema] if schema else []), uri]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        else:
            raise BackupError(f"backups of {url.get_backend_name()} databases are not supported")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Snapshot(target, kind, target.stat().st_size)


def _sqlite_backup(source: Path, destination: Path) -> None:
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    # Read-only: the backup must never write to the live database.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(destination)
    try:
        # pages=-1 copies everything in one step, under one read transaction: a
        # consistent snapshot even while the app writes (a stepwise copy would restart
        # whenever a writer changed the source, and could starve under load).
        src.backup(dst, pages=-1)
        # A standalone file: no WAL beside it to lose when it is copied elsewhere.
        dst.execute("PRAGMA journal_mode = DELETE")
        problem = dst.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"the snapshot failed its check: {problem}")
    finally:
        dst.close()
        src.close()


def kind_of(path: str | os.PathLike) -> str:
    """ "sqlite" or "postgresql", by the file's first bytes; BackupError if neither."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump archive")


def data_rows() -> dict[str, int]:
    """Tables of the app's database that hold data, with their row counts (empty: none)."""
    inspector = sa.inspect(db.engine)
    counts = {}
    for name in sorted(set(inspector.get_table_names()) - NOT_DATA):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
        if count:
            counts[name] = count
    db.session.rollback()
    return counts


def restore(path: str | os.PathLike, *, force: bool = False) -> str:
    """Replace the app's database with the backup at ``path``; the backup's kind.

    Refuses (BackupError) a database holding data unless ``force``, a backup of the
    other kind of database, and an unreadable file. Stop the app first: the database
    is replaced under every open connection.
    """
    kind = kind_of(path)
    url = _url()
    if kind != url.get_backend_name():
        raise BackupError(f"{path} is a {kind} backup; this app uses {url.get_backend_name()}")
    in_use = data_rows()
    if in_use and not force:
        listed = ", ".join(f"{name} ({count})" for name, count in list(in_use.items())[:5])
        raise BackupError(f"the database holds data: {listed}. Restore into an empty database, "
                          "or give --force to replace it")
    db.session.remove()
    db.engine.dispose()
    if kind == "sqlite":
        _sqlite_restore(Path(path), _sqlite_file(url))
    else:
        uri, _ = _libpq(url)
        # --clean --if-exists: drop what the archive holds before making it again (on an
        # empty database there is nothing to drop and nothing is said).
        command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
                   "--exit-on-error", "--clean", "--if-exists", "--dbname", uri, str(path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    return kind


def _sqlite_restore(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        problem = src.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"{source} failed its check: {problem}")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            # Through the live file's own connection, so its WAL and locks stay coherent.
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()
