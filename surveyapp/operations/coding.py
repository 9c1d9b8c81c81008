"""Double coding and accepted proposals (issue 24): the writes. Flush, never commit.

* ``draw_sample``: a seeded random sample of a source's items and its coders (two or
  more analysts of the project); the seed is recorded, so the draw can be repeated.
* ``save_codes`` / ``finish``: one coder's blind codes, then "done" (their codes are then
  final). Nobody sees anyone's codes until every coder is done (queries.coding.results).
* ``resolve``: the code the coders settled on for an item they disagreed on, recorded
  (who, which code, when) and written as the item's analyst assignment (basis
  "resolved"): people's assignments win over the machine's, and runs leave them.
* ``accept_proposals``: the classifier's proposals an analyst accepts (all above a
  confidence, or the ones chosen), as analyst assignments with basis "proposal", the
  accepting analyst, the confidence and the words. An item a person has coded is never
  touched: the proposals are made again here, server-side, for uncoded items only.

Each records its audit event ("coding.sample_drawn", "coding.coded", "coding.finished",
"coding.resolved", "coding.proposals_accepted"); details name the source and the sample.
"""
from __future__ import annotations

import random
import secrets
from collections import defaultdict
from typing import Iterable

import sqlalchemy as sa

from surveyapp.domain.coder import DEFAULT_THRESHOLD
from surveyapp.domain.reliability import NO_THEME
from surveyapp.extensions import db
from surveyapp.models import (
    CodingDecision, CodingResolution, CodingSample, SampleCoder, Theme, ThemeAssignment, User, utcnow)
from surveyapp.operations import themes as theme_operations
from surveyapp.operations.audit import INTERNAL, Actor, record
from surveyapp.queries import coding as queries
from surveyapp.queries.themes import Source, assignments, source_items, themes_of

MAX_SAMPLE = 500        # one coder's page lists every item of the sample


class CodingRefused(ValueError):
    """A write that cannot be made; ``code`` says why: bad_size, few_coders, not_analyst,
    no_items, not_coder, already_done, not_finished, unknown_item, other_theme,
    nothing_to_accept, not_ready."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _record(action: str, sample: CodingSample | None, source: Source, actor: Actor,
            ip: str | None, **details) -> None:
    record(action, actor=actor, ip=ip, project_id=source.project_id,
           target_type="coding_sample" if sample else "theme",
           target_id=sample.id if sample else None, details={"source": source.key, **details})


def draw_sample(source: Source, size: int, coders: Iterable[User], *, seed: int | None = None,
                user: User | None = None, actor: Actor = INTERNAL,
                ip: str | None = None) -> CodingSample:
    """Draw ``size`` of the source's items at random (``seed``, else a fresh one, is
    recorded) for ``coders``, two or more analysts of the source's project, in the order
    given. A size larger than the source is the whole source."""
    coders = list(dict.fromkeys(coders))
    if not 1 <= size <= MAX_SAMPLE:
        raise CodingRefused("bad_size")
    if len(coders) < 2:
        raise CodingRefused("few_coders")
    allowed = {u.id for u in queries.analysts_of(source.project_id)}
    if any(c.id not in allowed for c in coders):
        raise CodingRefused("not_analyst")
    refs = [item.ref for item in source_items(source)]
    if not refs:
        raise CodingRefused("no_items")
    seed = secrets.randbelow(2 ** 31) if seed is None else int(seed)
    # random.Random(seed).sample over the refs in source order: the same source and seed
    # give the same sample on any machine (Mersenne Twister, no floats involved).
    chosen = random.Random(seed).sample(refs, min(size, len(refs)))
    sample = CodingSample(project_id=source.project_id, source_key=source.key, kind=source.kind,
                          instrument_id=source.instrument_id, item_id=source.item_id,
                          campaign_id=source.campaign_id, size=len(chosen), seed=seed, refs=chosen,
                          created_by_id=user.id if user else None)
    sample.coders = [SampleCoder(user_id=c.id, position=n) for n, c in enumerate(coders)]
    db.session.add(sample)
    db.session.flush()
    _record("coding.sample_drawn", sample, source, actor, ip, size=len(chosen), seed=seed,
            coders=[c.id for c in coders])
    return sample


def _open_coder(sample: CodingSample, user: User) -> SampleCoder:
    coder = queries.coder_of(sample, user.id)
    if coder is None:
        raise CodingRefused("not_coder")
    if coder.done_at is not None:
        raise CodingRefused("already_done")
    return coder


def save_codes(sample: CodingSample, user: User, codes: dict[str, int | None], *,
               actor: Actor = INTERNAL, ip: str | None = None) -> int:
    """Store ``user``'s codes for the sample's items named in ``codes`` (a theme id,
    NO_THEME for "no theme", or None to clear a code). Refused after they finished, to a
    non-coder, for an item not in the sample or a theme not of the source. Returns how
    many codes are stored now."""
    _open_coder(sample, user)
    source = queries.source_of(sample)
    live = {t.id: t for t in themes_of(source)}
    sampled = set(sample.refs)
    if any(ref not in sampled for ref in codes):
        raise CodingRefused("unknown_item")
    if any(c not in live and c not in (None, NO_THEME) for c in codes.values()):
        raise CodingRefused("other_theme")
    stored = {d.ref: d for d in db.session.scalars(sa.select(CodingDecision).where(
        CodingDecision.sample_id == sample.id, CodingDecision.user_id == user.id))}
    for ref, code in codes.items():
        row = stored.get(ref)
        if code is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = stored[ref] = CodingDecision(sample_id=sample.id, user_id=user.id, ref=ref)
            db.session.add(row)
        theme = live.get(code)
        row.theme_id = theme.id if theme else None
        row.label = theme.label if theme else ""
        row.coded_at = utcnow()
    db.session.flush()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(CodingDecision).where(
        CodingDecision.sample_id == sample.id, CodingDecision.user_id == user.id))
    _record("coding.coded", sample, source, actor, ip, coded=count)
    return count


def finish(sample: CodingSample, user: User, *, actor: Actor = INTERNAL,
           ip: str | None = None) -> None:
    """``user`` has finished coding the sample: their codes are final. Items left
    uncoded count as missing (alpha allows it; kappa drops them)."""
    coder = _open_coder(sample, user)
    coder.done_at = utcnow()
    db.session.flush()
    _record("coding.finished", sample, queries.source_of(sample), actor, ip,
            all_done=queries.finished(sample))


def _mark(source: Source, refs: Iterable[str], user: User | None, basis: str, *,
          confidence: dict[str, float] | None = None, words: dict[str, list] | None = None) -> None:
    """Say who made the analyst rows of ``refs`` and why (after theme_operations.assign)."""
    rows = assignments(source)[1]
    for ref in refs:
        row: ThemeAssignment = rows[ref]
        row.user_id, row.basis = (user.id if user else None), basis
        row.confidence = (confidence or {}).get(ref)
        row.evidence = list((words or {}).get(ref, [])) or None
    db.session.flush()


def resolve(sample: CodingSample, ref: str, theme: Theme | None, *, user: User | None,
            actor: Actor = INTERNAL, ip: str | None = None) -> CodingResolution:
    """Record the coders' settled code (``theme``, None: "no theme") for one item of a
    finished sample they disagreed on, and make it the item's analyst assignment."""
    if not queries.finished(sample):
        raise CodingRefused("not_finished")
    if ref not in set(sample.refs):
        raise CodingRefused("unknown_item")
    source = queries.source_of(sample)
    if theme is not None and theme.id not in {t.id for t in themes_of(source)}:
        raise CodingRefused("other_theme")
    row = db.session.scalar(sa.select(CodingResolution).where(
        CodingResolution.sample_id == sample.id, CodingResolution.ref == ref))
    if row is None:
        row = CodingResolution(sample_id=sample.id, ref=ref)
        db.session.add(row)
    row.theme_id = theme.id if theme else None
    row.label = theme.label if theme else ""
    row.resolved_by_id = user.id if user else None
    row.resolved_at = utcnow()
    try:
        theme_operations.assign(source, [ref], theme)
    except theme_operations.ThemeRefused:
        raise CodingRefused("unknown_item") from None
    _mark(source, [ref], user, "resolved")
    _record("coding.resolved", sample, source, actor, ip, item=ref[:100],
            theme=theme.id if theme else None)
    return row


def accept_proposals(source: Source, *, user: User | None, refs: Iterable[str] | None = None,
                     min_confidence: float | None = None, actor: Actor = INTERNAL,
                     ip: str | None = None) -> int:
    """Accept the classifier's proposals for ``refs`` (each at the page's threshold), or
    every proposal of at least ``min_confidence``. Only items no person coded are
    proposed for, so none is overridden. Returns how many were accepted."""
    threshold = DEFAULT_THRESHOLD if min_confidence is None else max(min_confidence, 0.0)
    found = queries.proposals(source, threshold=threshold)
    if found.model is None:
        raise CodingRefused("not_ready")
    wanted = None if refs is None else set(refs)
    chosen = {item.ref: proposal for item, proposal in found.rows
              if proposal is not None and (wanted is None or item.ref in wanted)}
    if not chosen:
        raise CodingRefused("nothing_to_accept")
    themes = {t.id: t for t in themes_of(source)}
    by_theme: dict[int, list[str]] = defaultdict(list)
    for ref, proposal in chosen.items():
        by_theme[int(proposal.code)].append(ref)
    for code, group in by_theme.items():
        theme_operations.assign(source, group, themes[code])
    _mark(source, chosen, user, "proposal",
          confidence={r: p.confidence for r, p in chosen.items()},
          words={r: list(p.words) for r, p in chosen.items()})
    _record("coding.proposals_accepted", None, source, actor, ip, accepted=len(chosen),
            min_confidence=min_confidence)
    return len(chosen)
