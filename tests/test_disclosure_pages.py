"""Issue 22's differencing attack played on the real pages a partner reads: the project
dashboard (with the questionnaire picker), each campaign's dashboard, the aggregates-only
Excel export of each campaign (read with openpyxl) and the published results page, for a
project with a 3-person site among larger ones over two waves.

A curious partner subtracts: the project's count less the other campaigns' counts, for
every chart and label; a chart's total (completion, the About sheet's responses) less its
visible cells; a percentage times the denominator shown beside it; the About sheet's
per-campaign counts. No exact count of a protected cell (1 to min_cell_size - 1 of the
small site's respondents) may come out. Also: the same cell reads the same on every page
and file; tables add up where they say so; an analyst still reads exact counts; a
partner's results preview has no quote before publication; a theme is named publicly
only by a confirmed label; every page and file is sent ``no-store``.
SQLite, and PostgreSQL when its URL is set (the app fixture).
"""
from __future__ import annotations

import html
import io
import re
import uuid
from collections import defaultdict

import openpyxl
import pytest

from surveyapp import operations, queries
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.helpers import NEXT, answer_with, member, submit

MIN = 5
# Baseline: two larger sites and the 3-person site; follow-up: the two larger ones.
# (site, wave, complete responses, partial ones)
CAMPAIGNS = [("Alderbank", "baseline", 40, 3), ("Brookside", "baseline", 30, 2),
             ("Cobble", "baseline", 3, 0), ("Alderbank", "follow-up 1", 30, 1),
             ("Brookside", "follow-up 1", 25, 0)]
TARGET = ("Cobble", "baseline")
SUPPRESSED = f"suppressed (fewer than {MIN})"


def add_partials(app, code, count, page="resources_page"):
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(code)
            for index in range(count):
                db.session.add(Response(
                    submission_id=uuid.uuid4(), campaign_id=campaign.id,
                    instrument_version_id=campaign.pinned_version.id, language="en",
                    status="partial", resume_code=f"Q{code[:6].upper()}{index:04d}",
                    answers={}, current_page=page))
        operations.transaction(work)


@pytest.fixture
def project(app, make_campaign):
    codes = {}
    for seed, (site, wave, complete, partial) in enumerate(CAMPAIGNS):
        code = make_campaign(site=site, wave=wave, project="Council")
        submit(app, code, complete, seed=10 + seed, tendency=0.5)
        add_partials(app, code, partial)
        codes[(site, wave)] = code
    with app.app_context():
        ids = {key: queries.campaigns.campaign_by_code(code).id for key, code in codes.items()}
        project_id = queries.campaigns.campaign_by_code(codes[TARGET]).project_id
    return {"codes": codes, "ids": ids, "project_id": project_id}


# ----------------------------------------------------------------------------- reading pages

def dashboard_cells(text: str) -> dict[tuple[str, str], str]:
    """(chart title, row label) -> the value cell of each chart's data table; capacity
    charts' rows are keyed "site / wave"."""
    cells = {}
    for figure in re.findall(r'<figure class="chart">(.*?)</figure>', text, re.S):
        title = html.unescape(re.search(r"<h[23][^>]*>(.*?)</h[23]>", figure, re.S).group(1))
        for row in re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", figure, re.S):
            parts = [html.unescape(re.sub(r"<[^>]+>", "", p)).strip()
                     for p in re.split(r"</th>|</td>", row) if p.strip()]
            if len(parts) == 2:
                cells[(title, parts[0])] = parts[1]
            elif len(parts) >= 3:
                cells[(title, f"{parts[0]} / {parts[1]}")] = parts[2]
    return cells


def as_count(value: str | None) -> int | None:
    """A shown count ("1,234" -> 1234); None when suppressed or not a count."""
    if value is None or not re.fullmatch(r"[\d,]+", value):
        return None
    return int(value.replace(",", ""))


def counts_of(cells: dict) -> dict[tuple[str, str], int | None]:
    """The count charts' cells (capacity charts hold means, not counts)."""
    return {key: as_count(value) for key, value in cells.items() if " / " not in key[1]}


def export_book(client, campaign_id: int):
    reply = client.get(f"/staff/campaigns/{campaign_id}/export")
    assert reply.status_code == 200, reply.status_code
    return openpyxl.load_workbook(io.BytesIO(reply.data), read_only=True)


def about_of(book) -> dict[str, object]:
    return {row[0]: (tuple(row) + (None,))[1]
            for row in book["About"].iter_rows(min_row=2, values_only=True)}


def summary_of(book) -> dict[tuple[str, object], tuple]:
    """(variable, value) -> (count, percent, valid) of the Summary's frequency rows."""
    found = {}
    for row in book["Summary"].iter_rows(min_row=2, values_only=True):
        row = tuple(row) + (None,) * 14           # read-only rows stop at the last value
        if row[2] is not None:
            found[(row[0], row[2])] = (row[4], row[5], row[6])
    return found


def read_everything(app, client, project):
    """Every page and file of the scenario as the client reads it."""
    pid = project["project_id"]
    pages = {"project": client.get(f"/staff/projects/{pid}/dashboard"),
             "project (picker)": client.get(f"/staff/projects/{pid}/dashboard?instrument=community-capacity")}
    for key, campaign_id in project["ids"].items():
        pages[key] = client.get(f"/staff/campaigns/{campaign_id}/dashboard")
    for name, reply in pages.items():
        assert reply.status_code == 200, name
    dashboards = {name: dashboard_cells(reply.text) for name, reply in pages.items()}
    books = {key: export_book(client, campaign_id) for key, campaign_id in project["ids"].items()}
    return dashboards, books


def set_min_cell_size(app, project, size: int) -> None:
    with app.app_context():
        def work():
            db.session.get(queries.projects.Project, project["project_id"]).min_cell_size = size
        operations.transaction(work)


def truth(app, project) -> dict[tuple[str, str], int]:
    """The target campaign's exact count behind each chart cell: its analyst's dashboard
    with the minimum cell size set to 1 for the moment (nothing suppressed)."""
    analyst = member(app, "truth@example.org", "analyst", "Council")
    set_min_cell_size(app, project, 1)
    try:
        reply = analyst.get(f"/staff/campaigns/{project['ids'][TARGET]}/dashboard")
    finally:
        set_min_cell_size(app, project, MIN)
    return {key: n for key, n in counts_of(dashboard_cells(reply.text)).items() if n is not None}


# ----------------------------------------------------------------------------- the attack

def attack(dashboards, books, project) -> dict[tuple, set[int]]:
    """What a partner works out for each of the target campaign's cells, by every route:
    (1) the project dashboard's count less every other campaign's, for each chart and
    label (the baseline and follow-up campaigns of the project together); (2) a chart's
    total (complete + partial) less its shown cells; (3) the About sheet: the project's
    counts less the other campaigns' "responses" and "campaigns" figures; (4) the Summary
    sheet: each percentage times the valid count shown beside it, then (1) on those."""
    recovered: dict[tuple, set[int]] = defaultdict(set)
    target = counts_of(dashboards[TARGET])
    others = [key for key in project["ids"] if key != TARGET]
    for view in ("project", "project (picker)"):
        whole = counts_of(dashboards[view])
        for key in target:
            parts = [counts_of(dashboards[other]).get(key) for other in others]
            if whole.get(key) is not None and None not in parts:
                recovered[key].add(whole[key] - sum(parts))
    # A chart's cells add up: total responses per day = complete + partial, etc.
    status = {label: n for (title, label), n in target.items() if title == "Complete and partial responses"}
    days = sum(n or 0 for (title, _l), n in target.items() if title.startswith("Responses started"))
    for label, n in status.items():
        other = [m for name, m in status.items() if name != label]
        if n is None and other and None not in other:
            recovered[("Complete and partial responses", label)].add(days - sum(other))
    # About: the target's responses are the sum over all campaigns less the others.
    about = {key: about_of(book) for key, book in books.items()}
    code = project["codes"][TARGET]
    for key in others:
        line = str(about[key].get("campaigns", ""))
        if code in line:  # a campaign's file naming another's count
            recovered[("About", "responses")].add(int(line.split(f"{code}: ")[1].split(";")[0]))
    shown = about[TARGET].get("responses")
    if isinstance(shown, int):
        recovered[("About", "responses")].add(shown)
    # Summary: percent x valid gives a count back; the target's own and by subtraction.
    summary = summary_of(books[TARGET])
    for (variable, value), (count, percent, valid) in summary.items():
        if count is None and percent is not None and isinstance(valid, int):
            recovered[("Summary", variable, value)].add(round(percent * valid / 100))
    return recovered


def protected_truth(app, project) -> dict[tuple, int]:
    """The target's cells of 1 to MIN - 1 respondents: dashboard cells, its response count,
    its Summary cells."""
    cells = {key: n for key, n in truth(app, project).items() if 0 < n < MIN}
    with app.app_context():
        campaign_id = project["ids"][TARGET]
        counts = queries.campaigns.response_counts(campaign_id)
        if 0 < counts["complete"] < MIN:
            cells[("About", "responses")] = counts["complete"]
        campaign = db.session.get(queries.campaigns.Campaign, campaign_id)
        instrument = queries.instruments.instrument_of(campaign.pinned_version)
        answers = [r.answers for r in db.session.scalars(
            db.select(Response).where(Response.campaign_id == campaign_id, Response.status == "complete"))]
        for question in instrument.questions:
            if question.type in ("select_one", "likert") and not question.pii:
                for value in question.choice_values:
                    n = sum(1 for a in answers if a.get(question.id) == value)
                    if 0 < n < MIN:
                        cells[("Summary", question.id, value)] = n
    return cells


def exact(recovered, cells) -> dict[tuple, int]:
    return {key: n for key, n in cells.items() if n in recovered.get(key, ())}


def test_the_differencing_attack_gives_no_small_cell_back(app, project):
    partner = member(app, "partner@example.org", "partner", "Council")
    dashboards, books = read_everything(app, partner, project)
    cells = protected_truth(app, project)
    recovered = attack(dashboards, books, project)
    found = exact(recovered, cells)
    reached = sum(1 for key in cells if recovered.get(key))
    print(f"\nprotected cells: {len(cells)}; reached by the attack: {reached}; "
          f"recovered exactly: {len(found)}")
    # Not vacuous: the target has small cells and the attack reaches most of them...
    assert len(cells) >= 20 and reached >= len(cells) // 3
    # ...and gets none of them: every count a partner reads is a multiple of 5.
    assert found == {}
    for name, cells_shown in dashboards.items():
        for key, n in counts_of(cells_shown).items():
            assert n is None or n % MIN == 0, (name, key, n)


def test_the_same_cell_reads_the_same_on_every_page_and_file(app, project):
    """The target campaign's complete responses: its dashboard's completion bar, its
    export's About "responses complete", the project export's "campaigns" line for it and
    the project dashboard filtered to it all read one protected value; the project
    dashboard's per-day bars add up to its completion chart when both are additive."""
    partner = member(app, "partner@example.org", "partner", "Council")
    dashboards, books = read_everything(app, partner, project)
    key = ("Alderbank", "baseline")            # a cell large enough to be shown
    bar = as_count(dashboards[key][("Complete and partial responses", "complete")])
    about = about_of(books[key])
    assert bar is not None and bar % MIN == 0
    assert about["responses complete"] == bar
    assert str(about["campaigns"]) == f"{project['codes'][key]}: {bar}"
    # The same records (the target's complete responses) read alike on two pages and a file.
    small = about_of(books[TARGET])
    assert small["responses complete"] == f"fewer than {MIN}"
    assert dashboards[TARGET][("Complete and partial responses", "complete")] == SUPPRESSED
    # Every campaign's file says the same of its own responses as its dashboard does.
    for campaign, book in books.items():
        shown = dashboards[campaign][("Complete and partial responses", "complete")]
        written = about_of(book)["responses complete"]
        assert (shown == SUPPRESSED and written == f"fewer than {MIN}") or as_count(shown) == written


def test_tables_add_up_and_shares_come_from_the_shown_counts(app, project):
    partner = member(app, "partner@example.org", "partner", "Council")
    _dashboards, books = read_everything(app, partner, project)
    for campaign, book in books.items():
        groups = defaultdict(list)
        for (variable, _value), (count, percent, valid) in summary_of(book).items():
            groups[variable].append((count, percent, valid))
        for variable, rows in groups.items():
            valid = rows[0][2]
            for count, percent, _valid in rows:
                if count is not None and isinstance(valid, int) and valid:
                    assert count % MIN == 0 and valid % MIN == 0
                    assert percent == round(min(100.0, 100 * count / valid), 1), (campaign, variable)


def test_an_analyst_still_reads_exact_counts(app, project):
    """Alderbank's baseline: 43 responses started (40 complete, 3 partial), all today."""
    url = f"/staff/campaigns/{project['ids'][('Alderbank', 'baseline')]}/dashboard"
    analyst = member(app, "analyst@example.org", "analyst", "Council")
    partner = member(app, "partner@example.org", "partner", "Council")
    exact_days = {k: n for k, n in counts_of(dashboard_cells(analyst.get(url).text)).items()
                  if k[0].startswith("Responses started")}
    shown_days = {k: n for k, n in counts_of(dashboard_cells(partner.get(url).text)).items()
                  if k[0].startswith("Responses started")}
    assert list(exact_days.values()) == [43]
    assert list(shown_days.keys()) == list(exact_days.keys())
    assert list(shown_days.values())[0] in (40, 45)


def test_the_published_page_shows_protected_counts(app, project):
    code = project["codes"][("Alderbank", "baseline")]
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(code)
            publication = operations.results.get_or_create(campaign)
            operations.results.set_next_steps(publication, NEXT, user="cli")
            operations.results.publish(publication, user="cli")
        operations.transaction(work)
    reply = app.test_client().get(f"/r/{code}/?lang=en")
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    said = re.search(r"(\d+) people answered the survey", reply.text)
    assert said and int(said.group(1)) % MIN == 0 and abs(int(said.group(1)) - 40) < MIN
    partner = member(app, "partner@example.org", "partner", "Council")
    about = about_of(export_book(partner, project["ids"][("Alderbank", "baseline")]))
    assert about["responses complete"] == int(said.group(1))   # the same cell, the same value
    printed = app.test_client().get(f"/r/{code}/print?paper=a4")
    assert printed.headers["Cache-Control"] == "no-store"
    assert f"{said.group(1)} people" in printed.text


# ----------------------------------------------------------------------------- words

LIGHTS = "The street lights are dark at night near the bus stop, fix the street lights"
PATROLS = "More police patrols walking the streets at night, police patrols on foot"


def themed_campaign(app, make_campaign):
    code = make_campaign(site="Alderbank", project="Council")
    answer_with(app, code, [LIGHTS] * 7 + [PATROLS] * 7)
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        source = queries.themes.Source("question", campaign.project_id, "community-capacity",
                                       "safer_ideas", campaign_id=campaign.id)
        operations.transaction(lambda: operations.themes.run_themes(source, k=2))
        themes = [(t.id, t.label, list(t.quotes)) for t in queries.themes.themes_of(source)]
        return code, campaign.id, source, themes


def test_a_partner_reads_no_quote_before_publication(app, make_campaign):
    code, campaign_id, _source, themes = themed_campaign(app, make_campaign)
    theme_id, _label, quotes = next(t for t in themes if t[2])
    with app.app_context():
        def work():
            publication = operations.results.get_or_create(queries.campaigns.campaign_by_code(code))
            operations.results.approve_quote(publication, db.session.get(queries.themes.Theme, theme_id),
                                             quotes[0], user="cli")
            operations.results.set_next_steps(publication, NEXT, user="cli")
        operations.transaction(work)
    partner = member(app, "partner@example.org", "partner", "Council")
    analyst = member(app, "analyst@example.org", "analyst", "Council")
    url = f"/staff/campaigns/{campaign_id}/results/preview"
    before = partner.get(url)
    assert before.status_code == 200
    assert html.escape(quotes[0]) not in before.text and quotes[0] not in before.text
    assert before.headers["Cache-Control"] == "no-store"
    assert html.escape(quotes[0]) in analyst.get(url).text     # the check above could fail
    with app.app_context():
        def publish():
            operations.results.publish(operations.results.get_or_create(
                queries.campaigns.campaign_by_code(code)), user="cli")
        operations.transaction(publish)
    assert html.escape(quotes[0]) in partner.get(url).text     # published: the words are public


def test_a_theme_is_named_publicly_only_by_a_confirmed_label(app, make_campaign):
    code, campaign_id, source, themes = themed_campaign(app, make_campaign)
    with app.app_context():
        def work():
            publication = operations.results.get_or_create(queries.campaigns.campaign_by_code(code))
            operations.results.set_next_steps(publication, NEXT, user="cli")
            operations.results.publish(publication, user="cli")
        operations.transaction(work)
    page = html.unescape(app.test_client().get(f"/r/{code}/?lang=en").text)
    for _theme_id, label, _quotes in themes:
        assert label not in page, label          # the engine's words, unconfirmed
    assert "Theme 1" in page
    # An analyst renames one: that label is shown, the other stays neutral.
    renamed_id, machine_label, _q = themes[0]
    with app.app_context():
        def rename():
            theme = db.session.get(queries.themes.Theme, renamed_id)
            theme.label, theme.renamed = "Lighting", True
        operations.transaction(rename)
    page = html.unescape(app.test_client().get(f"/r/{code}/?lang=en").text)
    assert "Lighting" in page and machine_label not in page
    assert all(label not in page for _i, label, _q in themes[1:])


def test_a_suppressed_theme_is_never_named(app, make_campaign):
    code = make_campaign(site="Alderbank", project="Council")
    answer_with(app, code, [LIGHTS] * 9 + [PATROLS] * 2)
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        source = queries.themes.Source("question", campaign.project_id, "community-capacity",
                                       "safer_ideas", campaign_id=campaign.id)
        operations.transaction(lambda: operations.themes.run_themes(source, k=2))

        def rename_all():
            for theme in queries.themes.themes_of(source):
                theme.label, theme.renamed = f"Confirmed {theme.id}", True
        operations.transaction(rename_all)
        found = queries.results.campaign_themes(campaign, queries.instruments.instrument_of(
            campaign.pinned_version))
    small = [t for t in found if t.count is None]
    assert small, "the scenario needs a suppressed theme"
    for theme in small:
        assert theme.label.startswith("Theme ") and theme.quotes == []
    assert any(t.label.startswith("Confirmed ") for t in found if t.count is not None)


def test_every_page_and_file_with_data_is_no_store(app, project):
    partner = member(app, "partner@example.org", "partner", "Council")
    pid, campaign_id = project["project_id"], project["ids"][TARGET]
    for url in (f"/staff/projects/{pid}/dashboard", f"/staff/campaigns/{campaign_id}/dashboard",
                f"/staff/projects/{pid}/capacity", f"/staff/projects/{pid}/themes/summary",
                f"/staff/campaigns/{campaign_id}/export", f"/staff/campaigns/{campaign_id}/results/preview",
                "/staff/"):
        reply = partner.get(url)
        assert reply.status_code in (200, 302), url
        assert reply.headers["Cache-Control"] == "no-store", (url, reply.headers.get("Cache-Control"))
