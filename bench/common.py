"""Helpers for bench scripts: a migrated database with instruments and a campaign."""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from flask_migrate import upgrade

from surveyapp import create_app, operations

ROOT = Path(__file__).resolve().parent.parent


def fresh_app(url: str | None = None, **config):
    """An app on a new migrated SQLite file (or ``url``), instruments loaded, one campaign."""
    folder = Path(tempfile.mkdtemp(prefix="surveyapp-bench-"))
    app = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder / 'bench.db'}", **config})
    with app.app_context():
        upgrade()
        operations.transaction(lambda: operations.instruments.sync_instruments([ROOT / "instruments"]))
        code = operations.transaction(lambda: operations.campaigns.create_campaign(
            "community-capacity", operations.campaigns.get_or_create_site("Bench"), "baseline").code)
    return app, code


def median(values):
    return statistics.median(values)
