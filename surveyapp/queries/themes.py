"""Themes of one source as stored: its items, the assignments and themes over them, the
latest run, the instrument's codebook, and the review page's view of it all. Nothing here
writes (the runs and the analyst's edits are operations.themes).

A *source* is one question of one campaign, one question of an instrument across a
project's campaigns, or one prompt of a focus-group guide across a project's finalised
sessions. Its *items* are the complete responses' answers to the question (from
``responses.answers`` only: pii answers live elsewhere and are never read here) or the
prompt's segments as they read now (redacted). Every item is named by a *ref*:
``r<response id>:<answer key>`` or ``s<segment id>``.

Assignments are "machine" (replaced by each run), "analyst" (never replaced; they win
over the machine's) or "codebook" (a layer of their own, see ``codebook_assignments``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa
from flask import current_app

from surveyapp.domain import codebooks as codebook_files
from surveyapp.domain.instruments import Instrument
from surveyapp.extensions import db
from surveyapp.models import (
    Campaign, FocusGroup, Participant, Response, Segment, Theme, ThemeAssignment, ThemeRun)


TEXT_TYPES = ("text", "textarea")


@dataclass(frozen=True)
class Source:
    """What a run reads. ``kind`` is "question" or "prompt"; ``item_id`` the question's or
    prompt's id; ``campaign_id`` narrows a question to one campaign."""
    kind: str
    project_id: int
    instrument_id: str
    item_id: str
    campaign_id: int | None = None

    @property
    def key(self) -> str:
        return (f"{self.kind}:{self.project_id}:{self.campaign_id or '*'}:"
                f"{self.instrument_id}:{self.item_id}")


@dataclass
class Item:
    """One text of a source, with what crosstabs group it by."""
    ref: str
    text: str
    digest: str
    language: str
    site: str
    wave: str
    # The response's answers, or the speaker's age_band, gender and role (for segments).
    answers: dict = field(default_factory=dict)
    response_id: int | None = None
    answer_key: str | None = None
    segment_id: int | None = None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def themeable_questions(instrument: Instrument) -> list:
    """Questions whose answers can be themed: ``themes: true`` or free text, never pii."""
    return [q for q in instrument.questions
            if not q.pii and (q.themes or q.type in TEXT_TYPES)]


def source_items(source: Source) -> list[Item]:
    """The source's items in a stable order (response or segment id)."""
    if source.kind == "prompt":
        rows = db.session.execute(
            sa.select(Segment, FocusGroup).join(FocusGroup)
            .where(FocusGroup.project_id == source.project_id,
                   FocusGroup.guide_id == source.instrument_id,
                   FocusGroup.status == "finalised",
                   Segment.prompt_id == source.item_id)
            .order_by(Segment.id))
        rows = rows.all()
        # The speaker's roster entry (age band, gender, role) is what segments are grouped by.
        speakers = {(p.session_id, p.label): {k: v for k, v in (
            ("age_band", p.age_band), ("gender", p.gender), ("role", p.role)) if v}
            for p in db.session.scalars(sa.select(Participant).where(
                Participant.session_id.in_({focus_group.id for _, focus_group in rows})))}
        return [Item(f"s{segment.id}", segment.text, digest(segment.text), focus_group.language,
                     focus_group.site.name, focus_group.wave,
                     answers=speakers.get((focus_group.id, segment.speaker), {}), segment_id=segment.id)
                for segment, focus_group in rows]
    query = (sa.select(Response, Campaign).join(Campaign)
             .where(Campaign.project_id == source.project_id,
                    Campaign.instrument_id == source.instrument_id,
                    Response.status == "complete")
             .order_by(Response.id))
    if source.campaign_id is not None:
        query = query.where(Campaign.id == source.campaign_id)
    items = []
    for response, campaign in db.session.execute(query):
        value = response.answers.get(source.item_id)
        if isinstance(value, str) and value.strip():
            items.append(Item(f"r{response.id}:{source.item_id}", value, digest(value),
                              response.language, campaign.site.name, campaign.wave,
                              answers=response.answers, response_id=response.id,
                              answer_key=source.item_id))
    return items


def item_ref(assignment: ThemeAssignment) -> str:
    if assignment.segment_id is not None:
        return f"s{assignment.segment_id}"
    return f"r{assignment.response_id}:{assignment.answer_key}"


def assignments(source: Source) -> tuple[dict[str, ThemeAssignment], dict[str, ThemeAssignment]]:
    """(machine, analyst) assignments of the source, each by item ref (codebook rows are
    ``codebook_assignments``)."""
    machine, analyst = {}, {}
    for row in db.session.scalars(sa.select(ThemeAssignment).where(
            ThemeAssignment.source_key == source.key,
            ThemeAssignment.assigned_by.in_(("machine", "analyst")))):
        (analyst if row.assigned_by == "analyst" else machine)[item_ref(row)] = row
    return machine, analyst


def codebook_assignments(source: Source) -> list[ThemeAssignment]:
    return list(db.session.scalars(sa.select(ThemeAssignment).where(
        ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "codebook")
        .order_by(ThemeAssignment.id)))


def effective_themes(source: Source) -> dict[str, int | None]:
    """Each assigned item's theme id (None: no theme): the analyst's, else the machine's."""
    machine, analyst = assignments(source)
    chosen = {ref: row.theme_id for ref, row in machine.items()}
    chosen.update({ref: row.theme_id for ref, row in analyst.items()})
    return chosen


def themes_of(source: Source) -> list[Theme]:
    """The source's themes found by the engine or made by an analyst (not codebook ones)."""
    return list(db.session.scalars(sa.select(Theme).where(
        Theme.source_key == source.key, Theme.codebook_code.is_(None)).order_by(Theme.id)))


def codebook_themes_of(source: Source) -> list[Theme]:
    return list(db.session.scalars(sa.select(Theme).where(
        Theme.source_key == source.key, Theme.codebook_code.is_not(None)).order_by(Theme.id)))


def latest_run(source: Source) -> ThemeRun | None:
    return db.session.scalar(sa.select(ThemeRun).where(ThemeRun.source_key == source.key)
                             .order_by(ThemeRun.id.desc()).limit(1))


def codebook_folder() -> Path:
    """The shared codebooks shipped with the instruments (INSTRUMENTS_DIR/codebooks): the
    web app reads them and never writes them."""
    return Path(current_app.config["INSTRUMENTS_DIR"]) / codebook_files.CODEBOOK_FOLDER


def project_codebook_path(source: Source) -> Path:
    """Where the source's project keeps its own codebook of the source's instrument, made
    the first time an analyst of that project promotes a theme (CODEBOOKS_DIR, default
    instance/codebooks: ``<project id>/<instrument id>.yaml``). It may not exist."""
    folder = current_app.config.get("CODEBOOKS_DIR") or Path(current_app.instance_path) / "codebooks"
    return Path(folder) / str(int(source.project_id)) / f"{source.instrument_id}.yaml"


def codebook_path(source: Source) -> Path | None:
    """The codebook file the source is coded with: its project's own copy if it has one,
    else the shared one of its instrument: its own ``ID.yaml`` (even one that does not
    load, so that the analyst is told why), else a shared file naming it, or None. So a
    project's codebook starts as the shared one and changes only for that project."""
    for own in (project_codebook_path(source), codebook_folder() / f"{source.instrument_id}.yaml"):
        if own.is_file():
            return own
    return codebook_files.codebook_for(source.instrument_id, codebook_folder().parent)


def codebook_of(source: Source) -> "codebook_files.CodebookFile | None":
    """The source's instrument's codebook, checked; None when there is none or it does not
    load (``surveyapp instruments check`` names the problems)."""
    path = codebook_path(source)
    if path is None:
        return None
    try:
        return codebook_files.load_codebook(path)
    except codebook_files.CodebookFileError:
        return None


# ----------------------------------------------------------------------------- review

@dataclass
class ReviewItem:
    item: Item
    theme_id: int | None
    by: str | None                   # "machine", "analyst" or None (never assigned)
    needs_review: bool               # an analyst assignment made on a text that changed since


@dataclass
class ReviewTheme:
    theme: Theme
    items: list[ReviewItem]
    share: float

    @property
    def quotes(self) -> list[str]:
        """The engine's quotes; for a theme an analyst made, its first answers."""
        return list(self.theme.quotes) or [i.item.text for i in self.items[:3]]


@dataclass
class CodedItem:
    item: Item
    evidence: list[str]              # the keywords that matched
    needs_review: bool               # the text changed since the codebook was applied


@dataclass
class CodebookTheme:
    theme: Theme
    description: str
    items: list[CodedItem]
    share: float


@dataclass
class Review:
    source: Source
    run: ThemeRun | None
    themes: list[ReviewTheme]
    unthemed: list[ReviewItem]
    items: list[ReviewItem]
    codebook: list[CodebookTheme] = field(default_factory=list)
    codebook_path: str | None = None     # the instrument's codebook file, if it has one

    @property
    def flagged(self) -> list[ReviewItem]:
        return [i for i in self.items if i.needs_review]

    @property
    def codebook_flagged(self) -> list[CodedItem]:
        return [c for t in self.codebook for c in t.items if c.needs_review]

    def codebook_pairs(self) -> Iterable[tuple[int, Item]]:
        """(codebook theme id, item) for each match: an item counts once per code."""
        return ((t.theme.id, c.item) for t in self.codebook for c in t.items)


def review(source: Source) -> Review:
    """The source's items, each with its theme as the analyst sees it, themes largest first."""
    machine, analyst = assignments(source)
    rows = []
    for item in source_items(source):
        chosen = analyst.get(item.ref) or machine.get(item.ref)
        rows.append(ReviewItem(
            item, chosen.theme_id if chosen else None, chosen.assigned_by if chosen else None,
            bool(chosen and chosen.assigned_by == "analyst"
                 and (chosen.needs_review or chosen.text_digest != item.digest))))
    total = len(rows) or 1
    themes = [ReviewTheme(t, [r for r in rows if r.theme_id == t.id], 0.0) for t in themes_of(source)]
    for theme in themes:
        theme.share = len(theme.items) / total
    themes.sort(key=lambda t: (-len(t.items), t.theme.id))
    items = {r.item.ref: r.item for r in rows}
    coded: dict[int, list[CodedItem]] = {}
    for row in codebook_assignments(source):
        item = items.get(item_ref(row))
        if item is not None:
            coded.setdefault(row.theme_id, []).append(CodedItem(
                item, list(row.evidence or []), row.needs_review or row.text_digest != item.digest))
    book = codebook_of(source)
    descriptions = {t["code"]: t["description"] for t in book.themes} if book else {}
    codebook = [CodebookTheme(t, descriptions.get(t.codebook_code, ""), coded.get(t.id, []),
                              len(coded.get(t.id, [])) / total) for t in codebook_themes_of(source)]
    path = codebook_path(source)
    return Review(source, latest_run(source), themes, [r for r in rows if r.theme_id is None], rows,
                  codebook, str(path) if path else None)
