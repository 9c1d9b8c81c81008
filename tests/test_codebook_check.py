"""`surveyapp instruments check` checks the codebooks in instruments/codebooks/ too, and
still reports every other file's problems."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(sqlite_app):
    return sqlite_app.test_cli_runner()


def test_shipped_instruments_and_codebooks_pass(cli):
    result = cli.invoke(args=["instruments", "check", str(ROOT / "instruments")])
    assert result.exit_code == 0, result.output
    assert "1 codebook(s) OK, 0 problem(s)" in result.output


def test_a_broken_codebook_fails_the_check_beside_a_broken_instrument(cli, tmp_path):
    (tmp_path / "codebooks").mkdir()
    (tmp_path / "community-capacity.yaml").write_text(
        (ROOT / "instruments" / "community-capacity.yaml").read_text(encoding="utf-8"),
        encoding="utf-8")
    (tmp_path / "broken.yaml").write_text((ROOT / "tests" / "data" / "broken.yaml")
                                          .read_text(encoding="utf-8"), encoding="utf-8")
    codebook = tmp_path / "codebooks" / "community-capacity.yaml"
    codebook.write_text("instruments: [community-capacity]\n"
                        "themes:\n"
                        "  - id: lighting\n"
                        "    keywords: {en: [dark]}\n", encoding="utf-8")
    result = cli.invoke(args=["instruments", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{codebook}:3:5: theme 'lighting' needs a description" in result.output
    assert f"{tmp_path / 'broken.yaml'}:11:9: unknown key 'requird'" in result.output
    assert "1 instrument(s) OK, 0 codebook(s) OK" in result.output
