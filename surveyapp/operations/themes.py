"""Themes of one source: engine runs and the analyst's review that survives them.

A *source* is one question of one campaign, one question of an instrument across a
project's campaigns, or one prompt of a focus-group guide across a project's finalised
sessions. Its *items* are the complete responses' answers to the question (from
``responses.answers`` only: pii answers live elsewhere and are never read here) or the
prompt's segments as they read now (redacted). Every item is named by a *ref*:
``r<response id>:<answer key>`` or ``s<segment id>``.

How a review survives a re-run (``run_themes``):

* Machine assignments are replaced by each run; analyst assignments never are. An
  analyst assignment (a theme, or "no theme") wins over the machine's. It keeps the
  digest of the text it was made on; when a re-run finds the text changed (an edited or
  redacted segment) the assignment stays and is flagged ``needs_review``.
* Themes outlive runs. A re-run pairs each theme it finds with an existing theme of the
  source by the overlap of their members (Jaccard of the item refs, the existing theme's
  members as the analyst saw them), best pairs first, one to one, when the overlap is at
  least ``MATCH_OVERLAP``. A paired theme keeps its id, its assignments and, once renamed,
  its analyst's label; its key phrases, quotes and sentiment are the new run's. An
  unpaired found theme is new; an existing theme left unpaired goes unless an analyst
  assignment holds it (a split, a merge target).
* Merge and split make analyst assignments of the items they move, so a re-run that
  would pull them apart again does not undo them.

Runs are inline on a single server (a long run holds its request, or the command, until
it ends); with a job queue (REDIS_URL) the themes page enqueues a ``themes`` job
(operations/jobs.py) that a `surveyapp worker` runs through this same function.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import sqlalchemy as sa

from surveyapp.domain.instruments import Instrument
from surveyapp.domain.themes import ENGINE_VERSION, extract_themes
from surveyapp.extensions import db
from surveyapp.models import (
    Campaign, FocusGroupSession, Participant, Response, Segment, Theme, ThemeAssignment,
    ThemeRun, User)

# Two themes are the same theme when at least half of their joint members are shared.
MATCH_OVERLAP = 0.5
TEXT_TYPES = ("text", "textarea")


class ThemeRefused(ValueError):
    """An edit that cannot be made; ``code`` says why (empty_label, unknown_item,
    same_theme, nothing_chosen, other_source)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


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
            sa.select(Segment, FocusGroupSession).join(FocusGroupSession)
            .where(FocusGroupSession.project_id == source.project_id,
                   FocusGroupSession.guide_id == source.instrument_id,
                   FocusGroupSession.status == "finalised",
                   Segment.prompt_id == source.item_id)
            .order_by(Segment.id))
        rows = rows.all()
        # The speaker's roster entry (age band, gender, role) is what segments are grouped by.
        speakers = {(p.session_id, p.label): {k: v for k, v in (
            ("age_band", p.age_band), ("gender", p.gender), ("role", p.role)) if v}
            for p in db.session.scalars(sa.select(Participant).where(
                Participant.session_id.in_({session.id for _, session in rows})))}
        return [Item(f"s{segment.id}", segment.text, digest(segment.text), session.language,
                     session.site.name, session.wave,
                     answers=speakers.get((session.id, segment.speaker), {}), segment_id=segment.id)
                for segment, session in rows]
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


def _ref(assignment: ThemeAssignment) -> str:
    if assignment.segment_id is not None:
        return f"s{assignment.segment_id}"
    return f"r{assignment.response_id}:{assignment.answer_key}"


def assignments(source: Source) -> tuple[dict[str, ThemeAssignment], dict[str, ThemeAssignment]]:
    """(machine, analyst) assignments of the source, each by item ref."""
    machine, analyst = {}, {}
    for row in db.session.scalars(sa.select(ThemeAssignment).where(
            ThemeAssignment.source_key == source.key)):
        (analyst if row.assigned_by == "analyst" else machine)[_ref(row)] = row
    return machine, analyst


def effective_themes(source: Source) -> dict[str, int | None]:
    """Each assigned item's theme id (None: no theme): the analyst's, else the machine's."""
    machine, analyst = assignments(source)
    chosen = {ref: row.theme_id for ref, row in machine.items()}
    chosen.update({ref: row.theme_id for ref, row in analyst.items()})
    return chosen


def themes_of(source: Source) -> list[Theme]:
    return list(db.session.scalars(sa.select(Theme).where(Theme.source_key == source.key)
                                   .order_by(Theme.id)))


def latest_run(source: Source) -> ThemeRun | None:
    return db.session.scalar(sa.select(ThemeRun).where(ThemeRun.source_key == source.key)
                             .order_by(ThemeRun.id.desc()).limit(1))


def _plain(value):
    """Dataclasses and tuples as JSON-ready data."""
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _lock(source: Source) -> None:
    """Serialise writes to one source until the transaction ends. Without it two runs at
    once on PostgreSQL would each delete the machine assignments they saw and both insert
    theirs (every item twice). SQLite serialises writers itself."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(source.key.encode()).digest()[:8], "big", signed=True)
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def run_themes(source: Source, *, language: str | None = None, k: int | None = None,
               seed: int = 0, k_min: int = 2, k_max: int = 12, stop_words: Iterable[str] = (),
               user: User | None = None,
               progress: Callable[[Iterable], Iterable] | None = None,
               engine_progress: Callable[[float, str], None] | None = None) -> ThemeRun:
    """Run the engine over the source's items and store the run (see the module docstring
    for what happens to the themes and assignments already there). ``language`` defaults
    to the items' most common one. ``progress`` wraps the loop that stores assignments
    (the CLI's progress bar); ``engine_progress`` is handed to ``extract_themes`` as its
    ``progress(fraction, stage)`` callback. Flushes; the caller commits. Raises ValueError for bounds
    the engine refuses."""
    _lock(source)
    items = source_items(source)
    if language is None:
        language = Counter(i.language for i in items).most_common(1)[0][0] if items else "en"
    result = extract_themes([i.text for i in items], language, k, seed, k_min=k_min,
                            k_max=k_max, stop_words=stop_words, progress=engine_progress)
    run = ThemeRun(project_id=source.project_id, source_key=source.key, kind=source.kind,
                   language=language, engine_version=result.parameters.engine_version,
                   parameters=_plain(result.parameters), themes=_plain(result.themes),
                   item_count=len(items), unthemed=result.unthemed,
                   created_by_id=user.id if user else None)
    db.session.add(run)
    db.session.flush()

    found_members = [set() for _ in result.themes]
    for item, index in zip(items, result.assignments):
        if index is not None:
            found_members[index].add(item.ref)
    existing = themes_of(source)
    members = {t.id: set() for t in existing}
    for ref, theme_id in effective_themes(source).items():
        if theme_id in members:
            members[theme_id].add(ref)
    pairs = sorted(((_jaccard(found, members[t.id]), i, t.id)
                    for i, found in enumerate(found_members) for t in existing),
                   key=lambda p: (-p[0], p[1], p[2]))
    paired, taken = {}, set()
    for overlap, index, theme_id in pairs:
        if overlap >= MATCH_OVERLAP and index not in paired and theme_id not in taken:
            paired[index] = theme_id
            taken.add(theme_id)

    analyst = assignments(source)[1]
    db.session.execute(sa.delete(ThemeAssignment).where(
        ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "machine"))
    by_id = {t.id: t for t in existing}
    held = {row.theme_id for row in analyst.values()}
    for theme in existing:
        if theme.id not in taken and theme.id not in held:
            db.session.delete(theme)
    stored = []
    for index, found in enumerate(result.themes):
        theme = by_id.get(paired.get(index))
        if theme is None:
            theme = Theme(source_key=source.key, label=found.label)
            db.session.add(theme)
        if not theme.renamed:
            theme.label = found.label
        theme.machine_label, theme.run_id = found.label, run.id
        theme.key_phrases, theme.quotes = list(found.key_phrases), list(found.quotes)
        theme.sentiment = _plain(found.sentiment)
        stored.append(theme)
    db.session.flush()

    rows = []
    for item, index in (progress or iter)(list(zip(items, result.assignments))):
        if index is not None:
            rows.append({"source_key": source.key, "assigned_by": "machine",
                         "theme_id": stored[index].id, "run_id": run.id,
                         "response_id": item.response_id, "answer_key": item.answer_key,
                         "segment_id": item.segment_id, "text_digest": item.digest,
                         "needs_review": False})
    if rows:
        db.session.execute(sa.insert(ThemeAssignment), rows)
    current = {item.ref: item.digest for item in items}
    for ref, row in analyst.items():
        row.needs_review = current.get(ref) != row.text_digest
    db.session.flush()
    return run


# ----------------------------------------------------------------------------- review

def _item(source: Source, ref: str) -> Item:
    for item in source_items(source):
        if item.ref == ref:
            return item
    raise ThemeRefused("unknown_item")


def _theme_of(source: Source, theme: Theme | None) -> Theme | None:
    if theme is not None and theme.source_key != source.key:
        raise ThemeRefused("other_source")
    return theme


def _set_analyst(source: Source, item: Item, theme: Theme | None,
                 analyst: dict[str, ThemeAssignment]) -> None:
    row = analyst.get(item.ref)
    if row is None:
        row = ThemeAssignment(source_key=source.key, assigned_by="analyst",
                              response_id=item.response_id, answer_key=item.answer_key,
                              segment_id=item.segment_id)
        db.session.add(row)
        analyst[item.ref] = row
    row.theme_id = theme.id if theme is not None else None
    row.text_digest, row.needs_review = item.digest, False


def assign(source: Source, ref: str, theme: Theme | None) -> None:
    """The analyst's theme for one item (None: no theme); it clears a review flag."""
    _lock(source)
    theme = _theme_of(source, theme)
    _set_analyst(source, _item(source, ref), theme, assignments(source)[1])
    db.session.flush()


def rename_theme(source: Source, theme: Theme, label: str) -> None:
    """The analyst's label, kept by re-runs that find the same theme."""
    label = " ".join((label or "").split())[:300]
    if not label:
        raise ThemeRefused("empty_label")
    _theme_of(source, theme)
    theme.label, theme.renamed = label, True
    db.session.flush()


def merge_themes(source: Source, theme: Theme, into: Theme) -> None:
    """Move every item of ``theme`` to ``into`` (as analyst assignments) and drop ``theme``."""
    _lock(source)
    _theme_of(source, theme), _theme_of(source, into)
    if theme.id == into.id:
        raise ThemeRefused("same_theme")
    items = {item.ref: item for item in source_items(source)}
    analyst = assignments(source)[1]
    for ref, theme_id in effective_themes(source).items():
        if theme_id == theme.id and ref in items:
            _set_analyst(source, items[ref], into, analyst)
    db.session.flush()
    db.session.delete(theme)
    db.session.flush()


def split_theme(source: Source, theme: Theme, refs: Iterable[str], label: str) -> Theme:
    """A new theme named ``label`` holding the chosen items of ``theme``."""
    _lock(source)
    _theme_of(source, theme)
    label = " ".join((label or "").split())[:300]
    if not label:
        raise ThemeRefused("empty_label")
    chosen = set(refs)
    current = effective_themes(source)
    items = [i for i in source_items(source) if i.ref in chosen and current.get(i.ref) == theme.id]
    if not items:
        raise ThemeRefused("nothing_chosen")
    new = Theme(source_key=source.key, label=label, machine_label="", renamed=True,
                key_phrases=[], quotes=[])
    db.session.add(new)
    db.session.flush()
    analyst = assignments(source)[1]
    for item in items:
        _set_analyst(source, item, new, analyst)
    db.session.flush()
    return new



# ----------------------------------------------------------------------------- reading

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
class Review:
    source: Source
    run: ThemeRun | None
    themes: list[ReviewTheme]
    unthemed: list[ReviewItem]
    items: list[ReviewItem]

    @property
    def flagged(self) -> list[ReviewItem]:
        return [i for i in self.items if i.needs_review]


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
    return Review(source, latest_run(source), themes, [r for r in rows if r.theme_id is None], rows)
