"""Stored instrument versions and their parsed instruments (cached: a version never changes)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa

from surveyapp.domain.instruments import Instrument, load_stored_instrument, localise
from surveyapp.extensions import db
from surveyapp.models import InstrumentVersion


@lru_cache(maxsize=64)
def _parse(content_hash: str, source: str, path: str) -> Instrument:
    # Keyed by the content hash: a version's source never changes once stored.
    return load_stored_instrument(source, path)


def instrument_of(version: InstrumentVersion) -> Instrument:
    """The parsed instrument of a stored version (cached; versions are immutable)."""
    return _parse(version.content_hash, version.source, version.source_path or version.instrument_id)


@dataclass(frozen=True)
class VersionRef:
    """What respondents' writes need of a stored instrument version (immutable once stored)."""
    id: int
    instrument_id: str
    content_hash: str


def version_and_instrument(version_id: int) -> tuple[VersionRef, Instrument] | None:
    """A stored version and its parsed instrument, cached per app and process.

    Versions are immutable once stored (a changed file is a new version), so the cache
    never goes stale; it lives on the app, so two apps (tests, two databases) never
    share ids.
    """
    from flask import current_app
    cache = current_app.extensions.setdefault("surveyapp.versions", {})
    hit = cache.get(version_id)
    if hit is None:
        version = db.session.get(InstrumentVersion, version_id)
        if version is None:
            return None
        hit = (VersionRef(version.id, version.instrument_id, version.content_hash),
               instrument_of(version))
        if len(cache) > 256:  # far more versions than one server's campaigns use
            cache.clear()
        cache[version_id] = hit
    return hit


def latest_version(instrument_id: str) -> InstrumentVersion | None:
    return db.session.scalar(
        sa.select(InstrumentVersion).where(InstrumentVersion.instrument_id == instrument_id)
        .order_by(InstrumentVersion.id.desc()).limit(1))


def titles(instrument_ids, language: str) -> dict[str, str]:
    """Each instrument's title in ``language`` (its newest version's; the id when none is
    stored): what a picker shows instead of ``community-capacity``."""
    out = {}
    for instrument_id in instrument_ids:
        version = latest_version(instrument_id)
        if version is None:
            out[instrument_id] = instrument_id
            continue
        instrument = instrument_of(version)
        out[instrument_id] = localise(instrument.title, instrument.language_for(language),
                                      instrument.default_language)
    return out


def latest_versions(kind: str) -> list[InstrumentVersion]:
    """The newest version of every instrument of ``kind`` ('survey' or 'focus_group')."""
    newest = (sa.select(sa.func.max(InstrumentVersion.id))
              .where(InstrumentVersion.kind == kind).group_by(InstrumentVersion.instrument_id))
    return list(db.session.scalars(sa.select(InstrumentVersion)
                                   .where(InstrumentVersion.id.in_(newest))
                                   .order_by(InstrumentVersion.title)))


def instrument_titles() -> dict[int, str]:
    """Every version's title by version id, plus each instrument's newest title by its id."""
    titles = {}
    for version_id, instrument_id, title in db.session.execute(
            sa.select(InstrumentVersion.id, InstrumentVersion.instrument_id, InstrumentVersion.title)
            .order_by(InstrumentVersion.id)):
        titles[version_id] = titles[instrument_id] = title
    return titles
