"""Turn an XLSForm (ODK, KoboToolbox, SurveyCTO) into a YAML instrument.

    result = import_xlsform("household.xlsx")
    result.instrument_id     # from the settings sheet's form_id, else the file name
    result.yaml              # YAML text in the format of docs/instruments.md
    result.notes             # what a person should look at (also written as YAML comments)

The workbook is read by ``pyxform``, the reference XLSForm parser (this is the only
module that imports it), so that types, aliases, ``label::English (en)`` columns and
``or_other`` mean here what they mean in ODK. A ``relevant``, ``constraint`` or
``required`` expression that cannot be translated refuses the import (guessing would
ask questions ODK skips, or accept answers it refuses), unless ``drop_untranslatable``.
What our format cannot hold but nothing asked depends on (repeats, GPS, photos,
``calculate`` rows, choice filters) is left out and named in a ``# XLSForm:`` comment
where it stood; a rule that refers to something left out cannot be translated, so it
refuses the import too. The output always passes ``surveyapp instruments check``. A workbook pyxform refuses raises
:class:`XlsformError` whose ``problems`` read ``file:sheet:row: message``; so does one past
a limit of ``limits.check_workbook`` (a zip bomb, a padded grid), before pyxform reads it.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from pyxform import xls2json
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import get_xlsform
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from surveyapp.domain import expressions, limits

# Language names as XLSForm authors write them after "label::"; "Name (code)" needs none.
LANGUAGE_NAMES = {
    "english": "en", "spanish": "es", "español": "es", "espanol": "es", "french": "fr",
    "français": "fr", "francais": "fr", "arabic": "ar", "العربية": "ar", "chinese": "zh",
    "中文": "zh", "vietnamese": "vi", "tiếng việt": "vi", "somali": "so", "soomaali": "so",
    "swahili": "sw", "kiswahili": "sw", "portuguese": "pt", "português": "pt", "hindi": "hi",
    "bengali": "bn", "urdu": "ur", "farsi": "fa", "persian": "fa", "russian": "ru",
    "german": "de", "italian": "it", "amharic": "am", "hausa": "ha", "yoruba": "yo",
    "indonesian": "id", "nepali": "ne", "tagalog": "tl", "turkish": "tr", "dari": "prs",
    "pashto": "ps", "haitian creole": "ht", "korean": "ko", "japanese": "ja",
}
_CODE_IN_NAME = re.compile(r"\(([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\)\s*$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
DEFAULT = "default"  # pyxform's key for a plain "label" column

TYPES = {"text": "text", "string": "text", "integer": "integer", "int": "integer",
         "decimal": "decimal", "date": "date", "note": "note",
         "select one": "select_one", "select all that apply": "select_multiple"}
# Filled in by the phone in ODK; a web survey has nothing to ask.
METADATA_TYPES = {"start", "end", "today", "deviceid", "subscriberid", "simserial",
                  "phonenumber", "username", "email", "audit", "start-geopoint",
                  "background-audio", "imei", "uri:deviceid", "uri:username", "uri:email",
                  "uri:phonenumber", "uri:simserial", "uri:subscriberid"}
# Appearances that make no difference to a web page of radio buttons and check boxes.
HARMLESS_APPEARANCES = {"", "field-list", "minimal", "compact", "horizontal",
                        "horizontal-compact", "multiline", "w1", "w2", "w3", "w4", "w5"}


@dataclass(frozen=True)
class XlsformProblem:
    path: str
    sheet: str | None
    row: int | None
    message: str

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.path, self.sheet, self.row) if p is not None)
        return f"{where}: {self.message}"


class XlsformError(ValueError):
    """An XLSForm that cannot be imported; ``problems`` lists every reason found."""

    def __init__(self, problems: list[XlsformProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class ImportedForm:
    instrument_id: str
    yaml: str
    notes: tuple[str, ...]


# ----------------------------------------------------------------------------- reading

def import_xlsform(path: str | Path, *, drop_untranslatable: bool = False) -> ImportedForm:
    """Read the XLSForm at ``path``; return the instrument as YAML text (see module doc).

    A ``relevant``, ``constraint`` or ``required`` expression with no equivalent here
    refuses the import: :class:`XlsformError` lists every one as ``file:survey:row``.
    With ``drop_untranslatable`` they are left out instead, each named in a comment and
    in ``notes`` (the instrument then asks questions the XLSForm would have skipped).
    """
    path = Path(path)
    name = path.name
    try:
        limits.check_workbook(path)  # a zip bomb or a padded grid, before pyxform reads it
    except limits.WorkbookRefused as error:
        raise XlsformError([XlsformProblem(name, None, None, f"refused: {error}")]) from None
    except OSError as error:
        raise XlsformError([XlsformProblem(name, None, None,
                                           f"not a readable XLSForm: {error}")]) from None
    try:
        workbook = get_xlsform(xlsform=str(path))
        warnings: list[str] = []
        form = xls2json.workbook_to_json(
            workbook_dict=workbook, form_name="data",
            fallback_form_name=workbook.fallback_form_name, default_language=DEFAULT,
            warnings=warnings)
    except PyXFormError as error:
        raise XlsformError([_locate(path, str(error))]) from None
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, SyntaxError,
            zipfile.BadZipFile, zlib.error) as error:
        # pyxform lets some readers' own errors through (a truncated zip, a bad cell); a
        # damaged xlsx also raises zlib's and the XML parsers' (SyntaxError) errors, which
        # are not OSError or ValueError.
        raise XlsformError([XlsformProblem(name, None, None,
                                           f"not a readable XLSForm: {error}")]) from None
    # pyxform's warnings (a choice without a label, ...) head the file, each with its row
    located = [_locate(path, warning) for warning in warnings]
    return _Builder(name, workbook, form, [_where(p) for p in located],
                    drop_untranslatable=drop_untranslatable).build()


def _where(problem: XlsformProblem) -> str:
    where = ":".join(str(p) for p in (problem.sheet, problem.row) if p is not None)
    return f"pyxform warns at {where}: {problem.message}" if where else \
        f"pyxform warns: {problem.message}"


def _locate(path: Path, message: str) -> XlsformProblem:
    """pyxform's message with the sheet and row it names, found where pyxform omits them."""
    message = " ".join(message.split())
    row = re.search(r"\[row ?: ?(\d+)\]", message)
    sheet = re.search(r"(?:On|on) the '([^']+)' sheet", message)
    clean = re.sub(r"\[row ?: ?\d+\]\s*", "", message)
    clean = re.sub(r"\s*Learn more: \S+$", "", clean)
    clean = re.sub(r"^On the '[^']+' sheet, (\w)", lambda m: m.group(1).upper(), clean)
    duplicate = re.match(r"Duplicate column header: (.+)$", message)
    if duplicate:
        found = _find_duplicate_header(path, duplicate.group(1))
        if found:
            sheet_name, columns = found
            return XlsformProblem(path.name, sheet_name, 1,
                                  f"column header '{duplicate.group(1)}' appears more than once "
                                  f"(columns {', '.join(columns)}); keep one")
    # pyxform names the sheet only for some messages; a bare row number is a survey row
    sheet_name = sheet.group(1) if sheet else ("survey" if row else None)
    return XlsformProblem(path.name, sheet_name,
                          int(row.group(1)) if row else None, clean)


def _find_duplicate_header(path: Path, header: str) -> tuple[str, list[str]] | None:
    """(sheet, column letters) where ``header`` heads two columns, read with pyxform's own
    readers (pyxform reports the header but not where it is)."""
    from pyxform.xls2json_backends import pyxl_open, xlrd_open
    try:
        if path.suffix.lower() == ".xls":
            book = xlrd_open(str(path))
            sheets = [(s.name, [c.value for c in (s.row(0) if s.nrows else [])])
                      for s in book.sheets()]
        else:
            with open(path, "rb") as handle:
                book = pyxl_open(io.BytesIO(handle.read()))
            sheets = [(s.title, [c.value for c in next(s.rows, [])]) for s in book.worksheets]
    except Exception:  # noqa: BLE001 - only a better message is at stake; the error stands
        return None
    for sheet_name, headers in sheets:
        columns = [_column_letter(i) for i, value in enumerate(headers)
                   if isinstance(value, str) and value.strip() == header]
        if len(columns) > 1:
            return sheet_name, columns
    return None


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ----------------------------------------------------------------------------- ids and text

def slug(text: str) -> str:
    """An instrument id: lower case, words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "imported-form"


def identifier(text: str) -> str:
    """A question, page or choice-list id: ``[a-z][a-z0-9_]*``."""
    ident = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    if not ident or not ident[0].isalpha():
        ident = f"q_{ident}" if ident else "q"
    return ident


def language_code(name: str) -> str | None:
    """The code of an XLSForm language column name ("English (en)", "english", "fr")."""
    name = name.strip()
    match = _CODE_IN_NAME.search(name)
    if match:
        return match.group(1)
    known = LANGUAGE_NAMES.get(name.lower())
    if known:
        return known
    return name.lower() if _LANGUAGE_CODE.match(name.lower()) else None


class _Builder:
    def __init__(self, filename: str, workbook, form: Mapping[str, Any], warnings=(), *,
                 drop_untranslatable: bool = False):
        self.filename = filename
        self.drop_untranslatable = drop_untranslatable
        self.untranslatable: list[XlsformProblem] = []
        # pyxform counts survey rows from 2 (row 1 holds the headers); names are unique
        self.rows = {str(row.get("name")): index + 2
                     for index, row in enumerate(workbook.survey or ()) if row.get("name")}
        self.workbook = workbook
        self.form = form
        self.notes: list[str] = list(warnings)
        self.pending: list[str] = list(warnings)  # comments for the next question written
        self.ids: dict[str, str] = {}      # XLSForm name -> our question id
        self.written: list[str] = []       # our ids, in order
        self.kinds: dict[str, str] = {}    # our id -> our type
        self.choice_lists: dict[str, list] = {}
        self.list_ids: dict[str, str] = {}
        self.page_count = 0
        self.scale_lists: set[str] = set()  # lists of likert and matrix questions

    # -- languages
    def _find_languages(self) -> tuple[list[str], str, dict[str, str]]:
        names: dict[str, None] = {}  # in the order the columns first appear
        self._collect_languages(self.form.get("children", ()), names)
        for choices in (self.form.get("choices") or {}).values():
            for choice in choices:
                if isinstance(choice.get("label"), Mapping):
                    names.update(dict.fromkeys(choice["label"]))
        codes, problems = {}, []
        for name in [n for n in names if n != DEFAULT]:
            code = language_code(name)
            if code is None:
                problems.append(XlsformProblem(
                    self.filename, "survey", 1, f"cannot tell the language code of column "
                    f"'label::{name}'; name it like 'label::{name} (xx)' with its code"))
            else:
                codes[name] = code
        if problems:
            raise XlsformError(problems)
        setting = (self.workbook.settings or [{}])[0].get("default_language") \
            if self.workbook.settings else None
        ordered = list(dict.fromkeys(codes.values())) or ["en"]
        default = language_code(setting) if setting else None
        if default not in ordered:
            default = "en" if "en" in ordered else ordered[0]
        ordered.remove(default)
        languages = [default, *ordered]
        codes[DEFAULT] = default
        return languages, default, codes

    def _collect_languages(self, children, names: dict[str, None]) -> None:
        for child in children:
            for key in ("label", "hint"):
                if isinstance(child.get(key), Mapping):
                    names.update(dict.fromkeys(child[key]))
            message = (child.get("bind") or {}).get("jr:constraintMsg")
            if isinstance(message, Mapping):
                names.update(dict.fromkeys(message))
            self._collect_languages(child.get("children", ()), names)

    def text(self, value, what: str, *, fallback: str | None = None) -> CommentedMap | None:
        """{code: text} in every language; a missing language gets the default's text and a note."""
        if value is None or value == "" or value == {}:
            if fallback is None:
                return None
            self.note(f"{what} is missing; '{fallback}' stands in for it")
            value = fallback
        raw = value if isinstance(value, Mapping) else {DEFAULT: value}
        found: dict[str, str] = {}
        for name, text in raw.items():
            code = self.codes.get(name)
            text = str(text).strip()
            if code and text and (code not in found or name != DEFAULT):
                found[code] = text
        if not found:
            return None
        base = found.get(self.default) or next(iter(found.values()))
        missing = [lang for lang in self.languages if lang not in found]
        if missing:
            self.note(f"{what} has no {', '.join(missing)} text; copied the "
                      f"{self.default if self.default in found else next(iter(found))} text")
        return CommentedMap((lang, found.get(lang, base)) for lang in self.languages)

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.pending.append(message)

    def take_pending(self) -> str | None:
        if not self.pending:
            return None
        text = "\n".join(f"XLSForm: {line}" for line in self.pending)
        self.pending = []
        return text

    # -- build
    def build(self) -> ImportedForm:
        self.languages, self.default, self.codes = self._find_languages()
        form = self.form
        instrument_id = slug(form.get("id_string") or Path(self.filename).stem)
        self.or_other = self._or_other_questions()
        top = CommentedMap()
        top["id"] = instrument_id
        version = form.get("version")
        top["version"] = str(version) if version else "1"
        top["languages"] = list(self.languages)
        top["default_language"] = self.default
        top["title"] = self.text(form.get("title") or instrument_id, "the title")
        top["consent"] = CommentedMap((lang, "Taking part is voluntary. You can stop at any time.")
                                      for lang in self.languages)
        top.yaml_add_eol_comment("XLSForm has no consent text: write it in every language", "consent")
        self.notes.append("XLSForm has no consent text: the consent is a placeholder to rewrite")
        about_form = self.take_pending()  # the title's notes go in the header, not on a question
        pages = CommentedSeq()
        self.pages(form.get("children", ()), pages)
        if self.untranslatable and not self.drop_untranslatable:
            raise XlsformError(self.untranslatable)
        at_the_end = self.take_pending()  # notes after the last question written
        for list_id in self.scale_lists:  # a scale's values are numbers, as the checker wants
            for entry in self.choice_lists[list_id]:
                entry["value"] = int(entry["value"])
        if self.choice_lists:
            top["choice_lists"] = CommentedMap(self.choice_lists)
        if not pages:
            raise XlsformError([XlsformProblem(
                self.filename, "survey", None, "the form has no question this importer can use"
                + "".join(f"; {note}" for note in self.notes if "left out" in note))])
        top["pages"] = pages
        header = (f"Imported from {self.filename} by `surveyapp instruments import-xlsform`.\n"
                  "Lines starting 'XLSForm:' name what could not be carried over: look at each.")
        if about_form:
            header += "\n" + about_form
        if at_the_end:
            header += "\nAfter the last question:\n" + at_the_end
        top.yaml_set_start_comment(header)
        stream = io.StringIO()
        yaml = YAML()
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 100
        yaml.dump(top, stream)
        return ImportedForm(instrument_id, stream.getvalue(), tuple(self.notes))

    def _or_other_questions(self) -> set[str]:
        """Names of questions typed 'select_one list or_other' (or the older 'select one from
        list or specify other') in the survey sheet."""
        names = set()
        for row in self.workbook.survey or ():
            row = {str(k).lower(): v for k, v in row.items()}
            kind = " ".join(str(row.get("type", "")).lower().split())
            if kind.endswith(("or_other", "or specify other")):
                names.add(str(row.get("name")))
        return names

    def pages(self, children, pages: CommentedSeq) -> None:
        loose: list = []
        for child in children:
            kind = child.get("type")
            if kind == "group" and (child.get("control") or {}).get("bodyless"):
                continue  # pyxform's own <meta> (instanceID)
            if kind == "group":
                self._loose_page(loose, pages)
                loose = []
                self.page_from_group(child, pages)
            elif kind in ("repeat", "loop"):
                loose.append(child)
            else:
                loose.append(child)
        self._loose_page(loose, pages)

    def _loose_page(self, children, pages: CommentedSeq) -> None:
        if not children:
            return
        self.page_count += 1
        questions = self.questions(children, relevant=None)
        if questions:
            page = CommentedMap(id=self.unique_page_id(f"page_{self.page_count}", pages),
                                questions=questions)
            pages.append(page)

    def page_from_group(self, group, pages: CommentedSeq) -> None:
        self.page_count += 1
        relevant = self.expression((group.get("bind") or {}).get("relevant"), "relevant",
                                   f"group '{group.get('name')}'", row_of=group.get("name"))
        matrix = self.matrix(group, relevant)  # a top-level grid is a page of one matrix
        questions = CommentedSeq([matrix]) if matrix is not None else \
            self.questions(group.get("children", ()), relevant=relevant)
        if not questions:
            return
        page = CommentedMap()
        page["id"] = self.unique_page_id(identifier(group.get("name") or "page"), pages)
        title = self.text(group.get("label"), f"the title of group '{group.get('name')}'")
        if title:
            page["title"] = title
        page["questions"] = questions
        appearance = (group.get("control") or {}).get("appearance", "")
        if appearance != "field-list":
            page.yaml_add_eol_comment("XLSForm: a group without field-list (one question a "
                                      "screen in ODK) is one page here", "id")
        pages.append(page)

    @staticmethod
    def unique_page_id(base: str, pages) -> str:
        taken = {p["id"] for p in pages}
        ident, n = base, 1
        while ident in taken:
            n += 1
            ident = f"{base}_{n}"
        return ident

    def questions(self, children, relevant: str | None) -> CommentedSeq:
        """Our questions for ``children``; nested groups are flattened into the page."""
        out = CommentedSeq()
        skip = set()
        for index, child in enumerate(children):
            name = str(child.get("name"))
            if name in skip:
                continue
            kind = child.get("type")
            if kind == "group":
                if (child.get("control") or {}).get("bodyless"):
                    continue
                inner = self.expression((child.get("bind") or {}).get("relevant"), "relevant",
                                        f"group '{name}'", row_of=name)
                matrix = self.matrix(child, _both(relevant, inner))
                if matrix is not None:
                    out.append(matrix)
                    continue
                self.note(f"group '{name}' inside a page: its questions are on this page")
                nested = self.questions(child.get("children", ()),
                                        relevant=_both(relevant, inner))
                for question in nested:
                    out.append(question)
                continue
            if kind in ("repeat", "loop"):
                inner = [c.get("name") for c in child.get("children", ())]
                self.note(f"repeat '{name}' is not supported; left out with its questions "
                          f"({', '.join(map(str, inner))})")
                continue
            other = name in self.or_other
            if other:
                skip.add(f"{name}_other")  # pyxform's "specify other" text question
            question = self.question(child, relevant, other)
            if question is not None:
                comment = self.take_pending()
                out.append(question)
                if comment:
                    out.yaml_set_comment_before_after_key(len(out) - 1, before=comment, indent=6)
        return out

    def matrix(self, group, relevant: str | None) -> CommentedMap | None:
        """A ``table-list`` group of select_one questions on one list, as ODK draws a grid
        (and as export writes a matrix): one matrix question, its items the group's
        questions. None for any other group. pyxform rewrites a table-list group into a
        field-list one whose first child is a note holding the group's label."""
        children = list(group.get("children", ()))
        label = group.get("label")
        if children and str(children[0].get("name", "")).startswith("generated_table_list_label"):
            label = children[0].get("label")
        elif "table-list" not in str((group.get("control") or {}).get("appearance", "")).split():
            return None
        name = str(group.get("name"))
        rows = [c for c in children if not str(c.get("name", "")).startswith(
            ("reserved_name_for_field_list_labels", "generated_table_list_label"))]
        lists = {c.get("itemset") or c.get("list_name") for c in rows}
        if (not rows or len(lists) != 1 or any(c.get("type") != "select one" for c in rows)
                or not _whole_numbers(rows[0].get("choices"))
                or any((c.get("bind") or {}).get(key) for c in rows
                       for key in ("relevant", "constraint", "calculate"))
                or identifier(name) in self.kinds):
            return None
        list_name = str(lists.pop())
        list_id = self.choice_list(list_name, rows[0].get("choices") or [], False)
        if list_id is None:
            return None
        qid = identifier(name)
        question = CommentedMap()
        question["id"] = qid
        question["type"] = "matrix"
        question["choices"] = list_id
        self.scale_lists.add(list_id)
        question["label"] = self.text(label, f"the label of group '{name}'",
                                      fallback=name)
        hint = self.text(group.get("hint"), f"the hint of group '{name}'")
        if hint:
            question["hint"] = hint
        items = CommentedSeq()
        for row in rows:
            item = str(row.get("name"))
            item_id = identifier(item[len(name) + 1:] if item.startswith(f"{name}_") else item)
            items.append(CommentedMap(id=item_id, label=self.text(
                row.get("label"), f"the label of question '{item}'", fallback=item)))
            self.ids[item] = f"{qid}.{item_id}"
        if all(str((r.get("bind") or {}).get("required", "")).lower() in ("yes", "true", "true()")
               for r in rows):
            question["required"] = True
        if relevant:
            question["relevant"] = relevant
        question["items"] = items
        self.kinds[qid] = "matrix"
        self.written.append(qid)
        return question

    def question(self, child, relevant: str | None, other: bool) -> CommentedMap | None:
        name = str(child.get("name"))
        kind = str(child.get("type"))
        bind = child.get("bind") or {}
        control = child.get("control") or {}
        appearance = str(control.get("appearance", "")).strip()
        if kind in METADATA_TYPES:
            self.note(f"'{name}' ({kind}) is recorded by the phone in ODK; left out")
            return None
        our_type = TYPES.get(kind)
        if kind == "text" and "multiline" in appearance.split():
            our_type = "textarea"
        if kind == "select one" and "likert" in appearance.split() \
                and _whole_numbers(child.get("choices")):
            our_type = "likert"  # ODK's likert widget is our likert scale (whole-number values)
        if kind == "rank":
            our_type = "ranking"
        bounds = None
        if kind == "range":
            our_type, bounds = self.range_bounds(child)
        if our_type is None:
            self.note(f"question '{name}' has type '{kind}', which is not supported; left out")
            return None
        if str(bind.get("readonly", "")).strip().lower() in ("true()", "true", "yes") \
                and our_type != "note":
            self.note(f"question '{name}' is read-only in the XLSForm; it is a note here")
            our_type = "note"
        what = f"question '{name}'"
        qid = identifier(name)
        base, n = qid, 1
        while qid in self.kinds:
            n += 1
            qid = f"{base}_{n}"
        if qid != name:
            self.note(f"{what} is '{qid}' here (ids are lower case letters, digits and _)")
        question = CommentedMap()
        question["id"] = qid
        question["type"] = our_type
        label = self.text(child.get("label"), f"the label of {what}", fallback=name)
        if any("${" in text for text in label.values()):
            self.note(f"the label of {what} shows an earlier answer with ${{...}}, which is "
                      "shown as written here")
        question["label"] = label
        hint = self.text(child.get("hint"), f"the hint of {what}")
        if hint:
            question["hint"] = hint
        if bounds is not None:
            question["min"], question["max"] = bounds
        if our_type in ("select_one", "select_multiple", "likert", "ranking"):
            list_name = child.get("list_name") or child.get("itemset")
            list_id = self.choice_list(str(list_name), child.get("choices") or [], other)
            if list_id is None:
                self.note(f"{what} has no choices; left out")
                return None
            question["choices"] = list_id
            if our_type == "likert":
                self.scale_lists.add(list_id)
            if other:
                question["other"] = True
            if child.get("choice_filter"):
                self.note(f"choice_filter of {what} is not supported (all choices are shown): "
                          f"{child['choice_filter']}")
        if appearance and not set(appearance.split()) <= HARMLESS_APPEARANCES | {"likert"}:
            self.note(f"appearance '{appearance}' of {what} is not supported; it is shown plainly")
        required = str(bind.get("required", "")).strip().lower()
        if required in ("yes", "true", "true()"):
            question["required"] = True
        elif required not in ("", "no", "false", "false()"):
            self.refuse(name, f"required of {what} is an expression, which has no "
                        f"equivalent here: {bind.get('required')}")
        own = self.expression(bind.get("relevant"), "relevant", what, row_of=name)
        condition = _both(relevant, own)
        if condition:
            question["relevant"] = condition
        if our_type != "note":
            constraint = self.expression(bind.get("constraint"), "constraint", what,
                                         self_name=name, row_of=name)
            if constraint:
                question["constraint"] = constraint
                message = self.text(bind.get("jr:constraintMsg"), f"constraint_message of {what}")
                if message:
                    question["constraint_message"] = message
        if child.get("default") not in (None, ""):
            self.note(f"default of {what} ({child['default']}) is not carried over")
        if bind.get("calculate"):
            self.note(f"calculation of {what} is not supported: {bind['calculate']}")
        self.ids[name] = qid
        self.kinds[qid] = our_type
        self.written.append(qid)
        return question

    def range_bounds(self, child) -> tuple[str | None, tuple | None]:
        """A range is a number between start and end (a slider in ODK; a box here)."""
        parameters = child.get("parameters") or {}
        try:
            start, end, step = (float(parameters.get(key, default))
                                for key, default in (("start", 1), ("end", 10), ("step", 1)))
        except ValueError:
            return None, None
        whole = all(number.is_integer() for number in (start, end, step))
        if step not in (1.0,) or not whole:
            self.note(f"range '{child.get('name')}' has step {parameters.get('step', 1)}, "
                      "which is not enforced here")
        if whole:
            return "integer", (int(start), int(end))
        return "decimal", (start, end)

    def choice_list(self, list_name: str, choices, other: bool) -> str | None:
        if list_name in self.list_ids:
            return self.list_ids[list_name]
        entries, values = [], set()
        original = {str(row.get("name")) for row in self._raw_choices(list_name)}
        for choice in choices:
            value = str(choice.get("name"))
            if other and value == "other" and "other" not in original:
                continue  # pyxform added it for or_other; our `other: true` adds its own
            if value in values:
                continue
            values.add(value)
            label = self.text(choice.get("label"), f"the label of choice '{value}' in list "
                              f"'{list_name}'", fallback=value)
            entries.append(CommentedMap(value=value, label=label))
        if not entries:
            return None
        list_id = identifier(list_name)
        while list_id in self.choice_lists:
            list_id += "_list"
        self.choice_lists[list_id] = CommentedSeq(entries)
        self.list_ids[list_name] = list_id
        return list_id

    def _raw_choices(self, list_name: str):
        for row in self.workbook.choices or ():
            row = {str(k).lower().replace(" ", "_"): v for k, v in row.items()}
            if str(row.get("list_name")) == list_name:
                yield row

    def refuse(self, name, message: str) -> None:
        """An expression with no equivalent: a problem at its row, or with
        ``drop_untranslatable`` a note saying it was left out."""
        if self.drop_untranslatable:
            self.note(f"{message}; left out (--drop-untranslatable)")
        else:
            self.untranslatable.append(XlsformProblem(
                self.filename, "survey", self.rows.get(str(name)), message))

    def expression(self, source, key: str, what: str, self_name: str | None = None,
                   row_of=None) -> str | None:
        """``source`` (XPath-ish) in our expression language, or None after :meth:`refuse`."""
        if source is None or not str(source).strip():
            return None
        source = " ".join(str(source).split())
        try:
            choice_ids = frozenset(qid for qid, kind in self.kinds.items()
                                   if kind in ("select_one", "select_multiple"))
            translated = translate_expression(source, self.ids, self_name=self_name,
                                              choice_ids=choice_ids)
            expressions.parse(translated)
        except (ValueError, expressions.ExpressionError) as error:
            reason = error.message if isinstance(error, expressions.ExpressionError) else str(error)
            self.refuse(row_of, f"{key} of {what} cannot be translated ({reason}): {source}")
            return None
        return translated


def _whole_numbers(choices) -> bool:
    values = [str(c.get("name")) for c in choices or ()]
    return bool(values) and all(re.fullmatch(r"-?[0-9]+", v) for v in values)


def _both(first: str | None, second: str | None) -> str | None:
    if first and second:
        return f"({first}) and ({second})"
    return first or second


# ----------------------------------------------------------------------------- expressions

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[^}]*)\})
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<dot>\.(?![.\w]))
  | (?P<word>[A-Za-z_][\w:.-]*)
  | (?P<bad>.)
""", re.VERBOSE)
FUNCTIONS = {"selected": "selected", "count-selected": "count", "string-length": "length",
             "regex": "matches", "number": "number"}
CONSTANTS = {"true": "true", "false": "false"}


def translate_expression(source: str, ids: Mapping[str, str], *, self_name: str | None = None,
                         choice_ids: frozenset[str] = frozenset()) -> str:
    """XLSForm ``relevant``/``constraint`` syntax into ours; ValueError says what has no
    equivalent. ``ids`` maps the XLSForm names already written to our ids; ``choice_ids``
    are those (our ids) of select questions, whose values are text."""
    tokens = [(m.lastgroup, m.group(), m.group("refname")) for m in _TOKEN.finditer(source)
              if m.lastgroup != "space"]
    out: list[str] = []
    for index, (kind, text, refname) in enumerate(tokens):
        following = tokens[index + 1][1] if index + 1 < len(tokens) else None
        previous = out[-1] if out else None
        if kind == "ref":
            if refname == self_name:
                out.append(".")
            elif refname in ids:
                out.append(ids[refname])
            else:
                raise ValueError(f"${{{refname}}} is not an earlier question here")
        elif kind == "string":
            neighbour = following in ("=", "!=") or previous in ("==", "!=")
            # '' is how XPath says unanswered; ours says null ('' == null is false)
            out.append("null" if text in ("''", '""') and neighbour else text)
        elif kind == "number":
            number = text if not text.startswith(".") else f"0{text}"
            after = tokens[index + 2] if index + 2 < len(tokens) else None
            # XPath compares the choice "1" equal to the number 1; ours does not, so quote it
            compared_to_choice = (
                (previous in ("==", "!=") and len(out) > 1 and out[-2] in choice_ids)
                or (following in ("=", "!=") and after is not None and after[0] == "ref"
                    and ids.get(after[2]) in choice_ids))
            out.append(f"'{number}'" if compared_to_choice else number)
        elif kind == "op":
            out.append("==" if text == "=" else text)
        elif kind == "dot":
            if self_name is None:
                raise ValueError("'.' only means the answer itself in a constraint")
            out.append(".")
        elif kind == "word":
            lower = text  # XPath keywords and functions are case-sensitive: kept as written
            if lower in ("and", "or"):
                out.append(lower)
            elif lower == "div":
                out.append("/")
            elif lower == "not" and following == "(":
                out.append("not")
            elif lower in CONSTANTS and following == "(":
                out.append(CONSTANTS[lower] + "\0")  # its "()" is dropped below
            elif lower in FUNCTIONS and following == "(":
                out.append(FUNCTIONS[lower] + "\1")
            elif following == "(":
                raise ValueError(f"function {text}() has no equivalent")
            else:
                raise ValueError(f"'{text}' has no equivalent")
        else:
            raise ValueError(f"'{text}' is not understood")
    text = " ".join(out)
    text = re.sub(r"\0 \( \)", "", text)
    if "\0" in text:
        raise ValueError("true and false take no arguments")
    # Tidy the spacing: "selected ( a , 'x' )" -> "selected(a, 'x')"
    text = text.replace("\1 (", "(").replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    return text


# ----------------------------------------------------------------------------- writing

@dataclass(frozen=True)
class ExportedForm:
    """An instrument as XLSForm sheets; ``notes`` name what the XLSForm cannot hold."""
    sheets: tuple  # of workbook.Sheet: survey, choices, settings
    notes: tuple[str, ...]


# A display name per code for "label::Name (code)" columns (the code is what counts).
_NAMES = {"en": "English", "es": "Español", "fr": "Français", "ar": "العربية", "zh": "中文",
          "vi": "Tiếng Việt", "so": "Soomaali", "sw": "Kiswahili", "pt": "Português"}
_EXPORT_TYPES = {"text": "text", "textarea": "text", "integer": "integer",
                 "decimal": "decimal", "date": "date", "note": "note"}


def language_column(code: str) -> str:
    """``English (en)``: the language part of an XLSForm ``label::`` column."""
    return f"{_NAMES.get(code, code)} ({code})"


def export_xlsform(instrument) -> ExportedForm:
    """The XLSForm of ``instrument`` (a loaded :class:`~surveyapp.domain.instruments.Instrument`)
    as sheets for :func:`surveyapp.domain.workbook.write_workbook`.

    Each page is a ``field-list`` group; likert is ``select_one`` with appearance
    ``likert``; a matrix is a ``table-list`` group of one ``select_one`` per item, named
    ``<question>_<item>``; ranking is ``rank``; min/max, max_length and min/max_choices
    join the constraint. Expressions are translated to XPath by :func:`to_xpath`; one
    that has none (``@wave``, ``@site``, ``in`` on text) is left out and named in
    ``notes``, as the caller must say.
    """
    from surveyapp.domain.workbook import Column, Sheet
    languages = list(instrument.languages)
    columns = [language_column(code) for code in languages]
    notes: list[str] = []
    names = _export_names(instrument)

    def texts(value) -> list[str]:
        value = value or {}
        return [value.get(code, "") for code in languages]

    def xpath(expression, what: str) -> str:
        if expression is None:
            return ""
        try:
            return to_xpath(expression.source, names)
        except ValueError as error:
            notes.append(f"{what} left out ({error}): {expression.source}")
            return ""

    header = (["type", "name"] + [f"label::{c}" for c in columns]
              + [f"hint::{c}" for c in columns] + ["appearance", "required", "relevant",
                                                  "constraint"]
              + [f"constraint_message::{c}" for c in columns])
    survey: list[list] = []

    def row(kind, name, label=None, hint=None, appearance="", required=False, relevant="",
            constraint="", message=None):
        survey.append([kind, name, *texts(label), *texts(hint), appearance,
                       "yes" if required else "", relevant, constraint, *texts(message)])

    for page in instrument.pages:
        row("begin group", page.id, page.title, appearance="field-list")
        for q in page.questions:
            what = f"question '{q.id}'"
            if q.default is not None:
                notes.append(f"the default of {what} is not exported")
            relevant = xpath(q.relevant, f"relevant of {what}")
            rules = [xpath(q.constraint, f"constraint of {what}")]
            if q.min is not None:
                rules.append(f". >= {_xpath_literal(q.min)}")
            if q.max is not None:
                rules.append(f". <= {_xpath_literal(q.max)}")
            if q.max_length is not None:
                rules.append(f"string-length(.) <= {q.max_length}")
            if q.min_choices is not None:
                rules.append(f"count-selected(.) >= {q.min_choices}")
            if q.max_choices is not None:
                rules.append(f"count-selected(.) <= {q.max_choices}")
            rules = [r for r in rules if r]
            constraint = " and ".join(f"({r})" if len(rules) > 1 else r for r in rules)
            message = q.constraint_message if constraint else None
            if q.type == "matrix":
                row("begin group", q.id, q.label, q.hint, appearance="table-list",
                    relevant=relevant)
                for item in q.items:
                    row(f"select_one {q.choices.id}", names[f"{q.id}.{item.id}"], item.label,
                        required=q.required, constraint=constraint, message=message)
                row("end group", "")
                continue
            if q.type in ("select_one", "select_multiple", "likert", "ranking"):
                kind = {"likert": "select_one", "ranking": "rank"}.get(q.type, q.type)
                kind = f"{kind} {q.choices.id}" + (" or_other" if q.other else "")
            elif q.type in _EXPORT_TYPES:
                kind = _EXPORT_TYPES[q.type]
            else:
                notes.append(f"{what} has type '{q.type}', which XLSForm has not; left out")
                continue
            appearance = {"likert": "likert", "textarea": "multiline"}.get(q.type, "")
            row(kind, q.id, q.label, q.hint, appearance, q.required, relevant, constraint,
                message)
        row("end group", "")
    choices = [[lst.id, str(choice.value), *texts(choice.label)]
               for lst in instrument.choice_lists.values() for choice in lst.choices]
    settings = [[texts(instrument.title)[languages.index(instrument.default_language)],
                 instrument.id, instrument.version,
                 language_column(instrument.default_language)]]
    notes.append("the consent text is not in the XLSForm (it has no place for one)")
    if len(languages) > 1:
        notes.append(f"the title is in {instrument.default_language} only (form_title has "
                     "one language)")
    sheets = (
        Sheet("survey", [Column(name) for name in header], survey),
        Sheet("choices", [Column(name) for name in
                          ["list_name", "name", *(f"label::{c}" for c in columns)]], choices),
        Sheet("settings", [Column(name) for name in
                           ["form_title", "form_id", "version", "default_language"]], settings),
    )
    return ExportedForm(sheets, tuple(notes))


def _export_names(instrument) -> dict[str, str]:
    """Answer key -> XLSForm name: question ids as they are, a matrix item's
    ``q.item`` as ``q_item`` (XLSForm names have no dots)."""
    names = {}
    for question in instrument.questions:
        names[question.id] = question.id
        for item in question.items:
            names[f"{question.id}.{item.id}"] = f"{question.id}_{item.id}"
    return names


def _xpath_literal(value) -> str:
    if value is None:
        return "''"
    if value is True or value is False:
        return "true()" if value else "false()"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if "'" in text and '"' in text:
        raise ValueError("a text holding both kinds of quote has no XPath literal")
    return f'"{text}"' if "'" in text else f"'{text}'"


def to_xpath(source: str, names: Mapping[str, str]) -> str:
    """Our expression ``source`` as XLSForm XPath; ``names`` maps answer keys to XLSForm
    names. ValueError says what has no XPath equivalent. ``x == null`` is ``${x} = ''``,
    which is how ODK tests for no answer."""
    # The tree is expressions' own (its node types are private to it); reading it here
    # keeps the one parser, rather than a second one for export.
    from surveyapp.domain.expressions import (
        _Arith, _Call, _Compare, _Ctx, _List, _Lit, _Logic, _Name, _Neg, _Not, _Self)
    functions = {"selected": "selected", "count": "count-selected",
                 "length": "string-length", "matches": "regex", "number": "number"}

    def walk(node, top=False) -> str:
        match node:
            case _Lit(value):
                return _xpath_literal(value)
            case _Name(name):
                if name not in names:
                    raise ValueError(f"'{name}' is not a question of this instrument")
                return f"${{{names[name]}}}"
            case _Ctx(name):
                raise ValueError(f"@{name} has no XLSForm equivalent")
            case _Self():
                return "."
            case _List():
                raise ValueError("a list has no XPath equivalent outside 'in'")
            case _Not(operand):
                return f"not({walk(operand, True)})"
            case _Neg(operand):
                return f"-{walk(operand)}"
            case _Arith(first, rest):
                text = walk(first) + "".join(
                    f" {'div' if op == '/' else op} {walk(operand)}" for op, operand in rest)
                return text if top else f"({text})"
            case _Logic(op, items):
                # a comparison binds tighter than and/or in XPath too: no brackets needed
                text = f" {op} ".join(walk(item, isinstance(item, (_Compare, _Call, _Not)))
                                      for item in items)
                return text if top else f"({text})"
            case _Compare(op, left, right):
                if op in ("in", "not in"):
                    if not isinstance(right, _List):
                        raise ValueError("'in' on text has no XPath equivalent")
                    value = walk(left)
                    tests = " or ".join(f"{value} = {walk(item)}" for item in right.items) \
                        or "false()"
                    return f"not({tests})" if op == "not in" else f"({tests})"
                xpath_op = "=" if op == "==" else op
                text = f"{walk(left)} {xpath_op} {walk(right)}"
                return text if top else f"({text})"  # XPath would chain a = b = c
            case _Call(function, args, _):
                if function == "answered":
                    text = f"string-length({walk(args[0], True)}) > 0"
                    return text if top else f"({text})"
                return f"{functions[function]}({', '.join(walk(a, True) for a in args)})"
        raise ValueError(f"{type(node).__name__} has no XPath equivalent")

    return walk(expressions.parse(source)._root, True)
