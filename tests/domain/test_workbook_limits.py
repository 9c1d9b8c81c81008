"""Workbooks past a limit are refused before any parser reads them (domain/limits.py): a zip
bomb, a zip whose directory lies about its sizes, a sheet reaching too far, an .xls whose
grid xlrd would pad to 16 million cells. The hostile files are built here, on the fly."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from surveyapp.domain import limits
from surveyapp.domain.instrument_text import TextEntry
from surveyapp.domain.workbook import read_translation_sheet, write_translation_sheet
from surveyapp.domain.xlsform import XlsformError, import_xlsform
from tests.domain.test_xlsform import FORMS

ROOT = Path(__file__).resolve().parent.parent.parent
MARK = "HOSTILE_CELL"
MB = 1_000_000


def small_form() -> bytes:
    """A two-sheet XLSForm with one text question; its label cell holds MARK."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["text", "q1", MARK])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title"])
    settings.append(["hostile", "Hostile"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rebuilt(path: Path, source: bytes, replace) -> None:
    """``source`` (an .xlsx) written to ``path`` part by part; ``replace(name, data,
    part)`` writes the parts it wants to change into the open ``part`` and returns True."""
    with zipfile.ZipFile(io.BytesIO(source)) as base, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in base.infolist():
            data = base.read(info)
            with out.open(info.filename, "w") as part:
                if not replace(info.filename, data, part):
                    part.write(data)


def bomb(path: Path, inflated: int, *, lie_to: int | None = None) -> Path:
    """``small_form`` with its label cell ``inflated`` bytes of 'a': ~1 KB per MB inflated.
    ``lie_to``: the zip directory (and local header) then give that size for the sheet."""
    sheet = []

    def fill(name, data, part):
        if MARK.encode() not in data:
            return False
        head, tail = data.split(MARK.encode())
        part.write(head)
        chunk = b"a" * MB
        for start in range(0, inflated, MB):
            part.write(chunk[:min(MB, inflated - start)])
        part.write(tail)
        sheet.append(name)
        return True

    rebuilt(path, small_form(), fill)
    if lie_to is not None:
        _forge_size(path, sheet[0], lie_to)
    return path


def _forge_size(path: Path, name: str, size: int, *, field: str = "size") -> None:
    """Write ``size`` into the zip headers' uncompressed size (or, ``field="crc"``, the
    checksum) of the part ``name``: in its local header and its directory entry."""
    raw = bytearray(path.read_bytes())
    key = name.encode()
    for signature, size_at, crc_at, name_length_at, name_at in (
            (b"PK\x03\x04", 22, 14, 26, 30), (b"PK\x01\x02", 24, 16, 28, 46)):
        at = raw.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", raw, at + name_length_at)[0]
            if raw[at + name_at:at + name_at + length] == key:
                struct.pack_into("<I", raw, at + (size_at if field == "size" else crc_at), size)
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))


def with_sheet_data(path: Path, rows_xml: str, *, source: bytes | None = None) -> Path:
    """``small_form`` (or ``source``) with the survey sheet's <sheetData> replaced."""
    def swap(name, data, part):
        if MARK.encode() not in data:
            return False
        start, end = data.index(b"<sheetData>"), data.index(b"</sheetData>")
        part.write(data[:start] + f"<sheetData>{rows_xml}".encode() + data[end:])
        return True

    rebuilt(path, source or small_form(), swap)
    return path


def corner_xls(path: Path) -> Path:
    """tutorial.xls with the last text cell moved to the sheet's far corner (row 65,536,
    column IV): a file the same size that xlrd pads to 65,536 x 256 cells."""
    raw = bytearray((FORMS / "tutorial.xls").read_bytes())
    at = raw.rfind(b"\xfd\x00\x0a\x00")  # the last LABELSST record: row, column, ...
    assert at > 0
    struct.pack_into("<HH", raw, at + 4, 65535, 255)
    path.write_bytes(bytes(raw))
    return path


def refusal(path) -> str:
    with pytest.raises(limits.WorkbookRefused) as caught:
        limits.check_workbook(path)
    return str(caught.value)


# ----------------------------------------------------------------------------- the zip

def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_inflated(tmp_path):
    path = bomb(tmp_path / "bomb.xlsx", 100 * MB)
    assert path.stat().st_size < 200_000  # deflate: a thousandfold
    tracemalloc.start()
    try:
        message = refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == "it inflates to 100.0 MB, over the limit of 32.0 MB uncompressed"
    assert peak < 2 * MB


@pytest.mark.parametrize("inflated", [50 * MB, 5 * MB], ids=["past the limit", "within it"])
def test_a_directory_that_lies_about_a_size_is_caught_while_inflating(tmp_path, inflated):
    path = bomb(tmp_path / "forged.xlsx", inflated, lie_to=1_000)
    assert sum(i.file_size for i in zipfile.ZipFile(path).infolist()) < 20_000  # the lie
    tracemalloc.start()
    try:
        message = refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.startswith("its part xl/worksheets/sheet1.xml inflates past the "
                              "1,000 bytes its zip directory gives")
    assert peak < 8 * MB  # read a megabyte at a time, never the whole part


def test_a_file_past_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.xlsx"
    with open(path, "wb") as handle:
        handle.truncate(limits.MAX_WORKBOOK_BYTES + 1)
    assert refusal(path) == "the file is 16.0 MB, over the limit of 16.0 MB for a workbook"


def test_a_zip_of_too_many_parts_is_refused(tmp_path):
    path = tmp_path / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(limits.MAX_PARTS + 1):
            archive.writestr(f"part{number}.txt", b"")
    assert refusal(path) == "it has 1,001 parts, over the limit of 1,000"


def test_a_zip_after_other_bytes_is_checked_too(tmp_path):
    # zipfile finds a zip by the directory at its end: a prefix must not hide the bomb
    path = bomb(tmp_path / "bomb.xlsx", 40 * MB)
    path.write_bytes(b"not a zip signature" + path.read_bytes())
    assert "over the limit of 32.0 MB uncompressed" in refusal(path)


# ----------------------------------------------------------------------------- sheets

def test_a_cell_past_the_row_limit_is_refused(tmp_path):
    path = with_sheet_data(tmp_path / "far.xlsx",
                           '<row r="1"><c r="A1" t="inlineStr"><is><t>type</t></is></c></row>'
                           '<row r="70000"><c r="A70000"><v>1</v></c></row>')
    assert refusal(path) == ("its sheet xl/worksheets/sheet1.xml has a cell on row 70,000, "
                             "over the limit of 65,536 rows")


def test_a_header_as_wide_as_a_sheet_over_many_rows_is_refused(tmp_path):
    # two cells and a hundred short rows, but every reader pads each row to the header's
    # width: 16,384 columns (XFD) times 100 rows
    path = with_sheet_data(tmp_path / "wide.xlsx",
                           '<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>1</v></c></row>'
                           '<row r="100"><c r="A100"><v>1</v></c></row>')
    assert refusal(path) == ("its sheets span 1,638,400 cells (rows times the header row's "
                             "width, empty cells included), over the limit of 1,000,000")


def test_a_cell_without_a_reference_still_counts(tmp_path):
    rows = "".join(f"<row><c><v>{n}</v></c></row>" for n in range(limits.MAX_ROWS + 1))
    path = with_sheet_data(tmp_path / "bare.xlsx", rows)
    assert "has a cell on row 65,537" in refusal(path)


def test_every_part_is_counted_whatever_its_name(tmp_path):
    # openpyxl finds a sheet through the workbook's relationships, not by its name
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(small_form())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/worksheets/data.bin",
                         '<worksheet><sheetData><row r="70000"><c r="A70000"><v>1</v></c>'
                         '</row></sheetData></worksheet>')
    assert "its sheet xl/worksheets/data.bin has a cell on row 70,000" in refusal(path)


def test_a_part_name_reaches_the_message_without_control_characters(tmp_path):
    path = tmp_path / "escape.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/\x1b[2Jsheet.xml", '<row r="70000"><c r="A70000"/></row>')
    assert refusal(path).startswith("its sheet xl/?[2Jsheet.xml has a cell on row 70,000")


def test_a_damaged_part_does_not_hide_the_parts_after_it(tmp_path):
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("docProps/thumbnail.jpeg", b"x" * 1000)
        archive.writestr("xl/worksheets/sheet1.xml",
                         '<worksheet><sheetData><row r="70000"><c r="A70000"><v>1</v></c>'
                         '</row></sheetData></worksheet>')
    _forge_size(path, "docProps/thumbnail.jpeg", 12345, field="crc")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(path).read("docProps/thumbnail.jpeg")
    assert "has a cell on row 70,000" in refusal(path)


def test_rows_without_cells_down_to_the_last_row_cost_nothing():
    # LibreOffice writes styled empty rows down to row 1,048,576 (this real form has them)
    limits.check_workbook(FORMS / "UCL_Biomass_Plot_Form.xlsx")


def test_an_xls_whose_grid_xlrd_would_pad_to_16_million_cells_is_refused(tmp_path):
    path = corner_xls(tmp_path / "corner.xls")
    assert path.stat().st_size == (FORMS / "tutorial.xls").stat().st_size
    assert refusal(path) == ("its sheets span 16,777,294 cells (rows times the widest row, "
                             "empty cells included), over the limit of 1,000,000")


@pytest.mark.parametrize("name", sorted(p.name for p in FORMS.glob("*.xls*")))
def test_every_sample_form_passes_the_limits(name):
    limits.check_workbook(FORMS / name)


def test_a_stream_is_checked_and_left_where_it_was(tmp_path):
    stream = io.BytesIO(bomb(tmp_path / "bomb.xlsx", 40 * MB).read_bytes())
    stream.seek(7)
    with pytest.raises(limits.WorkbookRefused):
        limits.check_workbook(stream)
    assert stream.tell() == 7


# ----------------------------------------------------------------------------- the readers

def test_the_xlsform_import_refuses_the_bomb_naming_the_file_and_the_limit(tmp_path):
    path = bomb(tmp_path / "household.xlsx", 600 * MB)
    started = time.monotonic()
    with pytest.raises(XlsformError) as caught:
        import_xlsform(path)
    assert time.monotonic() - started < 5
    assert str(caught.value) == ("household.xlsx: refused: it inflates to 600.0 MB, over the "
                                 "limit of 32.0 MB uncompressed")


def test_the_xlsform_import_refuses_the_padded_xls(tmp_path):
    with pytest.raises(XlsformError, match=r"^corner.xls: refused: its sheets span 16,777,294"):
        import_xlsform(corner_xls(tmp_path / "corner.xls"))


def test_the_translation_sheet_reader_refuses_a_bomb_in_a_file_or_a_stream(tmp_path):
    entries = [TextEntry("title", "title", {"en": "Title"})]
    sheet = io.BytesIO()
    write_translation_sheet(entries, "en", "so", sheet)

    def fill(name, data, part):
        if name != "xl/worksheets/sheet1.xml":
            return False
        part.write(data.replace(b"</sheetData>", b"</sheetData>" + b" " * (40 * MB)))
        return True

    path = tmp_path / "so.xlsx"
    rebuilt(path, sheet.getvalue(), fill)
    for source in (str(path), io.BytesIO(path.read_bytes())):
        with pytest.raises(ValueError, match=r"^refused: it inflates to 40.0 MB, over the limit"):
            read_translation_sheet(source)
    assert read_translation_sheet(sheet) == ("so", {})  # the sheet itself still reads


CHILD = """
import json, resource, sys, time
from surveyapp.domain.xlsform import XlsformError, import_xlsform
started = time.monotonic()
try:
    import_xlsform(sys.argv[1])
    outcome = "imported"
except XlsformError as error:
    outcome = str(error)
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_the_600_mb_bomb_of_the_issue_is_refused_in_seconds_in_little_memory(tmp_path):
    # Before the limits: 36 s and 218 MB for a tenth of it (60 MB), minutes for all of it.
    path = bomb(tmp_path / "bomb.xlsx", 600 * MB)
    assert path.stat().st_size < 700_000
    baseline = _child(FORMS / "or_other.xlsx")
    assert baseline["outcome"] == "imported"
    refused = _child(path)
    assert refused["outcome"].startswith("bomb.xlsx: refused: it inflates to 600.0 MB")
    assert refused["seconds"] < 5
    assert refused["peak_mb"] < baseline["peak_mb"] + 20  # the import itself, not the cell


def _child(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, timeout=120,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)
