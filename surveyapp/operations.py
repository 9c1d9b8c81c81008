"""The write paths. Views and CLI commands call these; each flushes, the caller commits.

``transaction(work)`` is how callers commit: it retries the whole unit when
SQLite reports a lock, which is safe because every write here is idempotent
(responses are keyed by their client-generated submission id).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from surveyapp import queries
from surveyapp.domain.answers import (
    AnswerError, Context, split_private, validate_page, validate_submission)
from surveyapp.domain.instruments import Instrument, Page, Problem, check_paths
from surveyapp.extensions import db
from surveyapp.models import (
    Campaign, FocusGroupSession, InstrumentVersion, Participant, PrivateAnswers, PromptNote,
    Response, Segment, Site, User, utcnow)

T = TypeVar("T")

# Letters that survive being read aloud or copied from paper: no 0/O, 1/I/L.
_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RESUME_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def transaction(work: Callable[[], T], *, attempts: int = 6) -> T:
    """Run ``work`` and commit; on a SQLite lock, roll back and run it again.

    SQLite can report "database is locked" once its busy timeout runs out, and
    (rarely) after the commit went through; re-running is safe because the
    writes are idempotent.
    """
    for attempt in range(attempts):
        try:
            result = work()
            db.session.commit()
            return result
        except OperationalError as error:
            db.session.rollback()
            if "locked" not in str(error.orig).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (2 ** attempt) * random.random())
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def _code(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_resume_code() -> str:
    return _code(_RESUME_ALPHABET, 8)


def format_resume_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# ----------------------------------------------------------------------------- instruments

@dataclass
class SyncResult:
    added: list[Instrument] = field(default_factory=list)
    unchanged: list[Instrument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def sync_instruments(paths: Iterable[str | Path]) -> SyncResult:
    """Record each instrument file whose content is new as a new version.

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
    db.session.flush()
    return result


# ----------------------------------------------------------------------------- sites, campaigns

def get_or_create_site(name: str, area: str | None = None) -> Site:
    site = db.session.scalar(sa.select(Site).where(Site.name == name))
    if site is None:
        site = Site(name=name, area=area)
        db.session.add(site)
        db.session.flush()
    return site


def create_campaign(instrument_id: str, site: Site, wave: str, *, pin_version: bool = False,
                    unlisted: bool = False, code: str | None = None,
                    opens_at: dt.datetime | None = None,
                    closes_at: dt.datetime | None = None) -> Campaign:
    """Deploy an instrument to a site and wave. Raises LookupError if it was never loaded."""
    version = queries.latest_version(instrument_id)
    if version is None or version.kind != "survey":
        raise LookupError(f"no survey '{instrument_id}' has been loaded")
    campaign = Campaign(
        code=code or _unused_campaign_code(), instrument_id=instrument_id,
        instrument_version_id=version.id if pin_version else None, site=site,
        wave=wave, status="open", unlisted=unlisted, opens_at=opens_at, closes_at=closes_at)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def set_campaign_status(campaign: Campaign, status: str) -> None:
    campaign.status = status
    db.session.flush()


def _unused_campaign_code() -> str:
    while True:
        code = _code(_CODE_ALPHABET, 6)
        if not db.session.scalar(sa.select(Campaign.id).where(Campaign.code == code)):
            return code


# ----------------------------------------------------------------------------- the HTML flow

def start_response(campaign: Campaign, version: InstrumentVersion, submission_id: uuid.UUID,
                   language: str) -> Response:
    """Open a partial response, or return the one already opened with this submission id.

    The consent form carries the submission id, so a double tap on "Start" opens one.
    """
    existing = _response_by_submission(submission_id)
    if existing is not None:
        return existing
    _insert_response(submission_id=submission_id, campaign_id=campaign.id,
                     instrument_version_id=version.id, language=language, status="partial",
                     answers={}, source="web")
    return _response_by_submission(submission_id)


def save_page(response: Response, instrument: Instrument, page: Page, raw: dict[str, Any],
              context: Context, *, keep_valid: bool = False) -> list[AnswerError]:
    """Validate and store one page's answers; return the errors.

    With errors, nothing is stored, unless ``keep_valid``: then the answers that
    passed are stored and the rest are left as they were (for "back" and "save").
    """
    stored = response.all_answers
    page_answers, errors = validate_page(instrument, page, raw, stored, context)
    if errors and not keep_valid:
        return errors
    page_keys = {key for q in page.questions for key in q.answer_keys}
    failed = {error.question_id for error in errors}
    merged = {k: v for k, v in stored.items() if k not in page_keys or k.split(".")[0] in failed}
    merged.update(page_answers)
    _store_answers(response, instrument, merged)
    response.current_page = page.id
    response.language = context.language or response.language
    db.session.flush()
    return errors


def _store_answers(response: Response, instrument: Instrument, answers: dict[str, Any]) -> None:
    """Put ordinary answers on the response and pii answers in their own row."""
    ordinary, private = split_private(instrument, answers)
    response.answers = ordinary
    if private:
        if response.private is None:
            response.private = PrivateAnswers(answers=private)
        else:
            response.private.answers = private
    elif response.private is not None:
        response.private = None  # the respondent cleared it: keep nothing


def complete_response(response: Response, instrument: Instrument,
                      context: Context) -> list[AnswerError]:
    """Check the whole response once more and mark it complete; return errors if any.

    A later answer may have made an earlier one irrelevant; those are dropped here.
    """
    if response.status == "complete":
        return []
    answers, errors = validate_submission(instrument, response.all_answers, context)
    if errors:
        return errors
    now = utcnow()
    _store_answers(response, instrument, answers)
    response.status = "complete"
    response.submitted_at = response.submitted_at or now
    response.received_at = now
    db.session.flush()
    return []


# ----------------------------------------------------------------------------- the API

@dataclass
class SubmitResult:
    """``outcome`` is created, duplicate, conflict or invalid."""
    outcome: str
    response: Response | None = None
    errors: list[AnswerError] = field(default_factory=list)


def payload_hash(campaign_code: str, answers: dict[str, Any]) -> str:
    canonical = json.dumps({"campaign": campaign_code, "answers": answers},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def submit_response(campaign: Campaign, version: InstrumentVersion, instrument: Instrument, *,
                    submission_id: uuid.UUID, language: str, answers: dict[str, Any],
                    started_at: dt.datetime | None = None,
                    submitted_at: dt.datetime | None = None, source: str = "api") -> SubmitResult:
    """Store a whole, complete response exactly once.

    The same submission id with the same answers is a retry (``duplicate``, and
    nothing changes); with other answers it is a ``conflict``. The database's
    unique constraint decides races: an INSERT ... ON CONFLICT DO NOTHING lets
    exactly one of any number of simultaneous requests create the row.
    """
    digest = payload_hash(campaign.code, answers)
    existing = _response_by_submission(submission_id)
    if existing is not None:
        return SubmitResult("duplicate" if existing.payload_hash == digest else "conflict", existing)

    context = queries.response_context(campaign, language)
    clean, errors = validate_submission(instrument, answers, context)
    if errors:
        return SubmitResult("invalid", errors=errors)
    now = utcnow()
    ordinary, private = split_private(instrument, clean)
    inserted = _insert_response(
        submission_id=submission_id, campaign_id=campaign.id, instrument_version_id=version.id,
        language=language, status="complete", answers=ordinary, payload_hash=digest,
        source=source, started_at=started_at or now, submitted_at=submitted_at or now,
        received_at=now)
    response = _response_by_submission(submission_id)
    if inserted:
        if private:
            db.session.add(PrivateAnswers(response_id=response.id, answers=private))
            db.session.flush()
        return SubmitResult("created", response)
    return SubmitResult("duplicate" if response.payload_hash == digest else "conflict", response)


def _response_by_submission(submission_id: uuid.UUID) -> Response | None:
    return db.session.scalar(sa.select(Response).where(Response.submission_id == submission_id)
                             .execution_options(populate_existing=True))


def _insert_response(**values) -> bool:
    """INSERT the response unless its submission id exists; True if this call inserted it."""
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    values.setdefault("started_at", utcnow())
    values["updated_at"] = utcnow()
    for _ in range(5):
        # No conflict target: a clash on the resume code is skipped too (no savepoint,
        # which pysqlite handles badly), and told apart from a retry just below.
        statement = insert(Response).values(resume_code=new_resume_code(), **values) \
            .on_conflict_do_nothing().returning(Response.id)
        if db.session.execute(statement).first() is not None:
            return True
        if _response_by_submission(values["submission_id"]) is not None:
            return False
    raise RuntimeError("could not draw an unused resume code")


# ----------------------------------------------------------------------------- users

def create_user(email: str, password: str, roles: Iterable[str]) -> User:
    user = User(email=email.strip().lower(), roles=",".join(sorted(set(roles))))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, email: str, roles: Iterable[str], active: bool,
                password: str | None = None) -> None:
    user.email = email.strip().lower()
    user.roles = ",".join(sorted(set(roles)))
    user.active = active
    if password:
        user.set_password(password)
    db.session.flush()


# ----------------------------------------------------------------------------- demo data

DEMO_ADMIN_EMAIL = "admin@example.org"


@dataclass
class DemoResult:
    created: bool
    password: str | None = None
    campaigns: list[Campaign] = field(default_factory=list)
    sessions: list[FocusGroupSession] = field(default_factory=list)
    responses: int = 0


def seed_demo(*, responses_per_campaign: int = 24, seed: int = 7) -> DemoResult:
    """On a database with no users, add an admin, campaigns for every loaded
    instrument, and synthetic responses (through submit_response, the API's path).

    Does nothing on a database that already has users, so re-running keeps data.
    """
    from surveyapp.domain.synthetic import synthetic_answers

    if db.session.scalar(sa.select(User.id).limit(1)) is not None:
        return DemoResult(created=False)
    password = secrets.token_urlsafe(12)
    create_user(DEMO_ADMIN_EMAIL, password, ["admin", "facilitator", "analyst"])
    riverside = get_or_create_site("Riverside", "North of the river, around the market")
    hillcrest = get_or_create_site("Hillcrest", "Estates on the hill")
    rng = random.Random(seed)
    result = DemoResult(created=True, password=password)
    instrument_ids = db.session.scalars(
        sa.select(InstrumentVersion.instrument_id).where(InstrumentVersion.kind == "survey")
        .distinct().order_by(InstrumentVersion.instrument_id))
    for instrument_id in instrument_ids:
        deployments = [(riverside, "baseline", 0.45)]
        if instrument_id == "community-capacity":
            # A baseline and a follow-up at two sites: what scoring compares later.
            deployments = [(riverside, "baseline", 0.4), (riverside, "follow-up", 0.6),
                           (hillcrest, "baseline", 0.5)]
        for site, wave, tendency in deployments:
            campaign = create_campaign(instrument_id, site, wave)
            version = queries.campaign_version(campaign)
            instrument = queries.instrument_of(version)
            for _ in range(responses_per_campaign):
                language = rng.choice(instrument.languages)
                context = queries.response_context(campaign, language)
                answers = synthetic_answers(instrument, rng, context, tendency)
                outcome = submit_response(
                    campaign, version, instrument, submission_id=uuid.UUID(int=rng.getrandbits(128)),
                    language=language, answers=answers, source="demo")
                result.responses += outcome.outcome == "created"
            result.campaigns.append(campaign)
    admin = db.session.scalar(sa.select(User).where(User.email == DEMO_ADMIN_EMAIL))
    for guide in queries.latest_versions("focus_group"):
        result.sessions.append(_demo_session(guide, riverside, admin))
    return result


DEMO_TRANSCRIPT = """[00:02:10] F1: Let's start with what you like about living here.
P1: The market on Saturdays. Everyone knows each other there.
P2: I like that the neighbours look out for the older people on our street.
[00:03:45] P3: The park, when the lights work.
It is not safe after dark when they are broken.
P4: My children go to the youth club, when it is open.
F1: What is missing?
P5: A place for teenagers in the evening. The club closes at six.
P2: And someone to call when there is a problem that is not an emergency."""


def _demo_session(guide: InstrumentVersion, site: Site, admin: User | None) -> FocusGroupSession:
    """A focus group with a short transcript under the guide's first prompt."""
    from surveyapp.domain.transcripts import parse_quick_entry

    instrument = queries.instrument_of(guide)
    session = create_session(
        guide_version=guide, site=site, wave="baseline", held_on=dt.date.today(),
        place="Riverside community centre", language=instrument.default_language,
        facilitators=[admin] if admin else [], consent_given=True, created_by=admin,
        participants=[ParticipantInfo(label=f"P{n}", role=role) for n, role in
                      enumerate(["resident", "resident", "youth", "business_owner", "community_worker"], 1)])
    parsed = parse_quick_entry(DEMO_TRANSCRIPT, [f"P{n}" for n in range(1, 6)] + ["F1"])
    add_segments(session, instrument.prompts[0].id, parsed.segments, uuid.UUID(int=session.id))
    return session


# ----------------------------------------------------------------------------- focus groups

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
        guide_id=guide_version.instrument_id, guide_version=guide_version, site=site, wave=wave,
        held_on=held_on, place=place, language=language, consent_given=consent_given,
        consent_note=consent_note, fields=fields or {}, created_by_id=created_by.id if created_by else None,
        facilitators=list(facilitators),
        participants=[Participant(**vars(p)) for p in participants])
    db.session.add(session)
    db.session.flush()
    return session


def add_participant(session: FocusGroupSession, info: ParticipantInfo) -> Participant:
    participant = Participant(session=session, **vars(info))
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
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    now = utcnow()
    statement = insert(Segment).values(
        session_id=session.id, prompt_id=prompt_id, position=_next_position(session.id, prompt_id),
        speaker=speaker.strip().upper(), text=text.strip(), start_seconds=start_seconds,
        client_id=client_id, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["client_id"]).returning(Segment.id)
    return db.session.execute(statement).first() is not None


def add_segments(session: FocusGroupSession, prompt_id: str, parsed, batch_id: uuid.UUID) -> int:
    """Append parsed segments (quick entry, a file) in order; return how many were new.

    Each segment's client_id is derived from the batch id and its place in the batch,
    so submitting the same paste twice saves it once.
    """
    added = 0
    for index, segment in enumerate(parsed):
        added += add_segment(session, prompt_id, speaker=segment.speaker or "?", text=segment.text,
                             start_seconds=segment.start_seconds,
                             client_id=uuid.uuid5(batch_id, str(index)))
    return added


def edit_segment(segment: Segment, *, speaker: str, text: str, start_seconds: int | None) -> None:
    segment.speaker = speaker.strip().upper()
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
