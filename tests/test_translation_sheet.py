"""`surveyapp instruments translations export|import`: a spreadsheet round trip that only
touches the translated values, and refuses rows for keys the instrument does not have."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from surveyapp.domain.instrument_text import apply_translations
from tests.helpers import differing_block

TITLE_SO = "  so: Ra'yigaaga ku saabsan kulanka barnaamijka\n"
FORMULA_LIKE = '=HYPERLINK("http://example.org","Shan daqiiqo")'


def read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def rows_by_key(path: Path):
    sheet = openpyxl.load_workbook(path)["translations"]
    return sheet, {row[0].value: row for row in sheet.iter_rows(min_row=2)}


def set_translation(path: Path, key: str, text: str) -> None:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["translations"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == key)
    row[3].value = text
    workbook.save(path)


def test_export_fill_in_import_touches_only_the_translated_value(cli, instrument, tmp_path):
    # The Somali title is missing, and one Somali text looks like a formula.
    original = apply_translations(read(instrument).replace(TITLE_SO, ""), "so",
                                  {"description": FORMULA_LIKE})
    write(instrument, original)
    workbook = tmp_path / "so.xlsx"

    result = cli("instruments", "translations", "export", "programme-feedback",
                 "--lang", "so", "-o", str(workbook))
    assert result.exit_code == 0, result.output
    assert "37 texts, 1 without 'so'" in result.output

    sheet, rows = rows_by_key(workbook)
    assert [c.value for c in sheet[1]] == ["key", "context", "source (en)", "translation (so)", "status"]
    assert rows["title"][4].value == "missing"
    assert rows["title"][3].value is None and rows["title"][3].fill.start_color.rgb.endswith("FFF2CC")
    assert rows["consent"][4].value == "ok" and rows["consent"][3].fill.fill_type is None
    formula_cell = rows["description"][3]
    assert formula_cell.value == FORMULA_LIKE and formula_cell.data_type == "s"
    assert rows["questions.delivery.items.venue.label"][1].value == \
        "venue (statement of matrix delivery, label)"

    set_translation(workbook, "title", "Ra'yiga kulanka")
    result = cli("instruments", "translations", "import", str(workbook))
    assert result.exit_code == 0, result.output
    assert "1 'so' text(s) updated" in result.output

    expected = original.replace("  vi: Ý kiến về buổi sinh hoạt của chương trình\n",
                                "  vi: Ý kiến về buổi sinh hoạt của chương trình\n"
                                "  so: Ra'yiga kulanka\n", 1)
    assert read(instrument) == expected  # comments, styles and the "=..." text untouched

    result = cli("instruments", "check")
    assert result.exit_code == 0, result.output


def test_editing_an_existing_translation_changes_only_its_line(cli, instrument, tmp_path):
    original = read(instrument)
    workbook = tmp_path / "so.xlsx"
    assert cli("instruments", "translations", "export", str(instrument), "--lang", "so",
               "-o", str(workbook)).exit_code == 0
    set_translation(workbook, "questions.thanks.label", "Mahadsanid!\r\nRa'yigaagu wuu naga caawinayaa.  ")

    result = cli("instruments", "translations", "import", str(workbook))
    assert result.exit_code == 0, result.output

    old_lines, new_lines = differing_block(original, read(instrument))
    assert old_lines == ["          so: Mahadsanid! Ra'yigaagu wuxuu naga caawinayaa inaan "
                         "horumarino barnaamijka."]
    assert new_lines == ["          so: |-", "            Mahadsanid!",
                         "            Ra'yigaagu wuu naga caawinayaa."]
    assert cli("instruments", "check").exit_code == 0

    # importing the same workbook again changes nothing
    result = cli("instruments", "translations", "import", str(workbook))
    assert result.exit_code == 0 and "0 'so' text(s) updated" in result.output


def test_rows_for_unknown_keys_are_refused_and_nothing_is_written(cli, instrument, tmp_path):
    original = read(instrument)
    workbook = tmp_path / "so.xlsx"
    assert cli("instruments", "translations", "export", "programme-feedback", "--lang", "so",
               "-o", str(workbook)).exit_code == 0
    book = openpyxl.load_workbook(workbook)
    sheet = book["translations"]
    sheet["A2"] = "questions.old_q.label"  # was: title
    sheet.append(["pages.gone.title", "", "", "Bog"])
    sheet["D3"] = "A changed description that must not be written"
    book.save(workbook)

    result = cli("instruments", "translations", "import", str(workbook), "--instrument", str(instrument))
    assert result.exit_code == 1
    assert ("so.xlsx: 2 rows name keys this instrument does not have: "
            "questions.old_q.label, pages.gone.title; nothing was written") in result.output
    assert read(instrument) == original


def test_export_names_the_file_after_the_instrument_and_language(cli, instrument, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("instruments", "translations", "export", "programme-feedback", "--lang", "de")
    assert result.exit_code == 0, result.output
    assert "37 texts, 37 without 'de'" in result.output
    assert "'de' is not among the languages of programme-feedback.yaml" in result.output
    about = {row[0].value: row[1].value
             for row in openpyxl.load_workbook(tmp_path / "programme-feedback-de.xlsx")["about"].iter_rows()}
    assert about["instrument"] == "programme-feedback" and about["language"] == "de"


@pytest.mark.parametrize("args, message", [
    (["export", "no-such-instrument", "--lang", "so"], "no instrument with id 'no-such-instrument'"),
    (["export", "programme-feedback", "--lang", "Somali"], "'Somali' is not a language code"),
])
def test_export_refuses_what_it_cannot_find(cli, args, message):
    result = cli("instruments", "translations", *args)
    assert result.exit_code != 0 and message in result.output


def test_import_refuses_a_file_that_is_not_a_workbook(cli, instrument, tmp_path):
    bogus = tmp_path / "so.xlsx"
    bogus.write_text("key,translation\n")
    result = cli("instruments", "translations", "import", str(bogus))
    assert result.exit_code == 1 and "so.xlsx: not an Excel .xlsx workbook" in result.output
