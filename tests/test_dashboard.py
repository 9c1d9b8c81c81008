"""The analyst dashboard: numbers from grouped selects equal counts made by hand from the
stored answers, small cells are suppressed on the chart and in its table, hostile text stays
text. Runs on SQLite, and on PostgreSQL when its URL is set (the app fixture)."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.helpers import analyst_of, submit

SVG = "{http://www.w3.org/2000/svg}"


def add_partials(app, code, pages):
    """Partial responses stopped on each of ``pages`` (test setup, straight into the table)."""
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(code)
            for index, page in enumerate(pages):
                db.session.add(Response(
                    submission_id=uuid.uuid4(), campaign_id=campaign.id,
                    instrument_version_id=campaign.pinned_version.id, language="en",
                    status="partial", resume_code=f"P{code[:6].upper()}{index:04d}",
                    answers={}, current_page=page))
        operations.transaction(work)


def stored_answers(app, code):
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        return list(db.session.scalars(sa.select(Response.answers).where(
            Response.campaign_id == campaign.id, Response.status == "complete")))


def figure(text, title):
    """The <figure> whose heading is ``title``."""
    start = text.index(f">{title}</h")
    return text[text.rindex("<figure", 0, start):text.index("</figure>", start)]


def hidden_by_hand(counts, n=5):
    """The suppression rule written out: every count of 1 to n-1 is hidden; when that is
    exactly one count, the smallest other count above zero is hidden too."""
    hidden = {i for i, c in enumerate(counts) if 0 < c < n}
    if len(hidden) == 1:
        others = sorted((c, i) for i, c in enumerate(counts) if c > 0 and i not in hidden)
        if others:
            hidden.add(others[0][1])
    return hidden


def test_campaign_dashboard_numbers_and_suppression(app, make_campaign):
    code = make_campaign(site="North", project="Council")
    submit(app, code, 12, seed=4, tendency=0.5)
    add_partials(app, code, ["resources_page"] * 6 + ["skills_page"] * 5 + ["trust_page"] * 2)
    client, project_id = analyst_of(app, "Council")
    with app.app_context():
        campaign_id = queries.campaigns.campaign_by_code(code).id
    reply = client.get(f"/staff/campaigns/{campaign_id}/dashboard")
    assert reply.status_code == 200
    text = reply.text

    completion = figure(text, "Complete and partial responses")
    assert "<td>12</td>" in completion and "<td>13</td>" in completion
    assert "Completion rate: 48%" in text  # 12 of 25
    assert "<td>25</td>" in figure(text, "Responses started per day")  # all started today
    drop = figure(text, "Partial responses by the last page reached")
    svg = ET.fromstring(drop[drop.index("<svg"):drop.index("</svg>") + 6])
    desc = svg.find(f"{SVG}desc").text
    # 2 is suppressed; so is 5, or 2 would be 13 (the partial responses shown) - 6 - 5.
    assert "Local resources: 6" in desc, desc
    assert desc.count("suppressed (fewer than 5)") == 2 and "5;" not in desc and ": 2" not in desc
    assert len(list(svg.iter(f"{SVG}rect"))) == 1  # the suppressed pages are markers, not bars
    assert drop.count("suppressed (fewer than 5)") >= 4  # text alternative and table

    # Every choice of "area" counted by hand from the stored answers.
    answers = stored_answers(app, code)
    with app.app_context():
        instrument = queries.instruments.instrument_of(queries.campaigns.campaign_by_code(code).pinned_version)
    area = instrument.questions_by_id["area"]
    area_figure = figure(text, __import__("html").escape(area.label.get("en") if isinstance(area.label, dict) else str(area.label)))
    counts = [sum(1 for a in answers if a.get("area") == choice.value) for choice in area.choices.choices]
    hidden = hidden_by_hand(counts)
    for index, choice in enumerate(area.choices.choices):
        label = choice.label.get("en") if isinstance(choice.label, dict) else str(choice.label)
        row = area_figure[area_figure.index(f"<bdi>{label}</bdi>"):].split("</tr>")[0]
        shown = "suppressed (fewer than 5)" if index in hidden else str(counts[index])
        assert f"<td>{shown}</td>" in row, (label, counts, row)


def test_one_small_count_is_not_left_to_subtraction(app, make_campaign):
    """Complete 12, partial 3: the partial count is hidden, and so is the complete one,
    since the responses per day (15) less 12 would give it; the rate is not shown."""
    code = make_campaign(site="East", project="Council")
    submit(app, code, 12, seed=5, tendency=0.5)
    add_partials(app, code, ["resources_page"] * 3)
    client, _project_id = analyst_of(app, "Council")
    with app.app_context():
        campaign_id = queries.campaigns.campaign_by_code(code).id
    text = client.get(f"/staff/campaigns/{campaign_id}/dashboard").text
    completion = figure(text, "Complete and partial responses")
    assert "<td>12</td>" not in completion and "<td>3</td>" not in completion
    assert completion.count("<td>suppressed (fewer than 5)</td>") == 2
    assert "Completion rate: not shown (too few responses)" in text
    assert "<td>15</td>" in figure(text, "Responses started per day")


def test_project_dashboard_scores_and_hostile_site(app, make_campaign):
    hostile = '"><img src=x onerror=alert(1)>'
    before = make_campaign(site=hostile, project="Council")
    after = make_campaign(site=hostile, wave="follow-up 1", project="Council")
    submit(app, before, 8, seed=1, tendency=0.3)
    submit(app, after, 3, seed=2, tendency=0.8)
    client, project_id = analyst_of(app, "Council")
    text = client.get(f"/staff/projects/{project_id}/dashboard").text
    assert "<img src=x" not in text
    trust = figure(text, "Trust and collaboration with law enforcement")
    svg = ET.fromstring(trust[trust.index("<svg"):trust.index("</svg>") + 6])
    assert svg.get("role") == "img"
    with app.app_context():
        table, _ = queries.scores.capacity_table(queries.projects.projects()[0], "community-capacity")
    cell = table.cell(hostile, "baseline", "trust")
    assert not cell.suppressed
    assert f"{round(cell.mean, 1):g}" in trust
    assert table.cell(hostile, "follow-up 1", "trust").suppressed
    assert "suppressed (fewer than 5)" in trust


def test_dashboard_links_and_empty_project(app, make_campaign):
    code = make_campaign(site="Quiet", project="Council")
    client, project_id = analyst_of(app, "Council")
    with app.app_context():
        campaign_id = queries.campaigns.campaign_by_code(code).id
    campaign_page = client.get(f"/staff/campaigns/{campaign_id}").text
    assert f"/staff/campaigns/{campaign_id}/dashboard" in campaign_page
    assert f"/staff/projects/{project_id}/dashboard" in campaign_page
    for url in (f"/staff/campaigns/{campaign_id}/dashboard", f"/staff/projects/{project_id}/dashboard",
                f"/staff/projects/{project_id}/dashboard?instrument=%3Cscript%3E"):
        reply = client.get(url)
        assert reply.status_code == 200 and "<script>" not in reply.text
    assert client.get("/staff/campaigns/999999/dashboard").status_code == 404


def test_grouped_answer_counts_match_the_stored_answers(app, make_campaign):
    """Every closed key (matrix items' dotted keys and select_multiple lists too) counted in
    SQL equals the count made in Python from the stored documents."""
    from surveyapp.domain.dashboard import choice_counts
    code = make_campaign(site="South", project="Council")
    submit(app, code, 15, seed=7, tendency=0.6)
    answers = stored_answers(app, code)
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        instrument = queries.instruments.instrument_of(campaign.pinned_version)
        closed = [(q, k) for q in instrument.questions if q.choices is not None
                  for k in q.answer_keys if not k.endswith(".other")]
        assert any(q.type == "matrix" for q, _ in closed)
        assert any(q.type == "select_multiple" for q, _ in closed)
        stored = queries.dashboard.answer_counts(campaign.project_id, instrument.id, [k for _, k in closed],
                                       campaign.id)
    for question, key in closed:
        counted = dict(choice_counts(question, stored[key], "en", "en", other_label="Other"))
        for choice in question.choices.choices:
            by_hand = sum(1 for a in answers if key in a and (
                choice.value in a[key] if isinstance(a[key], list) else a[key] == choice.value))
            label = choice.label.get("en") if isinstance(choice.label, dict) else str(choice.label)
            assert counted[label] == by_hand, (key, choice.value)


def test_the_dashboard_opens_with_the_change_in_words_and_counts_follow_the_questionnaire(app, make_campaign):
    before = make_campaign(site="Hillcrest", project="Council")
    after = make_campaign(site="Hillcrest", wave="follow-up 1", project="Council")
    only_baseline = make_campaign(site="Riverside", project="Council")
    feedback = make_campaign("programme-feedback", site="Hillcrest", project="Council")
    submit(app, before, 9, seed=1, tendency=0.3)
    submit(app, after, 8, seed=2, tendency=0.8)
    submit(app, only_baseline, 7, seed=3, tendency=0.9)
    submit(app, feedback, 6, seed=4, tendency=0.5)
    client, project_id = analyst_of(app, "Council")
    text = client.get(f"/staff/projects/{project_id}/dashboard?instrument=community-capacity").text
    # The answer comes first: before the responses and the 40 question charts.
    assert text.index('id="change"') < text.index('id="responses"') < text.index('id="questions"')
    assert '<a href="#change">Did it change?</a>' in text and '<a href="#scores">' in text
    change = text[text.index('id="change"'):text.index('id="responses"')]
    # All sites compares like with like: Riverside has no follow-up and is left out.
    assert "over the sites measured in both waves: Hillcrest." in change
    with app.app_context():
        table, _ = queries.scores.capacity_table(queries.projects.projects()[0], "community-capacity")
    trust = table.change(None, "follow-up 1", "trust")
    assert trust.sites == ("Hillcrest",)
    points = f"{abs(trust.difference):.1f}"
    verb = "rose" if trust.ci_low > 0 else "fell" if trust.ci_high < 0 else None
    sentence = (f"Trust and collaboration with law enforcement {verb} by {points} points (95% CI "
                f"{trust.ci_low:.1f} to {trust.ci_high:.1f})." if verb else
                f"Trust and collaboration with law enforcement: no clear change (95% CI "
                f"{trust.ci_low:.1f} to {trust.ci_high:.1f} points).")
    assert sentence in change
    assert f"{trust.effect.value:+.2f}".replace("-", "\u2212") in change
    # Every count follows the questionnaire chosen: 24 capacity responses, not 30.
    completion = figure(text, "Complete and partial responses")
    assert "<td>24</td>" in completion and "<td>30</td>" not in completion
    other = client.get(f"/staff/projects/{project_id}/dashboard?instrument=programme-feedback").text
    assert "<td>6</td>" in figure(other, "Complete and partial responses")
    # Words, not codes, in the picker; open questions link to their themes.
    assert '<option value="community-capacity" selected>Community capacity assessment</option>' in text
    assert f"/staff/projects/{project_id}/themes/community-capacity/" in text
