"""Paired change of linked residents in the workbook's Panel sheet and `surveyapp scores
show --paired`; never in what a partner downloads."""
from __future__ import annotations

import io

import openpyxl
import pytest
import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.extensions import db
from surveyapp.models import Campaign, PanelLink, Response
from tests.test_scores import submit


def linked_project(app, make_campaign, linked=8):
    before = make_campaign(site="Hillcrest", project="Council")
    after = make_campaign(site="Hillcrest", wave="follow-up 1", project="Council")
    submit(app, before, 10, seed=1, tendency=0.4)
    submit(app, after, 10, seed=2, tendency=0.7)
    with app.app_context():
        def work():
            ids = {}
            for code in (before, after):
                campaign = queries.campaigns.campaign_by_code(code)
                ids[campaign.wave] = list(db.session.scalars(
                    sa.select(Response.id).where(Response.campaign_id == campaign.id).order_by(Response.id)))
                project_id = campaign.project_id
            for k in range(linked):
                for wave in ("baseline", "follow-up 1"):
                    db.session.add(PanelLink(project_id=project_id, response_id=ids[wave][k],
                                             wave=wave, link_key=f"{k:064x}"))
            return project_id
        return before, operations.transaction(work)


def scored_links(app, project_id):
    """Pairs of linked responses that both have a trust score, baseline respondents with
    one, and how many of those came back (were linked at follow-up)."""
    from surveyapp.models import ResponseScore
    with app.app_context():
        trust = set(db.session.scalars(sa.select(ResponseScore.response_id).where(
            ResponseScore.domain_id == "trust", ResponseScore.score.is_not(None))))
        keys = {}
        for response_id, wave, key in queries.panel.links(project_id):
            keys.setdefault(key, {})[wave] = response_id
        baseline = db.session.scalar(sa.select(sa.func.count()).select_from(Response).join(
            Campaign).where(Campaign.wave == "baseline", Response.id.in_(trust)))
    pairs = sum(1 for k in keys.values() if k.get("baseline") in trust and k.get("follow-up 1") in trust)
    returned = sum(1 for k in keys.values() if k.get("baseline") in trust and "follow-up 1" in k)
    return {"pairs": pairs, "baseline": baseline, "returned": returned}


def test_the_panel_sheet_pairs_the_linked_residents_and_a_partner_file_has_none(app, make_campaign):
    from surveyapp.queries.export import ExportFilters, write_export
    code, project_id = linked_project(app, make_campaign)
    for aggregates_only in (False, True):
        stream = io.BytesIO()
        with app.app_context():
            write_export(ExportFilters(instrument_id="community-capacity", project_id=project_id,
                                       aggregates_only=aggregates_only), stream)
        book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)
        if aggregates_only:
            assert "Panel" not in book.sheetnames       # a partner never sees linkage
            continue
        rows = list(book["Panel"].iter_rows(values_only=True))
        header, body = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
        trust = next(r for r in body if r["site"] == "Hillcrest" and r["domain"] == "trust")
        scored = scored_links(app, project_id)            # a skipped domain has no score
        assert 5 <= scored["pairs"] <= 8 and trust["n_paired"] == scored["pairs"]
        assert trust["method"].startswith("partially overlapping")
        assert (trust["baseline_respondents"], trust["returned"]) == (scored["baseline"],
                                                                      scored["returned"])
        with app.app_context():
            table, _ = queries.scores.capacity_table(db.session.get(__import__(
                "surveyapp.models", fromlist=["Project"]).Project, project_id), "community-capacity")
        assert trust["unpaired_change"] == pytest.approx(
            table.change("Hillcrest", "follow-up 1", "trust").difference)


def test_scores_show_gives_the_statistics_and_with_paired_the_panel(app, make_campaign, runner):
    linked_project(app, make_campaign)
    plain = runner.invoke(args=["scores", "show", "--project", "Council"])
    assert plain.exit_code == 0, plain.output
    assert "Trust and collaboration with law enforcement · Hillcrest · follow-up 1: " in plain.output
    assert "95% CI [" in plain.output and ", g " in plain.output and ", q " in plain.output
    assert "Panel:" not in plain.output
    paired = runner.invoke(args=["scores", "show", "--project", "Council", "--paired"])
    assert paired.exit_code == 0, paired.output
    assert "Panel: 8 follow-up responses linked" in paired.output
    assert "combined (" in paired.output and " pairs of " in paired.output and "unpaired " in paired.output
    assert "came back" in paired.output
    missing = runner.invoke(args=["scores", "show", "--project", "Council", "--instrument", "nope"])
    assert missing.exit_code != 0 and "no scores for 'nope'" in missing.output


def test_the_dashboard_shows_an_analyst_the_panel_and_a_partner_nothing_of_it(app, make_campaign):
    from tests.helpers import login
    code, project_id = linked_project(app, make_campaign)
    with app.app_context():
        def users():
            project = operations.staff.project_by_name("Council")
            operations.staff.create_user("ana@example.org", "correct horse battery", ["analyst"], project)
            operations.staff.create_user("pat@example.org", "correct horse battery", ["partner"], project)
        operations.transaction(users)
    url = f"/staff/projects/{project_id}/dashboard?instrument=community-capacity"
    analyst, partner = app.test_client(), app.test_client()
    assert login(analyst, "ana@example.org", "correct horse battery").status_code == 302
    assert login(partner, "pat@example.org", "correct horse battery").status_code == 302
    text = analyst.get(url).text
    panel = text[text.index('id="panel"'):text.index("</section>", text.index('id="panel"'))]
    assert "Residents who answered both waves" in panel and "partially overlapping t" in panel
    assert " of 10" in panel                      # came back, of the baseline respondents
    seen = partner.get(url).text
    assert 'id="panel"' not in seen and "panel code" not in seen and "answered both waves" not in seen


def test_the_demo_has_a_linked_panel_whose_paired_interval_is_narrower(app, runner):
    assert runner.invoke(args=["demo", "seed", "--responses", "24"]).exit_code == 0
    with app.app_context():
        project = operations.staff.project_by_name(operations.demo.DEMO_PROJECT)
        panel = queries.scores.panel_table(project, "community-capacity")
        links = queries.panel.links(project.id)
    # Two in three of Riverside's baseline residents came back with their code.
    assert panel.linked == 16 and len(links) == 32
    trust = panel.change("Riverside", "follow-up 1", "trust")
    assert trust.paired.n_paired >= 12 and trust.paired.method == "combined"
    assert trust.paired.correlation > 0.3 and trust.narrower
    shown = runner.invoke(args=["scores", "show", "--paired"])
    assert "Panel: 16 follow-up responses linked" in shown.output
