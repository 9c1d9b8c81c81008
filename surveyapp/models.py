"""Tables. Writes go through surveyapp.operations; this module only declares.

Answers live in one JSON document per response (keyed by answer key, see
surveyapp.domain.answers): an export of 100,000 responses is then one indexed
scan of one table, and an edited instrument never needs a schema change.
"""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from surveyapp.domain.disclosure import new_record_key
from surveyapp.extensions import db

JSONDocument = sa.JSON().with_variant(JSONB(), "postgresql")

RESPONSE_STATUSES = ("partial", "complete")
CAMPAIGN_STATUSES = ("draft", "open", "closed")
ROLES = ("admin", "facilitator", "analyst", "partner")
# admin is global (users.roles); these are held per project (project_members). A partner
# (a council, a police department) reads aggregates only: never one resident's answers.
PROJECT_ROLES = ("facilitator", "analyst", "partner")
DEFAULT_WAVES = ("baseline", "follow-up 1")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class InstrumentVersion(db.Model):
    """One edition of an instrument file, keyed by the hash of its content."""
    __tablename__ = "instrument_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="survey")
    version_label: Mapped[str] = mapped_column(sa.String(100))
    content_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    source: Mapped[str] = mapped_column(sa.Text)
    source_path: Mapped[str] = mapped_column(sa.String(500), default="")
    loaded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Project(db.Model):
    """A partner organisation's work: it owns sites, campaigns and focus-group sessions.

    Facilitators and analysts see only the projects they are members of; admins see all.
    ``waves`` lists the project's wave names in order: campaigns take their wave from it,
    so a baseline and a follow-up can be compared. ``min_cell_size`` is the smallest
    group a result may be shown for (small-cell suppression).
    """
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    waves: Mapped[list] = mapped_column(JSONDocument, default=lambda: list(DEFAULT_WAVES))
    min_cell_size: Mapped[int] = mapped_column(default=5)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ProjectMember(db.Model):
    """A user holding one of PROJECT_ROLES in one project."""
    __tablename__ = "project_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))

    project: Mapped[Project] = relationship(lazy="joined")
    user: Mapped["User"] = relationship(back_populates="memberships")

    __table_args__ = (
        sa.UniqueConstraint("project_id", "user_id", "role"),
        sa.CheckConstraint(f"role IN {PROJECT_ROLES}", name="role"),
    )


class Site(db.Model):
    """A neighbourhood or community where campaigns and focus groups take place."""
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    area: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    project: Mapped[Project] = relationship(lazy="joined")

    # Two partners may each have a "Riverside"; within one project a name means one place.
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)


class Campaign(db.Model):
    """An instrument deployed to a site and a wave, reached at /s/<code>.

    ``instrument_version_id`` pins the edition the campaign was created with, so
    the waves of a project are answered on the same items (campaigns created before
    pinning was the rule may have it empty: they follow the latest version). At most
    one campaign per instrument, site and wave is open at a time.
    """
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    instrument_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("instrument_versions.id"))
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    wave: Mapped[str] = mapped_column(sa.String(50))
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    unlisted: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closes_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    site: Mapped[Site] = relationship(lazy="joined")
    project: Mapped[Project] = relationship()
    pinned_version: Mapped[InstrumentVersion | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(f"status IN {CAMPAIGN_STATUSES}", name="status"),
        # Two open campaigns for one instrument, site and wave would split its responses.
        sa.Index("uq_campaigns_open_identity", "instrument_id", "site_id", "wave", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
    )


class Response(db.Model):
    """One respondent's answers to one campaign, partial until submitted.

    ``submission_id`` is generated by the client (the consent form or an offline
    device) and is unique in the database, so a double tap or a retried request
    can never store a response twice.
    """
    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    instrument_version_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_versions.id"))
    language: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(10), default="partial")
    resume_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    answers: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    # sha256 of the canonical submitted payload: tells a retry (same) from a conflict (different).
    payload_hash: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(10), default="web")
    current_page: Mapped[str | None] = mapped_column(sa.String(100))
    started_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                    onupdate=utcnow)
    # submitted_at is the device's clock (an offline queue may send hours later);
    # received_at is ours.
    submitted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Fixed random key for disclosure control (domain/disclosure.py): counts shown to
    # partners and the public are rounded by SUM(record_key) of their records.
    record_key: Mapped[int] = mapped_column(sa.Integer, default=new_record_key)

    campaign: Mapped[Campaign] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    private: Mapped["PrivateAnswers | None"] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True)
    draft: Mapped["ResponseDraft | None"] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)

    @property
    def all_answers(self) -> dict:
        """Every answer, the private ones (pii questions) included."""
        return {**self.answers, **(self.private.answers if self.private else {})}

    __table_args__ = (
        sa.CheckConstraint(f"status IN {RESPONSE_STATUSES}", name="status"),
        # Exports and counts read one campaign's complete responses in id order.
        sa.Index("ix_responses_campaign_status", "campaign_id", "status", "id"),
    )


class ResponseScore(db.Model):
    """A complete response's score (0-100) in one capacity domain of its instrument version.

    Written when the response completes (and by ``surveyapp scores backfill``), so that
    results read a narrow table with a plain GROUP BY on SQLite and PostgreSQL alike,
    never 100,000 answer documents. ``score`` is None when fewer than the required share
    of the domain's items were answered; ``n_items`` says how many were.
    """
    __tablename__ = "response_scores"

    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    score: Mapped[float | None] = mapped_column(sa.Float)
    n_items: Mapped[int] = mapped_column()


class PrivateAnswers(db.Model):
    """Answers to ``pii: true`` questions, kept apart from the response's other answers.

    The consent text promises that contact details are stored separately: exports
    and analysis read ``responses.answers`` and never this table, and the contact
    details can be deleted on their own once they have served their purpose.
    """
    __tablename__ = "private_answers"

    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    answers: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                    onupdate=utcnow)

    response: Mapped[Response] = relationship(back_populates="private")


class ResponseDraft(db.Model):
    """What a respondent typed on a page and left without it passing, kept until it does.

    Back, "Save and continue later" and the language switch store the valid answers and
    must not drop the rest: the raw values wait here, per page (``{page id: {answer key:
    raw value}}``), and come back with their messages when the page is opened again, on
    any device. Kept apart from the answers so that exports and analysis never read
    them; deleted when the response is submitted.
    """
    __tablename__ = "response_drafts"

    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    pages: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                    onupdate=utcnow)


class PanelLink(db.Model):
    """One response's place in a panel: the keyed hash of the panel code its resident
    took (baseline) or typed (a later wave), so the two responses can be paired.

    ``link_key`` is :func:`surveyapp.domain.panel_code.link_key` under PANEL_SECRET, which
    lives in configuration and never in the database: a backup alone cannot be used to
    test guessed codes. The code itself is never stored. One row per response; one code
    per wave of a project (UNIQUE project, wave, link_key), so a second use in a wave is
    refused. Deleting the row (an admin's unlink) leaves the response as it was.
    """
    __tablename__ = "panel_links"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    response_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("responses.id", ondelete="CASCADE"), unique=True)
    wave: Mapped[str] = mapped_column(sa.String(50))  # as campaigns.wave
    link_key: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("project_id", "wave", "link_key", name="uq_panel_links_wave_key"),
    )


class User(UserMixin, db.Model):
    """A staff account. ``roles`` holds the global role ("admin" or nothing); facilitator
    and analyst are held per project, in ``memberships``."""
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    roles: Mapped[str] = mapped_column(sa.String(100), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Part of every session's and remember-me cookie's user id (get_id): raising it on a
    # password change or sign-out makes every cookie issued before it name nobody.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt, werkzeug's default

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    memberships: Mapped[list[ProjectMember]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan",
        passive_deletes=True)

    @property
    def role_set(self) -> frozenset[str]:
        """Every role the user holds: the global one and those held in any project."""
        return frozenset(r for r in self.roles.split(",") if r) | {
            m.role for m in self.memberships}

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles.split(",")

    def project_ids(self, *roles: str) -> set[int]:
        """The projects in which the user holds one of ``roles`` (admins: see is_admin)."""
        return {m.project_id for m in self.memberships if m.role in roles}

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active


SESSION_STATUSES = ("draft", "finalised")
PARTICIPANT_ROLES = ("resident", "youth", "business_owner", "police_officer",
                     "community_worker", "other")

session_facilitators = sa.Table(
    "session_facilitators", db.metadata,
    sa.Column("session_id", sa.ForeignKey("focus_group_sessions.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
)


class FocusGroup(db.Model):
    """One focus group held with a guide (an instrument of kind focus_group) at a site and wave.

    ``fields`` holds the answers to the guide's session_fields. A finalised session is
    read-only except to admins.
    """
    __tablename__ = "focus_group_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    guide_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    guide_version_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_versions.id"))
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    wave: Mapped[str] = mapped_column(sa.String(50))
    held_on: Mapped[dt.date] = mapped_column(sa.Date)
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    language: Mapped[str] = mapped_column(sa.String(16))
    consent_given: Mapped[bool] = mapped_column(default=False)
    consent_note: Mapped[str] = mapped_column(sa.Text, default="")
    fields: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finalised_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    site: Mapped[Site] = relationship(lazy="joined")
    project: Mapped[Project] = relationship()
    guide_version: Mapped[InstrumentVersion] = relationship()
    facilitators: Mapped[list[User]] = relationship(secondary=session_facilitators)
    participants: Mapped[list["Participant"]] = relationship(
        back_populates="session", order_by="Participant.id", cascade="all, delete-orphan")
    segments: Mapped[list["Segment"]] = relationship(
        back_populates="session", order_by="Segment.position",
        cascade="all, delete-orphan")

    __table_args__ = (sa.CheckConstraint(f"status IN {SESSION_STATUSES}", name="status"),)


class Participant(db.Model):
    """A pseudonymous speaker (P1, P2, ...) in a session's roster.

    ``real_name`` is optional and used only to find the name in the transcript and
    replace it with the pseudonym; it is never exported.
    """
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("focus_group_sessions.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(sa.String(20))
    age_band: Mapped[str] = mapped_column(sa.String(20), default="")
    gender: Mapped[str] = mapped_column(sa.String(30), default="")
    role: Mapped[str] = mapped_column(sa.String(30), default="")
    real_name: Mapped[str] = mapped_column(sa.String(200), default="")

    session: Mapped[FocusGroup] = relationship(back_populates="participants")

    __table_args__ = (sa.UniqueConstraint("session_id", "label"),)


class Segment(db.Model):
    """What one speaker said under one prompt, in order (``position`` within the prompt).

    ``client_id`` comes from the form that created the segment, so posting the same
    form twice (a double tap, a retry) adds it once.
    """
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("focus_group_sessions.id", ondelete="CASCADE"))
    prompt_id: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column()
    speaker: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.Text)
    start_seconds: Mapped[int | None] = mapped_column()
    client_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    # Disclosure control's fixed random key (see Response.record_key): theme counts of segments.
    record_key: Mapped[int] = mapped_column(sa.Integer, default=new_record_key)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                    onupdate=utcnow)

    session: Mapped[FocusGroup] = relationship(back_populates="segments")

    __table_args__ = (sa.Index("ix_segments_session_prompt", "session_id", "prompt_id", "position"),)


class PromptNote(db.Model):
    """The facilitator's notes and observations under one prompt of a session."""
    __tablename__ = "prompt_notes"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("focus_group_sessions.id", ondelete="CASCADE"), primary_key=True)
    prompt_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                    onupdate=utcnow)


class HeldForm(db.Model):
    """A staff form posted after the login expired, kept until its author logs back in.

    The session cookie is too small for a pasted transcript, so the text waits here,
    keyed by a random token the cookie holds.
    """
    __tablename__ = "held_forms"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # Whose login expired: only they get the text back, and the number kept per user is capped.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(sa.String(500))
    data: Mapped[dict] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


THEME_SOURCE_KINDS = ("question", "prompt")
ASSIGNED_BY = ("machine", "analyst", "codebook")
ASSIGNMENT_BASES = ("resolved", "proposal")


class ThemeRun(db.Model):
    """One run of the theme engine over one source (see surveyapp.operations.themes).

    ``source_key`` names the source: a question of one campaign, a question of an
    instrument across a project's campaigns, or a prompt of a guide across a project's
    finalised sessions. ``parameters`` is ThemeParameters as plain data (language, k or
    None for auto, bounds, seed, stop words, chosen k, engine version); ``themes`` the
    engine's themes as found (label, key phrases, count, share, quotes, sentiment), kept
    as a record even after analysts rename or merge the live ones.
    """
    __tablename__ = "theme_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    source_key: Mapped[str] = mapped_column(sa.String(300), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    language: Mapped[str] = mapped_column(sa.String(16))
    engine_version: Mapped[str] = mapped_column(sa.String(20))
    parameters: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    themes: Mapped[list] = mapped_column(JSONDocument, default=list)
    item_count: Mapped[int] = mapped_column(default=0)
    unthemed: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.CheckConstraint(f"kind IN {THEME_SOURCE_KINDS}", name="kind"),)


class Theme(db.Model):
    """A theme of one source, as analysts see it: it outlives the run that found it.

    A re-run matches its themes to these by overlap of members and updates the machine
    fields (key phrases, quotes, sentiment); ``label`` is the analyst's once ``renamed``.
    ``run_id`` is the run that last found it (None: made by an analyst, e.g. a split).
    """
    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(sa.String(300), index=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("theme_runs.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(sa.String(300))
    machine_label: Mapped[str] = mapped_column(sa.String(300), default="")
    renamed: Mapped[bool] = mapped_column(default=False)
    key_phrases: Mapped[list] = mapped_column(JSONDocument, default=list)
    quotes: Mapped[list] = mapped_column(JSONDocument, default=list)
    sentiment: Mapped[dict | None] = mapped_column(JSONDocument)
    # The codebook theme's id this row stands for (None: found by the engine or made by an
    # analyst). Codebook themes are kept apart from the engine's: a run never pairs or drops them.
    codebook_code: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ThemeAssignment(db.Model):
    """One item's theme: an answer (``response_id`` + ``answer_key``) or a segment.

    Machine rows are replaced by every run. An analyst row (``assigned_by`` "analyst";
    ``theme_id`` None means "no theme") wins over the machine and survives re-runs while
    the item's text still has ``text_digest``; when the text changed (an edited or
    redacted segment) it stays and is flagged ``needs_review``. A codebook row
    (``assigned_by`` "codebook") is made by applying the codebook, one per matching code
    (an item may match several), with the keywords that matched in ``evidence``; runs
    leave it, and flag it like an analyst's when the text changes.
    """
    __tablename__ = "theme_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(sa.String(300))
    assigned_by: Mapped[str] = mapped_column(sa.String(10))
    theme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("themes.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("theme_runs.id", ondelete="CASCADE"))
    response_id: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("responses.id", ondelete="CASCADE"))
    answer_key: Mapped[str | None] = mapped_column(sa.String(200))
    segment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("segments.id", ondelete="CASCADE"))
    text_digest: Mapped[str] = mapped_column(sa.String(64))
    needs_review: Mapped[bool] = mapped_column(default=False)
    evidence: Mapped[list | None] = mapped_column(JSONDocument)
    # Who made an analyst row, and on what basis (ASSIGNMENT_BASES; None: set on the theme
    # page): "resolved" by coders after double coding, or a "proposal" of the classifier
    # that an analyst accepted (``confidence`` its probability, ``evidence`` its words).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    basis: Mapped[str | None] = mapped_column(sa.String(20))
    confidence: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(f"assigned_by IN {ASSIGNED_BY}", name="assigned_by"),
        sa.CheckConstraint("(response_id IS NULL) != (segment_id IS NULL)", name="one_item"),
        sa.Index("ix_theme_assignments_source", "source_key", "assigned_by"),
    )


JOB_STATES = ("queued", "running", "done", "failed", "expired")


class Job(db.Model):
    """A unit of background work (see surveyapp.jobs). ``parameters`` is the
    kind's input as plain data; ``result_name`` the file's name under JOB_RESULTS_DIR
    once done; ``heartbeat_at`` moves while it runs, so a silent one can be failed."""
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    parameters: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    state: Mapped[str] = mapped_column(sa.String(10), default="queued", index=True)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column()
    message: Mapped[str] = mapped_column(sa.Text, default="")
    result_name: Mapped[str | None] = mapped_column(sa.String(200))
    download_name: Mapped[str | None] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (sa.CheckConstraint(f"state IN {JOB_STATES}", name="state"),)


class AuditEvent(db.Model):
    """Who did what, when: one row per change a person makes (surveyapp.operations.audit).

    Append-only: the app has no update or delete path, and migration 0010_audit_events
    adds triggers that make the database refuse UPDATE and DELETE on this table.
    ``actor_user_id`` and ``project_id`` are plain numbers, not foreign keys, so an event
    outlives the account or project it names (a cascade would have to change the row);
    ``actor`` keeps the label the actor had then (an email, "cli" or "system").
    ``details`` never holds personal data: no removed text, no answers, no passwords.
    ``ip_hash`` is a keyed hash of the client address (see audit.ip_hash), not the address.
    """
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(100), index=True)
    project_id: Mapped[int | None] = mapped_column(index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(50))
    target_id: Mapped[str | None] = mapped_column(sa.String(100))
    details: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    ip_hash: Mapped[str | None] = mapped_column(sa.String(32))


class ViewEvent(db.Model):
    """Who looked at what, when: one row per page or file of residents' data a person
    reads (a response, a transcript, a theme page, a dashboard, an export); see
    surveyapp.operations.audit.viewed.

    Its own table, not audit_events: reads outnumber changes by orders of magnitude, so
    the change log stays small and the page that lists reads needs its own indexes, one per
    filter, each ending in (at, id), the keyset order of the page (newest first).
    Counts only, by construction: there is no column that could hold text from the data.
    ``object_kind``/``object_id`` name what was read ("response" 812, "campaign" 5,
    "question" "community-capacity/safer_ideas"); ``scope`` narrows it with an identifier
    from the URL (a prompt id, a questionnaire id, a file format), never free text;
    ``count`` is how much was shown (answers, segments, texts, charts, exported responses).
    Like audit_events, append-only (migration 0015_view_events adds the triggers), and
    ``user_id``/``project_id`` are plain numbers so an event outlives its account or project.
    """
    __tablename__ = "view_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column()
    actor: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(40))
    object_kind: Mapped[str] = mapped_column(sa.String(30))
    object_id: Mapped[str] = mapped_column(sa.String(200))
    project_id: Mapped[int | None] = mapped_column()
    scope: Mapped[str | None] = mapped_column(sa.String(100))
    count: Mapped[int | None] = mapped_column()
    ip_hash: Mapped[str | None] = mapped_column(sa.String(32))

    __table_args__ = (
        sa.Index("ix_view_events_at", "at", "id"),
        sa.Index("ix_view_events_user", "user_id", "at", "id"),
        sa.Index("ix_view_events_object", "object_kind", "object_id", "at", "id"),
        sa.Index("ix_view_events_project", "project_id", "at", "id"),
        sa.Index("ix_view_events_action", "action", "at", "id"),
    )


PUBLICATION_STATES = ("unpublished", "published")


class Publication(db.Model):
    """A campaign's results, published back to its site's residents at /r/<campaign code>/.

    One per campaign (an instrument at one site and wave): the public page and the
    printed one-pager are per site and wave, which is what a community meeting discusses.
    ``next_steps`` is the staff's "what happens next" text, ``{language: text}`` for the
    instrument's languages. ``state`` is "published" while the page is up; unpublishing
    keeps the row (and what was prepared) but takes the page down at once.
    """
    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(sa.String(12), default="unpublished")
    next_steps: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    published_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                    onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    published_by: Mapped[User | None] = relationship()
    approved_quotes: Mapped[list["ApprovedQuote"]] = relationship(
        back_populates="publication", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (sa.CheckConstraint(f"state IN {PUBLICATION_STATES}", name="state"),)


class ApprovedQuote(db.Model):
    """An analyst's approval of one theme quote for one publication.

    Keyed by the quote's digest (sha256 of its text), not a copy of it: a re-run that
    changes the theme's quotes, or an edited answer, leaves the approval matching
    nothing, so a quote nobody approved can never appear publicly.
    """
    __tablename__ = "approved_quotes"

    publication_id: Mapped[int] = mapped_column(
        sa.ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    approved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    publication: Mapped[Publication] = relationship(back_populates="approved_quotes")


class CodingSample(db.Model):
    """A random sample of one theme source's items, coded blind by two or more analysts
    (issue 24 item 2; operations.coding). ``refs`` are the sampled items' refs in the
    order drawn by ``seed`` from the source's items at the time, so the draw can be
    repeated; the source is named as queries.themes.Source names it."""
    __tablename__ = "coding_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    source_key: Mapped[str] = mapped_column(sa.String(300), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    instrument_id: Mapped[str] = mapped_column(sa.String(100))
    item_id: Mapped[str] = mapped_column(sa.String(100))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column()
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    refs: Mapped[list] = mapped_column(JSONDocument, default=list)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    coders: Mapped[list["SampleCoder"]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", order_by="SampleCoder.position")

    __table_args__ = (sa.CheckConstraint(f"kind IN {THEME_SOURCE_KINDS}", name="kind"),)


class SampleCoder(db.Model):
    """One coder of a sample; ``done_at`` set once they have finished (then their codes
    are final, and once every coder is done, everyone may see everyone's)."""
    __tablename__ = "coding_sample_coders"

    sample_id: Mapped[int] = mapped_column(
        sa.ForeignKey("coding_samples.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    sample: Mapped[CodingSample] = relationship(back_populates="coders")
    user: Mapped[User] = relationship(lazy="joined")


class CodingDecision(db.Model):
    """One coder's code for one sampled item: ``theme_id`` None is "no theme". No foreign
    key on the theme: a re-run may drop a theme a coder chose, and the decision (with its
    ``label`` as chosen) must outlive it for the agreement figures."""
    __tablename__ = "coding_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("coding_samples.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(sa.String(250))
    theme_id: Mapped[int | None] = mapped_column()
    label: Mapped[str] = mapped_column(sa.String(300), default="")
    coded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("sample_id", "user_id", "ref"),)


class CodingResolution(db.Model):
    """The code the coders settled on for an item they disagreed on: who, which, when.
    It is also written as the item's analyst assignment (basis "resolved")."""
    __tablename__ = "coding_resolutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("coding_samples.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(sa.String(250))
    theme_id: Mapped[int | None] = mapped_column()
    label: Mapped[str] = mapped_column(sa.String(300), default="")
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    resolved_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("sample_id", "ref"),)
