"""Capacity scores in the app: stored on both write paths, backfilled once, summarised on
the analyst's page with small sites suppressed."""
from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
import sqlalchemy as sa
from scipy import stats

from surveyapp import operations, queries
from surveyapp.domain.answers import Context
from surveyapp.domain.scoring import domain_scores
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.domain.labels import format_fixed, format_signed
from surveyapp.extensions import db
from surveyapp.models import Campaign, Response, ResponseScore, Site
from tests.helpers import CAPACITY, URL, analyst_of, complete, login, payload, submit

ROOT = Path(__file__).resolve().parent.parent


def stored_scores(app) -> dict[int, dict[str, float | None]]:
    with app.app_context():
        scores = {}
        for row in db.session.scalars(sa.select(ResponseScore)):
            scores.setdefault(row.response_id, {})[row.domain_id] = row.score
        return scores


def answers_by_response(app) -> dict[int, dict]:
    with app.app_context():
        return {r.id: dict(r.answers) for r in db.session.scalars(
            sa.select(Response).where(Response.status == "complete"))}


def test_scores_are_stored_when_a_response_completes_through_html(app, client, make_campaign):
    code = make_campaign()
    answers = synthetic_answers(CAPACITY, random.Random(3), Context("Riverside", "baseline", "en"), 0.6)
    assert complete(client, code, answers).endswith("/done")
    ((response_id, stored),) = answers_by_response(app).items()
    expected = domain_scores(CAPACITY, stored)
    assert set(expected) == {"resources", "skills", "participation", "trust", "safety"}
    assert stored_scores(app) == {response_id: expected}


def test_scores_are_stored_when_a_response_is_submitted_through_the_api(app, client, make_campaign):
    code = make_campaign()
    for seed in (1, 2):
        assert client.post(URL, json=payload(code, seed=seed)).status_code == 201
    body = payload(code, seed=3)
    assert client.post(URL, json=body).status_code == 201
    assert client.post(URL, json=body).status_code == 200  # a retry stores nothing twice
    expected = {rid: domain_scores(CAPACITY, answers) for rid, answers in answers_by_response(app).items()}
    assert len(expected) == 3 and stored_scores(app) == expected
    assert any(score is not None for scores in expected.values() for score in scores.values())


def forget_scores(app):
    """As on a server upgraded from before scores were stored."""
    with app.app_context():
        db.session.execute(sa.delete(ResponseScore))
        db.session.commit()


def test_backfill_scores_older_responses_once(app, client, runner, make_campaign):
    first, second = make_campaign(), make_campaign(wave="follow-up 1")
    for code, seeds in ((first, (1, 2, 3)), (second, (4, 5))):
        for seed in seeds:
            assert client.post(URL, json=payload(code, seed=seed)).status_code == 201
    expected = stored_scores(app)
    assert len(expected) == 5
    forget_scores(app)

    only_second = runner.invoke(args=["scores", "backfill", "--campaign", second])
    assert only_second.exit_code == 0, only_second.output
    assert "2 responses scored" in only_second.output
    assert len(stored_scores(app)) == 2

    rest = runner.invoke(args=["scores", "backfill", "--batch-size", "2"])
    assert rest.exit_code == 0, rest.output
    assert "3 responses scored" in rest.output
    assert stored_scores(app) == expected

    again = runner.invoke(args=["scores", "backfill"])
    assert "0 responses scored" in again.output
    assert stored_scores(app) == expected
    assert runner.invoke(args=["scores", "backfill", "--campaign", "nosuch"]).exit_code == 1


def reworded_capacity(tmp_path) -> Path:
    """community-capacity with one resources item reworded and the trust reverse item
    scored straight: a new version."""
    text = (ROOT / "instruments" / "community-capacity.yaml").read_text()
    assert text.count("reverse: [trust.unfair_treatment]") == 1
    text = text.replace('version: "2026.1"', 'version: "2026.2"').replace(
        "reverse: [trust.unfair_treatment]", "reverse: []")
    path = tmp_path / "community-capacity.yaml"
    path.write_text(text)
    return path


def test_a_new_instrument_version_recomputes_nothing(app, client, runner, make_campaign, tmp_path):
    code = make_campaign()
    assert client.post(URL, json=payload(code, seed=1)).status_code == 201
    before = stored_scores(app)
    with app.app_context():
        result = operations.transaction(
            lambda: operations.instruments.sync_instruments([reworded_capacity(tmp_path)]))
        assert result.problems == [] and len(result.unchanged) == 0
    assert "0 responses scored" in runner.invoke(args=["scores", "backfill"]).output
    assert stored_scores(app) == before


# ----------------------------------------------------------------------------- the page



def scores_of(app, code, domain):
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        return [s for s in db.session.scalars(
            sa.select(ResponseScore.score).join(Response).where(
                Response.campaign_id == campaign.id, ResponseScore.domain_id == domain))
            if s is not None]


def shown(value: float) -> str:
    """A score as the English page writes it: exactly one decimal."""
    return format_fixed(value, "en")


def test_the_capacity_page_shows_the_numbers_and_suppresses_a_small_site(app, make_campaign):
    big_before = make_campaign(site="Big", project="Council")
    big_after = make_campaign(site="Big", wave="follow-up 1", project="Council")
    small = make_campaign(site="Small", project="Council")
    # Mid is there so that Big's baseline can be shown: with Small alone suppressed, the next
    # smallest site (Mid) is hidden too, or all sites less Big would give Small away.
    mid = make_campaign(site="Mid", project="Council")
    submit(app, big_before, 12, seed=1, tendency=0.3)
    submit(app, big_after, 7, seed=2, tendency=0.8)
    submit(app, small, 4, seed=3, tendency=0.5)
    submit(app, mid, 6, seed=5, tendency=0.5)
    client, project_id = analyst_of(app, "Council")
    page = client.get(f"/staff/projects/{project_id}/capacity")
    assert page.status_code == 200
    text = page.text

    before, after = scores_of(app, big_before, "trust"), scores_of(app, big_after, "trust")
    # A response that skipped half the trust items has no trust score.
    assert len(before) >= 5 and len(after) >= 5
    mean, sd = statistics.mean(before), statistics.stdev(before)
    half = stats.t.ppf(0.975, len(before) - 1) * sd / len(before) ** 0.5
    welch = stats.ttest_ind(after, before, equal_var=False).confidence_interval(0.95)
    trust = text[text.index('">Trust'):].split("</table>")[0]
    big_baseline = trust[trust.index("<bdi>Big</bdi>"):].split("</tr>")[0]
    assert f"<td>{len(before)}</td><td>{shown(mean)}</td>" in big_baseline
    assert f"[{shown(mean - half)}, {shown(mean + half)}]" in big_baseline
    big_follow_up = trust[trust.index("Follow-up 1"):].split("</tr>")[0]
    assert f"<td><bdi>{format_signed(statistics.mean(after) - mean, 'en')}</bdi></td>" in big_follow_up
    assert f"[{shown(welch.low)}, {shown(welch.high)}]" in big_follow_up
    small_row = trust[trust.index("<bdi>Small</bdi>"):].split("</tr>")[0]
    assert "fewer than 5" in small_row and "suppressed" in small_row
    assert "<td>" + shown(statistics.mean(scores_of(app, small, "trust"))) not in small_row
    small_scores = scores_of(app, small, "trust")
    everyone = trust[trust.index("All sites"):].split("</tr>")[0]
    mid_scores = scores_of(app, mid, "trust")
    assert len(mid_scores) < len(before)
    mid_row = trust[trust.index("<bdi>Mid</bdi>"):].split("</tr>")[0]
    assert "suppressed" in mid_row and shown(statistics.mean(mid_scores)) not in mid_row
    assert f"<td>{len(before) + len(small_scores) + len(mid_scores)}</td>" in everyone
    french = client.get(f"/staff/projects/{project_id}/capacity?lang=fr").text
    assert "IC à 95% de l’évolution" in french and "moins de 5" in french and "Tous les sites" in french

    # The threshold is the project's: at the small site's size, its cell is shown. (The
    # language chosen above sticks: back to English.)
    with app.app_context():
        def lower():
            operations.staff.project_by_name("Council").min_cell_size = len(small_scores)
        operations.transaction(lower)
    text = client.get(f"/staff/projects/{project_id}/capacity?instrument=%3Cscript%3E&lang=en").text
    trust = text[text.index('">Trust'):].split("</table>")[0]
    small_row = trust[trust.index("<bdi>Small</bdi>"):].split("</tr>")[0]
    assert f"<td>{len(small_scores)}</td><td>{shown(statistics.mean(small_scores))}</td>" in small_row
    assert "suppressed" not in small_row and "<script>" not in text


def test_score_reads_are_scoped_to_the_project(app, make_campaign):
    ours = make_campaign(site="Big", project="Council")
    theirs = make_campaign(site="Far", project="Police")
    submit(app, ours, 6, seed=1, tendency=0.3)
    submit(app, theirs, 6, seed=2, tendency=0.9)
    with app.app_context():
        council = operations.staff.project_by_name("Council")
        rows = list(queries.scores.score_rows(council.id, "community-capacity"))
        moments = queries.scores.score_moments(council.id, "community-capacity")
    assert {site for site, _, _, _ in rows} == {"Big"} and {key[0] for key in moments} == {"Big"}
    trust = sorted(score for _, _, domain, score in rows if domain == "trust")
    assert trust == sorted(scores_of(app, ours, "trust"))
    assert moments[("Big", "baseline", "trust")].n == len(trust)
    assert moments[("Big", "baseline", "trust")].total == pytest.approx(sum(trust))


def test_changed_wording_between_waves_is_flagged_not_compared(app, make_campaign, tmp_path):
    baseline = make_campaign(site="Big", project="Council")
    with app.app_context():
        operations.transaction(
            lambda: operations.instruments.sync_instruments([reworded_capacity(tmp_path)]))
    follow_up = make_campaign(site="Big", wave="follow-up 1", project="Council")
    with app.app_context():
        versions = {queries.campaigns.campaign_by_code(c).instrument_version_id for c in (baseline, follow_up)}
        assert len(versions) == 2
    submit(app, baseline, 6, seed=1, tendency=0.3)
    submit(app, follow_up, 6, seed=2, tendency=0.8)
    client, project_id = analyst_of(app, "Council")
    text = client.get(f"/staff/projects/{project_id}/capacity").text
    trust = text[text.index('">Trust'):].split("</table>")[0]
    assert "not compared: the wording of trust.unfair_treatment changed" in trust
    resources = text[text.index(">Resources"):].split("</table>")[0]
    assert "not compared" not in resources


def test_demo_seed_scores_appear_on_the_page(app, runner):
    assert runner.invoke(args=["demo", "seed", "--responses", "8"]).exit_code == 0
    with app.app_context():
        rows = db.session.execute(
            sa.select(Campaign.wave, sa.func.count(ResponseScore.score)).join(
                Response, Response.campaign_id == Campaign.id).join(ResponseScore).where(
                Campaign.instrument_id == "community-capacity").group_by(Campaign.wave)).all()
        assert {wave for wave, count in rows if count} == {"baseline", "follow-up 1"}
        project_id = operations.staff.project_by_name(operations.demo.DEMO_PROJECT).id
        # Riverside's baseline trust scores (a skipped optional matrix has none).
        scored = db.session.scalar(
            sa.select(sa.func.count(ResponseScore.score)).join(Response).join(Campaign).join(Site)
            .where(Campaign.instrument_id == "community-capacity", Campaign.wave == "baseline",
                   Site.name == "Riverside", ResponseScore.domain_id == "trust",
                   ResponseScore.score.is_not(None)))
    email, password = (Path(app.instance_path) / "demo-login.txt").read_text().split()[:2]
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    text = client.get(f"/staff/projects/{project_id}/capacity?instrument=community-capacity").text
    riverside = text[text.index(">Trust"):].split("</table>")[0]
    assert riverside.count("<bdi>Riverside</bdi>") == 2
    assert scored >= 5 and f"<td>{scored}</td>" in riverside


def test_the_export_capacity_sheet_carries_the_pages_numbers_and_suppression(app, make_campaign):
    """The workbook's Capacity sheet is the project's capacity table: the same cells, the
    change from baseline with its Welch CI, and the same suppression as the page."""
    import io

    import openpyxl
    from surveyapp.queries.export import ExportFilters, write_export

    big_before = make_campaign(site="Big", project="Council")
    big_after = make_campaign(site="Big", wave="follow-up 1", project="Council")
    small = make_campaign(site="Small", project="Council")
    mid = make_campaign(site="Mid", project="Council")  # hidden with Small, so Big shows
    submit(app, big_before, 12, seed=1, tendency=0.3)
    submit(app, big_after, 7, seed=2, tendency=0.8)
    submit(app, small, 4, seed=3, tendency=0.5)
    submit(app, mid, 6, seed=5, tendency=0.5)
    stream = io.BytesIO()
    with app.app_context():
        project_id = queries.campaigns.campaign_by_code(big_before).project_id
        write_export(ExportFilters(instrument_id="community-capacity", project_id=project_id), stream)
    book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)
    rows = list(book["Capacity"].iter_rows(values_only=True))
    header = rows[0]
    cells = {(r[0], r[1], r[2]): dict(zip(header, r)) for r in rows[1:]}

    before, after = scores_of(app, big_before, "trust"), scores_of(app, big_after, "trust")
    baseline = cells[("Big", "Baseline", "trust")]
    assert baseline["n"] == len(before)
    assert baseline["mean"] == pytest.approx(statistics.mean(before))
    half = stats.t.ppf(0.975, len(before) - 1) * statistics.stdev(before) / len(before) ** 0.5
    assert baseline["ci_low"] == pytest.approx(statistics.mean(before) - half)
    follow_up = cells[("Big", "Follow-up 1", "trust")]
    welch = stats.ttest_ind(after, before, equal_var=False).confidence_interval(0.95)
    assert follow_up["baseline"] == "Baseline"
    assert follow_up["change"] == pytest.approx(statistics.mean(after) - statistics.mean(before))
    assert (follow_up["change_ci_low"], follow_up["change_ci_high"]) == (
        pytest.approx(welch.low), pytest.approx(welch.high))
    small_row = cells[("Small", "Baseline", "trust")]
    assert (small_row["n"], small_row["mean"], small_row["ci_low"]) == (None, None, None)
    assert "fewer than 5" in small_row["note"]
    assert cells[("Mid", "Baseline", "trust")]["n"] is None
    assert cells[("All sites", "Baseline", "trust")]["n"] == len(before) + len(
        scores_of(app, small, "trust")) + len(scores_of(app, mid, "trust"))


def test_a_one_campaign_export_holds_its_site_only_and_says_what_the_sheets_cover(app, make_campaign):
    import io

    import openpyxl
    from surveyapp.queries.export import filters_for_campaign, write_export

    ours = make_campaign(site="Hillcrest", project="Council")
    ours_after = make_campaign(site="Hillcrest", wave="follow-up 1", project="Council")
    other = make_campaign(site="Riverside", project="Council")
    submit(app, ours, 8, seed=1, tendency=0.3)
    submit(app, ours_after, 8, seed=2, tendency=0.7)
    submit(app, other, 8, seed=3, tendency=0.5)
    stream = io.BytesIO()
    with app.app_context():
        write_export(filters_for_campaign(queries.campaigns.campaign_by_code(ours)), stream)
    book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)
    capacity = list(book["Capacity"].iter_rows(min_row=2, values_only=True))
    assert capacity and {row[0] for row in capacity} == {"Hillcrest"}
    assert {row[1] for row in capacity} == {"Baseline", "Follow-up 1"}   # the change needs both
    charts = [row[0] for row in book["Capacity charts"].iter_rows(values_only=True) if row and row[0]]
    assert not any(str(c).startswith(("Riverside", "All sites")) for c in charts)
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert "this campaign's site only" in about["scope"]
    assert "Benjamini-Hochberg" in about["p, q_bh"] and "Hedges" in about["hedges_g"]
    trust = next(row for row in capacity if row[1] == "Follow-up 1" and row[2] == "trust")
    header = [c for c in next(book["Capacity"].iter_rows(max_row=1, values_only=True))]
    values = dict(zip(header, trust))
    assert values["hedges_g"] is not None and values["q_bh"] is not None
