"""Per-user job quotas: how many jobs one person may have waiting or running, and how
many result files they may keep, checked where every job is made (``jobs.enqueue``).

JOBS_MAX_ACTIVE_PER_USER caps queued + running jobs per user and kind (a number: the same
for every kind; a mapping: per kind, a kind it does not name is not capped);
JOBS_MAX_FILES_PER_USER caps the finished jobs whose result file is still kept (until
JOB_RESULT_HOURS pass). Without them one analyst queued 150 exports in 15 seconds and
kept 159 files, and four theme runs over 20,000 texts took a worker to 1 GB. 0 or None
turns a cap off. A job made without a user (a command, a test) is not capped.

A refusal (``JobRefused``) says when to try again: when the user's job that should finish
first is expected to (from its progress so far, or from how long recent jobs of that kind
took), or when their oldest kept file expires.

Counting and adding are one step per user: on PostgreSQL an advisory lock on the user
serialises them; on SQLite the new row is flushed before counting, which takes the
database's one write lock first (the count then sees every committed job). So two
requests at once cannot both take the last slot.
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import Callable

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from surveyapp.extensions import db
from surveyapp.models import Job, utcnow

ACTIVE = ("queued", "running")
# When no job of a kind has finished yet, a job is expected to take this long.
DEFAULT_SECONDS = 60.0
# How many recent finished jobs of a kind say how long the next one will take.
RECENT = 20
# Salt of the advisory-lock key, so it does not collide with the theme sources' locks.
_LOCK_SALT = 0x6A6F6273_00000000


class JobRefused(Exception):
    """A job refused by a quota: ``message`` (translated) says why and when to try again,
    ``retry_after`` in whole seconds (at least 1), ``reason`` is "active" or "files"."""

    def __init__(self, message: str, retry_after: float, reason: str):
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, math.ceil(retry_after))
        self.reason = reason


def active_limit(kind: str) -> int | None:
    """JOBS_MAX_ACTIVE_PER_USER for ``kind`` (None: no cap)."""
    setting = current_app.config.get("JOBS_MAX_ACTIVE_PER_USER")
    value = setting.get(kind) if isinstance(setting, dict) else setting
    return int(value) if value else None


def files_limit() -> int | None:
    value = current_app.config.get("JOBS_MAX_FILES_PER_USER")
    return int(value) if value else None


def claim(job: Job, *, now: Callable[[], dt.datetime] = utcnow) -> None:
    """Check ``job`` (added to the session, not yet committed) against its user's quotas;
    flushes it. Raises JobRefused when a cap is reached; the caller rolls back."""
    user_id = job.created_by_id
    if user_id is None:
        db.session.flush()
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_SALT + user_id)))
    db.session.flush()  # on SQLite: take the write lock before counting (see the module doc)
    moment = _aware(now())
    limit = active_limit(job.kind)
    if limit:
        active = list(db.session.scalars(sa.select(Job).where(
            Job.created_by_id == user_id, Job.kind == job.kind, Job.state.in_(ACTIVE),
            Job.id != job.id)))
        if len(active) >= limit:
            wait = min(_remaining(other, moment) for other in active)
            raise JobRefused(_in_language(_active_message, job.kind, len(active), wait),
                             wait, "active")
    limit = files_limit()
    if limit:
        kept = sorted(_aware(j.expires_at) for j in db.session.scalars(sa.select(Job).where(
            Job.created_by_id == user_id, Job.state == "done", Job.result_name.is_not(None),
            Job.expires_at.is_not(None))) if _aware(j.expires_at) > moment)
        if len(kept) >= limit:
            wait = (kept[len(kept) - limit] - moment).total_seconds()
            raise JobRefused(_in_language(_files_message, len(kept), wait), wait, "files")


def _remaining(job: Job, moment: dt.datetime) -> float:
    """Seconds until ``job`` is expected to finish: from its own progress once it has
    some, else from how long recent jobs of its kind took (a queued job: all of that)."""
    typical = _typical_seconds(job.kind)
    if job.state != "running" or job.started_at is None:
        return typical
    elapsed = max(0.0, (moment - _aware(job.started_at)).total_seconds())
    if job.progress_done and job.progress_total:
        done = min(job.progress_done, job.progress_total)
        return elapsed * (job.progress_total - done) / done
    return max(typical - elapsed, 10.0)


def _typical_seconds(kind: str) -> float:
    rows = db.session.execute(sa.select(Job.started_at, Job.finished_at).where(
        Job.kind == kind, Job.state.in_(("done", "expired")), Job.started_at.is_not(None),
        Job.finished_at.is_not(None)).order_by(Job.id.desc()).limit(RECENT)).all()
    took = [(_aware(end) - _aware(start)).total_seconds() for start, end in rows]
    return max(1.0, statistics.median(took)) if took else DEFAULT_SECONDS


def _in_language(message: Callable[..., str], *args) -> str:
    """The message in the page's language; outside a request (a command), in the default."""
    if has_request_context():
        return message(*args)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return message(*args)


def _about(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return ngettext("about %(num)d minute", "about %(num)d minutes", minutes)
    return ngettext("about %(num)d hour", "about %(num)d hours", round(minutes / 60))


def _active_message(kind: str, count: int, wait: float) -> str:
    if kind == "export":
        text = ngettext("You have %(num)d export waiting or running, as many as one person "
                        "may have at once.", "You have %(num)d exports waiting or running, as "
                        "many as one person may have at once.", count)
    elif kind == "themes":
        text = ngettext("You have %(num)d theme run waiting or running, as many as one "
                        "person may have at once.", "You have %(num)d theme runs waiting or "
                        "running, as many as one person may have at once.", count)
    else:
        text = _("You have as many jobs of this kind waiting or running as one person may "
                 "have at once.")
    return text + " " + _("Try again when one finishes (in %(when)s).", when=_about(wait))


def _files_message(count: int, wait: float) -> str:
    return ngettext(
        "You keep %(num)d result file of finished jobs, as many as one person may keep.",
        "You keep %(num)d result files of finished jobs, as many as one person may keep.",
        count) + " " + _("Try again when the oldest is deleted (in %(when)s).", when=_about(wait))


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
