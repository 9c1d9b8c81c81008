"""Fuzz the XLSForm importer with small generated workbooks: it returns YAML that passes the
instrument checker (its documented contract) or raises XlsformError, never anything else."""
from __future__ import annotations

import zipfile

import openpyxl  # tests may build workbooks directly; app code uses domain/workbook.py
from hypothesis import given, strategies as st

from surveyapp.domain.instruments import load_instrument
from surveyapp.domain.xlsform import XlsformError, import_xlsform
from tests.fuzz.strategies import fragments

TYPES = ["text", "integer", "decimal", "date", "note", "select_one yn", "select_multiple yn",
         "select one yn", "select_one nosuch", "begin group", "end group", "begin repeat",
         "end repeat", "calculate", "geopoint", "start", "select_one yn or_other", "", "bogus"]
NAMES = ["q1", "q2", "q3", "g1", "", "1bad", "q 4", "ça", "q1"]
RELEVANT = ["", "${q1} = 'yes'", "${q2} > 3", "selected(${q3}, 'no')", "${nosuch} = 1",
            ". > 0", "string-length(.) < 5", "${q1} =", "count-selected(${q3}) >= 1", "true()",
            "regex(., '^[0-9]+$')", "${q2} div 0", "not(${q1} = 'no') and ${q2} != 7"]

survey_rows = st.lists(st.fixed_dictionaries({
    "type": st.sampled_from(TYPES), "name": st.sampled_from(NAMES) | fragments,
    "label": st.sampled_from(["Question", "", "¿Pregunta?", '"><img src=x onerror=alert(1)>']) | fragments,
    "label::Español (es)": st.sampled_from(["", "Pregunta"]),
    "relevant": st.sampled_from(RELEVANT), "constraint": st.sampled_from(RELEVANT),
    "required": st.sampled_from(["", "yes", "true()", "no", "maybe", "${q1} = 'yes'"]),
    "appearance": st.sampled_from(["", "minimal", "field-list", "likert", "signature"]),
}), max_size=6)
choice_rows = st.lists(st.fixed_dictionaries({
    "list_name": st.sampled_from(["yn", "other", ""]), "name": st.sampled_from(["yes", "no", "1", "", "yes"]) | fragments,
    "label": st.sampled_from(["Yes", "No", ""]) | fragments,
}), max_size=4)
settings_rows = st.lists(st.fixed_dictionaries({
    "form_id": st.sampled_from(["fuzz_form", "", "../../etc/passwd", "Fuzz Form!"]),
    "version": st.sampled_from(["1", "", "2026.1", "=1+1"]),
    "default_language": st.sampled_from(["", "English (en)", "Español (es)", "Klingon"]),
}), max_size=1)


def _write(path, sheets: dict[str, list[dict]]) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        headers = list(rows[0]) if rows else ["type", "name", "label"]
        sheet.append(headers)
        for row in rows:
            # An illegal control character cannot be written to xlsx at all: leave it out.
            sheet.append([openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", str(row.get(h, "")))
                          for h in headers])
    workbook.save(path)


def _check(path) -> None:
    try:
        form = import_xlsform(path)
    except XlsformError as error:
        assert error.problems and str(error)
    else:
        load_instrument(form.yaml, str(path))  # documented: the output passes the checker


@given(survey=survey_rows, choices=choice_rows, settings_sheet=settings_rows,
       include=st.sets(st.sampled_from(["survey", "choices", "settings"])))
def test_generated_workbooks_import_or_say_why(tmp_path_factory, survey, choices, settings_sheet, include):
    path = tmp_path_factory.mktemp("xlsform") / "fuzz.xlsx"
    sheets = {"survey": survey, "choices": choices, "settings": settings_sheet}
    # A workbook needs one sheet at least; "notes" stands in for a form with none of ours.
    _write(path, {name: rows for name, rows in sheets.items() if name in include} or {"notes": []})
    _check(path)


@given(cut=st.integers(0, 4000), noise=st.binary(max_size=64))
def test_damaged_xlsx_files_are_refused_clearly(tmp_path_factory, cut, noise):
    folder = tmp_path_factory.mktemp("xlsform")
    good = folder / "good.xlsx"
    _write(good, {"survey": [{"type": "text", "name": "q1", "label": "Q"}]})
    damaged = folder / "damaged.xlsx"
    data = good.read_bytes()
    damaged.write_bytes(data[:cut] + noise + data[cut + len(noise):])
    try:
        zipfile.ZipFile(damaged).testzip()
    except Exception:  # noqa: BLE001 - only to label the example, not to judge it
        pass
    _check(damaged)
