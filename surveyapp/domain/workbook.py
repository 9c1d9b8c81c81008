"""Excel workbooks: the only module that imports openpyxl. Every cell is escaped here.

The traps, and what this module does about each:

* **Formula injection.** Excel (and LibreOffice) treat a cell whose text
  starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and openpyxl does the
  same when given such a string. Text from an instrument or from a
  respondent must never run as ``=HYPERLINK(...)`` or ``=cmd|...``. So every
  text cell is written with ``data_type = 's'``, an inline string, whatever
  its first character. Cells that start with a formula character also get
  ``quotePrefix``, so Excel keeps them as text when someone edits them. The
  translation column is formatted as Text (``@``), so what a translator types
  there stays text too. On import, a cell that is still a formula is refused,
  never evaluated or copied.
* **Characters XML cannot hold.** Control characters (``\\x00``-``\\x1f``
  except tab and line breaks) make the file unreadable, so they are removed
  (``ILLEGAL_CHARACTERS_RE``).
* **Excel's cell limit.** A cell holds at most 32,767 characters. Excel cuts
  longer text without a word, so such text is refused with a ValueError that
  names its key.
* **Line ends.** Excel stores a line break in a cell as ``\\n``, but some tools
  save ``\\r\\n``. Imported text is normalised to ``\\n`` and stripped.
"""
from __future__ import annotations

import re
import zipfile
from typing import IO, Iterable, Mapping

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException

from surveyapp.domain.instrument_text import TextEntry
from surveyapp.domain.instruments import text_direction

MAX_CELL_CHARS = 32_767
FORMULA_START = ("=", "+", "-", "@")
TRANSLATIONS_SHEET = "translations"
ABOUT_SHEET = "about"
MISSING, OK = "missing", "ok"
MISSING_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")  # light yellow
HEADER_FONT = Font(bold=True)
_TRANSLATION_HEADER = re.compile(r"^translation \(([A-Za-z0-9-]+)\)$")


def text_cell(ws, value, *, where: str = "", **style) -> WriteOnlyCell:
    """A cell that Excel shows as text, never runs as a formula (see the module docstring)."""
    text = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
    if len(text) > MAX_CELL_CHARS:
        raise ValueError(f"{where or 'a cell'}: {len(text):,} characters is more than an "
                         f"Excel cell holds ({MAX_CELL_CHARS:,}); shorten it first")
    cell = WriteOnlyCell(ws, value=text or None)  # an empty cell, not an empty inline string
    if text:
        cell.data_type = "s"  # after the value: openpyxl marks text starting with '=' as a formula
    if text.startswith(FORMULA_START):
        cell.quotePrefix = True
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def write_translation_sheet(entries: Iterable[TextEntry], source_language: str, language: str,
                            path_or_stream: str | IO[bytes],
                            about: Mapping[str, str] | None = None) -> int:
    """Write one row per entry to an .xlsx; return how many rows miss a ``language`` text.

    Sheet "translations": key, context, source (``source_language``),
    translation (``language``), status ("missing" rows are filled yellow).
    Sheet "about": the ``about`` pairs (instrument id, file, ...) for the import.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(TRANSLATIONS_SHEET)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDE", (34, 30, 60, 60, 10)):
        sheet.column_dimensions[column].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    aligned = {lang: Alignment(wrap_text=True, vertical="top",
                                readingOrder=2 if text_direction(lang) == "rtl" else 0)
                for lang in (source_language, language)}
    headers = ["key", "context", f"source ({source_language})", f"translation ({language})", "status"]
    # Every row is built (and so checked) before the first append: an error in the middle
    # of a write-only sheet leaves openpyxl's XML stream open.
    rows = [[text_cell(sheet, header, font=HEADER_FONT) for header in headers]]
    missing = 0
    for entry in entries:
        translation = entry.texts.get(language, "")
        status = OK if translation.strip() else MISSING
        missing += status == MISSING
        where = entry.key
        target = dict(alignment=aligned[language], number_format="@")
        if status == MISSING:
            target["fill"] = MISSING_FILL
        rows.append([
            text_cell(sheet, entry.key, where=where, alignment=wrap),
            text_cell(sheet, entry.context, where=where, alignment=wrap),
            text_cell(sheet, entry.texts.get(source_language, ""), where=where,
                      alignment=aligned[source_language]),
            text_cell(sheet, translation, where=where, **target),
            text_cell(sheet, status, where=where,
                      **({"fill": MISSING_FILL} if status == MISSING else {})),
        ])

    info = workbook.create_sheet(ABOUT_SHEET)
    info.column_dimensions["A"].width = 20
    info.column_dimensions["B"].width = 70
    info_rows = [[text_cell(info, name, font=HEADER_FONT), text_cell(info, value, where=name)]
                 for name, value in {"source_language": source_language, "language": language,
                                     **(about or {})}.items()]
    note = text_cell(info, "Fill in the translation column of the 'translations' sheet. "
                           "Yellow rows have no translation yet. Do not change the key column.")
    note.comment = Comment("Keep placeholders and line breaks as in the source.", "surveyapp")
    info_rows.append([text_cell(info, "how to"), note])
    for row in rows:
        sheet.append(row)
    for row in info_rows:
        info.append(row)
    workbook.save(path_or_stream)
    return missing


def read_translation_sheet(path_or_stream: str | IO[bytes]) -> tuple[str, dict[str, str]]:
    """(language, {key: translation}) from a workbook made by write_translation_sheet.

    Only non-empty translations are returned, stripped, with line ends as ``\\n``.
    ValueError for a workbook that is not a translation sheet, a key listed
    twice, or a translation cell holding a formula.
    """
    workbook = _open(path_or_stream)
    try:
        if TRANSLATIONS_SHEET not in workbook.sheetnames:
            raise ValueError(f"not a translation workbook: it has no '{TRANSLATIONS_SHEET}' sheet")
        rows = workbook[TRANSLATIONS_SHEET].iter_rows()
        header = [_text(cell.value) for cell in next(rows, ())]
        if "key" not in header:
            raise ValueError("the translations sheet has no 'key' column in its first row")
        key_at = header.index("key")
        found = [(i, m.group(1)) for i, h in enumerate(header) if (m := _TRANSLATION_HEADER.match(h))]
        if not found:
            raise ValueError("the translations sheet has no 'translation (language)' column")
        text_at, language = found[0]
        translations: dict[str, str] = {}
        first_row: dict[str, int] = {}
        for number, row in enumerate(rows, start=2):
            cells = list(row)
            key = _text(cells[key_at].value) if key_at < len(cells) else ""
            if not key:
                continue
            cell = cells[text_at] if text_at < len(cells) else None
            if cell is not None and cell.data_type == "f":
                raise ValueError(f"row {number} ({key}): the translation is a formula; "
                                 "type it as text (start it with an apostrophe)")
            if key in first_row:
                raise ValueError(f"row {number}: key {key} is also on row {first_row[key]}")
            first_row[key] = number
            text = _text(cell.value if cell is not None else None)
            if text:
                translations[key] = text
        return language, translations
    finally:
        workbook.close()


def read_about_sheet(path_or_stream: str | IO[bytes]) -> dict[str, str]:
    """The name/value pairs of the "about" sheet ({} if there is none)."""
    workbook = _open(path_or_stream)
    try:
        if ABOUT_SHEET not in workbook.sheetnames:
            return {}
        return {_text(name): _text(value) for name, value, *_ in
                workbook[ABOUT_SHEET].iter_rows(min_col=1, max_col=2, values_only=True)
                if _text(name)}
    finally:
        workbook.close()


def _open(path_or_stream):
    if hasattr(path_or_stream, "seek"):
        path_or_stream.seek(0)  # so both readers can take the same stream
    try:
        # data_only=False: a formula comes back as a formula (and is refused), not as its cached result.
        return load_workbook(path_or_stream, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"not an Excel .xlsx workbook ({error})") from None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
