"""`surveyapp instruments import-xlsform`: writes a YAML instrument that the app loads and
answers, and refuses a malformed workbook with file:sheet:row and exit code 1."""
from __future__ import annotations

import random
import uuid

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import load_file, load_instrument
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Response
from tests.helpers import FORMS


@pytest.fixture
def cli(sqlite_app):
    """The command line on SQLite: these commands touch no database."""
    return sqlite_app.test_cli_runner()


def test_import_writes_yaml_that_passes_the_check(cli, tmp_path):
    output = tmp_path / "or-other.yaml"
    result = cli.invoke(args=["instruments", "import-xlsform", str(FORMS / "or_other.xlsx"),
                                 "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert f"wrote {output}: " in result.output
    assert load_file(output).question("fav_color").other


def test_malformed_form_exits_1_with_sheet_and_row_and_no_traceback(cli, tmp_path):
    output = tmp_path / "out.yaml"
    result = cli.invoke(args=["instruments", "import-xlsform",
                              str(FORMS / "duplicate_columns.xlsx"), "-o", str(output)])
    assert result.exit_code == 1
    assert "duplicate_columns.xlsx:survey:1: column header 'label' appears more than once" \
        in result.output
    assert isinstance(result.exception, SystemExit)  # sys.exit(1), not an error escaping
    assert "Traceback" not in result.output
    assert not output.exists()


def test_imported_form_is_loaded_deployed_and_answered_through_the_api(app, client, runner,
                                                                       make_campaign, tmp_path):
    output = tmp_path / "spec-test.yaml"
    result = runner.invoke(args=["instruments", "import-xlsform",
                                 str(FORMS / "xlsform_spec_test.xlsx"), "-o", str(output)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        synced = operations.transaction(lambda: operations.instruments.sync_instruments([output]))
    assert not synced.problems and [i.id for i in synced.added] == ["spec-test"]
    code = make_campaign("spec-test")

    instrument = load_file(output)
    answers = synthetic_answers(instrument, random.Random(3), Context("Riverside", "baseline", "zh"))
    answers["skip_to_end"] = "no"  # so that the group's questions are asked
    body = {"submission_id": str(uuid.uuid4()), "campaign": code, "language": "zh",
            "answers": answers, "started_at": "2026-11-20T10:00:00Z",
            "submitted_at": "2026-11-20T10:05:00Z"}
    reply = client.post("/api/v1/submissions", json=body)
    assert reply.status_code == 201, reply.json
    with app.app_context():
        row = db.session.scalar(sa.select(Response))
        assert row.language == "zh" and row.answers["skip_to_end"] == "no"


def test_an_existing_instrument_is_not_overwritten_without_force(cli, tmp_path):
    output = tmp_path / "or-other.yaml"
    output.write_text("# hand edits\n", encoding="utf-8")
    args = ["instruments", "import-xlsform", str(FORMS / "or_other.xlsx"), "-o", str(output)]
    refused = cli.invoke(args=args)
    assert refused.exit_code == 1 and "exists; use --force to replace it" in refused.output
    assert output.read_text(encoding="utf-8") == "# hand edits\n"
    assert cli.invoke(args=[*args, "--force"]).exit_code == 0
    assert load_file(output).id == "or-other"


def test_an_unwritable_output_is_a_message_not_a_traceback(cli, tmp_path):
    result = cli.invoke(args=["instruments", "import-xlsform", str(FORMS / "or_other.xlsx"),
                              "-o", str(tmp_path / "no-such-folder" / "x.yaml")])
    assert result.exit_code == 1 and "cannot write" in result.output


def test_export_by_id_writes_the_loaded_instruments_xlsform(cli, sqlite_app, tmp_path):
    from surveyapp.domain.xlsform import import_xlsform
    assert cli.invoke(args=["instruments", "load"]).exit_code == 0
    out = tmp_path / "cc.xlsx"
    result = cli.invoke(args=["instruments", "export-xlsform", "community-capacity",
                              "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (community-capacity " in result.output
    original = load_file(f"{sqlite_app.config['INSTRUMENTS_DIR']}/community-capacity.yaml")
    back = load_instrument(import_xlsform(out).yaml)
    assert [q.id for q in back.questions] == [q.id for q in original.questions]


def test_export_of_an_unknown_id_is_a_message(cli, tmp_path):
    result = cli.invoke(args=["instruments", "export-xlsform", "no-such-survey",
                              "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1
    assert "no instrument 'no-such-survey' is loaded" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.xlsx").exists()
