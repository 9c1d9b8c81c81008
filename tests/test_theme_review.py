"""Themes in the app: runs stored from real responses and finalised segments, the
analyst's review (rename, merge, split, assign) surviving re-runs, crosstabs, scoping,
the CLI."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain.themes import ENGINE_VERSION
from surveyapp.domain.transcripts import parse_quick_entry
from surveyapp.extensions import db
from surveyapp.models import (Campaign, InstrumentVersion, Response, Segment, Theme, ThemeAssignment,
                              ThemeRun)
from tests.helpers import analyst_client, csrf, make_user, page_url, plant, post, prompt_source, question_source, run, segment_ids, theme_ids



def test_a_run_is_stored_with_parameters_themes_and_assignments(app, project):
    run_id = run(app, question_source(project), k=2)
    with app.app_context():
        stored = db.session.get(ThemeRun, run_id)
        assert stored.item_count == 12 and stored.engine_version == ENGINE_VERSION
        assert stored.parameters["k"] == 2 and stored.parameters["seed"] == 0
        assert stored.parameters["language"] == "en"
        assert [t["count"] for t in stored.themes] == [6, 6]
        assert all(t["quotes"] and "key_phrases" in t and "sentiment" in t for t in stored.themes)
        rows = db.session.scalars(sa.select(ThemeAssignment)).all()
        assert len(rows) == 12 and {r.assigned_by for r in rows} == {"machine"}
        by_response = {r.response_id: r.theme_id for r in rows}
        lights = {by_response[i] for i in project["responses"][:6]}
        police = {by_response[i] for i in project["responses"][6:]}
        assert len(lights) == 1 and len(police) == 1 and lights != police
        assert all(len(r.text_digest) == 64 for r in rows)


def test_analyst_runs_reviews_renames_and_merges_on_the_page(app, project):
    client = analyst_client(app)
    page = client.get(page_url(project))
    assert page.status_code == 200 and "Find themes" in page.text
    reply = post(client, project, "run", k="2", language="")
    assert reply.status_code == 302, reply.text
    page = client.get(page_url(project))
    assert "12 texts" in page.text and page.text.count("6 texts") == 2
    assert "while you wait" in page.text      # the page says the run is inline
    labels = theme_ids(app, project)
    assert len(labels) == 2
    lights = next(i for label, i in labels.items() if "light" in label or "dark" in label)
    police = next(i for i in labels.values() if i != lights)
    assert post(client, project, "edit", action="rename", theme=lights,
                label="Street lighting").status_code == 302
    page = client.get(page_url(project))
    assert "Street lighting" in page.text
    assert post(client, project, "edit", action="merge", theme=police,
                into=lights).status_code == 302
    page = client.get(page_url(project))
    assert theme_ids(app, project) == {"Street lighting": lights}
    assert "12 texts" in page.text and page.text.count("12 texts") == 2   # the page and the theme
    # The merge is the analyst's: a re-run that finds two themes again keeps it.
    run(app, question_source(project), k=2)
    with app.app_context():
        review = queries.themes.review(question_source(project))
        by_theme = {t.theme.label: len(t.items) for t in review.themes}
    assert by_theme["Street lighting"] == 12


def test_segments_of_finalised_sessions_are_themed_on_the_prompt_page(app, project):
    client = analyst_client(app)
    url = f"/staff/projects/{project['project_id']}/themes/{project['guide_id']}/{project['prompt_id']}"
    page = client.get(url)
    assert page.status_code == 200 and "12 texts" in page.text
    reply = client.post(url + "/run", data={"csrf_token": csrf(client, url), "k": "2"})
    assert reply.status_code == 302
    page = client.get(url)
    assert page.text.count("6 texts") == 2 and "street lights" in page.text


def test_analyst_assignments_survive_a_rerun_and_an_edited_segment_is_flagged(app, project):
    source = prompt_source(project)
    run(app, source, k=2)
    segments = segment_ids(app, project)
    kept, edited = f"s{segments[0]}", f"s{segments[1]}"
    with app.app_context():
        def work():
            themes = queries.themes.themes_of(source)
            police = next(t for t in themes if "police" in t.label or "patrol" in t.label)
            lights = next(t for t in themes if t.id != police.id)
            operations.themes.rename_theme(source, lights, "Lighting")
            # Two lighting segments are the police theme's, by the analyst's choice.
            operations.themes.assign(source, kept, police)
            operations.themes.assign(source, edited, police)
            # The finalised session's segment is redacted afterwards (its text changes).
            segment = db.session.get(Segment, segments[1])
            operations.focus_groups.redact_segment(segment, segment.text.replace("dark", "[place]"))
            return police.id, lights.id
        police, lights = operations.transaction(work)
    run(app, source, k=2)
    with app.app_context():
        review = queries.themes.review(source)
        rows = {row.item.ref: row for row in review.items}
        assert rows[kept].theme_id == police and rows[kept].by == "analyst"
        assert not rows[kept].needs_review
        assert rows[edited].theme_id == police and rows[edited].needs_review
        assert [r.item.ref for r in review.flagged] == [edited]
        # Machine assignments were replaced: the run's, no older ones.
        latest = queries.themes.latest_run(source).id
        machine = db.session.scalars(sa.select(ThemeAssignment).where(
            ThemeAssignment.assigned_by == "machine")).all()
        assert machine and {m.run_id for m in machine} == {latest}
        # The renamed theme is the one the re-run found again: same id, the analyst's name.
        assert {t.theme.id: t.theme.label for t in review.themes}[lights] == "Lighting"
        assert db.session.get(Theme, lights).run_id == latest
    # Setting the theme again confirms it on the new text: the flag goes.
    with app.app_context():
        operations.transaction(lambda: operations.themes.assign(
            source, edited, db.session.get(Theme, police)))
        assert queries.themes.review(source).flagged == []


def test_a_rerun_with_new_answers_keeps_the_renamed_theme(app, project):
    source = question_source(project, campaign=False)
    run(app, source, k=2)
    with app.app_context():
        def work():
            theme = next(t for t in queries.themes.themes_of(source) if "patrol" in t.label
                         or "police" in t.label)
            operations.themes.rename_theme(source, theme, "  Foot   patrols ")
            return theme.id
        renamed = operations.transaction(work)
    plant(app, app.test_client(), project["code"], ["Police patrols on foot every evening",
                                                    "Street lights are broken, dark at night"])
    run(app, source, k=2)
    with app.app_context():
        themes = {t.theme.id: (t.theme.label, len(t.items))
                  for t in queries.themes.review(source).themes}
    assert themes[renamed] == ("Foot patrols", 7)
    assert sorted(count for _, count in themes.values()) == [7, 7]


def test_a_non_member_sees_nothing_and_edits_nothing(app, project):
    run(app, question_source(project), k=2)
    outsider = analyst_client(app, "outsider@example.org")
    member = analyst_client(app)
    prompt_url = (f"/staff/projects/{project['project_id']}/themes/{project['guide_id']}/"
                  f"{project['prompt_id']}")
    for url in (page_url(project), page_url(project, campaign=False), prompt_url):
        assert outsider.get(url).status_code == 404, url
        assert member.get(url).status_code == 200, url
    token = csrf(outsider, "/staff/")
    theme = next(iter(theme_ids(app, project).values()))
    base = page_url(project).partition("?")[0]
    for path, data in (("run", {"k": "2"}),
                       ("edit", {"action": "rename", "theme": theme, "label": "Leaked"})):
        assert outsider.post(f"{base}/{path}", data={"csrf_token": token, **data}).status_code == 404
    assert "Leaked" not in theme_ids(app, project)
    # The outsider's own project, naming the first project's campaign: nothing either.
    with app.app_context():
        police = operations.staff.project_by_name("Police").id
    assert outsider.get(f"/staff/projects/{police}/themes/community-capacity/safer_ideas"
                        f"?campaign={project['campaign_id']}").status_code == 404
    # A member cannot reach a theme of another page through this one's form.
    prompt_token = csrf(member, prompt_url)
    member.post(prompt_url + "/edit", data={"csrf_token": prompt_token, "action": "rename",
                                             "theme": theme, "label": "Elsewhere"})
    assert "Elsewhere" not in theme_ids(app, project)


def test_only_complete_answers_never_private_ones_and_only_finalised_sessions(app, project):
    # contact (pii: true) is kept in private_answers: it is not a source at all.
    member = analyst_client(app)
    assert member.get(f"/staff/projects/{project['project_id']}/themes/community-capacity/"
                      "contact").status_code == 404
    assert member.get(f"/staff/projects/{project['project_id']}/themes/community-capacity/"
                      "age_band").status_code == 404          # a closed question
    with app.app_context():
        def work():
            guide = db.session.scalar(sa.select(InstrumentVersion).where(
                InstrumentVersion.kind == "focus_group"))
            site = operations.campaigns.site_named(
                operations.staff.project_by_name("Council"), "Alderbank")
            draft = operations.focus_groups.create_focus_group(
                guide_version=guide, site=site, wave="baseline", held_on=dt.date(2026, 11, 3),
                place="Hall", language="en", facilitators=[], participants=[
                    operations.focus_groups.ParticipantInfo(label="P1")], consent_given=True)
            operations.focus_groups.add_segments(
                draft, project["prompt_id"], parse_quick_entry("P1: unredacted draft words",
                                                               ["P1"]).segments, uuid.uuid4())
        operations.transaction(work)
        items = queries.themes.source_items(prompt_source(project))
        assert len(items) == 12 and not any("draft" in i.text for i in items)
        # A partial response's answer is not read either.
        response = db.session.get(Response, project["responses"][0])
        response.status = "partial"
        db.session.commit()
        refs = {i.ref for i in queries.themes.source_items(question_source(project))}
        assert len(refs) == 11 and f"r{response.id}:safer_ideas" not in refs


def test_the_crosstab_counts_themes_by_site_wave_and_a_closed_question(app, project):
    run(app, question_source(project), k=2)
    client = analyst_client(app)
    by_age = client.get(page_url(project) + "&by=age_band").text
    table = by_age[by_age.index('class="data crosstab"'):]
    assert "18 to 24" in table and "25 to 34" in table      # labels, not codes
    # Each theme has 3 of its 6 answers in each age band (planted alternately); the last
    # row is the texts without a theme.
    cells = re.findall(r'<td class="num">(\d+)</td>', table.split("</table>")[0])
    assert cells == ["3", "3", "3", "3", "0", "0"]
    by_site = client.get(page_url(project) + "&by=site").text
    assert re.findall(r'<td class="num">(\d+)</td>', by_site.split('class="data crosstab"')[1]
                      .split("</table>")[0]) == ["6", "6", "0"]
    # Small cells are suppressed at the project's min_cell_size.
    with app.app_context():
        operations.staff.project_by_name("Council").min_cell_size = 5
        db.session.commit()
    table = client.get(page_url(project) + "&by=age_band").text.split('class="data crosstab"')[1]
    assert table.count("&lt;5") == 4
    assert re.findall(r'<td class="num">(\d+)</td>', table.split("</table>")[0]) == ["0", "0"]


def test_the_cli_prints_the_theme_table_and_stores_the_run(app, project, runner):
    result = runner.invoke(args=["themes", project["code"], "--question", "safer_ideas",
                                 "--k", "2", "--lang", "en"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["theme", "count", "share", "key", "phrases"]
    rows = [line for line in lines[1:] if not line.startswith("(no theme)")]
    assert len(rows) == 2 and all(re.search(r"\s6\s+50\.0%\s", row) for row in rows), lines
    assert any("street light" in row for row in rows)
    with app.app_context():
        stored = queries.themes.latest_run(question_source(project))
        assert stored is not None and stored.parameters["k"] == 2 and stored.item_count == 12
    # The same run for the guide's prompt, by instrument id, and refusals that say why.
    result = runner.invoke(args=["themes", project["guide_id"], "--prompt", project["prompt_id"],
                                 "--project", "Council", "--k", "2"])
    assert result.exit_code == 0 and "50.0%" in result.stdout, result.output
    result = runner.invoke(args=["themes", project["code"], "--question", "age_band"])
    assert result.exit_code != 0 and "safer_ideas" in result.output
    result = runner.invoke(args=["themes", project["code"], "--question", "safer_ideas", "--k", "0"])
    assert result.exit_code != 0 and "--k" in result.output


def test_the_cli_shows_a_progress_bar_on_long_runs(app, project, monkeypatch):
    from surveyapp.cli import themes as cli
    runner = app.test_cli_runner()
    result = runner.invoke(args=["themes", project["code"], "--question", "safer_ideas", "--k", "2"])
    assert result.exit_code == 0 and "storing themes" not in result.output
    monkeypatch.setattr(cli, "LONG_RUN", 10)          # 12 texts count as a long run now
    result = runner.invoke(args=["themes", project["code"], "--question", "safer_ideas", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert "storing themes" in result.stderr and "storing themes" not in result.stdout
    # The bar across the engine call moves through the engine's stages to the end
    # (not a terminal here, so click prints one line per label change, no percentages).
    stages = re.findall(r"finding themes \((\w+)\)", result.stderr)
    assert stages[0] == "vectorise" and stages[-1] == "done" and "cluster" in stages
    assert "finding themes (" not in result.stdout


def test_the_campaign_and_session_pages_link_to_the_themes(app, project):
    member = analyst_client(app)
    campaign = member.get(f"/staff/campaigns/{project['campaign_id']}").text
    assert page_url(project) + '"' in campaign
    assert page_url(project, campaign=False) + '"' in campaign
    session = member.get(f"/staff/focus-groups/{project['session_id']}").text
    assert (f"/staff/projects/{project['project_id']}/themes/{project['guide_id']}/"
            f"{project['prompt_id']}") in session
    # A facilitator of the project sees the pages without the links (the themes are not theirs).
    make_user(app, "facilitator@example.org")
    with app.app_context():
        def work():
            user = queries.projects.user_by_email("facilitator@example.org")
            operations.staff.add_member(operations.staff.project_by_name("Council"), user,
                                        "facilitator")
        operations.transaction(work)
    facilitator = analyst_client(app, "facilitator@example.org")
    campaign = facilitator.get(f"/staff/campaigns/{project['campaign_id']}")
    assert campaign.status_code == 200 and "/themes/" not in campaign.text
    assert "/themes/" not in facilitator.get(f"/staff/focus-groups/{project['session_id']}").text


@pytest.mark.parametrize("language", ["fr", "ar", "zh"])
def test_the_themes_page_is_translated(app, project, language):
    from tests.helpers import catalog_text
    run(app, question_source(project), k=2)
    client = analyst_client(app)
    text = client.get(page_url(project) + f"&lang={language}").text
    for msgid in ("Run again", "Themes by group", "Merge into", "Key phrases"):
        assert catalog_text(language, msgid) in text and f">{msgid}<" not in text, msgid


def test_split_and_remove_on_the_page_survive_a_rerun(app, project):
    client = analyst_client(app)
    assert post(client, project, "run", k="2").status_code == 302
    labels = theme_ids(app, project)
    police = next(i for label, i in labels.items() if "police" in label or "patrol" in label)
    moved = [f"r{i}:safer_ideas" for i in project["responses"][6:8]]
    removed = f"r{project['responses'][0]}:safer_ideas"
    assert post(client, project, "edit", action="split", theme=police, label="On foot",
                items=moved).status_code == 302
    assert post(client, project, "edit", action="assign", item=removed,
                theme="none").status_code == 302
    # Refusals are messages, not errors: a split without a name, an item of another page.
    reply = post(client, project, "edit", action="split", theme=police, label=" ", items=moved[:1])
    assert reply.status_code == 302
    assert "Give the theme a name." in client.get(page_url(project)).text
    post(client, project, "edit", action="assign", item="s1", theme=police)
    assert "That text is not one of this page" in client.get(page_url(project)).text
    run(app, question_source(project), k=2)
    with app.app_context():
        review = queries.themes.review(question_source(project))
        counts = {t.theme.label: len(t.items) for t in review.themes}
        unthemed = [r.item.ref for r in review.unthemed]
    assert counts["On foot"] == 2 and sorted(counts.values()) == [2, 4, 5]
    assert unthemed == [removed]
    page = client.get(page_url(project)).text
    assert "Without a theme" in page and "set by an analyst" not in page   # texts: on their pages
    unthemed_page = client.get(page_url(project).replace("?", "/texts/none?")).text
    assert "set by an analyst" in unthemed_page and removed in unthemed_page


# Only PostgreSQL lets two runs write at once: on SQLite the second waits for the first.
@pytest.mark.parametrize("app", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_two_runs_at_once_store_each_item_once(app, project):
    """Run B starts while run A is not committed yet (B is seen waiting on a lock before A
    commits): without the per-source lock, B's delete missed A's new rows on PostgreSQL and
    every item ended up assigned twice."""
    import threading
    import time
    source = question_source(project)
    run(app, source, k=2)
    with app.app_context():
        operations.themes.run_themes(source, k=2)          # A: flushed, not committed
        errors = []

        def other_run():
            try:
                run(app, source, k=2)
            except Exception as error:  # noqa: BLE001  (reported by the assertion below)
                errors.append(error)

        thread = threading.Thread(target=other_run)
        thread.start()
        monitor = sa.create_engine(db.engine.url)
        deadline = time.monotonic() + 60
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND (query LIKE '%pg_advisory_xact_lock%' "
            "OR query LIKE 'DELETE FROM theme_assignments%')")
        while True:
            with monitor.connect() as connection:    # a new transaction: fresh statistics
                if connection.scalar(waiting):
                    break
            assert time.monotonic() < deadline, "the second run never waited"
            time.sleep(0.05)
        monitor.dispose()
        db.session.commit()
        thread.join(timeout=120)
        assert not errors, errors
        machine = db.session.scalars(sa.select(ThemeAssignment).where(
            ThemeAssignment.assigned_by == "machine")).all()
        assert len(machine) == 12 and len({m.response_id for m in machine}) == 12
        assert len({m.run_id for m in machine}) == 1


def test_bad_settings_get_a_message_and_an_empty_source_runs_cleanly(app, project):
    client = analyst_client(app)
    reply = post(client, project, "run", k="lots")
    assert reply.status_code == 422 and 'Give a number from 1 to 99, or "auto".' in \
        reply.text.replace("&#34;", '"').replace("&quot;", '"')
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ThemeRun)) == 0
    # The guide's second prompt has no segments: a run stores no themes, the page reads.
    with app.app_context():
        guide = queries.instruments.instrument_of(queries.instruments.latest_version(project["guide_id"]))
    url = f"/staff/projects/{project['project_id']}/themes/{guide.id}/{guide.prompts[1].id}"
    assert client.post(url + "/run", data={"csrf_token": csrf(client, url)}).status_code == 302
    page = client.get(url)
    assert page.status_code == 200 and "0 texts" in page.text and "Run again" in page.text
    # An action the page does not offer is a bad request, not an error page.
    assert client.post(url + "/edit", data={"csrf_token": csrf(client, url),
                                            "action": "explode"}).status_code == 400


def test_long_theme_lists_are_paged_on_texts_pages(app, project, monkeypatch):
    """The themes page lists no texts (counts, quotes and the crosstab cover them all);
    each theme's texts are on pages of TEXTS_PER_PAGE, each text with a box to tick."""
    from surveyapp.analysis import views
    run(app, question_source(project), k=2)
    monkeypatch.setattr(views, "TEXTS_PER_PAGE", 4)          # 6 texts a theme make 2 pages
    client = analyst_client(app)
    page = client.get(page_url(project)).text
    assert 'name="items"' not in page and page.count("6 texts") == 2
    links = re.findall(r'href="([^"]*/texts/\d+[^"]*)"', page)
    assert len(links) == 2
    first = client.get(links[0].replace("&amp;", "&")).text
    assert first.count('name="items"') == 4 and "Page 1 of 2" in first and "6 texts" in first
    second = client.get(links[0].replace("&amp;", "&") + "&page=2").text
    assert second.count('name="items"') == 2 and "Page 2 of 2" in second
    # Past the end reads the last page; a list that is not this page's is a 404.
    assert client.get(links[0].replace("&amp;", "&") + "&page=99").text.count('name="items"') == 2
    assert client.get(page_url(project).replace("?", "/texts/999999?")).status_code == 404
    assert client.get(page_url(project).replace("?", "/texts/everything?")).status_code == 404


def test_the_prompt_crosstab_groups_segments_by_their_speakers_roster_entry(app, project):
    run(app, prompt_source(project), k=2)
    client = analyst_client(app)
    url = (f"/staff/projects/{project['project_id']}/themes/{project['guide_id']}/"
           f"{project['prompt_id']}")

    def table(by):
        text = client.get(f"{url}?by={by}").text.split('class="data crosstab"')[1].split("</table>")[0]
        return (re.findall(r'<th scope="col" class="num" dir="auto">([^<]*)</th>', text),
                re.findall(r'<td class="num">(\d+)</td>', text))
    # Speakers alternate P1, P2 within each theme's six segments; cells under 5 would be
    # suppressed, so the project shows every cell here (min_cell_size 1).
    assert table("age_band") == (["18-24", "65+"], ["3", "3", "3", "3", "0", "0"])
    assert table("role") == (["Youth", "Not recorded"], ["3", "3", "3", "3", "0", "0"])


def test_the_export_themes_sheet_shows_the_analysts_themes_of_questions_and_prompts(app, project):
    """The workbook's Themes sheet is what the analyst left: renamed labels, counts after
    a merge, key phrases, quotes; a question's campaign run and the project's prompt runs."""
    import io

    import openpyxl
    from surveyapp.queries.export import filters_for_campaign, write_export

    question, prompt = question_source(project), prompt_source(project)
    run(app, question, k=2)
    run(app, prompt, k=2)
    with app.app_context():
        def review():
            police = next(t for t in queries.themes.themes_of(question) if "police" in t.label)
            operations.themes.rename_theme(question, police, "Foot patrols")
            first, second = queries.themes.themes_of(prompt)
            operations.themes.merge_themes(prompt, second, into=first)
            operations.themes.rename_theme(prompt, first, "Safety after dark")
        operations.transaction(review)
        stream = io.BytesIO()
        write_export(filters_for_campaign(db.session.get(Campaign, project["campaign_id"])), stream)
    sheet = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)["Themes"]
    rows = list(sheet.iter_rows(values_only=True))
    table = [dict(zip(rows[0], row)) for row in rows[1:]]
    questions = {r["theme"]: r for r in table if r["source"] == "question"}
    assert questions["Foot patrols"]["count"] == 6 and questions["Foot patrols"]["percent"] == 50.0
    assert questions["Foot patrols"]["item"] == "safer_ideas"
    assert "patrol" in questions["Foot patrols"]["quotes"].lower()
    assert questions["Foot patrols"]["key_phrases"]
    assert sum(r["count"] for r in questions.values()) == 12
    prompts = [r for r in table if r["source"] == "prompt"]
    assert [(r["theme"], r["count"], r["percent"]) for r in prompts] == [("Safety after dark", 12, 100.0)]
    assert all(r["positive"] is not None for r in table)  # English: VADER's shares
