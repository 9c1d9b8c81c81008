"""The dashboard's figures as tallies for disclosure control: the same grouped selects as
``queries.dashboard``, with ``SUM(responses.record_key)`` beside each ``COUNT(*)``.

Each dashboard function returns what its namesake in ``queries.dashboard`` does, a
``domain.disclosure.Tally`` (n, key sum) in place of each count, so that the same code
folds days into weeks and combinations into choices (tallies add like counts) and a
partner's page rounds every cell by its own records (domain.disclosure). Analysts' own
pages keep the exact counts of ``queries.dashboard``. Theme counts (``theme_rows``) are
tallied from the themed items' stored keys, and labelled only as an analyst confirmed.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Iterator

import sqlalchemy as sa
from flask import has_request_context
from flask_babel import gettext as _

from surveyapp.domain.disclosure import Disclosure, Tally
from surveyapp.domain.export import SUPPRESSED_THEME, ThemeRow
from surveyapp.domain.instruments import Instrument
from surveyapp.domain.protected_export import ProtectedSummary
from surveyapp.extensions import db
from surveyapp.models import Campaign, Response, Segment
from surveyapp.queries.dashboard import _responses_in
from surveyapp.queries.themes import (
    codebook_assignments, codebook_themes_of, effective_themes, source_items, themes_of)

COUNT = sa.func.count()
KEYS = sa.func.coalesce(sa.func.sum(Response.record_key), 0)


def _tally(n, keys) -> Tally:
    return Tally(int(n), int(keys or 0))


def responses_per_day(project_id: int, campaign_id: int | None = None,
                      instrument_id: str | None = None) -> list[tuple[dt.date, Tally]]:
    """Responses started each day (UTC), oldest first."""
    day = sa.func.date(Response.started_at)
    query = (sa.select(day, COUNT, KEYS).select_from(Response)
             .join(Campaign, Campaign.id == Response.campaign_id)
             .where(*_responses_in(project_id, campaign_id, instrument_id))
             .group_by(day).order_by(day))
    rows = []
    for value, n, keys in db.session.execute(query):
        if value is not None:
            rows.append((value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]),
                         _tally(n, keys)))
    return rows


def status_counts(project_id: int, campaign_id: int | None = None,
                  instrument_id: str | None = None) -> dict[str, Tally]:
    """Complete and partial responses of the project (or one campaign, or one questionnaire)."""
    counts = {"partial": Tally(), "complete": Tally()}
    for status, n, keys in db.session.execute(
            sa.select(Response.status, COUNT, KEYS).select_from(Response)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(*_responses_in(project_id, campaign_id, instrument_id))
            .group_by(Response.status)):
        counts[status] = _tally(n, keys)
    return counts


def drop_off(project_id: int, campaign_id: int | None = None,
             instrument_id: str | None = None) -> list[tuple[str | None, Tally]]:
    """Partial responses by the page they last reached (None: not stored), most first."""
    return [(page, _tally(n, keys)) for page, n, keys in db.session.execute(
        sa.select(Response.current_page, COUNT, KEYS).select_from(Response)
        .join(Campaign, Campaign.id == Response.campaign_id)
        .where(*_responses_in(project_id, campaign_id, instrument_id), Response.status == "partial")
        .group_by(Response.current_page).order_by(COUNT.desc(), Response.current_page))]


def answer_counts(project_id: int, instrument_id: str, keys: list[str],
                  campaign_id: int | None = None) -> dict[str, list[tuple[object, Tally]]]:
    """Per answer key, the complete responses grouped by the stored value (see
    ``queries.dashboard.answer_counts``): ``[(value, tally)]``. A select_multiple
    combination's tally adds to each choice it holds, as its count does."""
    wanted = set(keys)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    each = (sa.func.jsonb_each(Response.answers) if postgres else sa.func.json_each(Response.answers)
            ).table_valued("key", "value", *(() if postgres else ("type",))).alias("entry")
    kind = sa.literal("") if postgres else each.c.type
    query = (sa.select(each.c.key, each.c.value, kind, COUNT, KEYS)
             .select_from(Response).join(Campaign, Campaign.id == Response.campaign_id).join(each, sa.true())
             .where(*_responses_in(project_id, campaign_id, instrument_id),
                    Response.status == "complete", each.c.key.in_(wanted))
             .group_by(each.c.key, each.c.value, kind))
    counts: dict[str, list[tuple[object, Tally]]] = {key: [] for key in keys}
    for key, value, value_type, n, key_sum in db.session.execute(query):
        if not postgres and value_type in ("array", "object"):
            value = json.loads(value)  # SQLite hands nested JSON back as its text
        if value is not None:
            counts[key].append((value, _tally(n, key_sum)))
    return counts


def response_tallies(campaign_id: int) -> dict[str, Tally]:
    """A campaign's responses by status (what ``queries.campaigns.response_counts`` counts)."""
    counts = {"partial": Tally(), "complete": Tally()}
    for status, n, keys in db.session.execute(
            sa.select(Response.status, COUNT, KEYS).where(Response.campaign_id == campaign_id)
            .group_by(Response.status)):
        counts[status] = _tally(n, keys)
    return counts


def record_keys(model, ids) -> dict:
    """``{id: record_key}`` of the given rows of ``model`` (Response or Segment), in chunks."""
    ids = list(ids)
    found = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        found.update(db.session.execute(
            sa.select(model.id, model.record_key).where(model.id.in_(chunk))).all())
    return found


# ----------------------------------------------------------------------------- themes

def confirmed(theme) -> bool:
    """Whether a person chose the theme's label: an analyst renamed it, or it is a codebook
    code. The engine's own label is made of the answers' words, so it is not shown to
    partners or the public."""
    return bool(theme.renamed or theme.codebook_code)


def neutral_label(number: int) -> str:
    """What partners and the public read in place of a label no analyst confirmed: "Theme 3",
    in the page's language (the catalog's "Theme"; English outside a request: a command,
    a job)."""
    return f"{_('Theme') if has_request_context() else 'Theme'} {number}"


def item_tallies(refs) -> dict[str, Tally]:
    """Each theme item ref (``r<response id>:<key>`` or ``s<segment id>``) as a one-record
    tally with its response's or segment's stored key."""
    responses = {ref: int(ref[1:].partition(":")[0]) for ref in refs if ref.startswith("r")}
    segments = {ref: int(ref[1:]) for ref in refs if ref.startswith("s")}
    keys = {("r", i): k for i, k in record_keys(Response, set(responses.values())).items()}
    keys.update({("s", i): k for i, k in record_keys(Segment, set(segments.values())).items()})
    tallies = {ref: Tally(1, keys.get(("r", i), 0)) for ref, i in responses.items()}
    tallies.update({ref: Tally(1, keys.get(("s", i), 0)) for ref, i in segments.items()})
    return tallies


def theme_rows(source, wording: str, min_cell_size: int) -> Iterator[ThemeRow]:
    """A source's themes as partners and the public read them (an aggregates-only export,
    the partner's themes summary): each count the protected count of the theme's texts,
    each share of the protected count of all the source's assigned texts; a theme of 1 to
    min_cell_size - 1 texts suppressed (count None, label ``SUPPRESSED_THEME``); the label
    only when confirmed (``confirmed``), else "Theme N" (N: its place in the list); no key
    phrases or quotes. Codebook rows follow, as in ``queries.export``."""
    layer = Disclosure(min_cell_size)
    chosen = effective_themes(source)
    tallies = item_tallies(chosen)
    per_theme: dict[int, Tally] = {}
    for ref, theme_id in chosen.items():
        if theme_id is not None:
            per_theme[theme_id] = per_theme.get(theme_id, Tally()) + tallies.get(ref, Tally(1, 0))
    everyone = sum(tallies.values(), Tally())
    themes = sorted((t for t in themes_of(source) if t.id in per_theme),
                    key=lambda theme: (-per_theme[theme.id].n, theme.id))
    table = layer.table_of([(theme.id, per_theme[theme.id]) for theme in themes], of=everyone,
                           people=everyone.n)
    for number, (theme, cell) in enumerate(zip(themes, table.cells), start=1):
        if cell.count.suppressed:
            yield ThemeRow(source.kind, source.item_id, wording, SUPPRESSED_THEME, None)
            continue
        feeling = theme.sentiment
        # Shares to the nearest tenth: 1 in 7 read as 14% would name the exact count.
        tenth = lambda share: round(share, 1)  # noqa: E731
        yield ThemeRow(source.kind, source.item_id, wording,
                       theme.label if confirmed(theme) else neutral_label(number),
                       cell.count.value, cell.percent, (),
                       (tenth(feeling["positive"]), tenth(feeling["neutral"]),
                        tenth(feeling["negative"])) if feeling else None, ())
    rows = codebook_assignments(source)
    if not rows:
        return
    refs = {row.id: (f"s{row.segment_id}" if row.segment_id is not None
                     else f"r{row.response_id}:{row.answer_key}") for row in rows}
    keys = item_tallies(set(refs.values()))
    coded: dict[int, Tally] = {}
    for row in rows:
        coded[row.theme_id] = coded.get(row.theme_id, Tally()) + keys.get(refs[row.id], Tally(1, 0))
    whole = sum(item_tallies({item.ref for item in source_items(source)}).values(), Tally())
    for theme in sorted(codebook_themes_of(source), key=lambda t: (-coded.get(t.id, Tally()).n, t.id)):
        if theme.id not in coded:
            continue
        count = layer.count_of(coded[theme.id])
        kind = f"{source.kind} (codebook)"
        if count.suppressed:
            yield ThemeRow(kind, source.item_id, wording, SUPPRESSED_THEME, None)
        else:
            yield ThemeRow(kind, source.item_id, wording, theme.label, count.value,
                           layer.share_of(coded[theme.id], whole))


# ----------------------------------------------------------------------------- aggregate export

class ExportTallies:
    """What an aggregates-only export counts, as tallies: its responses, per status, per
    campaign code and per instrument version, and the Summary sheet's cells
    (domain.protected_export). ``read`` streams the selected responses once."""

    def __init__(self, instrument: Instrument, layer: Disclosure):
        self.layer = layer
        self.summary = ProtectedSummary(instrument, layer)
        self.responses = Tally()
        self.statuses: dict[str, Tally] = {}
        self.campaigns: dict[str, Tally] = {}
        self.versions: dict[int, Tally] = {}

    def read(self, clauses, *, progress=None, every: int = 1000) -> None:
        """Tally the responses the export's WHERE ``clauses`` select (queries.export._where)."""
        query = (sa.select(Campaign.code, Response.status, Response.instrument_version_id,
                           Response.record_key, Response.answers)
                 .join(Campaign, Response.campaign_id == Campaign.id).where(*clauses)
                 .order_by(Response.id))
        result = db.session.connection().execute(
            query.execution_options(yield_per=every, stream_results=True))
        seen = 0
        try:
            for code, status, version_id, key, answers in result:
                one = Tally(1, key)
                self.responses += one
                self.statuses[status] = self.statuses.get(status, Tally()) + one
                self.campaigns[code] = self.campaigns.get(code, Tally()) + one
                self.versions[version_id] = self.versions.get(version_id, Tally()) + one
                self.summary.add(answers or {}, key)
                seen += 1
                if progress is not None and seen % every == 0:
                    progress(every)
        finally:
            result.close()
        if progress is not None:
            progress(seen % every)

    def shown(self, tally: Tally) -> int | str:
        """A count as the About sheet writes it: protected, or "fewer than N"."""
        count = self.layer.count_of(tally)
        return f"fewer than {self.layer.min_cell_size}" if count.suppressed else count.value
