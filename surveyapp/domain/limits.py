"""What hostile input may cost, checked before a parser sees it: workbooks and YAML.

    check_workbook("form.xlsx")     # WorkbookRefused (a ValueError) past a limit
    check_yaml(text)                # YamlLimit (a ValueError, with line and column) past one

Both exist because the parsers behind them trust their input:

* **Workbooks.** An .xlsx is a zip. A 600 KB file can hold one cell that inflates to
  600 MB (deflate shrinks a run of one letter a thousandfold), and openpyxl then builds
  that string and pyxform walks it: minutes and gigabytes. So, before any parser runs:
  the file's size; the number of parts and the sum of their uncompressed sizes, from the
  zip directory; then every part is inflated once, in chunks, counting the bytes,
  because the directory can lie. (zipfile stops at the size the directory gives, so
  here each part is read with what is left of the limit as its size, and a part that
  inflates past its entry is refused as forged.) The same pass counts each sheet's cells
  and the grid the readers would walk: the last row that holds a cell times the header
  row's width, empty cells included, since openpyxl pads every row out to the width it
  is asked for. An .xls (xlrd) is not compressed, but a 2 KB file can hold two cells at
  opposite corners of a sheet, and xlrd pads the 16 million cells between them; its
  sheets are read once without padding and refused on the same counts.
* **YAML.** ruamel.yaml builds the node tree recursively, so ``[`` twenty thousand times
  is a RecursionError, not a message; aliases let a 1 KB file stand for a billion nodes
  for whoever walks the tree. So the text is read once as a stream of events (libyaml's
  C parser when PyYAML has it, ruamel's own parser otherwise or when libyaml refuses the
  text, so that nothing ruamel would read goes unchecked), which recurses nowhere, and
  the nesting depth and the node count with every alias expanded are bounded, with the
  line and column where a limit is passed.

The limits are module constants, far above any real questionnaire (the largest shipped
instrument is 98 KB, 3,400 nodes, 8 levels deep; the largest of pyxform's test forms,
its spec form, is 105,000 cells, most of them empty but styled; 5,000 questions and 5,000
choices in two languages are 70,000 cells and 3.8 MB inflated). Within them the work is
the form's own: pyxform takes about a minute for 20,000 questions. Plain Python: no Flask.
"""
from __future__ import annotations

import copy
import io
import os
import re
import zipfile
import zlib
from typing import IO, Iterable, Iterator

MB = 1_000_000
# Workbooks (.xlsx, .xls): the file, its parts, and what the parsers would build from them.
MAX_WORKBOOK_BYTES = 16 * MB
MAX_INFLATED_BYTES = 32 * MB      # the parts of an .xlsx, uncompressed, together
MAX_PARTS = 1_000                 # a workbook has ~10; each costs a directory entry in memory
MAX_ROWS = 65_536                 # in one sheet (the .xls format's own limit)
MAX_CELLS = 1_000_000             # in all sheets, empty cells that readers pad rows with included
# YAML (instruments, codebooks).
MAX_YAML_CHARS = 2_000_000
MAX_YAML_DEPTH = 64               # ruamel recurses per level; Python allows ~1,000 frames
MAX_YAML_NODES = 1_000_000        # with every alias expanded as often as it is used

_CHUNK = 1 << 20
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the signature of an .xls (a compound file)


class WorkbookRefused(ValueError):
    """A workbook refused before any parser reads it. The message names the limit (not the
    file: callers put its name in front, as they do for their other messages)."""


class YamlLimit(ValueError):
    """YAML text past a limit, at 1-based ``line`` and ``column``."""

    def __init__(self, line: int, column: int, message: str):
        self.line, self.column, self.message = line, column, message
        super().__init__(f"line {line}, column {column}: {message}")


def _size(count: int) -> str:
    return f"{count / MB:,.1f} MB" if count >= MB else f"{count:,} bytes"


def _named(name: str) -> str:
    # a part or sheet name comes from the file, and goes to a terminal: no escape codes
    return "".join(ch if ch.isprintable() else "?" for ch in name[:200])


# ----------------------------------------------------------------------------- workbooks

def check_workbook(source: str | os.PathLike | IO[bytes]) -> None:
    """Refuse (``WorkbookRefused``) a workbook past any limit above, before it is parsed.

    ``source`` is a path or a seekable binary stream (left where it was). What zipfile
    reads (.xlsx, .xlsm) and what xlrd reads (.xls) is checked; anything else passes but
    for its size, for its reader to refuse. So does a workbook that is damaged in a way
    the reader will report (a zip part with a bad checksum, an .xls xlrd cannot open):
    it is the reader's message that helps, and a zip reader reads no more of any part
    than its directory entry gives (checked here against the limits)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            _check_workbook(handle)
        return
    position = source.tell()
    try:
        _check_workbook(source)
    finally:
        source.seek(position)


def _check_workbook(handle: IO[bytes]) -> None:
    size = handle.seek(0, os.SEEK_END)
    if size > MAX_WORKBOOK_BYTES:
        raise WorkbookRefused(f"the file is {_size(size)}, over the limit of "
                              f"{_size(MAX_WORKBOOK_BYTES)} for a workbook")
    handle.seek(0)
    signature = handle.read(len(_OLE2))
    # zipfile finds a zip by its directory at the end, whatever comes first; and xlrd reads
    # any file that is not a zip (an old .xls may be a bare BIFF stream, with no signature)
    is_zip = zipfile.is_zipfile(handle)
    handle.seek(0)
    if is_zip:
        _check_xlsx(handle)
    if not is_zip or signature == _OLE2:
        handle.seek(0)
        _check_xls(handle.read())


def _check_xlsx(handle: IO[bytes]) -> None:
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip after all: the reader says so
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise WorkbookRefused(f"it has {len(parts):,} parts, over the limit of {MAX_PARTS:,}")
        declared = sum(part.file_size for part in parts)
        if declared > MAX_INFLATED_BYTES:
            raise WorkbookRefused(
                f"it inflates to {_size(declared)}, over the limit of "
                f"{_size(MAX_INFLATED_BYTES)} uncompressed")
        grid = _Grid()
        budget = MAX_INFLATED_BYTES
        for part in parts:
            inflated = _inflate(archive, part, budget, grid)
            if inflated > part.file_size:  # (less is harmless: zipfile reads it as it is)
                raise WorkbookRefused(
                    f"its part {_named(part.filename)} inflates past the "
                    f"{_size(part.file_size)} its zip directory gives: a damaged or forged file")
            # A damaged part (a bad checksum, encryption, an unknown compression) is left
            # to the reader, which refuses it or reads no more than its directory entry
            # gives (checked above); the other parts are checked all the same.
            budget -= inflated
        grid.check()


def _inflate(archive: zipfile.ZipFile, part: zipfile.ZipInfo, budget: int,
             grid: "_Grid") -> int:
    """Bytes ``part`` inflates to (up to where it is found damaged), reading in chunks and
    never more than ``budget`` + 1 bytes."""
    # zipfile stops at the size the directory gives; ask for one byte past what is left,
    # so that a part which lies about its size shows it without being read to the end.
    probe = copy.copy(part)
    probe.file_size = budget + 1
    # every part, not only *.xml: openpyxl finds a sheet by its relationships, whatever
    # its name, and no other part holds <row> or <c> tags
    sheet = grid.sheet(part.filename)
    inflated = 0
    try:
        with archive.open(probe) as member:
            while chunk := member.read(_CHUNK):
                inflated += len(chunk)
                if inflated > budget:
                    raise WorkbookRefused(
                        f"its part {_named(part.filename)} inflates past the limit of "
                        f"{_size(MAX_INFLATED_BYTES)} uncompressed (its zip directory "
                        f"gives {_size(part.file_size)})")
                sheet.feed(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError):
        pass  # a bad CRC (a forged size has one), encryption, a cut stream: see the caller
    return inflated


# <row ...> and <c ...> (a cell), with or without a namespace prefix. Nothing else in a
# workbook's XML parts has these names, and '<' cannot occur unescaped in text.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^<>]*)>")
_ROW_REF = re.compile(rb"""\sr\s*=\s*["']\s*(\d+)""")
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]{0,3})(\d*)""")
_LONGEST_TAG = 4096  # a legitimate <row> or <c> tag is under 300 bytes


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


class _Sheet:
    """The cells of one XML part, counted from its bytes as they inflate: how many, the
    last row that holds one, and the width of the first such row (the header: pyxform
    and the translation reader pad every row out to it). Rows that hold no cell, which
    LibreOffice writes down to row 1,048,576, cost nothing: no reader pads past the last
    row that holds a cell."""

    def __init__(self, name: str, workbook: "_Grid"):
        self.name, self.workbook = name, workbook
        self.cells = self.last_row = self.header_row = self.header_width = 0
        self.row = self.column = 0  # where the last <row> and <c> were (r= may be left out)
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        # keep an unfinished tag for the next chunk (at most _LONGEST_TAG bytes of it)
        cut = data.rfind(b"<")
        if cut >= 0 and data.find(b">", cut) < 0:
            self.tail = data[cut:] if len(data) - cut <= _LONGEST_TAG else b""
            data = data[:cut]
        else:
            self.tail = b""
        for match in _TAG.finditer(data):
            if match.group(1) == b"row":
                ref = _ROW_REF.search(match.group(2))
                self.row = int(ref.group(1)) if ref else self.row + 1
                self.column = 0
                continue
            self.cells += 1
            ref = _CELL_REF.search(match.group(2))
            self.column = _column(ref.group(1)) if ref and ref.group(1) else self.column + 1
            row = int(ref.group(2)) if ref and ref.group(2) else self.row
            self.last_row = max(self.last_row, row)
            if self.header_row in (0, row):
                self.header_row, self.header_width = row, max(self.header_width, self.column)
        self.check()

    def check(self) -> None:
        if self.last_row > MAX_ROWS:
            raise WorkbookRefused(f"its sheet {_named(self.name)} has a cell on row "
                                  f"{self.last_row:,}, over the limit of {MAX_ROWS:,} rows")
        self.workbook.check()

    @property
    def grid(self) -> int:
        return max(self.last_row * self.header_width, self.cells)


class _Grid:
    """The sheets of a workbook: refused once their cells pass MAX_CELLS."""

    def __init__(self):
        self.sheets: list[_Sheet] = []

    def sheet(self, name: str) -> _Sheet:
        self.sheets.append(_Sheet(name, self))
        return self.sheets[-1]

    def check(self) -> None:
        cells = sum(sheet.grid for sheet in self.sheets)
        if cells > MAX_CELLS:
            raise WorkbookRefused(f"its sheets span {cells:,} cells (rows times the header "
                                  f"row's width, empty cells included), over the limit of "
                                  f"{MAX_CELLS:,}")


def _check_xls(data: bytes) -> None:
    import xlrd  # noqa: PLC0415 - only for an .xls, which is rare

    try:
        # ragged_rows: no padding, so a cell at the far corner costs one cell here
        book = xlrd.open_workbook(file_contents=data, on_demand=True, ragged_rows=True,
                                  logfile=io.StringIO())  # xlrd's warnings go to stdout
    except Exception:  # noqa: BLE001 - xlrd raises many kinds; the reader says what is wrong
        return
    try:
        cells = 0
        for index in range(book.nsheets):
            try:
                sheet = book.sheet_by_index(index)
            except Exception:  # noqa: BLE001 - as above
                return
            if sheet.nrows > MAX_ROWS:
                raise WorkbookRefused(f"its sheet {_named(sheet.name)} has a cell on row "
                                      f"{sheet.nrows:,}, over the limit of {MAX_ROWS:,} rows")
            cells += sheet.nrows * sheet.ncols  # what xlrd pads to when a reader opens it
            if cells > MAX_CELLS:
                raise WorkbookRefused(
                    f"its sheets span {cells:,} cells (rows times the widest row, empty "
                    f"cells included), over the limit of {MAX_CELLS:,}")
            book.unload_sheet(index)
    finally:
        book.release_resources()


# ----------------------------------------------------------------------------- YAML

def check_yaml(text: str) -> None:
    """Raise ``YamlLimit`` where ``text`` passes a limit above: its length, its nesting,
    or its node count with aliases expanded (also an alias inside its own anchor, which
    makes a loop for whoever walks the tree). Text that is not valid YAML passes up to
    its first error, for the loader to report: everything before that was counted."""
    if len(text) > MAX_YAML_CHARS:
        raise YamlLimit(1, 1, f"the text is {len(text):,} characters long, over the limit "
                              f"of {MAX_YAML_CHARS:,}")
    try:
        _count(_libyaml_events(text))
        return
    except _Unreadable:
        pass
    try:
        _count(_ruamel_events(text))
    except _Unreadable:
        return


class _Unreadable(Exception):
    """The parser refused the text: the loader reports it."""


def _libyaml_events(text: str) -> Iterator:
    try:
        import yaml as pyyaml
        loader = pyyaml.CSafeLoader
    except (ImportError, AttributeError):  # no PyYAML, or built without libyaml
        raise _Unreadable from None
    try:
        yield from pyyaml.parse(text, Loader=loader)
    except pyyaml.YAMLError:
        # libyaml (YAML 1.1) refuses some text ruamel (1.2) reads: read it as ruamel does
        raise _Unreadable from None


def _ruamel_events(text: str) -> Iterator:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    try:
        yield from YAML(typ="rt").parse(text)
    except YAMLError:
        raise _Unreadable from None


def _count(events: Iterable) -> None:
    open_nodes: list[list] = []       # [anchor, nodes under it], outermost first
    sizes: dict[str, int] = {}        # anchor -> nodes it stands for
    total = 0
    for event in events:
        kind = type(event).__name__
        mark = event.start_mark
        if kind in ("ScalarEvent", "SequenceStartEvent", "MappingStartEvent", "AliasEvent"):
            if kind == "AliasEvent":
                if any(anchor == event.anchor for anchor, _ in open_nodes):
                    raise YamlLimit(mark.line + 1, mark.column + 1,
                                    f"alias *{event.anchor} is inside its own anchor "
                                    "(a structure that contains itself)")
                count = sizes.get(event.anchor, 1)
            else:
                count = 1
            total += count
            if total > MAX_YAML_NODES:
                raise YamlLimit(mark.line + 1, mark.column + 1,
                                f"more than {MAX_YAML_NODES:,} values with aliases expanded")
            if kind.endswith("StartEvent"):
                if len(open_nodes) >= MAX_YAML_DEPTH:
                    raise YamlLimit(mark.line + 1, mark.column + 1,
                                    f"nested deeper than {MAX_YAML_DEPTH} levels")
                open_nodes.append([event.anchor, 1])
                continue
            if kind == "ScalarEvent" and event.anchor:
                sizes[event.anchor] = 1
        elif kind in ("SequenceEndEvent", "MappingEndEvent"):
            anchor, count = open_nodes.pop()
            if anchor:
                sizes[anchor] = count
        else:
            continue  # stream and document events
        if open_nodes:
            open_nodes[-1][1] += count
