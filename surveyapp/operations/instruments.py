"""Recording instrument files as versions."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa

from surveyapp.domain.instruments import Instrument, Problem, check_paths
from surveyapp.extensions import db
from surveyapp.models import InstrumentVersion
from surveyapp.operations.audit import INTERNAL, Actor, record


@dataclass
class SyncResult:
    added: list[Instrument] = field(default_factory=list)
    unchanged: list[Instrument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def sync_instruments(paths: Iterable[str | Path], *, actor: Actor = INTERNAL,
                     ip: str | None = None) -> SyncResult:
    """Record each instrument file whose content is new as a new version (one
    "instrument.loaded" event each).

    Files with problems are skipped (and reported); their earlier versions stay.
    """
    instruments, problems = check_paths(paths)
    result = SyncResult(problems=problems)
    for instrument in instruments:
        exists = db.session.scalar(sa.select(InstrumentVersion.id).where(
            InstrumentVersion.content_hash == instrument.content_hash))
        if exists:
            result.unchanged.append(instrument)
            continue
        source = Path(instrument.source_path).read_text(encoding="utf-8")
        db.session.add(InstrumentVersion(
            instrument_id=instrument.id, kind=instrument.kind,
            version_label=instrument.version, content_hash=instrument.content_hash,
            title=instrument.title.get(instrument.default_language, instrument.id)[:300],
            source=source, source_path=str(instrument.source_path)))
        result.added.append(instrument)
        record("instrument.loaded", actor=actor, ip=ip, target_type="instrument",
               target_id=instrument.id,
               details={"version": instrument.version, "hash": instrument.content_hash[:12]})
    db.session.flush()
    return result
