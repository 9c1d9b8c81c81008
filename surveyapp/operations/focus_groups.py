"""Focus-group sessions, their rosters, transcript segments and notes."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa

from surveyapp.domain.speakers import normalise_label
from surveyapp.extensions import db
from surveyapp.models import (
    FocusGroupSession, InstrumentVersion, Participant, PromptNote, Segment, Site, User, utcnow)
from surveyapp.operations.transactions import dialect_insert


@dataclass
class ParticipantInfo:
    label: str
    age_band: str = ""
    gender: str = ""
    role: str = ""
    real_name: str = ""


def create_session(*, guide_version: InstrumentVersion, site: Site, wave: str, held_on: dt.date,
                   place: str, language: str, facilitators: Iterable[User],
                   participants: Iterable[ParticipantInfo], consent_given: bool,
                   consent_note: str = "", fields: dict | None = None,
                   created_by: User | None = None) -> FocusGroupSession:
    session = FocusGroupSession(
        guide_id=guide_version.instrument_id, guide_version=guide_version, site=site,
        project_id=site.project_id, wave=wave,
        held_on=held_on, place=place, language=language, consent_given=consent_given,
        consent_note=consent_note, fields=fields or {}, created_by_id=created_by.id if created_by else None,
        facilitators=list(facilitators),
        participants=[Participant(**{**vars(p), "label": normalise_label(p.label)})
                      for p in participants])
    db.session.add(session)
    db.session.flush()
    return session


def add_participant(session: FocusGroupSession, info: ParticipantInfo) -> Participant:
    participant = Participant(session=session, **{**vars(info), "label": normalise_label(info.label)})
    db.session.add(participant)
    db.session.flush()
    return participant


def next_participant_label(session: FocusGroupSession) -> str:
    numbers = [int(p.label[1:]) for p in session.participants
               if p.label[:1] == "P" and p.label[1:].isdigit()]
    return f"P{max(numbers, default=0) + 1}"


def _next_position(session_id: int, prompt_id: str) -> int:
    highest = db.session.scalar(sa.select(sa.func.max(Segment.position)).where(
        Segment.session_id == session_id, Segment.prompt_id == prompt_id))
    return (highest or 0) + 1


def add_segment(session: FocusGroupSession, prompt_id: str, *, speaker: str, text: str,
                start_seconds: int | None, client_id: uuid.UUID) -> bool:
    """Append a segment under a prompt; False if this client_id was saved before (a retry)."""
    now = utcnow()
    statement = dialect_insert(Segment).values(
        session_id=session.id, prompt_id=prompt_id, position=_next_position(session.id, prompt_id),
        speaker=normalise_label(speaker), text=text.strip(), start_seconds=start_seconds,
        client_id=client_id, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["client_id"]).returning(Segment.id)
    return db.session.execute(statement).first() is not None


def add_segments(session: FocusGroupSession, prompt_id: str, parsed, batch_id: uuid.UUID) -> int:
    """Append parsed segments (quick entry, a file) in order; return how many were new.

    Each segment's client_id is derived from the batch id and its place in the batch,
    so submitting the same paste twice saves it once (ON CONFLICT DO NOTHING). The
    rows are built before the first statement and sent as one executemany, which
    SQLAlchemy batches into multi-row INSERTs under each database's bind-parameter
    limit: the write lock is held for well under a second, not a statement pair per
    segment (30,000 lines took 27 s that way).
    """
    now = utcnow()
    rows = [dict(session_id=session.id, prompt_id=prompt_id, speaker=normalise_label(segment.speaker or "?"),
                 text=segment.text.strip(), start_seconds=segment.start_seconds,
                 client_id=uuid.uuid5(batch_id, str(index)), created_at=now, updated_at=now)
            for index, segment in enumerate(parsed)]
    if not rows:
        return 0
    first = _next_position(session.id, prompt_id)
    for offset, row in enumerate(rows):
        row["position"] = first + offset
    # The Core table, not the ORM entity: one compiled statement, executemany'd.
    statement = dialect_insert(Segment.__table__).on_conflict_do_nothing(
        index_elements=["client_id"]).returning(Segment.__table__.c.id)
    return len(db.session.connection().execute(statement, rows).all())


def edit_segment(segment: Segment, *, speaker: str, text: str, start_seconds: int | None) -> None:
    segment.speaker = normalise_label(speaker)
    segment.text = text.strip()
    segment.start_seconds = start_seconds
    db.session.flush()


def delete_segment(segment: Segment) -> None:
    db.session.delete(segment)
    db.session.flush()


def move_segment(segment: Segment, step: int) -> None:
    """Swap a segment with its neighbour above (step -1) or below (+1) under the same prompt."""
    order = sa.desc(Segment.position) if step < 0 else sa.asc(Segment.position)
    comparison = Segment.position < segment.position if step < 0 else Segment.position > segment.position
    neighbour = db.session.scalar(sa.select(Segment).where(
        Segment.session_id == segment.session_id, Segment.prompt_id == segment.prompt_id,
        comparison).order_by(order).limit(1))
    if neighbour is not None:
        segment.position, neighbour.position = neighbour.position, segment.position
        db.session.flush()


def save_prompt_note(session: FocusGroupSession, prompt_id: str, text: str) -> None:
    note = db.session.get(PromptNote, (session.id, prompt_id))
    if note is None:
        note = PromptNote(session_id=session.id, prompt_id=prompt_id)
        db.session.add(note)
    note.text = text.strip()
    db.session.flush()


def redact_segment(segment: Segment, new_text: str) -> None:
    segment.text = new_text
    db.session.flush()


def finalise_session(session: FocusGroupSession) -> None:
    session.status = "finalised"
    session.finalised_at = utcnow()
    db.session.flush()


def reopen_session(session: FocusGroupSession) -> None:
    session.status = "draft"
    session.finalised_at = None
    db.session.flush()
