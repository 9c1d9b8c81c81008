"""Double coding and the classifier's proposals as stored (issue 24): the samples of a
theme source, what one coder may see of a sample, the results once every coder is done,
and the training data and proposals of the classifier. Nothing here writes
(operations.coding does).

Blindness lives here, not in the pages: ``own_codes`` reads one coder's decisions only,
and ``results`` returns None until every coder of the sample has finished, so no page or
export built on these reads can show a coder another's codes (or the machine's on the
sample) too early.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from surveyapp.domain import coder as classifier
from surveyapp.domain.agreement import N_BOOT
from surveyapp.domain.reliability import NO_THEME, Reliability, SampleFigures, reliability
from surveyapp.domain.themes_text import language_code
from surveyapp.extensions import db
from surveyapp.models import (
    CodingDecision, CodingResolution, CodingSample, ProjectMember, SampleCoder, Theme,
    ThemeAssignment, User)
from surveyapp.queries.themes import Item, Source, latest_run, placements, source_items, themes_of


def source_of(sample: CodingSample) -> Source:
    return Source(sample.kind, sample.project_id, sample.instrument_id, sample.item_id,
                  sample.campaign_id)


def samples_of(source: Source) -> list[CodingSample]:
    """The source's samples, newest first."""
    return list(db.session.scalars(sa.select(CodingSample).where(
        CodingSample.source_key == source.key).order_by(CodingSample.id.desc())))


def sample_of(source: Source, sample_id: int) -> CodingSample | None:
    """The sample ``sample_id`` if it is one of ``source``'s, else None."""
    sample = db.session.get(CodingSample, sample_id)
    return sample if sample is not None and sample.source_key == source.key else None


def analysts_of(project_id: int) -> list[User]:
    """The project's active analysts, who may be named coders, by email."""
    return list(db.session.scalars(sa.select(User).join(ProjectMember).where(
        ProjectMember.project_id == project_id, ProjectMember.role == "analyst",
        User.active.is_(True)).order_by(User.email)))


def coder_of(sample: CodingSample, user_id: int | None) -> SampleCoder | None:
    return next((c for c in sample.coders if c.user_id == user_id), None)


def finished(sample: CodingSample) -> bool:
    """Whether every coder has finished (only then may anyone see anyone's codes)."""
    return bool(sample.coders) and all(c.done_at is not None for c in sample.coders)


def sample_items(sample: CodingSample) -> list[Item]:
    """The sampled items as they read now, in the sample's order (an item no longer in
    the source, e.g. a deleted response, is left out)."""
    found = {item.ref: item for item in source_items(source_of(sample), refs=sample.refs)}
    return [found[ref] for ref in sample.refs if ref in found]


def choices(source: Source) -> list[Theme]:
    """The themes a coder chooses from (besides "no theme"): the source's live themes."""
    return themes_of(source)


def own_codes(sample: CodingSample, user_id: int) -> dict[str, int]:
    """One coder's codes by ref (NO_THEME: "no theme"); never another coder's."""
    return {ref: theme_id if theme_id is not None else NO_THEME
            for ref, theme_id in db.session.execute(sa.select(
                CodingDecision.ref, CodingDecision.theme_id).where(
                CodingDecision.sample_id == sample.id, CodingDecision.user_id == user_id))}


@dataclass
class Results:
    """A finished sample: its items, coders, each coder's codes (one list per coder in the
    sample's order, None: not coded), the machine's on the sample, the resolutions by
    ref, a label per code, and the figures."""
    sample: CodingSample
    refs: list[str]
    items: dict[str, Item]
    coders: list[User]
    codes: list[list]
    machine: list | None
    resolutions: dict[str, CodingResolution]
    labels: dict[int, str]
    figures: Reliability

    def disagreements(self) -> list[tuple[str, Item | None, list, CodingResolution | None]]:
        """(ref, item, each coder's code, the resolution if any) for each disagreement."""
        return [(self.refs[u], self.items.get(self.refs[u]), [codes[u] for codes in self.codes],
                 self.resolutions.get(self.refs[u])) for u in self.figures.disagreements]


def machine_codes(source: Source, refs: list[str]) -> list | None:
    """The engine's code for each ref: its theme, NO_THEME where the last run left the
    item without one, None where no run has coded the source yet."""
    if latest_run(source) is None:
        return None
    machine = placements(source)[0]
    return [machine.get(ref) or NO_THEME for ref in refs]


def results(sample: CodingSample, *, n_boot: int = N_BOOT) -> Results | None:
    """The sample's results, or None until every coder has finished (blindness)."""
    if not finished(sample):
        return None
    source, refs = source_of(sample), list(sample.refs)
    index = {ref: i for i, ref in enumerate(refs)}
    coders = [c.user for c in sample.coders]
    codes = [[None] * len(refs) for _ in coders]
    labels = {t.id: t.label for t in themes_of(source)}
    position = {c.user_id: n for n, c in enumerate(sample.coders)}
    for decision in db.session.scalars(sa.select(CodingDecision).where(
            CodingDecision.sample_id == sample.id)):
        if decision.ref in index and decision.user_id in position:
            code = decision.theme_id if decision.theme_id is not None else NO_THEME
            codes[position[decision.user_id]][index[decision.ref]] = code
            labels.setdefault(code, decision.label)
    resolutions = {r.ref: r for r in db.session.scalars(sa.select(CodingResolution).where(
        CodingResolution.sample_id == sample.id))}
    for r in resolutions.values():
        labels.setdefault(r.theme_id if r.theme_id is not None else NO_THEME, r.label)
    machine = machine_codes(source, refs)
    figures = reliability(codes, resolutions={
        index[ref]: (r.theme_id if r.theme_id is not None else NO_THEME)
        for ref, r in resolutions.items() if ref in index},
        machine=machine, n_boot=n_boot, seed=sample.seed)
    items = {item.ref: item for item in sample_items(sample)}
    return Results(sample, refs, items, coders, codes, machine, resolutions, labels, figures)


def finished_samples(project_id: int) -> list[CodingSample]:
    """The project's samples every coder has finished, oldest first (the Reliability
    sheet's)."""
    return [s for s in db.session.scalars(sa.select(CodingSample).where(
        CodingSample.project_id == project_id).order_by(CodingSample.id)) if finished(s)]


def sample_figures(project_id: int, instrument_id: str,
                   campaign_id: int | None = None) -> list[SampleFigures]:
    """The finished samples an export of ``instrument_id`` reports (Reliability sheet):
    its questions' samples (project-wide, or of ``campaign_id`` when the export is of one
    campaign) and the project's prompts'. Unfinished samples are never reported."""
    found = []
    for sample in finished_samples(project_id):
        if sample.kind == "question" and (sample.instrument_id != instrument_id or (
                campaign_id is not None and sample.campaign_id not in (None, campaign_id))):
            continue
        done = results(sample)
        found.append(SampleFigures(sample.id, sample.kind, sample.item_id, sample.size, sample.seed,
                                   tuple(u.email for u in done.coders), done.labels, done.figures))
    return found


# ----------------------------------------------------------------------------- proposals

def person_codes(source: Source) -> dict[str, int | None]:
    """The codes people gave the source's items, by ref: analyst rows set on the theme
    page or resolved after double coding (None: "no theme"), not accepted proposals, which
    are the classifier's own words and would teach it itself."""
    return {(f"s{s}" if s is not None else f"r{r}:{k}"): theme_id
            for r, k, s, theme_id in db.session.execute(sa.select(
                ThemeAssignment.response_id, ThemeAssignment.answer_key, ThemeAssignment.segment_id,
                ThemeAssignment.theme_id).where(
                ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "analyst",
                sa.or_(ThemeAssignment.basis.is_(None), ThemeAssignment.basis != "proposal")))}


def person_counts(source: Source) -> tuple[Counter, Counter]:
    """(confirmed, accepted): per theme id, the texts whose theme a person set (on the
    theme page, or settled after double coding) and the accepted proposals of the
    classifier. Analyst rows win over the machine's, so these are counts of the texts
    the export counts under each theme."""
    confirmed, accepted = Counter(), Counter()
    for theme_id, basis in db.session.execute(sa.select(
            ThemeAssignment.theme_id, ThemeAssignment.basis).where(
            ThemeAssignment.source_key == source.key, ThemeAssignment.assigned_by == "analyst",
            ThemeAssignment.theme_id.is_not(None))):
        (accepted if basis == "proposal" else confirmed)[theme_id] += 1
    return confirmed, accepted


@dataclass
class Proposals:
    """What the proposals page shows: readiness, the model (None until ready), and for
    each item no person or accepted proposal has coded, its proposal (None: under the
    threshold, stays unthemed)."""
    readiness: classifier.Readiness
    model: classifier.CodeModel | None
    rows: list[tuple[Item, classifier.Proposal | None]]
    threshold: float


def proposals(source: Source, *, threshold: float = classifier.DEFAULT_THRESHOLD,
              language: str | None = None) -> Proposals:
    """Train the classifier on the people's codes (a theme; "no theme" is not a code it
    learns) and propose for every item without an analyst row. Deterministic: the same
    codes give the same model and proposals (domain.coder)."""
    items = source_items(source)
    analyst = placements(source)[1]
    people = person_codes(source)
    live = {t.id for t in themes_of(source)}
    codes = [people.get(item.ref) if people.get(item.ref) in live else None for item in items]
    ready = classifier.readiness(codes)
    if not ready.ready:
        return Proposals(ready, None, [], threshold)
    if language is None:
        run = latest_run(source)
        language = language_code(run.language) if run else language_code(
            max(set(i.language for i in items), key=[i.language for i in items].count))
    model = classifier.train([i.text for i in items], codes, language=language)
    open_items = [item for item in items if item.ref not in analyst]
    proposed = model.propose([item.text for item in open_items], threshold)
    return Proposals(ready, model, list(zip(open_items, proposed)), threshold)
