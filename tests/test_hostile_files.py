"""The commands that read files refuse hostile ones with a message, exit 1 and no traceback:
deeply nested YAML in `instruments check` (a RecursionError before), a zip bomb given to
`instruments import-xlsform` or `instruments translations import` (minutes before)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.domain.test_workbook_limits import MB, bomb
from tests.domain.test_yaml_limits import aliased_pages

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(sqlite_app, tmp_path):
    """The command line on SQLite, with an instruments folder of its own."""
    folder = tmp_path / "instruments"
    (folder / "codebooks").mkdir(parents=True)
    shutil.copy(ROOT / "instruments" / "programme-feedback.yaml", folder)
    sqlite_app.config["INSTRUMENTS_DIR"] = str(folder)
    runner = sqlite_app.test_cli_runner()

    def invoke(*args):
        started = time.monotonic()
        result = runner.invoke(args=list(args))
        assert time.monotonic() - started < 10
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception  # a message, never a traceback
        return result
    invoke.folder = folder
    return invoke


def test_check_reports_deep_nesting_and_aliases_as_file_line_col(cli):
    deep = cli.folder / "deep.yaml"
    deep.write_text("[" * 20_000, encoding="utf-8")
    aliased = cli.folder / "aliased.yaml"
    aliased.write_text(aliased_pages(), encoding="utf-8")
    codebook = cli.folder / "codebooks" / "programme-feedback.yaml"
    codebook.write_text("instruments: [programme-feedback]\nthemes: " + "{a: " * 20_000,
                        encoding="utf-8")
    result = cli("instruments", "check", str(cli.folder))
    assert result.exit_code == 1
    assert result.output.splitlines()[:3] == [
        f"{aliased}:46:5: more than 1,000,000 values with aliases expanded",
        f"{deep}:1:65: nested deeper than 64 levels",
        f"{codebook}:2:261: nested deeper than 64 levels",
    ]
    assert "1 instrument(s) OK, 0 codebook(s) OK, 3 problem(s)" in result.output


def test_import_xlsform_refuses_a_zip_bomb_naming_the_file_and_the_limit(cli, tmp_path):
    form = bomb(tmp_path / "household.xlsx", 100 * MB)
    output = tmp_path / "household.yaml"
    result = cli("instruments", "import-xlsform", str(form), "-o", str(output))
    assert result.exit_code == 1
    assert result.output == ("household.xlsx: refused: it inflates to 100.0 MB, over the limit "
                             "of 32.0 MB uncompressed\n")
    assert not output.exists()


def test_translations_import_refuses_a_zip_bomb_and_writes_nothing(cli, tmp_path):
    before = (cli.folder / "programme-feedback.yaml").read_bytes()
    sheet = bomb(tmp_path / "so.xlsx", 100 * MB)
    result = cli("instruments", "translations", "import", str(sheet))
    assert result.exit_code == 1
    assert ("so.xlsx: refused: it inflates to 100.0 MB, over the limit of 32.0 MB "
            "uncompressed") in result.output
    assert (cli.folder / "programme-feedback.yaml").read_bytes() == before
