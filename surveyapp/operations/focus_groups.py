"""Focus-group sessions and interviews, their rosters, transcript segments and notes.

An interview is a session whose guide is of kind ``interview``: it is recorded, transcribed,
redacted and themed as a focus group is, with one participant (``TooManyParticipants``).

Each change records its audit event ("session.created", "session.participant_added",
"session.details_edited", "session.notes_edited", "session.finalised",
"session.reopened", "segment.added", "segment.imported", "segment.edited",
"segment.deleted", "segment.moved", "segment.redacted"; see operations.audit). A
segment's event names its session and prompt, never its text: the transcript holds
the text, the log says who changed it and when.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa

from surveyapp.domain.speakers import normalise_label
from surveyapp.extensions import db
from surveyapp.models import (
    FocusGroup, InstrumentVersion, Participant, PromptNote, Segment, Site, User, utcnow)
from surveyapp.operations.audit import INTERNAL, Actor, record
from surveyapp.operations.transactions import dialect_insert


# The most participants a session of a guide's kind may have (none listed: no limit).
PARTICIPANT_LIMITS = {"interview": 1}


class TooManyParticipants(ValueError):
    """The roster would pass the limit of its guide's kind (an interview has one
    participant): refused, nothing written."""

    def __init__(self, kind: str, limit: int):
        super().__init__(f"a session of kind {kind} has at most {limit} participant(s)")
        self.kind, self.limit = kind, limit


def participant_limit(focus_group: FocusGroup) -> int | None:
    """How many participants the session may have (None: any number)."""
    return PARTICIPANT_LIMITS.get(focus_group.guide_version.kind)


def roster_is_full(focus_group: FocusGroup) -> bool:
    limit = participant_limit(focus_group)
    return limit is not None and len(focus_group.participants) >= limit


@dataclass
class ParticipantInfo:
    label: str
    age_band: str = ""
    gender: str = ""
    role: str = ""
    real_name: str = ""


def _record(action: str, focus_group: FocusGroup, actor: Actor, ip: str | None, *,
            segment: Segment | None = None, details: dict | None = None) -> None:
    """The event of a change to ``focus_group`` (or to one of its segments)."""
    if segment is not None:
        details = {"session": focus_group.id, "prompt": segment.prompt_id, **(details or {})}
    record(action, actor=actor, ip=ip, project_id=focus_group.project_id,
           target_type="segment" if segment is not None else "session",
           target_id=segment.id if segment is not None else focus_group.id, details=details)


def create_focus_group(*, guide_version: InstrumentVersion, site: Site, wave: str, held_on: dt.date,
                   place: str, language: str, facilitators: Iterable[User],
                   participants: Iterable[ParticipantInfo], consent_given: bool,
                   consent_note: str = "", fields: dict | None = None,
                   created_by: User | None = None, actor: Actor = INTERNAL,
                   ip: str | None = None) -> FocusGroup:
    """A session of ``guide_version`` (a focus group or, for an interview guide, an
    interview); TooManyParticipants if ``participants`` pass the kind's limit."""
    participants = list(participants)
    limit = PARTICIPANT_LIMITS.get(guide_version.kind)
    if limit is not None and len(participants) > limit:
        raise TooManyParticipants(guide_version.kind, limit)
    focus_group = FocusGroup(
        guide_id=guide_version.instrument_id, guide_version=guide_version, site=site,
        project_id=site.project_id, wave=wave,
        held_on=held_on, place=place, language=language, consent_given=consent_given,
        consent_note=consent_note, fields=fields or {}, created_by_id=created_by.id if created_by else None,
        facilitators=list(facilitators),
        participants=[Participant(**{**vars(p), "label": normalise_label(p.label)})
                      for p in participants])
    db.session.add(focus_group)
    db.session.flush()
    _record("session.created", focus_group, actor, ip, details={"participants": len(participants)})
    return focus_group


def add_participant(focus_group: FocusGroup, info: ParticipantInfo, *,
                    actor: Actor = INTERNAL, ip: str | None = None) -> Participant:
    """Add ``info`` to the roster; TooManyParticipants if it is full (an interview's)."""
    if roster_is_full(focus_group):
        raise TooManyParticipants(focus_group.guide_version.kind, participant_limit(focus_group))
    participant = Participant(session=focus_group, **{**vars(info), "label": normalise_label(info.label)})
    db.session.add(participant)
    db.session.flush()
    _record("session.participant_added", focus_group, actor, ip, details={"label": info.label})
    return participant


def set_focus_group_fields(focus_group: FocusGroup, answers: dict, *, actor: Actor = INTERNAL,
                       ip: str | None = None) -> None:
    """Store the answers to the guide's session_fields (validated by the caller)."""
    focus_group.fields = answers
    db.session.flush()
    _record("session.details_edited", focus_group, actor, ip)


def next_participant_label(focus_group: FocusGroup) -> str:
    numbers = [int(p.label[1:]) for p in focus_group.participants
               if p.label[:1] == "P" and p.label[1:].isdigit()]
    return f"P{max(numbers, default=0) + 1}"


def _next_position(session_id: int, prompt_id: str) -> int:
    highest = db.session.scalar(sa.select(sa.func.max(Segment.position)).where(
        Segment.session_id == session_id, Segment.prompt_id == prompt_id))
    return (highest or 0) + 1


def add_segment(focus_group: FocusGroup, prompt_id: str, *, speaker: str, text: str,
                start_seconds: int | None, client_id: uuid.UUID, actor: Actor = INTERNAL,
                ip: str | None = None) -> bool:
    """Append a segment under a prompt; False if this client_id was saved before (a retry,
    which records no event)."""
    now = utcnow()
    statement = dialect_insert(Segment).values(
        session_id=focus_group.id, prompt_id=prompt_id, position=_next_position(focus_group.id, prompt_id),
        speaker=normalise_label(speaker), text=text.strip(), start_seconds=start_seconds,
        client_id=client_id, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["client_id"]).returning(Segment.id)
    added = db.session.execute(statement).first() is not None
    if added:
        _record("segment.added", focus_group, actor, ip, details={"prompt": prompt_id})
    return added


def add_segments(focus_group: FocusGroup, prompt_id: str, parsed, batch_id: uuid.UUID) -> int:
    """Append parsed segments (quick entry, a file) in order; return how many were new.

    Each segment's client_id is derived from the batch id and its place in the batch,
    so submitting the same paste twice saves it once (ON CONFLICT DO NOTHING). The
    rows are built before the first statement and sent as one executemany, which
    SQLAlchemy batches into multi-row INSERTs under each database's bind-parameter
    limit: the write lock is held for well under a second, not a statement pair per
    segment (30,000 lines took 27 s that way).
    """
    now = utcnow()
    rows = [dict(session_id=focus_group.id, prompt_id=prompt_id, speaker=normalise_label(segment.speaker or "?"),
                 text=segment.text.strip(), start_seconds=segment.start_seconds,
                 client_id=uuid.uuid5(batch_id, str(index)), created_at=now, updated_at=now)
            for index, segment in enumerate(parsed)]
    if not rows:
        return 0
    first = _next_position(focus_group.id, prompt_id)
    for offset, row in enumerate(rows):
        row["position"] = first + offset
    # The Core table, not the ORM entity: one compiled statement, executemany'd.
    statement = dialect_insert(Segment.__table__).on_conflict_do_nothing(
        index_elements=["client_id"]).returning(Segment.__table__.c.id)
    return len(db.session.connection().execute(statement, rows).all())


def import_segments(focus_group: FocusGroup, prompt_id: str, parsed, batch_id: uuid.UUID, *,
                    new_speakers: Iterable[ParticipantInfo] = (), actor: Actor = INTERNAL,
                    ip: str | None = None) -> int:
    """A pasted or uploaded transcript: add ``new_speakers`` to the roster, then the parsed
    segments (``add_segments``); how many segments were new. A resend adds none and
    records no event. TooManyParticipants (nothing written) if the new speakers do not
    fit the roster (an interview's one participant)."""
    new_speakers = list(new_speakers)
    for info in new_speakers:
        add_participant(focus_group, info)
    added = add_segments(focus_group, prompt_id, parsed, batch_id)
    if added:
        _record("segment.imported", focus_group, actor, ip, details={
            "prompt": prompt_id, "segments": added, "new_speakers": len(new_speakers)})
    return added


def edit_segment(segment: Segment, *, speaker: str, text: str, start_seconds: int | None,
                 actor: Actor = INTERNAL, ip: str | None = None) -> None:
    segment.speaker = normalise_label(speaker)
    segment.text = text.strip()
    segment.start_seconds = start_seconds
    db.session.flush()
    _record("segment.edited", segment.session, actor, ip, segment=segment)


def delete_segment(segment: Segment, *, actor: Actor = INTERNAL, ip: str | None = None) -> None:
    _record("segment.deleted", segment.session, actor, ip, segment=segment)
    db.session.delete(segment)
    db.session.flush()


def move_segment(segment: Segment, step: int, *, actor: Actor = INTERNAL,
                 ip: str | None = None) -> None:
    """Swap a segment with its neighbour above (step -1) or below (+1) under the same prompt."""
    order = sa.desc(Segment.position) if step < 0 else sa.asc(Segment.position)
    comparison = Segment.position < segment.position if step < 0 else Segment.position > segment.position
    neighbour = db.session.scalar(sa.select(Segment).where(
        Segment.session_id == segment.session_id, Segment.prompt_id == segment.prompt_id,
        comparison).order_by(order).limit(1))
    if neighbour is not None:
        segment.position, neighbour.position = neighbour.position, segment.position
        db.session.flush()
    _record("segment.moved", segment.session, actor, ip, segment=segment,
            details={"direction": "up" if step < 0 else "down"})


def save_prompt_note(focus_group: FocusGroup, prompt_id: str, text: str, *,
                     actor: Actor = INTERNAL, ip: str | None = None) -> None:
    note = db.session.get(PromptNote, (focus_group.id, prompt_id))
    if note is None:
        note = PromptNote(session_id=focus_group.id, prompt_id=prompt_id)
        db.session.add(note)
    note.text = text.strip()
    db.session.flush()
    _record("session.notes_edited", focus_group, actor, ip, details={"prompt": prompt_id})


def redact_segment(segment: Segment, new_text: str, *, kinds: Iterable[str] = (),
                   actor: Actor = INTERNAL, ip: str | None = None) -> None:
    """Replace the segment's text by its redacted form. The event says how many
    replacements of which ``kinds`` (one kind a replacement), never the removed text:
    that is the personal data the redaction removes."""
    kinds = list(kinds)
    segment.text = new_text
    db.session.flush()
    _record("segment.redacted", segment.session, actor, ip, segment=segment,
            details={"replacements": len(kinds), "kinds": sorted(set(kinds))})


def finalise_focus_group(focus_group: FocusGroup, *, actor: Actor = INTERNAL,
                     ip: str | None = None) -> None:
    focus_group.status = "finalised"
    focus_group.finalised_at = utcnow()
    db.session.flush()
    _record("session.finalised", focus_group, actor, ip)


def reopen_focus_group(focus_group: FocusGroup, *, actor: Actor = INTERNAL,
                   ip: str | None = None) -> None:
    focus_group.status = "draft"
    focus_group.finalised_at = None
    db.session.flush()
    _record("session.reopened", focus_group, actor, ip)
