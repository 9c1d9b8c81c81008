"""The embedded (per-worker) rate-limit storage: ``limits``' memory storage without its timers.

``limits.storage.MemoryStorage`` prunes expired counters on a ``threading.Timer`` of
0.01 s that it restarts whenever a hit finds the last one finished, which under load is
nearly every hit: one new OS thread per request. Pruning is only housekeeping (a fixed
window's counter is already reset when it is read after its expiry, and a moving
window compares timestamps), so here the same sweep runs inline, at most once every
``SWEEP_SECONDS``. Counting is unchanged: every hit still goes through ``limits``' own
code, per process.

Configured as ``RATELIMIT_STORAGE_URI = "worker-memory://"`` (the default); a shared
storage (``redis://...``) replaces it when set. This relies on the private name of
``MemoryStorage``'s scheduling method, which is why limits is pinned in requirements.txt
and tests/test_respondent_limits.py checks that no thread is started per hit.
"""
from __future__ import annotations

import time

from limits.storage import MemoryStorage


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
