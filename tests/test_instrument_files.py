"""Instrument files stay where they belong, and the checker reports hostile YAML as
file:line:col problems (never a traceback) while still checking the other files."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.helpers import SHIPPED

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "tests" / "data" / "all-types.yaml"


def exported(cli, tmp_path) -> Path:
    workbook = tmp_path / "so.xlsx"
    assert cli("instruments", "translations", "export", "programme-feedback", "--lang", "so",
               "-o", str(workbook)).exit_code == 0
    return workbook


def name_in_workbook(workbook: Path, reference: str) -> None:
    """What a hostile translator could send back: the workbook names another file."""
    book = openpyxl.load_workbook(workbook)
    for row in book["about"].iter_rows():
        if row[0].value == "instrument":
            row[1].value = reference
    book.save(workbook)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A copy of the instrument outside the instruments folder, which must stay untouched."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return Path(shutil.copy(SHIPPED, folder / SHIPPED.name))


@pytest.mark.parametrize("reference", ["../elsewhere/programme-feedback.yaml", "ABSOLUTE", "SYMLINK",
                                       "../elsewhere/programme-feedback", "/etc/passwd"])
def test_import_refuses_an_instrument_outside_the_folder(cli, instrument, outside, tmp_path, reference,
                                                         monkeypatch):
    monkeypatch.chdir(instrument.parent)
    workbook = exported(cli, tmp_path)
    link = instrument.parent / "linked.yaml"
    link.symlink_to(outside)
    reference = {"ABSOLUTE": str(outside), "SYMLINK": str(link)}.get(reference, reference)
    before = outside.read_bytes()
    name_in_workbook(workbook, reference)
    result = cli("instruments", "translations", "import", str(workbook))
    assert result.exit_code != 0
    assert "not in the instruments folder" in result.output or "is not an instrument id" in result.output
    assert "Traceback" not in result.output
    assert outside.read_bytes() == before
    result = cli("instruments", "translations", "import", str(workbook), "--instrument", reference)
    assert result.exit_code != 0 and outside.read_bytes() == before


def test_export_refuses_a_path_outside_the_folder_and_a_symlink_out(cli, instrument, outside, tmp_path):
    link = instrument.parent / "linked.yaml"
    link.symlink_to(outside)
    for reference in (str(outside), str(link)):
        result = cli("instruments", "translations", "export", reference, "--lang", "so",
                     "-o", str(tmp_path / "x.xlsx"))
        assert result.exit_code != 0 and "not in the instruments folder" in result.output
    assert not (tmp_path / "x.xlsx").exists()
    # The id lookup skips the symlink too: the one real file is found.
    assert cli("instruments", "translations", "export", "programme-feedback", "--lang", "so",
               "-o", str(tmp_path / "ok.xlsx")).exit_code == 0


HOSTILE = {
    "int.yaml": ('version: "1"', "version: !!int abc", 3, 10, "'abc' is not a valid int"),
    "timestamp.yaml": ('version: "1"', "version: !!timestamp 2026-13-45", 3, 10,
                       "'2026-13-45' is not a valid timestamp"),
    "bare-date.yaml": ('min: "2020-01-01"', "min: 2026-13-45", 47, 39,
                       "'2026-13-45' is not a valid timestamp"),
    "quoted-date.yaml": ('min: "2020-01-01"', 'min: "2026-13-45"', 47, 39,
                         "min of 'met_on' must be an ISO date"),
    "bell.yaml": ("title: {en: All types}", "title: {en: All\x07types}", 6, 16,
                  "control character U+0007"),
    "nul.yaml": ("title: {en: All types}", "title: {en: \x0bAll\x00types}", 6, 17,
                 "control character U+0000"),
}


def test_check_reports_hostile_yaml_as_problems_and_checks_the_other_files(tmp_path):
    source = GOOD.read_text(encoding="utf-8")
    for name, (old, new, *_ignored) in HOSTILE.items():
        assert old in source
        (tmp_path / name).write_text(source.replace(old, new).replace("id: all-types", f"id: {name[:-5]}"),
                                     encoding="utf-8")
    shutil.copy(GOOD, tmp_path / "zz-good.yaml")
    done = subprocess.run([str(Path(sys.executable).parent / "surveyapp"), "instruments", "check",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.returncode == 1
    for name, (_old, _new, line, column, message) in HOSTILE.items():
        expected = f"{tmp_path / name}:{line}:{column}: {message}"
        assert any(out.startswith(expected) for out in done.stdout.splitlines()), (expected, done.stdout)
    assert "1 instrument(s) OK" in done.stderr  # the good file was still checked
