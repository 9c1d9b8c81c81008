"""Commands: instrument check and load (with versions), demo seed, and the real entry points."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Campaign, FocusGroup, InstrumentVersion, Response, User
from tests.helpers import BROKEN_EXPECTED

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args, env=None, cwd=ROOT):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, **(env or {})})


def test_check_shipped_instruments_exits_0():
    result = run(str(BIN / "surveyapp"), "instruments", "check", "instruments/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_check_broken_file_exits_1_with_every_message():
    result = run(str(BIN / "surveyapp"), "instruments", "check", "tests/data/broken.yaml")
    assert result.returncode == 1
    for expected in BROKEN_EXPECTED:
        assert expected in result.stdout
    assert len(result.stdout.strip().splitlines()) == len(BROKEN_EXPECTED)


def test_check_is_reachable_through_flask_too():
    result = run(str(BIN / "flask"), "--app", "wsgi", "instruments", "check", "tests/data/broken.yaml")
    assert result.returncode == 1 and BROKEN_EXPECTED[0] in result.stdout


def test_load_records_a_version_only_when_the_content_changes(app, runner, make_campaign, tmp_path):
    source = (ROOT / "instruments" / "programme-feedback.yaml").read_text(encoding="utf-8")
    copy = tmp_path / "programme-feedback.yaml"
    copy.write_text(source, encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(copy)])
    assert result.exit_code == 0 and "unchanged programme-feedback" in result.output

    code = make_campaign("programme-feedback")
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        old_version = queries.campaigns.campaign_version(campaign)
        instrument = queries.instruments.instrument_of(old_version)
        answers = synthetic_answers(instrument, random.Random(1), Context("Riverside", "baseline", "en"))
        result = operations.transaction(lambda: operations.surveys.submit_response(
            campaign, old_version, instrument, submission_id=uuid.uuid4(), language="en",
            answers=answers))
        assert result.outcome == "created"

    copy.write_text(source.replace('version: "2026.1"', 'version: "2026.2"'), encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(copy)])
    assert result.exit_code == 0 and "loaded programme-feedback 2026.2" in result.output

    with app.app_context():
        versions = db.session.scalars(sa.select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == "programme-feedback")).all()
        assert [v.version_label for v in versions] == ["2026.1", "2026.2"]
        campaign = queries.campaigns.campaign_by_code(code)
        # Pinned when created: its waves stay comparable; a new campaign gets the new version.
        assert queries.campaigns.campaign_version(campaign).version_label == "2026.1"
        (response,) = db.session.scalars(sa.select(Response)).all()
        assert response.instrument_version.version_label == "2026.1"  # old data keeps its version
        assert queries.instruments.instrument_of(response.instrument_version).version == "2026.1"


def test_load_reports_problems_and_exits_1(runner):
    result = runner.invoke(args=["instruments", "load", str(ROOT / "tests" / "data" / "broken.yaml")])
    assert result.exit_code == 1 and BROKEN_EXPECTED[0] in result.output


def test_demo_seed_once_then_keeps_the_data(app, runner):
    first = runner.invoke(args=["demo", "seed", "--responses", "5"])
    assert first.exit_code == 0, first.output
    assert "demo login: admin@example.org  password: " in first.output
    password = first.output.split("password: ")[1].split()[0]
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.check_password(password) and user.role_set == {"admin", "analyst", "facilitator"}
        campaigns = db.session.scalars(sa.select(Campaign)).all()
        assert {c.instrument_id for c in campaigns} == {"collective-efficacy", "community-capacity",
                                                        "police-legitimacy", "programme-feedback"}
        assert {c.wave for c in campaigns} == {"baseline", "follow-up 1"}
        assert {c.project.name for c in campaigns} == {"Demo project"}
        assert {m.project.name for m in user.memberships} == {"Demo project"}
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Response))
        assert count == 5 * len(campaigns)
        (session,) = db.session.scalars(sa.select(FocusGroup)).all()
        assert session.project.name == "Demo project"
        assert session.guide_id == "community-safety-focus-group" and len(session.segments) == 8

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "left as it is" in second.output
    assert f"password: {password}" in second.output  # the login is printed again
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == count
