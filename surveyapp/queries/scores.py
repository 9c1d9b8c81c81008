"""Capacity scores: the stored scores of a project's campaigns and its capacity table."""
from __future__ import annotations

from typing import Iterator

import sqlalchemy as sa

from surveyapp.domain.disclosure import Disclosure, protect_capacity
from surveyapp.domain.instruments import Instrument
from surveyapp.domain.scoring import CapacityTable, Moments, changed_across
from surveyapp.domain.scoring import capacity_table as scoring_table
from surveyapp.extensions import db
from surveyapp.models import Campaign, InstrumentVersion, Project, Response, ResponseScore, Site
from surveyapp.queries.instruments import instrument_of, latest_version


def scored_version_ids() -> list[int]:
    """The ids of the survey versions that have a scoring block (parsed once each, cached)."""
    versions = db.session.scalars(sa.select(InstrumentVersion).where(InstrumentVersion.kind == "survey"))
    return [v.id for v in versions if instrument_of(v).scoring is not None]


def scored_instruments(project_id: int) -> list[str]:
    """The instrument ids with stored scores in the project's campaigns, by id."""
    return list(db.session.scalars(
        sa.select(Campaign.instrument_id).distinct().join(Response, Response.campaign_id == Campaign.id)
        .where(Campaign.project_id == project_id, Response.status == "complete",
               sa.exists().where(ResponseScore.response_id == Response.id))
        .order_by(Campaign.instrument_id)))


def _scores_of(project_id: int, instrument_id: str):
    return (sa.select(Site.name, Campaign.wave, ResponseScore.domain_id)
            .select_from(ResponseScore)
            .join(Response, Response.id == ResponseScore.response_id)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .join(Site, Site.id == Campaign.site_id)
            .where(Campaign.project_id == project_id, Campaign.instrument_id == instrument_id,
                   Response.status == "complete", ResponseScore.score.is_not(None)))


def score_rows(project_id: int, instrument_id: str) -> Iterator[tuple[str, str, str, float]]:
    """Every stored score of the project's campaigns of ``instrument_id``, streamed, as
    ``(site, wave, domain, score)`` rows (for exports that list them)."""
    query = _scores_of(project_id, instrument_id).add_columns(ResponseScore.score)
    for row in db.session.execute(query.execution_options(yield_per=5000)):
        yield tuple(row)


def score_moments(project_id: int, instrument_id: str) -> dict[tuple[str, str, str], Moments]:
    """n, sum and sum of squares of the stored scores per (site, wave, domain), with the sum
    of the scored responses' record keys, in one grouped select: what
    ``domain.scoring.capacity_table`` summarises (and disclosure control rounds n by)."""
    score = ResponseScore.score
    query = _scores_of(project_id, instrument_id).add_columns(
        sa.func.count(score), sa.func.sum(score), sa.func.sum(score * score),
        sa.func.sum(Response.record_key)
    ).group_by(Site.name, Campaign.wave, ResponseScore.domain_id)
    return {(site, wave, domain): Moments(n, float(total), float(squares), int(keys or 0))
            for site, wave, domain, n, total, squares, keys in db.session.execute(query)}


def wave_versions(project_id: int, instrument_id: str) -> dict[tuple[str, str], set[int]]:
    """The instrument versions the complete responses were answered on, per (site, wave)."""
    query = (sa.select(Site.name, Campaign.wave, Response.instrument_version_id).distinct()
             .select_from(Response).join(Campaign, Campaign.id == Response.campaign_id)
             .join(Site, Site.id == Campaign.site_id)
             .where(Campaign.project_id == project_id, Campaign.instrument_id == instrument_id,
                    Response.status == "complete"))
    versions: dict[tuple[str, str], set[int]] = {}
    for site, wave, version_id in db.session.execute(query):
        versions.setdefault((site, wave), set()).add(version_id)
    return versions


def capacity_table(project: Project, instrument_id: str, *, protected: bool = False
                   ) -> tuple[CapacityTable, Instrument | None]:
    """The project's capacity table for ``instrument_id`` (see domain.scoring.capacity_table),
    and the newest version's instrument (for domain labels; None if it was never loaded).
    ``protected``: as partners and the public read it (domain.disclosure.protect_capacity:
    n rounded by its record keys, means and intervals from the protected n, to 0.1).

    Domains whose items were worded differently in the baseline's and a follow-up's
    versions (at a site, or anywhere for all sites) get no change, and say which items."""
    latest = latest_version(instrument_id)
    instrument = instrument_of(latest) if latest else None
    order = [d.id for d in instrument.scoring.domains] if instrument and instrument.scoring else []
    moments = score_moments(project.id, instrument_id)
    versions = wave_versions(project.id, instrument_id)
    parsed = {version_id: instrument_of(db.session.get(InstrumentVersion, version_id))
              for ids in versions.values() for version_id in ids}
    waves = project.waves
    answered = {wave for _, wave, _ in moments}
    # The order capacity_table gives the waves: the project's first, then any other.
    present = [w for w in waves if w in answered] + sorted(answered - set(waves))
    changed = {}
    for follow_up in present[1:]:
        everywhere: tuple[set, set] = (set(), set())
        for site in {site for site, _ in versions}:
            before = versions.get((site, present[0]), set())
            after = versions.get((site, follow_up), set())
            changed[(site, follow_up)] = changed_across(
                [parsed[i] for i in before], [parsed[i] for i in after])
            everywhere[0].update(before)
            everywhere[1].update(after)
        changed[(None, follow_up)] = changed_across(
            [parsed[i] for i in everywhere[0]], [parsed[i] for i in everywhere[1]])
    table = scoring_table(moments, waves=waves, domains=order,
                          min_cell_size=project.min_cell_size, changed=changed)
    if protected:
        table = protect_capacity(table, moments, Disclosure(project.min_cell_size))
    return table, instrument


def reliability(project_id: int, instrument_id: str) -> dict:
    """Cronbach's alpha of each domain's items per wave, over the complete responses of the
    project's campaigns of ``instrument_id`` (all sites): {(wave, domain): Reliability}.
    Each response is scored by its own version's scoring block, as its stored scores are."""
    from surveyapp.domain.scoring import domain_reliability
    query = (sa.select(Campaign.wave, Response.instrument_version_id, Response.answers)
             .select_from(Response).join(Campaign, Campaign.id == Response.campaign_id)
             .where(Campaign.project_id == project_id, Campaign.instrument_id == instrument_id,
                    Response.status == "complete"))
    answers: dict[tuple[str, int], list] = {}
    for wave, version_id, document in db.session.execute(query.execution_options(yield_per=2000)):
        answers.setdefault((wave, version_id), []).append(document or {})
    by_wave: dict[str, list] = {}
    for (wave, version_id), documents in answers.items():
        by_wave.setdefault(wave, []).append((version_id, documents))
    out = {}
    for wave, groups in by_wave.items():
        # Versions of one wave share their items (a changed wording is a new version; its
        # items still score the same domain), so the rows of every version are pooled.
        newest = max(version_id for version_id, _ in groups)
        instrument = instrument_of(db.session.get(InstrumentVersion, newest))
        if instrument.scoring is None:
            continue
        rows = [document for _, documents in groups for document in documents]
        for domain, result in domain_reliability(instrument, rows).items():
            out[(wave, domain)] = result
    return out


def response_scores(project_id: int, instrument_id: str) -> Iterator[tuple[str, str, str, int, float]]:
    """Every stored score as ``(site, wave, domain, response id, score)``, streamed: what
    paired change needs (which response each score belongs to)."""
    query = _scores_of(project_id, instrument_id).add_columns(Response.id, ResponseScore.score)
    for row in db.session.execute(query.execution_options(yield_per=5000)):
        yield tuple(row)


def panel_table(project: Project, instrument_id: str):
    """Paired and unpaired change and attrition of the project's linked residents
    (domain.panel.panel_table), for analysts: partners never see linkage."""
    from surveyapp.domain.panel import panel_table as build
    from surveyapp.queries.panel import links
    latest = latest_version(instrument_id)
    instrument = instrument_of(latest) if latest else None
    order = [d.id for d in instrument.scoring.domains] if instrument and instrument.scoring else []
    return build(response_scores(project.id, instrument_id), links(project.id),
                 waves=project.waves, domains=order, min_cell_size=project.min_cell_size)
