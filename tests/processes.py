"""Real server processes for the crash and two-server tests (and bench/crash.py): gunicorn
on a port of our choosing, its worker pids, kill -9 and restart, and a scratch PostgreSQL
database of a unique name on the shared server.

Only processes started here are ever signalled, always by pid.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(database_url: str, **settings: str) -> dict:
    """The environment of a server or worker process on ``database_url``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SURVEYAPP_DATABASE_URL": database_url,
           "SURVEYAPP_SECRET_KEY": "crash-test-secret"}
    env.update({f"SURVEYAPP_{name}": str(value) for name, value in settings.items()})
    return env


class Gunicorn:
    """One gunicorn master on a fixed port; ``start`` again after a kill to restart it.

    ``--reuse-port`` lets a restarted master bind while workers orphaned by a killed
    master are still finishing (they notice the lost parent and exit by themselves)."""

    def __init__(self, env: dict, *, workers: int = 3, port: int | None = None, log: Path):
        self.env, self.workers, self.port, self.log = env, workers, port or free_port(), log
        self.process: subprocess.Popen | None = None
        self.orphans: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: float = 120) -> "Gunicorn":
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                 "--reuse-port", "--no-control-socket", "--timeout", "30", "--graceful-timeout", "5", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait
        while True:
            try:
                # A long timeout: on a restart under load the new workers are busy with
                # every client's retry at once.
                if requests.get(f"{self.url}/static/survey.css", timeout=30).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + self.log.read_text()[-3000:]
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """The master's current children (its workers)."""
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def kill_worker(self) -> int | None:
        """kill -9 one worker; the master forks a replacement."""
        pids = self.worker_pids()
        if not pids:
            return None
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def kill_master(self) -> None:
        """kill -9 the master itself; its workers become orphans that exit on their own."""
        self.orphans.update(self.worker_pids())
        self.process.kill()
        self.process.wait()

    def kill_host(self) -> None:
        """kill -9 the master and every worker at once: the whole server gone, as when its
        host dies (a killed master alone leaves orphans that finish what they were serving)."""
        pids = self.worker_pids()
        self.process.kill()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        self.orphans.update(pids)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.orphans:  # ours, started by a master we killed
            _reap(pid)
        self.orphans.clear()


def _reap(pid: int, wait: float = 10) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def postgres_database(server_url: str):
    """A new PostgreSQL database of a unique name on ``server_url``'s server, dropped after;
    yields its SQLAlchemy URL (psycopg 3)."""
    base = server_url.replace("postgresql://", "postgresql+psycopg://", 1).split("?")[0]
    name = f"surveyapp_crash_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
