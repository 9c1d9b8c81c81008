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
    Campaign, FocusGroup, Participant, Response, Segment, Site, Theme, ThemeAssignment, ThemeRun)


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


def source_items(source: Source, *, answers: Iterable[str] = (),
                 refs: Iterable[str] | None = None) -> list[Item]:
    """The source's items in a stable order (response or segment id). A question's item
    carries in ``answers`` only the answers named by ``answers`` (what a crosstab groups
    by): reading each response's whole document cost seconds at 20,000 answers. With
    ``refs``, only those items (the others named are not the source's)."""
    if refs is not None:
        refs = set(refs)
        if len(refs) > _MAX_IN:       # too many ids for one IN (): read all, keep those
            return [i for i in source_items(source, answers=answers) if i.ref in refs]
    if source.kind == "prompt":
        query = (sa.select(Segment, FocusGroup).join(FocusGroup)
                 .where(FocusGroup.project_id == source.project_id,
                        FocusGroup.guide_id == source.instrument_id,
                        FocusGroup.status == "finalised",
                        Segment.prompt_id == source.item_id)
                 .order_by(Segment.id))
        if refs is not None:
            query = query.where(Segment.id.in_(_ids(refs, "s")))
        rows = db.session.execute(query).all()
        # The speaker's roster entry (age band, gender, role) is what segments are grouped by.
        speakers = {(p.session_id, p.label): {k: v for k, v in (
            ("age_band", p.age_band), ("gender", p.gender), ("role", p.role)) if v}
            for p in db.session.scalars(sa.select(Participant).where(
                Participant.session_id.in_({focus_group.id for _, focus_group in rows})))}
        return [Item(f"s{segment.id}", segment.text, digest(segment.text), focus_group.language,
                     focus_group.site.name, focus_group.wave,
                     answers=speakers.get((focus_group.id, segment.speaker), {}), segment_id=segment.id)
                for segment, focus_group in rows]
    keys = [k for k in dict.fromkeys(answers) if k != source.item_id]
    # as_string: a themed question is text or textarea, so its answer is a JSON string.
    query = (sa.select(Response.id, Response.language, Site.name, Campaign.wave,
                       Response.answers[source.item_id].as_string(),
                       *(Response.answers[k] for k in keys))
             .select_from(Response).join(Campaign).join(Site, Site.id == Campaign.site_id)
             .where(Campaign.project_id == source.project_id,
                    Campaign.instrument_id == source.instrument_id,
                    Response.status == "complete")
             .order_by(Response.id))
    if source.campaign_id is not None:
        query = query.where(Campaign.id == source.campaign_id)
    if refs is not None:
        query = query.where(Response.id.in_(_ids(refs, "r", f":{source.item_id}")))
    items = []
    for response_id, language, site, wave, value, *grouped in db.session.execute(query):
        if isinstance(value, str) and value.strip():
            items.append(Item(f"r{response_id}:{source.item_id}", value, digest(value),
                              language, site, wave,
                              answers={k: v for k, v in zip(keys, grouped) if v is not None},
                              response_id=response_id, answer_key=source.item_id))
    return items


# SQLite allows 32,766 parameters in a statement; far fewer keep each query plan simple.
_MAX_IN = 900


def may_exceed(source: Source, count: int) -> bool:
    """Whether the source may hold more than ``count`` items, read from row counts alone
    (complete responses, or the prompt's segments of finalised sessions), never the texts:
    one statement that stops after ``count`` + 1 rows. An empty answer counts here, so it
    may say True for a source just under ``count`` texts."""
    if source.kind == "prompt":
        query = (sa.select(Segment.id).join(FocusGroup)
                 .where(FocusGroup.project_id == source.project_id,
                        FocusGroup.guide_id == source.instrument_id,
                        FocusGroup.status == "finalised", Segment.prompt_id == source.item_id))
    else:
        query = (sa.select(Response.id).join(Campaign)
                 .where(Campaign.project_id == source.project_id,
                        Campaign.instrument_id == source.instrument_id,
                        Response.status == "complete"))
        if source.campaign_id is not None:
            query = query.where(Campaign.id == source.campaign_id)
    return db.session.scalar(query.offset(count).limit(1)) is not None


def _ids(refs: Iterable[str], prefix: str, suffix: str = "") -> list[int]:
    """The database ids in refs of the form ``<prefix><id><suffix>`` (others are ignored)."""
    found = []
    for ref in refs:
        if ref.startswith(prefix) and ref.endswith(suffix):
            number = ref[len(prefix):len(ref) - len(suffix)]
            if number.isdigit() and len(number) < 19:
                found.append(int(number))
    return found


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


def placements(source: Source) -> tuple[dict[str, int], dict[str, int | None]]:
    """(machine, analyst): each by item ref, the theme id (analyst: None is "no theme"),
    read as plain rows (20,000 ORM rows took most of a second)."""
    machine, analyst = {}, {}
    for response_id, answer_key, segment_id, theme_id, by in db.session.execute(sa.select(
            ThemeAssignment.response_id, ThemeAssignment.answer_key, ThemeAssignment.segment_id,
            ThemeAssignment.theme_id, ThemeAssignment.assigned_by).where(
            ThemeAssignment.source_key == source.key,
            ThemeAssignment.assigned_by.in_(("machine", "analyst")))):
        ref = f"s{segment_id}" if segment_id is not None else f"r{response_id}:{answer_key}"
        (analyst if by == "analyst" else machine)[ref] = theme_id
    return machine, analyst


def effective_themes(source: Source) -> dict[str, int | None]:
    """Each assigned item's theme id (None: no theme): the analyst's, else the machine's."""
    machine, analyst = placements(source)
    return {**machine, **analyst}


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
    evidence: list[str]              # the keywords that matched (empty unless asked for)
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

    def listing(self, which: str) -> tuple[str, Theme | None, list]:
        """The texts a texts page lists: ``which`` is a theme id (its texts: ReviewItems,
        or CodedItems for a codebook theme), "none" (without a theme) or "check" (changed
        since an analyst set their theme). Returns (kind, theme, rows); kind is "theme",
        "codebook", "none" or "check"; ("", None, []) when ``which`` names nothing here."""
        if which == "none":
            return "none", None, self.unthemed
        if which == "check":
            return "check", None, self.flagged
        for t in self.themes:
            if str(t.theme.id) == which:
                return "theme", t.theme, t.items
        for c in self.codebook:
            if str(c.theme.id) == which:
                return "codebook", c.theme, c.items
        return "", None, []


def _analyst_digests(source: Source) -> dict[str, tuple[str, bool]]:
    """Each analyst assignment's (text digest, needs_review) by item ref."""
    return {(f"s{s}" if s is not None else f"r{r}:{k}"): (digest_, flag)
            for r, k, s, digest_, flag in db.session.execute(sa.select(
                ThemeAssignment.response_id, ThemeAssignment.answer_key, ThemeAssignment.segment_id,
                ThemeAssignment.text_digest, ThemeAssignment.needs_review).where(
                ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "analyst"))}


def _coded_rows(source: Source, evidence: bool) -> list[tuple[str, int, list[str], str, bool]]:
    """The codebook layer as (ref, theme id, evidence, digest, needs_review); the evidence
    is read only when asked for (it is what makes these rows heavy)."""
    if evidence:
        return [(item_ref(row), row.theme_id, list(row.evidence or []), row.text_digest,
                 row.needs_review) for row in codebook_assignments(source)]
    return [((f"s{s}" if s is not None else f"r{r}:{k}"), theme_id, [], digest_, flag)
            for r, k, s, theme_id, digest_, flag in db.session.execute(sa.select(
                ThemeAssignment.response_id, ThemeAssignment.answer_key, ThemeAssignment.segment_id,
                ThemeAssignment.theme_id, ThemeAssignment.text_digest, ThemeAssignment.needs_review)
                .where(ThemeAssignment.source_key == source.key,
                       ThemeAssignment.assigned_by == "codebook").order_by(ThemeAssignment.id))]


def review(source: Source, *, answers: Iterable[str] = (), evidence: bool = True) -> Review:
    """The source's items, each with its theme as the analyst sees it, themes largest first.
    ``answers``: the answers each item carries (what a crosstab groups by); ``evidence``:
    whether codebook matches carry the keywords that matched (the page lists them only on
    a texts page). Reads plain rows, one pass over the items: about 0.2 s at 20,000."""
    machine, analyst = placements(source)
    digests = _analyst_digests(source) if analyst else {}
    rows = []
    for item in source_items(source, answers=answers):
        if item.ref in analyst:
            stored, flag = digests.get(item.ref, ("", False))
            rows.append(ReviewItem(item, analyst[item.ref], "analyst", flag or stored != item.digest))
        elif item.ref in machine:
            rows.append(ReviewItem(item, machine[item.ref], "machine", False))
        else:
            rows.append(ReviewItem(item, None, None, False))
    total = len(rows) or 1
    members: dict[int | None, list[ReviewItem]] = {}
    for row in rows:
        members.setdefault(row.theme_id, []).append(row)
    themes = [ReviewTheme(t, members.get(t.id, []), len(members.get(t.id, [])) / total)
              for t in themes_of(source)]
    themes.sort(key=lambda t: (-len(t.items), t.theme.id))
    items = {r.item.ref: r.item for r in rows}
    coded: dict[int, list[CodedItem]] = {}
    for ref, theme_id, found, stored, flag in _coded_rows(source, evidence):
        item = items.get(ref)
        if item is not None:
            coded.setdefault(theme_id, []).append(CodedItem(item, found, flag or stored != item.digest))
    coded_themes = codebook_themes_of(source)
    # Parsing the codebook file costs more than the rest of a small page: only when shown.
    book = codebook_of(source) if coded_themes else None
    descriptions = {t["code"]: t["description"] for t in book.themes} if book else {}
    codebook = [CodebookTheme(t, descriptions.get(t.codebook_code, ""), coded.get(t.id, []),
                              len(coded.get(t.id, [])) / total) for t in coded_themes]
    path = codebook_path(source)
    return Review(source, latest_run(source), themes, members.get(None, []), rows,
                  codebook, str(path) if path else None)


def evidence_of(source: Source, theme: Theme, refs: Iterable[str]) -> dict[str, list[str]]:
    """The keywords that matched codebook ``theme`` in the items ``refs`` (one page's)."""
    wanted = set(refs)
    rows = db.session.scalars(sa.select(ThemeAssignment).where(
        ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "codebook",
        ThemeAssignment.theme_id == theme.id,
        sa.or_(ThemeAssignment.response_id.in_(_ids(wanted, "r", f":{source.item_id}")),
               ThemeAssignment.segment_id.in_(_ids(wanted, "s")))))
    return {item_ref(row): list(row.evidence or []) for row in rows}
