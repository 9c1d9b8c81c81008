"""The crash scenario shared by tests/test_crash.py (CI size) and bench/crash.py (full size):
gunicorn with several workers serves concurrent respondents (half API, half HTML) while
workers are killed with SIGKILL one after another, then the master; the master is started
again and the respondents retry with their submission ids until acknowledged."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import Gunicorn, base_env
from tests.respondents import Reconciliation, make_respondents, reconcile, respond


@dataclass
class CrashRun:
    reconciliation: Reconciliation
    events: list = field(default_factory=list)   # (seconds, what)
    seconds: float = 0.0


def crash_run(database_url: str, code: str, folder: Path, *, respondents: int = 16,
              concurrency: int = 8, workers: int = 3, worker_kills: int = 3,
              site: str = "Riverside", wave: str = "baseline", budget: float = 300) -> CrashRun:
    """Run the scenario against campaign ``code`` on ``database_url``; kills are spaced by
    progress (acknowledged responses), so each lands while respondents are mid-flow."""
    server = Gunicorn(base_env(database_url, RATELIMIT_ENABLED="false"), workers=workers,
                      log=folder / "gunicorn.log").start()
    people = make_respondents(code, respondents, site=site, wave=wave)
    began = time.monotonic()
    events: list = []

    def acked() -> int:
        return sum(p.acknowledged for p in people)

    def at(fraction: float, futures) -> None:
        while acked() < fraction * respondents and not all(f.done() for f in futures):
            time.sleep(0.05)

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            futures = [pool.submit(respond, person, [server.url], deadline=began + budget)
                       for person in people]
            # Worker kills at 10%, 20%, ... of the respondents acknowledged, the master at 60%.
            for index in range(worker_kills):
                at(0.1 * (index + 1) * 5 / max(worker_kills, 5), futures)
                pid = server.kill_worker()
                events.append((round(time.monotonic() - began, 2), f"kill -9 worker {pid} ({acked()} acknowledged)"))
                time.sleep(0.3)
            at(0.6, futures)
            in_flight = respondents - acked()
            server.kill_master()
            events.append((round(time.monotonic() - began, 2),
                           f"kill -9 master ({acked()} acknowledged, {in_flight} still answering)"))
            time.sleep(0.5)
            server.start(wait=budget)
            events.append((round(time.monotonic() - began, 2), "master restarted"))
            wait(futures)
            for future in futures:
                future.result()  # a client bug surfaces here, not as a silent miss
    finally:
        server.stop()
    return CrashRun(reconcile(database_url, code, people), events, time.monotonic() - began)
