"""Codebooks per project: "Add this theme to the codebook" in one project writes that
project's own copy of the instrument's codebook; another project using the same instrument
keeps reading the shared file, which the web app never writes; the copy is what the
project reads after a restart."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from surveyapp import create_app, operations, queries
from surveyapp.domain import codebooks as codebook_files
from surveyapp.extensions import db
from surveyapp.models import Theme
from surveyapp.operations.themes import ThemeRefused
from surveyapp.queries.themes import Source
from tests.helpers import LIGHTS, POLICE, analyst_client, page_url, plant, post, question_source, run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def instruments(app, tmp_path):
    """A copy of the shipped instruments folder, so that a bug cannot write the repository's."""
    folder = tmp_path / "instruments"
    shutil.copytree(ROOT / "instruments", folder)
    app.config["INSTRUMENTS_DIR"] = str(folder)
    return folder


def _other_project(app, make_campaign) -> Source:
    """Project "Police" deploying the same questionnaire, with the same twelve answers."""
    code = make_campaign(project="Police", site="Harbour")
    plant(app, app.test_client(), code, LIGHTS + POLICE)
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        return Source("question", campaign.project_id, "community-capacity", "safer_ideas", campaign.id)


def _coding(app, source) -> dict[str, int]:
    """{code: texts} after applying the codebook the source's project reads."""
    with app.app_context():
        return operations.transaction(lambda: operations.themes.apply_codebook(source)).counts


def test_a_theme_promoted_in_one_project_codes_only_that_project(app, project, instruments,
                                                                 make_campaign):
    mine, theirs = question_source(project), _other_project(app, make_campaign)
    shared = instruments / "codebooks" / "community-capacity.yaml"
    shared_text = shared.read_bytes()
    mine_before, theirs_before = _coding(app, mine), _coding(app, theirs)
    assert "evening_patrols" not in mine_before

    run(app, mine, k=2)
    client = analyst_client(app)
    with app.app_context():
        police = next(t for t in queries.themes.themes_of(mine)
                      if "police" in t.label or "patrol" in t.label)
        police.label = "Evening patrols"
        db.session.commit()
        police_id = police.id
    # Through the page, as an analyst of the first project does it.
    reply = post(client, project, "promote", theme=police_id, description="Patrols in the evening",
                 keywords="evening", language="en")
    assert reply.status_code == 302
    assert "written to the codebook as evening_patrols" in client.get(page_url(project)).text
    assert post(client, project, "codebook").status_code == 302

    with app.app_context():
        own = queries.themes.project_codebook_path(mine)
        assert queries.themes.codebook_path(mine) == own and own.is_file()
        assert own.parent.parent == Path(app.instance_path) / "codebooks"
        # The other project still reads the shared file, unchanged to the byte.
        assert queries.themes.codebook_path(theirs) == shared
        assert not queries.themes.project_codebook_path(theirs).exists()
    assert shared.read_bytes() == shared_text
    assert _coding(app, theirs) == theirs_before
    mine_after = _coding(app, mine)
    assert mine_after["evening_patrols"] >= 4          # "...in the evening" x4 at least
    assert {code: mine_after[code] for code in mine_before} == mine_before

    # After a restart (a new app on the same database and folders) the copy is still read.
    again = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "INSTRUMENTS_DIR": str(instruments), "RATELIMIT_ENABLED": False})
    again.instance_path = app.instance_path
    try:
        assert _coding(again, mine) == mine_after
        assert _coding(again, theirs) == theirs_before
    finally:
        with again.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_codebook_changed_between_load_and_write_is_refused(app, project, instruments,
                                                              monkeypatch):
    """with_theme checks the text again: a file that grew past a limit since it was loaded
    is a "codebook_invalid" refusal, not a 500, and nothing is written."""
    run(app, question_source(project), k=2)

    def changed(*args, **kwargs):
        raise codebook_files.CodebookFileError([codebook_files.Problem("<codebook>", 1, 1, "too deep")])

    monkeypatch.setattr(codebook_files, "with_theme", changed)
    with app.app_context():
        source = question_source(project)
        theme = db.session.get(Theme, queries.themes.themes_of(source)[0].id)
        with pytest.raises(ThemeRefused) as refused:
            operations.themes.promote_theme(source, theme, language="en", keywords=["x"],
                                            description="d", languages=["en"])
        assert refused.value.code == "codebook_invalid"
        assert refused.value.problems == ["<codebook>:1:1: too deep"]
        assert not queries.themes.project_codebook_path(source).exists()
