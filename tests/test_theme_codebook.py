"""Codebooks in the app: applying the instrument's codebook to answers and segments (stems,
phrases, per language), a layer that engine runs leave and that flags edited texts;
promoting a theme into the codebook file (checked as `surveyapp instruments check` does);
per-instrument stop words; theme runs from the page as background jobs."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp import jobs, operations, queries
from surveyapp.cli.instruments import instruments_check
from surveyapp.domain.codebooks import CodebookFileError, load_codebook
from surveyapp.extensions import db
from surveyapp.jobs import thread_backend
from surveyapp.models import AuditEvent, Job, Segment, Theme, ThemeAssignment, ThemeRun
from tests.helpers import (
    analyst_client, page_url, post, prompt_source, question_source, run, segment_ids)

ROOT = Path(__file__).resolve().parent.parent
GUIDE_CODEBOOK = """\
instruments: [{guide}]
themes:
  - id: lighting
    label: Lighting
    description: Street lights and dark places.
    keywords:
      en: [street light, dark]
  - id: patrols
    label: Patrols
    description: Police on patrol.
    keywords:
      en: [patrol]
"""


@pytest.fixture
def instruments(app, tmp_path):
    """A copy of the shipped instruments folder (codebooks included) the app reads and
    writes codebooks in, so that no test writes into the repository."""
    folder = tmp_path / "instruments"
    shutil.copytree(ROOT / "instruments", folder)
    app.config["INSTRUMENTS_DIR"] = str(folder)
    return folder


def coded(app, source):
    """{item ref: {code: evidence}} of the source's codebook rows."""
    with app.app_context():
        codes = {t.id: t.codebook_code for t in queries.themes.codebook_themes_of(source)}
        found: dict = {}
        for row in queries.themes.codebook_assignments(source):
            ref = f"s{row.segment_id}" if row.segment_id else f"r{row.response_id}:{row.answer_key}"
            found.setdefault(ref, {})[codes[row.theme_id]] = row.evidence
        return found


def test_applying_the_codebook_codes_answers_on_stems_and_runs_leave_it(app, project, instruments):
    source = question_source(project)
    with app.app_context():
        applied = operations.transaction(lambda: operations.themes.apply_codebook(source))
    assert applied.matched == 12
    assert applied.counts["street_lighting"] == 6 and applied.counts["police_response"] == 6
    assert applied.counts["trust"] == 0
    found = coded(app, source)
    lights = [found[f"r{i}:safer_ideas"] for i in project["responses"][:6]]
    police = [found[f"r{i}:safer_ideas"] for i in project["responses"][6:]]
    assert all("street_lighting" in c for c in lights)
    assert all("police_response" in c and "street_lighting" not in c for c in police)
    # Stems: the keyword "patrol" matched "patrols", "street light" matched "street lights".
    assert all("patrol" in c["police_response"] for c in police)
    assert "street light" in lights[0]["street_lighting"]
    # An engine run keeps its own themes apart and leaves the codebook rows as they were.
    run(app, source, k=2)
    run(app, source, k=2)
    assert coded(app, source) == found
    with app.app_context():
        engine = queries.themes.themes_of(source)
        assert len(engine) == 2 and all(t.codebook_code is None for t in engine)
        review = queries.themes.review(source)
        assert sum(len(t.items) for t in review.themes) == 12
        counts = {t.theme.codebook_code: len(t.items) for t in review.codebook}
        # "the park is dark" is also a park, "not just cars" also traffic: several codes.
        assert counts == {**dict.fromkeys(counts, 0), "street_lighting": 6,
                          "police_response": 6, "clean_and_cared_for": 1, "traffic_and_roads": 1}
        assert {r.assigned_by for r in db.session.scalars(sa.select(ThemeAssignment))} == {
            "machine", "codebook"}
    # Applying it again replaces its rows, once each.
    with app.app_context():
        operations.transaction(lambda: operations.themes.apply_codebook(source))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ThemeAssignment).where(
            ThemeAssignment.assigned_by == "codebook")) == 14   # 12 items, 14 matches


def test_the_page_applies_the_codebook_and_shows_it_with_a_crosstab(app, project, instruments):
    client = analyst_client(app)
    page = client.get(page_url(project))
    assert "Apply the codebook" in page.text
    assert post(client, project, "codebook").status_code == 302
    page = client.get(page_url(project))
    assert "12 texts matched at least one theme" in page.text
    assert "Street lighting" in page.text and "Police response" in page.text
    # The texts and the keywords they matched are on each codebook theme's texts page.
    texts = [client.get(url.replace("&amp;", "&")).text
             for url in re.findall(r'href="([^"]*/texts/\d+[^"]*)"', page.text)]
    assert any(re.search(r"matched: <span[^>]*>police, patrol</span>", t) for t in texts)
    assert "Codebook themes by group" in page.text and "Alderbank" in page.text
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action).where(
            AuditEvent.action == "theme.codebook_applied")) is not None
    # Without CSRF nothing changes.
    reply = client.post(page_url(project).replace("?", "/codebook?"))
    assert reply.status_code in (302, 400)


def test_a_prompt_codebook_codes_segments_and_flags_an_edited_one(app, project, instruments):
    (instruments / "codebooks" / "guide.yaml").write_text(
        GUIDE_CODEBOOK.format(guide=project["guide_id"]), encoding="utf-8")
    source = prompt_source(project)
    with app.app_context():
        operations.transaction(lambda: operations.themes.apply_codebook(source))
    segments = segment_ids(app, project)
    found = coded(app, source)
    assert len(found) == 12
    assert set(found[f"s{segments[0]}"]) == {"lighting"}
    # The segment is redacted after coding: a re-run flags the codebook's row on it.
    with app.app_context():
        def work():
            segment = db.session.get(Segment, segments[1])
            operations.focus_groups.redact_segment(segment, "[removed]")
        operations.transaction(work)
    run(app, source, k=2)
    with app.app_context():
        review = queries.themes.review(source)
        assert [c.item.ref for c in review.codebook_flagged] == [f"s{segments[1]}"]
        # Applying the codebook again codes the text as it reads now: nothing to flag.
        operations.transaction(lambda: operations.themes.apply_codebook(source))
        review = queries.themes.review(source)
        assert review.codebook_flagged == []
        assert f"s{segments[1]}" not in coded(app, source)


def test_no_codebook_gets_a_message(app, project, instruments):
    (instruments / "codebooks" / "community-capacity.yaml").unlink()
    client = analyst_client(app)
    assert "has no codebook yet" in client.get(page_url(project)).text
    reply = post(client, project, "codebook")
    assert reply.status_code == 302
    assert "has no codebook yet" in client.get(page_url(project)).text


def _police_theme(app, project):
    with app.app_context():
        return next(t.id for t in queries.themes.themes_of(question_source(project))
                    if "police" in t.label or "patrol" in t.label)


def _project_codebook(app, project) -> Path:
    with app.app_context():
        return queries.themes.project_codebook_path(question_source(project))


def test_promoting_a_theme_writes_a_codebook_that_passes_the_check(app, project, instruments,
                                                                   runner):
    run(app, question_source(project), k=2)
    police = _police_theme(app, project)
    client = analyst_client(app)
    shared = instruments / "codebooks" / "community-capacity.yaml"
    before = shared.read_text(encoding="utf-8")
    path = _project_codebook(app, project)   # the project's own copy, once promoted into
    # Refused without a description or without keywords: the file is untouched.
    assert post(client, project, "promote", theme=police, description="",
                keywords="foot patrol", language="en").status_code == 302
    assert "Describe what answers" in client.get(page_url(project)).text
    assert post(client, project, "promote", theme=police, description="Patrols on foot",
                keywords=" , ", language="en").status_code == 302
    assert "at least one keyword" in client.get(page_url(project)).text
    assert shared.read_text(encoding="utf-8") == before and not path.exists()
    with app.app_context():
        db.session.get(Theme, police).label = "Foot patrols"
        db.session.commit()
    reply = post(client, project, "promote", theme=police, description="Police patrols on foot",
                 keywords="foot patrol, evening patrol", language="en")
    assert reply.status_code == 302
    assert "written to the codebook as foot_patrols" in client.get(page_url(project)).text
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))         # the rest, comments too, is kept
    assert shared.read_text(encoding="utf-8") == before   # the shared file is never written
    book = load_codebook(path, {"community-capacity": ("en", "es", "fr", "ar", "zh", "vi", "so")})
    entry = next(t for t in book.themes if t["code"] == "foot_patrols")
    assert entry["label"] == "Foot patrols" and entry["keywords"] == {
        "en": ["foot patrol", "evening patrol"]}
    result = runner.invoke(instruments_check, [str(instruments)])
    assert result.exit_code == 0, result.output
    # Promoted again with a Spanish keyword: the same codebook theme gets it.
    post(client, project, "promote", theme=police, description="x", keywords="patrulla a pie",
         language="es")
    entry = next(t for t in load_codebook(path).themes if t["code"] == "foot_patrols")
    assert entry["keywords"] == {"en": ["foot patrol", "evening patrol"], "es": ["patrulla a pie"]}
    # Applied, the promoted theme codes the answers it was made from.
    with app.app_context():
        applied = operations.transaction(
            lambda: operations.themes.apply_codebook(question_source(project)))
    # Phrases match in order: "on foot patrols" is a foot patrol, "patrols on foot" is not.
    assert applied.counts["foot_patrols"] == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "codebook.theme_promoted")) == 2


def test_promoting_into_a_broken_codebook_changes_nothing(app, project, instruments):
    run(app, question_source(project), k=2)
    police = _police_theme(app, project)
    path = instruments / "codebooks" / "community-capacity.yaml"
    own = _project_codebook(app, project)
    broken = path.read_text(encoding="utf-8").replace("  - id: trust", "  - id: Trust!")
    path.write_text(broken, encoding="utf-8")
    client = analyst_client(app)
    post(client, project, "promote", theme=police, description="d", keywords="patrol",
         language="en")
    page = client.get(page_url(project))
    assert "would not pass its check" in page.text and "lower-case letters" in page.text
    assert path.read_text(encoding="utf-8") == broken
    assert not own.exists() and not list(own.parent.glob(".*.part"))
    # Applying a codebook that does not load says why, with the file's line and column.
    post(client, project, "codebook")
    page = client.get(page_url(project))
    assert "would not pass its check" in page.text
    assert re.search(r"community-capacity\.yaml:\d+:\d+: theme", page.text)


def test_promoting_starts_a_codebook_for_an_instrument_without_one(app, project, instruments):
    (instruments / "codebooks" / "community-capacity.yaml").unlink()
    run(app, question_source(project), k=2)
    police = _police_theme(app, project)
    with app.app_context():
        theme = db.session.get(Theme, police)
        code = operations.themes.promote_theme(
            question_source(project), theme, language="fr", keywords=["patrouille"],
            description="Patrouilles", languages=["en", "fr"])
    assert not (instruments / "codebooks" / "community-capacity.yaml").exists()
    book = load_codebook(_project_codebook(app, project), {"community-capacity": ("en", "fr")})
    assert book.instruments == ("community-capacity",)
    assert [t["code"] for t in book.themes] == [code]
    assert book.themes[0]["keywords"] == {"fr": ["patrouille"]}


def test_codebook_stop_words_are_the_instruments_and_are_checked(app, project, instruments):
    path = instruments / "codebooks" / "community-capacity.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("themes:\n", "stop_words:\n  en: [police, patrols]\nthemes:\n", 1),
                    encoding="utf-8")
    run_id = run(app, question_source(project), k=2)
    with app.app_context():
        stored = db.session.get(ThemeRun, run_id)
        assert {"police", "patrols"} <= set(stored.parameters["stop_words"])
        phrases = " ".join(p for t in stored.themes for p in t["key_phrases"]).lower()
        assert "police" not in phrases and "patrol" not in phrases
        assert "street" in phrases or "light" in phrases
    path.write_text(text.replace("themes:\n", "stop_words:\n  de: [polizei]\nthemes:\n", 1),
                    encoding="utf-8")
    with pytest.raises(CodebookFileError, match=r"community-capacity.yaml:\d+:\d+: stop words are in 'de'"):
        load_codebook(path, {"community-capacity": ("en", "es")})


def test_a_long_run_from_the_page_is_a_job_with_progress(app, project, instruments):
    app.config["THEMES_INLINE_MAX_TEXTS"] = 5
    client = analyst_client(app)
    reply = post(client, project, "run", k="2", language="")
    assert reply.status_code == 302 and "/staff/jobs/" in reply.headers["Location"]
    job_id = int(reply.headers["Location"].rstrip("/").split("/")[-1])
    thread_backend.wait_idle()
    status = client.get(f"/staff/jobs/{job_id}/status").get_json()
    assert status["state"] == "done", status
    assert status["kind"] == "themes" and status["done"] == status["total"] == 100
    assert status["page"].endswith(page_url(project).split("/staff", 1)[1].split("?")[0]
                                   + f"?campaign={project['campaign_id']}")
    job_page = client.get(f"/staff/jobs/{job_id}")
    assert "Theme run" in job_page.text and "See the themes" in job_page.text
    summary = json.loads(client.get(status["download"]).data)
    assert summary["texts"] == 12 and [t["count"] for t in summary["themes"]] == [6, 6]
    page = client.get(page_url(project))
    assert page.text.count("6 texts") == 2
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.parameters["source"]["item_id"] == "safer_ideas"
        run_row = db.session.get(ThemeRun, summary["run"])
        assert run_row.created_by_id == job.created_by_id
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
        assert {"theme.run_started", "theme.run"} <= actions
    app.config["THEMES_INLINE_MAX_TEXTS"] = 2000


def test_a_failed_theme_job_stores_nothing(app, project, instruments):
    with app.app_context():
        job = jobs.enqueue("themes", jobs.theme_parameters(
            question_source(project), k=0, language=None, user=None),
            user=None, project_id=project["project_id"])
        job_id = job.id
    thread_backend.wait_idle()
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.state == "failed" and job.message
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ThemeRun)) == 0


def test_the_export_lists_the_codebook_themes_after_the_engines(app, project, instruments):
    import io

    import openpyxl
    from surveyapp.queries.export import filters_for_campaign, write_export
    from surveyapp.models import Campaign

    source = question_source(project)
    run(app, source, k=2)
    with app.app_context():
        operations.transaction(lambda: operations.themes.apply_codebook(source))
        stream = io.BytesIO()
        write_export(filters_for_campaign(db.session.get(Campaign, project["campaign_id"])), stream)
    sheet = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)["Themes"]
    rows = list(sheet.iter_rows(values_only=True))
    table = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert sum(r["count"] for r in table if r["source"] == "question") == 12
    coded = {r["theme"]: (r["count"], r["percent"]) for r in table
             if r["source"] == "question (codebook)"}
    assert coded == {"Street lighting": (6, 50.0), "Police response": (6, 50.0),
                     "Traffic and roads": (1, 8.3), "Clean and cared-for places": (1, 8.3)}


def test_the_cli_applies_the_codebook_after_the_run(app, project, instruments, runner):
    result = runner.invoke(args=["themes", project["code"], "--question", "safer_ideas",
                                 "--k", "2", "--codebook"])
    assert result.exit_code == 0, result.output
    assert "12 of 12 text(s) matched" in result.stdout
    assert re.search(r"street_lighting\s+6", result.stdout)
    assert re.search(r"police_response\s+6", result.stdout)
    assert len(coded(app, question_source(project))) == 12
    (instruments / "codebooks" / "community-capacity.yaml").unlink()
    result = runner.invoke(args=["themes", project["code"], "--question", "safer_ideas",
                                 "--codebook"])
    assert result.exit_code != 0 and "has no codebook" in result.output
