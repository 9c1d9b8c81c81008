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
* **Error values.** openpyxl stores a string such as ``#N/A`` as an error
  value; ``data_type = 's'`` keeps it text as well.
* **Excel's cell limit.** A cell holds at most 32,767 characters (UTF-16
  units). Excel cuts longer text without a word. The translation sheet refuses
  such text with a ValueError that names its key (a translator's edit must come
  back whole); an export continues it in further cells of the row, with a note
  on the first, so nothing is cut and nothing raises.
* **Numbers and dates stay what they are.** An int, a float or a date is
  written as such (never as text), so that sums and filters work; aware
  datetimes are written in UTC (Excel has no time zones).
* **Excel's row limit.** A sheet holds 1,048,576 rows; an export's rows beyond
  that continue on "<sheet> (2)", with the header rows repeated.
* **CSV.** A CSV file has no cell types, so a text cell that starts with a
  formula character (or a tab or a carriage return) gets a leading ``'`` and
  every field is quoted, as OWASP advises for CSV injection.
* **Line ends.** Excel stores a line break in a cell as ``\\n``, but some tools
  save ``\\r\\n``. Imported text is normalised to ``\\n`` and stripped.
* **Hostile sizes.** A 600 KB .xlsx can inflate to 600 MB. Every workbook read here
  first passes ``limits.check_workbook`` (file size, inflated size, rows, cells) and is
  refused with a ValueError that names the limit, before openpyxl opens it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Sequence

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.worksheet.pagebreak import Break
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from surveyapp.domain import limits
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
    """A cell that Excel shows as text, never runs as a formula (see the module docstring).

    Numbers and dates are not text: they are written as numbers and dates.
    """
    if _is_number(value) or isinstance(value, (dt.date, dt.datetime)):
        cell = WriteOnlyCell(ws, value=_excel_value(value))
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell
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
        sheet = workbook[TRANSLATIONS_SHEET]
        header = [_text(cell.value) for cell in next(sheet.iter_rows(max_row=1), ())]
        if "key" not in header:
            raise ValueError("the translations sheet has no 'key' column in its first row")
        key_at = header.index("key")
        found = [(i, m.group(1)) for i, h in enumerate(header) if (m := _TRANSLATION_HEADER.match(h))]
        if not found:
            raise ValueError("the translations sheet has no 'translation (language)' column")
        text_at, language = found[0]
        translations: dict[str, str] = {}
        first_row: dict[str, int] = {}
        # Only the columns read: openpyxl pads each row out to the sheet's <dimension>,
        # which a file may set to column XFD (16,384 cells a row).
        rows = sheet.iter_rows(min_row=2, max_col=max(key_at, text_at) + 1)
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
        limits.check_workbook(path_or_stream)  # a zip bomb or a padded grid, before openpyxl
    except limits.WorkbookRefused as error:
        raise ValueError(f"refused: {error}") from None
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


# ----------------------------------------------------------------------------- exports

EXCEL_MAX_ROWS = 1_048_576
MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 8, 60, 50
_SAMPLED_ROWS = 200  # rows looked at to size the columns before the first is written
_SAFE_TEXTS, _SAFE_TEXT_CHARS = 20_000, 200  # a bounded memo of short texts known to be safe
_CSV_FORMULA_START = FORMULA_START + ("\t", "\r")
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Column:
    """One column of an exported sheet: ``name`` heads it (a variable name), ``label`` is
    the optional second header row (the question text). ``wrap`` is for long text;
    ``number_format`` (Excel's, e.g. ``"0.0"``) shows its numbers to a fixed precision
    while the cell keeps the full value."""
    name: str
    label: str = ""
    wrap: bool = False
    width: float | None = None
    number_format: str | None = None


@dataclass(frozen=True)
class ColumnChartSpec:
    """A native clustered column chart placed at ``anchor`` (e.g. ``"F2"``).

    Positions are the sheet's own, 1-based: ``categories`` is (column, first row, last
    row); each of ``series`` is (column, title row, first row, last row). The value
    axis runs ``y_min`` to ``y_max`` (a 0-100 score is drawn on its whole scale).
    ``width``/``height`` are in centimetres."""
    title: str
    categories: tuple[int, int, int]
    series: tuple[tuple[int, int, int, int], ...]
    anchor: str
    y_title: str = ""
    y_min: float | None = 0
    y_max: float | None = None
    width: float = 16.0
    height: float = 7.5


@dataclass
class Sheet:
    """What one sheet (or one CSV file) holds. ``rows`` is iterated once, lazily; a
    ``deferred`` sheet is filled after the others (an About sheet that counts what they
    wrote), while keeping its place among the tabs."""
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    deferred: bool = False
    charts: Sequence[ColumnChartSpec] = ()
    rtl: bool = False
    freeze_columns: int = 0
    # A table gets frozen, filtered headers; a report (blocks of figures and charts) not.
    table: bool = True
    # Print setup: a page break after each of these rows; landscape; one page wide.
    page_breaks: Sequence[int] = ()
    landscape: bool = False
    # A sheet drawn for people (charts beside small tables) says nothing a CSV can hold.
    in_csv: bool = True

    @property
    def header_rows(self) -> list[list[str]]:
        rows = [[c.name for c in self.columns]]
        if any(c.label for c in self.columns):
            rows.append([c.label for c in self.columns])
        return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _excel_value(value):
    """Numbers, dates and booleans as Excel holds them; None for what has no cell."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 'nan' is not a number Excel can read back
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _utf16_length(text: str) -> int:
    # Excel counts UTF-16 units: an emoji is two.
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_for_cells(text: str, limit: int = MAX_CELL_CHARS) -> list[str]:
    """``text`` in pieces that each fit a cell (``limit`` UTF-16 units), never splitting a
    character; one piece when it fits."""
    if len(text) * 2 <= limit or _utf16_length(text) <= limit:
        return [text]
    pieces, start, units = [], 0, 0
    for index, ch in enumerate(text):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > limit:
            pieces.append(text[start:index])
            start, units = index, 0
        units += width
    pieces.append(text[start:])
    return pieces


class _SheetWriter:
    """Appends rows to a write-only sheet, safely (see the module docstring), moving on
    to "<title> (2)" when the sheet is full."""

    def __init__(self, workbook: Workbook, sheet: Sheet, row_limit: int):
        self.workbook, self.sheet, self.row_limit = workbook, sheet, row_limit
        self.wrap_columns = {i for i, c in enumerate(sheet.columns) if c.wrap}
        self.header = sheet.header_rows
        if row_limit <= len(self.header):
            raise ValueError(f"a sheet of {row_limit} rows has no room below its header")
        self.parts: list = []
        # Texts already found safe to pass through as they are (labels repeat on every row).
        self.safe_texts: set[str] = set()
        self.widest = len(sheet.columns)
        self.rows_written = 0
        self.wrap_style = None  # the style array of a wrapped text cell, once one is made
        self.formats = {i: c.number_format for i, c in enumerate(sheet.columns) if c.number_format}

    def _new_part(self, widths: list[float]):
        title = self.sheet.title if not self.parts else f"{self.sheet.title} ({len(self.parts) + 1})"
        ws = self.workbook.create_sheet(title[:31])
        for number, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(number)].width = width
        if self.sheet.rtl:
            ws.sheet_view.rightToLeft = True
        if self.sheet.landscape:
            ws.page_setup.orientation = "landscape"
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        for row in self.sheet.page_breaks:
            ws.row_breaks.append(Break(id=row))
        if self.sheet.table:
            ws.freeze_panes = f"{get_column_letter(self.sheet.freeze_columns + 1)}{len(self.header) + 1}"
        for row in self.header:
            ws.append([text_cell(ws, name, font=HEADER_FONT, alignment=_WRAP) for name in row])
        self.parts.append([ws, len(self.header)])
        return ws

    def write(self, progress: Callable[[int], None] | None = None) -> int:
        rows = iter(self.sheet.rows)
        sample = [list(row) for _, row in zip(range(_SAMPLED_ROWS), rows)]
        widths = self._widths(sample)
        ws = self._new_part(widths)
        part = self.parts[-1]
        for values in _chain(sample, rows):
            if part[1] >= self.row_limit:
                ws = self._new_part(widths)
                part = self.parts[-1]
            cells = self._cells(ws, values, part[1] + 1)
            if self.formats:
                cells = self._formatted(ws, cells)
            ws.append(cells)
            part[1] += 1
            self.rows_written += 1
            if progress is not None and self.rows_written % 1000 == 0:
                progress(1000)
        if progress is not None:
            progress(self.rows_written % 1000)
        for ws, last_row in self.parts if self.sheet.table else ():
            last_column = get_column_letter(max(self.widest, 1))
            ws.auto_filter.ref = f"A{len(self.header)}:{last_column}{max(last_row, len(self.header))}"
        if self.rows_written:
            for spec in self.sheet.charts:
                self.parts[0][0].add_chart(_column_chart(self.parts[0][0], spec), spec.anchor)
        return self.rows_written

    def _formatted(self, ws, cells: Sequence) -> list:
        """``cells`` with the numbers of number-formatted columns as styled cells."""
        cells = list(cells)
        for index, number_format in self.formats.items():
            if index < len(cells) and _is_number(cells[index]) and math.isfinite(cells[index]):
                cell = WriteOnlyCell(ws, value=cells[index])
                cell.number_format = number_format
                cells[index] = cell
        return cells

    def _widths(self, sample: list[list]) -> list[float]:
        widths = []
        for index, column in enumerate(self.sheet.columns):
            if column.width is not None:
                widths.append(column.width)
                continue
            if column.wrap:
                widths.append(WRAP_WIDTH)
                continue
            longest = max([len(column.name), min(len(column.label), 30)]
                          + [len(str(row[index])) for row in sample
                             if index < len(row) and row[index] is not None])
            widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
        return widths

    def _cells(self, ws, values: Sequence[Any], row_number: int) -> Sequence:
        """The row's cells; text too long for one cell continues at the end of the row.

        Most values pass through as they are: nothing, ints, finite floats, naive dates,
        and texts openpyxl stores as plain text by itself (short ones are remembered in
        ``safe_texts``, since labels repeat on every row). The distinct values of the row
        not yet known safe are found in one set difference (C speed); only those, and the
        text in wrap columns, are looked at one by one, and only their cells are built.
        """
        try:
            # ``difference``, not ``-=``: the in-place form walks all of ``safe_texts`` (up to
            # 20,000 texts) on every row, this one walks the row's values.
            unknown = set(values).difference(self.safe_texts)
        except TypeError:  # a list or a dict among the values: the careful path, cell by cell
            return self._careful(ws, values, row_number)
        bad = [value for value in unknown if value is not None and type(value) is not int
               and not self._passes(value)] if unknown else ()
        wrapped = [i for i in self.wrap_columns if i < len(values) and values[i] is not None]
        if len(values) > self.widest:
            self.widest = len(values)
        if not bad and not wrapped:
            return values
        if any(type(value) is str and len(value) * 2 > MAX_CELL_CHARS for value in bad):
            return self._careful(ws, values, row_number)  # continues text in further cells
        cells = list(values)
        if bad:  # most rows have only wrapped text to style
            for index, value in enumerate(cells):
                # ``in`` on a list tries identity before equality, so a NaN (equal to nothing)
                # is found too; an int equal to a bad True is not bad.
                if value in bad and type(value) is not int:
                    cells[index] = self._cell(ws, value, index in self.wrap_columns)
        for index in wrapped:
            if not isinstance(cells[index], Cell):
                cells[index] = self._cell(ws, cells[index], True)
        return cells

    def _passes(self, value) -> bool:
        """Whether ``value`` may go to openpyxl as it is (remembering short safe texts)."""
        kind = type(value)
        if value is None or kind is int:
            return True
        if kind is str:
            if _plain_text_is_safe(value) and (len(value) * 2 <= MAX_CELL_CHARS
                                               or _utf16_length(value) <= MAX_CELL_CHARS):
                if len(value) <= _SAFE_TEXT_CHARS and len(self.safe_texts) < _SAFE_TEXTS:
                    self.safe_texts.add(value)
                return True
            return False
        if kind is float:
            return math.isfinite(value)
        return kind is dt.date or (kind is dt.datetime and value.tzinfo is None)

    def _cell(self, ws, value, wrap: bool):
        """One value that may not pass as it is, made safe (it fits one cell)."""
        if wrap and type(value) is str and _plain_text_is_safe(value):
            # A new cell would look up its Alignment in the workbook's style list (hashing
            # it) every time; a copy of the first wrapped cell's style array is the same
            # style for a fraction of the cost. Only for text openpyxl keeps as it is.
            if self.wrap_style is None:
                self.wrap_style = text_cell(ws, "", alignment=_WRAP)._style
            cell = Cell(ws, row=1, column=1, style_array=StyleArray(self.wrap_style))  # as WriteOnlyCell
            cell.value = value
            return cell
        if type(value) is str or isinstance(value, (list, tuple, dict)):
            return text_cell(ws, value, **({"alignment": _WRAP} if wrap else {}))
        return _excel_value(value)

    def _careful(self, ws, values: Sequence[Any], row_number: int) -> list:
        """The row's cells, each looked at; text too long for one cell continues at the
        end of the row, with a note on its first cell."""
        safe = self.safe_texts
        cells: list = []
        append = cells.append
        continued: list[str] = []
        for index, value in enumerate(values):
            kind = type(value)
            if value is None or kind is int or (kind is str and value in safe
                                                and index not in self.wrap_columns):
                append(value)
            elif kind is str:
                wrap = index in self.wrap_columns
                pieces = split_for_cells(value)
                if len(pieces) == 1 and not wrap and _plain_text_is_safe(value):
                    append(value)
                    continue
                cell = text_cell(ws, pieces[0], **({"alignment": _WRAP} if wrap else {}))
                if len(pieces) > 1:
                    first = len(values) + len(continued) + 1
                    last = first + len(pieces) - 2
                    where = get_column_letter(first) + (f"-{get_column_letter(last)}" if last > first else "")
                    cell.comment = Comment(
                        f"This text is {_utf16_length(value):,} characters long, more than a cell "
                        f"holds ({MAX_CELL_CHARS:,}): it continues in {where}{row_number}.",
                        "surveyapp")
                    continued.extend(pieces[1:])
                append(cell)
            else:
                append(_excel_value(value) if not isinstance(value, (list, tuple, dict))
                       else text_cell(ws, value))
        for piece in continued:
            append(text_cell(ws, piece, alignment=_WRAP))
        if len(cells) > self.widest:
            self.widest = len(cells)
        return cells


def _column_chart(ws, spec: ColumnChartSpec) -> BarChart:
    """A clustered column chart of ``ws``'s cells, as ``spec`` places it."""
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "clustered", 0
    chart.title = spec.title
    chart.y_axis.title = spec.y_title
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = spec.y_min, spec.y_max
    # openpyxl hides both axes unless told otherwise (LibreOffice then draws no labels).
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.numFmt = "0"
    chart.legend.position = "b"
    for column, title_row, first, last in spec.series:
        chart.add_data(Reference(ws, min_col=column, min_row=title_row, max_row=last)
                       if title_row == first - 1 else
                       Reference(ws, min_col=column, min_row=first, max_row=last),
                       titles_from_data=title_row == first - 1)
    column, first, last = spec.categories
    chart.set_categories(Reference(ws, min_col=column, min_row=first, max_row=last))
    chart.width, chart.height = spec.width, spec.height
    return chart


def _chain(first: list, rest: Iterator):
    yield from first
    yield from rest


def _plain_text_is_safe(text: str) -> bool:
    """Whether openpyxl would store ``text`` as plain text by itself (no formula, no
    error value, nothing XML cannot hold)."""
    return (not text.startswith(FORMULA_START) and text not in ERROR_CODES
            and ILLEGAL_CHARACTERS_RE.search(text) is None)


def write_workbook(sheets: Sequence[Sheet], path_or_stream: str | IO[bytes], *,
                   row_limit: int = EXCEL_MAX_ROWS,
                   progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write ``sheets`` to an .xlsx in write-only mode; return {sheet title: data rows}.

    Every sheet has its header rows frozen and filtered, columns sized from its first
    rows, long text wrapped. A sheet with more than ``row_limit`` rows (header
    included) continues on "<title> (2)", "<title> (3)", ... ``progress`` is called
    with the number of rows written since its last call.
    """
    workbook = Workbook(write_only=True)
    writers = [_SheetWriter(workbook, sheet, row_limit) for sheet in sheets]
    counts: dict[str, int] = {}
    for writer in [w for w in writers if not w.sheet.deferred] + [w for w in writers if w.sheet.deferred]:
        counts[writer.sheet.title] = writer.write(progress)
    # Tabs were created in the order the sheets were filled; put them in the order given.
    for position, ws in enumerate(ws for writer in writers for ws, _ in writer.parts):
        workbook.move_sheet(ws.title, position - workbook.index(ws))
    workbook.save(path_or_stream)
    return counts


def csv_text(value) -> str:
    """One CSV field: text that could run as a formula gets a leading ``'`` (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _excel_value(value).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if _is_number(value):
        return str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def write_csv_zip(sheets: Sequence[Sheet], path_or_stream: str | IO[bytes],
                  progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """One UTF-8 CSV (with a byte-order mark, so Excel reads it as UTF-8) per sheet, in a
    zip; every field quoted. Return {sheet title: data rows}."""
    counts: dict[str, int] = {}
    sheets = [s for s in sheets if s.in_csv]
    order = [s for s in sheets if not s.deferred] + [s for s in sheets if s.deferred]
    files: dict[str, str] = {}
    with zipfile.ZipFile(path_or_stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, sheet in enumerate(sheets, start=1):
            files[sheet.title] = f"{number:02d}-{_file_name(sheet.title)}.csv"
        for sheet in order:
            with archive.open(files[sheet.title], "w") as raw:
                stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                writer = csv.writer(stream, quoting=csv.QUOTE_ALL)
                for row in sheet.header_rows:
                    writer.writerow([csv_text(v) for v in row])
                written = 0
                for row in sheet.rows:
                    writer.writerow([csv_text(v) for v in row])
                    written += 1
                    if progress is not None and written % 1000 == 0:
                        progress(1000)
                if progress is not None:
                    progress(written % 1000)
                stream.flush()
                stream.detach()
                counts[sheet.title] = written
    return counts


def _file_name(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower() or "sheet"


def write_csv(header: Sequence, rows: Iterable[Sequence], stream: IO[str]) -> int:
    """One CSV table to a text stream: every field quoted and formula-escaped (csv_text),
    as write_csv_zip writes each sheet; the caller opens the stream (UTF-8 with BOM for
    Excel). Return the number of data rows."""
    writer = csv.writer(stream, quoting=csv.QUOTE_ALL)
    writer.writerow([csv_text(v) for v in header])
    written = 0
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
        written += 1
    return written
