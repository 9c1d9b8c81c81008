"""The write paths, one module per area. Views and CLI commands call these.

Each operation flushes; the caller commits, through ``transaction(work)``, which
retries the whole unit when SQLite reports a lock. That is safe because every
write here is idempotent (responses are keyed by their client-generated
submission id, segments by their form's client id).
"""
from surveyapp.operations import (  # noqa: F401  (the areas, as operations.<area>.<write>)
    audit, auth, backup, campaigns, deletion, demo, focus_groups, instruments, panel, results,
    scores, staff, surveys, themes)
from surveyapp.operations.transactions import read_without_transaction, transaction  # noqa: F401
