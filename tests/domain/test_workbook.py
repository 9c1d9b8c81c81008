"""The translation workbook: every cell is text, never a formula; reading it back.

No app, no database."""
from __future__ import annotations

import ast
import io
from pathlib import Path

import openpyxl
import pytest

from surveyapp.domain.instrument_text import TextEntry
from surveyapp.domain.workbook import (MAX_CELL_CHARS, read_about_sheet, read_translation_sheet,
                                       write_translation_sheet)

ROOT = Path(__file__).resolve().parents[2]

ENTRIES = [
    TextEntry("title", "instrument title", {"en": "Survey", "so": "Sahan"}),
    TextEntry("questions.q.label", "q (text question, label)", {"en": "=1+1", "so": "+cmd|' /C calc'!A0"}),
    TextEntry("questions.q.hint", "q (text question, hint)", {"en": "Bell\x07 here"}),
    TextEntry("consent", "consent text", {"en": "One.\n\nTwo.", "so": "-"}),
]


def written(entries=ENTRIES, language="so") -> io.BytesIO:
    stream = io.BytesIO()
    write_translation_sheet(entries, "en", language, stream, about={"instrument": "tiny"})
    stream.seek(0)
    return stream


def test_the_sheet_has_a_header_a_row_per_text_and_marks_missing_ones():
    sheet = openpyxl.load_workbook(written())["translations"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("key", "context", "source (en)", "translation (so)", "status")
    assert [row[0] for row in rows[1:]] == [e.key for e in ENTRIES]
    assert [row[4] for row in rows[1:]] == ["ok", "ok", "missing", "ok"]
    missing = sheet["D4"]
    assert missing.value is None and missing.fill.start_color.rgb.endswith("FFF2CC")
    assert sheet["D2"].fill.fill_type is None
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width >= 40


@pytest.mark.parametrize("cell", ["C3", "D3", "D5"])
def test_text_that_looks_like_a_formula_is_stored_as_text(cell):
    sheet = openpyxl.load_workbook(written())["translations"]
    assert sheet[cell].data_type == "s"
    assert sheet[cell].value[0] in "=+-"
    assert sheet[cell].quotePrefix  # stays text when someone edits it in Excel


def test_characters_xml_cannot_hold_are_removed():
    sheet = openpyxl.load_workbook(written())["translations"]
    assert sheet["C4"].value == "Bell here"


def test_text_longer_than_a_cell_is_refused_by_key():
    too_long = [TextEntry("consent", "consent text", {"en": "x" * (MAX_CELL_CHARS + 1)})]
    with pytest.raises(ValueError, match="consent: 32,768 characters"):
        written(too_long)


def test_reading_back_gives_the_language_and_the_non_empty_translations():
    stream = written()
    language, translations = read_translation_sheet(stream)
    assert language == "so"
    assert translations == {"title": "Sahan", "questions.q.label": "+cmd|' /C calc'!A0", "consent": "-"}
    assert read_about_sheet(stream)["instrument"] == "tiny"


def edited(change) -> io.BytesIO:
    workbook = openpyxl.load_workbook(written())
    change(workbook["translations"])
    stream = io.BytesIO()
    workbook.save(stream)
    stream.seek(0)
    return stream


def test_translations_are_stripped_with_unix_line_ends():
    def change(sheet):
        sheet["D2"] = "  Sahan\r\ncusub  "
    assert read_translation_sheet(edited(change))[1]["title"] == "Sahan\ncusub"


def test_a_formula_typed_into_the_translation_column_is_refused():
    def change(sheet):
        sheet["D2"] = "=HYPERLINK(\"http://example.org\")"  # openpyxl stores this as a formula
    with pytest.raises(ValueError, match="row 2 \\(title\\): the translation is a formula"):
        read_translation_sheet(edited(change))


def test_a_key_listed_twice_is_refused():
    def change(sheet):
        sheet["A3"] = "title"
    with pytest.raises(ValueError, match="row 3: key title is also on row 2"):
        read_translation_sheet(edited(change))


def test_a_file_that_is_not_a_workbook_is_refused():
    with pytest.raises(ValueError, match="not an Excel .xlsx workbook"):
        read_translation_sheet(io.BytesIO(b"key,translation\n"))


def test_workbook_is_the_only_module_that_imports_openpyxl():
    importers = set()
    for path in (ROOT / "surveyapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] == "openpyxl" for name in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"surveyapp/domain/workbook.py"}
