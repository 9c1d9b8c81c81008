"""Themes of one source: engine runs and the analyst's review that survives them.

What a source, an item and a ref are, and every read of them, is in
``queries.themes``.

How a review survives a re-run (``run_themes``):

* Machine assignments are replaced by each run; analyst assignments never are. An
  analyst assignment (a theme, or "no theme") wins over the machine's. It keeps the
  digest of the text it was made on; when a re-run finds the text changed (an edited or
  redacted segment) the assignment stays and is flagged ``needs_review``.
* Themes outlive runs, and the analyst's decisions outlive them too
  (domain/theme_reruns.py, with ``MATCH_OVERLAP``). Each theme the run finds:

  - whose every text an analyst placed is dropped: a merged-away theme found again does
    not come back as a theme of 0 texts;
  - whose texts the analyst left alone overlap an existing theme's (Jaccard at least
    ``MATCH_OVERLAP``, best pairs first, one to one) *is* that theme: same id, same
    label once renamed (a renamed label always sticks), the run's key phrases, quotes,
    tone and machine label;
  - most of whose texts an analyst placed in one theme lands in that theme: a merged
    theme's texts, new ones like them included, go to the surviving theme; mostly placed
    under "no theme", it is dropped and its other texts stay without a theme;
  - else is a new theme.

  An existing theme stays when a found theme lands on it or an analyst placed a current
  text in it (a split, a merge target); every other one goes, so no theme is left with
  0 texts.
* Every theme shows what its own texts say. Where a theme's texts are not exactly those
  the engine described (an analyst moved some in or out, or it took in another found
  theme), its quotes and key phrases are kept only if its own texts hold them, and its
  tone (English) is scored again over its own texts. Merge, split and assign do the
  same at once for the themes they change.
* Merge and split make analyst assignments of the items they move, so a re-run that
  would pull them apart again does not undo them.

Deductive coding (``apply_codebook``): the instrument's codebook as the project sees it
(its own copy, else the shared one in ``INSTRUMENTS_DIR/codebooks``; see
queries.themes.codebook_path and domain/codebooks.py) is matched against every item in
the item's own language; each match is a "codebook" assignment (an item may match several
codes) to a theme row standing for the code (``Theme.codebook_code``). Codebook themes
and rows are a layer of their own: a run neither pairs nor drops them, applying the
codebook again replaces only them, and a row whose text changed since is flagged like an
analyst's. ``promote_theme`` writes a theme into the project's own copy of that codebook
(copied from the shared one the first time): a promotion in one project never changes the
coding of another, and the shared files under INSTRUMENTS_DIR are never written.

A run is ``compute_run`` (read the items, run the engine: no writes, no lock) then
``store_run`` (lock the source, write); ``run_themes`` does both for the CLI and short
runs from the page, and the "themes" job kind (jobs/kinds.py) for long ones.
With a job queue (REDIS_URL, several servers) every run from the page is a job that a
`surveyapp worker` runs.

Each change records its audit event (see operations.audit), whichever of the page, the
command or the job makes it: "theme.run", "theme.codebook_applied", "theme.renamed",
"theme.merged", "theme.split", "theme.assigned", "codebook.theme_promoted"; the details
always name the source.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

import sqlalchemy as sa

from surveyapp.domain import codebooks as codebook_files
from surveyapp.domain.codebook import codebook_from_data, match_codebook
from surveyapp.domain import theme_reruns
from surveyapp.domain.themes import (DEFAULT_K_MAX, DEFAULT_K_MIN, MAX_QUOTES, ThemeResult,
                                     extract_themes, vader)
from surveyapp.domain.themes_text import language_code
from surveyapp.extensions import db
from surveyapp.models import Theme, ThemeAssignment, ThemeRun, User
from surveyapp.operations.audit import INTERNAL, Actor, record
from surveyapp.queries.themes import (
    Item, Source, assignments, codebook_assignments, codebook_of, codebook_path,
    codebook_themes_of, effective_themes, item_ref, placements, project_codebook_path, source_items,
    themes_of)


# Two themes are the same theme when at least half of their joint members are shared.
MATCH_OVERLAP = 0.5


class ThemeRefused(ValueError):
    """An edit that cannot be made; ``code`` says why (empty_label, unknown_item,
    same_theme, nothing_chosen, other_source, no_codebook, no_keywords, no_description,
    codebook_invalid, codebook_theme); ``problems`` the codebook check's messages."""

    def __init__(self, code: str, problems: list[str] | None = None):
        super().__init__(code)
        self.code = code
        self.problems = problems or []


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


def _record(action: str, source: Source, actor: Actor, ip: str | None, *,
            target_type: str = "theme", target_id=None, details: dict | None = None) -> None:
    record(action, actor=actor, ip=ip, project_id=source.project_id, target_type=target_type,
           target_id=target_id, details={"source": source.key, **(details or {})})


@dataclass
class ComputedRun:
    """What ``compute_run`` read and found, for ``store_run`` to write; ``k`` is the
    number of themes asked for (None: the engine chose)."""
    items: list[Item]
    language: str
    result: ThemeResult
    k: int | None = None


def compute_run(source: Source, *, language: str | None = None, k: int | None = None,
                seed: int = 0, k_min: int = DEFAULT_K_MIN, k_max: int = DEFAULT_K_MAX, stop_words: Iterable[str] = (),
                engine_progress: Callable[[float, str], None] | None = None) -> ComputedRun:
    """Read the source's items and run the engine; writes nothing. ``language`` defaults to
    the items' most common one; the stop words are ``stop_words`` plus those the
    instrument's codebook lists for that language. Raises ValueError for bounds the engine
    refuses."""
    items = source_items(source)
    if language is None:
        language = Counter(i.language for i in items).most_common(1)[0][0] if items else "en"
    book = codebook_of(source)
    extra = list(stop_words) + list(book.stop_words_for(language_code(language)) if book else ())
    result = extract_themes([i.text for i in items], language, k, seed, k_min=k_min,
                            k_max=k_max, stop_words=extra, progress=engine_progress)
    return ComputedRun(items, language, result, k)


def run_themes(source: Source, *, language: str | None = None, k: int | None = None,
               seed: int = 0, k_min: int = DEFAULT_K_MIN, k_max: int = DEFAULT_K_MAX, stop_words: Iterable[str] = (),
               user: User | None = None,
               progress: Callable[[Iterable], Iterable] | None = None,
               engine_progress: Callable[[float, str], None] | None = None,
               actor: Actor = INTERNAL, ip: str | None = None) -> ThemeRun:
    """Run the engine over the source's items and store the run (see the module docstring
    for what happens to the themes and assignments already there): ``compute_run`` under
    the source's lock, then ``store_run``. ``progress`` wraps the loop that stores
    assignments (the CLI's progress bar); ``engine_progress`` is handed to
    ``extract_themes`` as its ``progress(fraction, stage)`` callback. Flushes; the caller
    commits. Raises ValueError for bounds the engine refuses."""
    _lock(source)
    computed = compute_run(source, language=language, k=k, seed=seed, k_min=k_min,
                           k_max=k_max, stop_words=stop_words, engine_progress=engine_progress)
    return store_run(source, computed, user=user, progress=progress, actor=actor, ip=ip)


def store_run(source: Source, computed: ComputedRun, *, user: User | None = None,
              progress: Callable[[Iterable], Iterable] | None = None,
              actor: Actor = INTERNAL, ip: str | None = None) -> ThemeRun:
    """Store a computed run: the run row (made by ``user``), themes paired with the
    existing ones, machine assignments replaced, analyst and codebook rows flagged whose
    text changed; recorded as "theme.run" with the k asked for and the number of texts.
    Takes the source's lock. The items are those ``compute_run`` read (a text edited
    meanwhile is flagged on the next run). Flushes; the caller commits."""
    _lock(source)
    items, language, result = computed.items, computed.language, computed.result
    run = ThemeRun(project_id=source.project_id, source_key=source.key, kind=source.kind,
                   language=language, engine_version=result.parameters.engine_version,
                   parameters=_plain(result.parameters), themes=_plain(result.themes),
                   item_count=len(items), unthemed=result.unthemed,
                   created_by_id=user.id if user else None)
    db.session.add(run)
    db.session.flush()

    current = {item.ref: item for item in items}
    found_members = [set() for _ in result.themes]
    for item, index in zip(items, result.assignments):
        if index is not None:
            found_members[index].add(item.ref)
    machine_before, analyst_before = placements(source)
    held = {ref: theme_id for ref, theme_id in analyst_before.items() if ref in current}
    existing = themes_of(source)
    by_id = {t.id: t for t in existing}
    free = {t.id: set() for t in existing}
    for ref, theme_id in machine_before.items():
        if theme_id in free and ref in current and ref not in analyst_before:
            free[theme_id].add(ref)
    plan = theme_reruns.plan_rerun(found_members, free, held, MATCH_OVERLAP)
    before = {t.id: (list(t.key_phrases or []), list(t.quotes or [])) for t in existing}

    analyst = assignments(source)[1]
    db.session.execute(sa.delete(ThemeAssignment).where(
        ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "machine"))
    for theme in existing:
        if theme.id not in plan.keep:
            db.session.delete(theme)
    stored: list[Theme | None] = []
    for index, found in enumerate(result.themes):
        target = plan.targets[index]
        if target == theme_reruns.DROP:
            stored.append(None)
            continue
        theme = by_id.get(target)
        if theme is None:
            theme = Theme(source_key=source.key, label=found.label)
            db.session.add(theme)
        if theme.id is None or plan.same[index]:      # this theme itself, found again
            if not theme.renamed:
                theme.label = found.label
            theme.machine_label = found.label
            theme.key_phrases, theme.quotes = list(found.key_phrases), list(found.quotes)
            theme.sentiment = _plain(found.sentiment)
        theme.run_id = run.id
        stored.append(theme)
    db.session.flush()

    rows = []
    for item, index in (progress or iter)(list(zip(items, result.assignments))):
        if index is not None and stored[index] is not None:
            rows.append({"source_key": source.key, "assigned_by": "machine",
                         "theme_id": stored[index].id, "run_id": run.id,
                         "response_id": item.response_id, "answer_key": item.answer_key,
                         "segment_id": item.segment_id, "text_digest": item.digest,
                         "needs_review": False})
    if rows:
        db.session.execute(sa.insert(ThemeAssignment), rows)
    _describe_after_run(result, found_members, stored, plan, held, before, current)
    digests = {ref: item.digest for ref, item in current.items()}
    for ref, row in analyst.items():
        row.needs_review = digests.get(ref) != row.text_digest
    for row in codebook_assignments(source):
        row.needs_review = digests.get(item_ref(row)) != row.text_digest
    db.session.flush()
    _record("theme.run", source, actor, ip, target_type="theme_run", target_id=run.id,
            details={"k": computed.k, "texts": len(items)})
    return run


def _describe_after_run(result: ThemeResult, found_members: list[set[str]],
                        stored: list[Theme | None], plan: "theme_reruns.RerunPlan",
                        held: dict[str, int | None], before: dict[int, tuple[list, list]],
                        current: dict[str, Item]) -> None:
    """Describe again each stored theme whose texts are not exactly those the engine
    described (see the module docstring): parts are the theme found as itself, then its
    description before the run, then the found themes it took in, largest first."""
    members: dict[int, list[str]] = {}
    for ref, theme_id in held.items():
        if theme_id is not None:
            members.setdefault(theme_id, []).append(ref)
    for index, theme in enumerate(stored):
        if theme is not None:
            members.setdefault(theme.id, []).extend(r for r in found_members[index] if r not in held)
    landed: dict[int, list[int]] = {}
    for index, theme in enumerate(stored):
        if theme is not None:
            landed.setdefault(theme.id, []).append(index)
    tone = any(t.sentiment is not None for t in result.themes)
    themes = {t.id: t for t in stored if t is not None}
    # The themes only an analyst's placements hold (a split, a merge target not found again).
    themes.update({t.id: t for t in db.session.scalars(sa.select(Theme).where(
        Theme.id.in_([i for i in members if i not in themes]), Theme.codebook_code.is_(None)))})
    for theme_id, theme in themes.items():
        refs = members.get(theme_id, [])
        indices = landed.get(theme_id, [])
        itself = [i for i in indices if plan.same[i] or plan.targets[i] is None]
        if len(indices) == 1 and itself and set(refs) == found_members[indices[0]]:
            continue                     # exactly what the engine described
        parts = [(list(result.themes[i].key_phrases), list(result.themes[i].quotes)) for i in itself]
        if not itself and theme_id in before:
            parts.append(before[theme_id])
        parts += [(list(result.themes[i].key_phrases), list(result.themes[i].quotes))
                  for i in sorted((i for i in indices if i not in itself),
                                  key=lambda i: (-len(found_members[i]), i))]
        texts = [current[ref].text for ref in sorted(refs, key=_ref_order) if ref in current]
        _set_description(theme, parts, texts, tone=tone)


def _ref_order(ref: str) -> tuple:
    """Items in the source's order (response or segment id)."""
    number = ref[1:].partition(":")[0]
    return (ref[0], int(number) if number.isdigit() else 0, ref)


def _set_description(theme: Theme, parts, texts: list[str], *, tone: bool) -> None:
    theme.key_phrases, theme.quotes = (list(x) for x in theme_reruns.describe(
        parts, texts, max_quotes=MAX_QUOTES))
    theme.sentiment = _tone(texts) if tone and texts else None


# VADER scores at most this many texts of a theme (as the engine does: it is slow).
_TONE_SAMPLE = 500


def _tone(texts: list[str]) -> dict | None:
    """The tone of ``texts`` (English) as the engine's Sentiment reads, over an evenly
    spaced sample of at most _TONE_SAMPLE of them."""
    step = max(1, -(-len(texts) // _TONE_SAMPLE))
    sample = texts[::step]
    analyser = vader()
    scores = {t: analyser.polarity_scores(t[:2000])["compound"] for t in set(sample)}
    return theme_reruns.tone([scores[t] for t in sample])


def _redescribe(source: Source, theme: Theme, parts, *, tone: bool) -> None:
    """Describe ``theme`` again from ``parts`` over the texts it holds now."""
    refs = [ref for ref, theme_id in effective_themes(source).items() if theme_id == theme.id]
    texts = [item.text for item in source_items(source, refs=refs)] if refs else []
    _set_description(theme, parts, texts, tone=tone)


def _description(theme: Theme) -> tuple[list[str], list[str]]:
    return list(theme.key_phrases or []), list(theme.quotes or [])


# ----------------------------------------------------------------------------- review

def _theme_of(source: Source, theme: Theme | None) -> Theme | None:
    if theme is not None and theme.source_key != source.key:
        raise ThemeRefused("other_source")
    return theme


def _set_analyst(source: Source, item: Item, theme: Theme | None,
                 analyst: dict[str, ThemeAssignment], actor: Actor = INTERNAL) -> None:
    row = analyst.get(item.ref)
    if row is None:
        row = ThemeAssignment(source_key=source.key, assigned_by="analyst",
                              response_id=item.response_id, answer_key=item.answer_key,
                              segment_id=item.segment_id)
        db.session.add(row)
        analyst[item.ref] = row
    row.theme_id = theme.id if theme is not None else None
    row.text_digest, row.needs_review = item.digest, False
    # A person set it (issue 24): the analyst, and no longer a resolution or a proposal
    # (operations.coding marks those after calling in with actor INTERNAL).
    row.user_id = actor.id if isinstance(actor, User) else None
    row.basis = row.confidence = row.evidence = None


def assign(source: Source, ref: str | Iterable[str], theme: Theme | None, *,
           actor: Actor = INTERNAL, ip: str | None = None) -> None:
    """The analyst's theme for one item, or for each of several refs (None: no theme);
    it clears a review flag. The themes the items leave and join are described again
    (see the module docstring); a theme left holding no text goes, as after a merge.
    Recorded as one "theme.assigned" per item."""
    _lock(source)
    theme = _theme_of(source, theme)
    refs = [ref] if isinstance(ref, str) else list(dict.fromkeys(ref))
    found = {item.ref: item for item in source_items(source, refs=refs)} if refs else {}
    if not refs or any(r not in found for r in refs):
        raise ThemeRefused("unknown_item")
    before = effective_themes(source)
    touched = {before.get(r) for r in refs} | {theme.id if theme else None}
    analyst = assignments(source)[1]
    for r in refs:
        _set_analyst(source, found[r], theme, analyst, actor)
    db.session.flush()
    after = effective_themes(source)
    held = set(after.values())
    for changed in db.session.scalars(sa.select(Theme).where(
            Theme.id.in_([t for t in touched if t is not None]), Theme.codebook_code.is_(None))):
        if changed.id not in held:
            db.session.delete(changed)       # no theme of 0 texts
        else:
            _redescribe(source, changed, [_description(changed)],
                        tone=changed.sentiment is not None)
    db.session.flush()
    for r in refs:
        _record("theme.assigned", source, actor, ip, target_id=theme.id if theme else None,
                details={"item": r[:100]})


def rename_theme(source: Source, theme: Theme, label: str, *, actor: Actor = INTERNAL,
                 ip: str | None = None) -> None:
    """The analyst's label, kept by re-runs that find the same theme."""
    label = " ".join((label or "").split())[:300]
    if not label:
        raise ThemeRefused("empty_label")
    _theme_of(source, theme)
    theme.label, theme.renamed = label, True
    db.session.flush()
    _record("theme.renamed", source, actor, ip, target_id=theme.id, details={"label": theme.label})


def merge_themes(source: Source, theme: Theme, into: Theme, *, actor: Actor = INTERNAL,
                 ip: str | None = None) -> None:
    """Move every item of ``theme`` to ``into`` (as analyst assignments) and drop ``theme``."""
    _lock(source)
    _theme_of(source, theme), _theme_of(source, into)
    if theme.id == into.id:
        raise ThemeRefused("same_theme")
    merged_id = theme.id
    moved = [ref for ref, theme_id in effective_themes(source).items() if theme_id == theme.id]
    items = {item.ref: item for item in source_items(source, refs=moved)} if moved else {}
    analyst = assignments(source)[1]
    for ref in moved:
        if ref in items:
            _set_analyst(source, items[ref], into, analyst, actor)
    db.session.flush()
    # The surviving theme shows both themes' quotes and phrases its texts hold, and the
    # tone of all its texts.
    parts = [_description(into), _description(theme)]
    tone = into.sentiment is not None or theme.sentiment is not None
    db.session.delete(theme)
    db.session.flush()
    _redescribe(source, into, parts, tone=tone)
    db.session.flush()
    _record("theme.merged", source, actor, ip, target_id=into.id, details={"merged": merged_id})


def split_theme(source: Source, theme: Theme, refs: Iterable[str], label: str, *,
                actor: Actor = INTERNAL, ip: str | None = None) -> Theme:
    """A new theme named ``label`` holding the chosen items of ``theme``."""
    _lock(source)
    _theme_of(source, theme)
    label = " ".join((label or "").split())[:300]
    if not label:
        raise ThemeRefused("empty_label")
    refs = list(refs)
    chosen = set(refs)
    current = effective_themes(source)
    mine = [ref for ref in chosen if current.get(ref) == theme.id]
    items = source_items(source, refs=mine) if mine else []
    if not items:
        raise ThemeRefused("nothing_chosen")
    new = Theme(source_key=source.key, label=label, machine_label="", renamed=True,
                key_phrases=[], quotes=[])
    db.session.add(new)
    db.session.flush()
    analyst = assignments(source)[1]
    for item in items:
        _set_analyst(source, item, new, analyst, actor)
    db.session.flush()
    # Each side keeps the quotes and phrases its own texts hold, and its own tone.
    parts, tone = [_description(theme)], theme.sentiment is not None
    _redescribe(source, new, parts, tone=tone)
    _redescribe(source, theme, parts, tone=tone)
    db.session.flush()
    _record("theme.split", source, actor, ip, target_id=new.id,
            details={"from": theme.id, "items": len(refs)})
    return new


# ----------------------------------------------------------------------------- codebook

@dataclass
class CodebookApplied:
    path: str
    matched: int                     # items with at least one code
    counts: dict[str, int]           # code -> items
    untranslated: dict[str, list[str]]   # language -> codes with no keywords in it


def apply_codebook(source: Source, *, actor: Actor = INTERNAL,
                   ip: str | None = None) -> CodebookApplied:
    """Match the codebook against every item in the item's own language and store the
    matches as "codebook" assignments, replacing the previous ones (engine and analyst
    rows are left as they are). Codes new to the source get a theme row, codes gone from
    the codebook lose theirs. Raises ThemeRefused "no_codebook", or "codebook_invalid"
    with the check's problems when the file does not load. Flushes."""
    _lock(source)
    path = codebook_path(source)
    if path is None:
        raise ThemeRefused("no_codebook")
    try:
        book = codebook_files.load_codebook(path)
    except codebook_files.CodebookFileError as error:
        raise ThemeRefused("codebook_invalid", [str(p) for p in error.problems]) from None
    codebook = codebook_from_data(book.themes)
    items = source_items(source)
    by_language: dict[str, list[Item]] = {}
    for item in items:
        by_language.setdefault(language_code(item.language), []).append(item)
    found: list[tuple[Item, str, tuple[str, ...]]] = []
    untranslated: dict[str, list[str]] = {}
    for language, group in sorted(by_language.items()):
        stop = book.stop_words_for(language)
        coded = match_codebook(codebook, [i.text for i in group], language, stop_words=stop)
        if coded.untranslated:
            untranslated[language] = list(coded.untranslated)
        for item, codes, evidence in zip(group, coded.codes, coded.evidence):
            found.extend((item, code, evidence[code]) for code in codes)

    db.session.execute(sa.delete(ThemeAssignment).where(
        ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "codebook"))
    themes = {t.codebook_code: t for t in codebook_themes_of(source)}
    wanted = {entry.code: entry for entry in codebook.codes}
    for code, theme in list(themes.items()):
        if code not in wanted:
            db.session.delete(theme)
            del themes[code]
    for code, entry in wanted.items():
        theme = themes.get(code)
        if theme is None:
            theme = themes[code] = Theme(source_key=source.key, codebook_code=code,
                                         label=entry.label, machine_label=entry.label,
                                         key_phrases=[], quotes=[])
            db.session.add(theme)
        theme.label = theme.machine_label = entry.label
    db.session.flush()
    rows = [{"source_key": source.key, "assigned_by": "codebook", "theme_id": themes[code].id,
             "run_id": None, "response_id": item.response_id, "answer_key": item.answer_key,
             "segment_id": item.segment_id, "text_digest": item.digest, "needs_review": False,
             "evidence": list(evidence)}
            for item, code, evidence in found]
    if rows:
        db.session.execute(sa.insert(ThemeAssignment), rows)
    db.session.flush()
    counts = Counter(code for _, code, _ in found)
    applied = CodebookApplied(str(codebook_path(source)), len({i.ref for i, _, _ in found}),
                              {c: counts[c] for c in wanted}, untranslated)
    _record("theme.codebook_applied", source, actor, ip, target_type="codebook",
            details={"matched": applied.matched, "counts": applied.counts})
    return applied


def promote_theme(source: Source, theme: Theme, *, language: str, keywords: Iterable[str],
                  description: str, languages: Iterable[str], actor: Actor = INTERNAL,
                  ip: str | None = None) -> str:
    """Write ``theme`` into the project's codebook of the instrument with ``keywords`` in
    ``language``; returns the codebook id it has there. The project's file
    (queries.themes.project_codebook_path) starts as a copy of the codebook the source reads
    (the shared one, or none), so the shared file and every other project are untouched.
    A theme already there under that id gets the keywords added. ``languages`` are the instrument's
    declared languages: the new file is checked like ``surveyapp instruments check`` does
    before it replaces the old one, which is untouched when it fails (ThemeRefused
    "codebook_invalid" with the problems). Replaced atomically (a temporary file renamed),
    so a reader never sees half a codebook. Raises ThemeRefused (no_keywords,
    no_description, codebook_theme). The file write is not part of the transaction."""
    _theme_of(source, theme)
    if theme.codebook_code is not None:
        raise ThemeRefused("codebook_theme")
    words = [" ".join(k.split())[:200] for k in keywords if k and k.strip()]
    if not words:
        raise ThemeRefused("no_keywords")
    description = " ".join((description or "").split())[:1000]
    if not description:
        raise ThemeRefused("no_description")
    current = codebook_path(source)
    old = current.read_text(encoding="utf-8") if current is not None else None
    path = project_codebook_path(source)
    taken = []
    if old is not None:
        try:
            book = codebook_files.load_codebook(current)
        except codebook_files.CodebookFileError as error:
            raise ThemeRefused("codebook_invalid", [str(p) for p in error.problems]) from None
        taken = [t["code"] for t in book.themes]
        same = next((t["code"] for t in book.themes
                     if t["label"].casefold() == theme.label.casefold()), None)
    theme_id = same if old is not None and same else codebook_files.theme_id_for(theme.label, taken)
    try:
        # The file may have changed since it was loaded above (past a limit, say).
        text = codebook_files.with_theme(old, source.instrument_id, theme_id=theme_id,
                                         label=theme.label, description=description,
                                         language=language_code(language), keywords=words)
    except codebook_files.CodebookFileError as error:
        raise ThemeRefused("codebook_invalid", [str(p) for p in error.problems]) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    temporary.write_text(text, encoding="utf-8")
    try:
        book = codebook_files.load_codebook(temporary, {source.instrument_id: tuple(languages)})
        if source.instrument_id not in book.instruments:
            raise ThemeRefused("codebook_invalid")
        os.replace(temporary, path)
    except codebook_files.CodebookFileError as error:
        raise ThemeRefused("codebook_invalid", [
            p.message for p in error.problems]) from None
    finally:
        temporary.unlink(missing_ok=True)
    _record("codebook.theme_promoted", source, actor, ip, target_type="codebook",
            target_id=theme_id, details={"theme": theme.id, "language": language,
                                         "keywords": len(words)})
    return theme_id
