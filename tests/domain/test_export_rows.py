"""The export's rows and the workbook writer: known answers in, the cells read back.

No app, no database: records are built by hand, the workbook is written to memory
and reopened with openpyxl, and its XML parts are parsed one by one.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from surveyapp.domain import export
from surveyapp.domain.export import ResponseRecord, SegmentRecord
from surveyapp.domain.scoring import capacity_table
from surveyapp.domain.instruments import load_file, load_instrument
from surveyapp.domain.workbook import (MAX_CELL_CHARS, Column, Sheet, split_for_cells, text_cell,
                                       write_csv_zip, write_workbook)

ROOT = Path(__file__).resolve().parents[2]

INSTRUMENT = load_instrument("""
id: export-fixture
version: "1"
languages: [en, ar]
default_language: en
title: {en: Fixture, ar: نموذج}
consent: {en: OK, ar: موافق}
choice_lists:
  programmes:
    - {value: mentoring, label: {en: Mentoring, ar: الإرشاد}}
    - {value: mediation, label: {en: Mediation, ar: الوساطة}}
    - {value: workshops, label: {en: Workshops, ar: ورش العمل}}
  agree:
    - {value: 1, label: {en: Disagree, ar: لا أوافق}}
    - {value: 2, label: {en: Neutral, ar: محايد}}
    - {value: 3, label: {en: Agree, ar: أوافق}}
pages:
  - id: one
    questions:
      - {id: intro, type: note, label: {en: Hello, ar: مرحبا}}
      - {id: story, type: textarea, label: {en: Story, ar: قصة}}
      - {id: years, type: integer, label: {en: Years, ar: سنوات}}
      - {id: hours, type: decimal, label: {en: Hours, ar: ساعات}}
      - id: programmes
        type: select_multiple
        choices: programmes
        other: true
        label: {en: Programmes, ar: البرامج}
      - {id: safe, type: likert, choices: agree, label: {en: Safe, ar: آمن}}
      - id: trust
        type: matrix
        choices: agree
        label: {en: Trust, ar: الثقة}
        items:
          - {id: police, label: {en: Police, ar: الشرطة}}
          - {id: council, label: {en: Council, ar: المجلس}}
      - {id: met_on, type: date, label: {en: Met on, ar: تاريخ}}
      - {id: contact, type: text, pii: true, label: {en: Contact, ar: الاتصال}}
""", "fixture.yaml")

STARTED = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)
SUBMITTED = dt.datetime(2026, 11, 20, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
ANSWERS = [
    {"story": "=HYPERLINK(\"http://evil.example\",\"click\")", "years": 4, "hours": 2.5,
     "programmes": ["mediation", "other"], "programmes.other": "Football ⚽ club",
     "safe": 3, "trust.police": 1, "trust.council": 2, "met_on": "2026-03-01"},
    {"story": "إنارة أفضل للشوارع 🌙 قرب الحديقة", "years": 10, "programmes": ["mentoring"],
     "safe": 1, "trust.police": 3},
    {"story": "@SUM(1+1)\x07 bell", "years": 7, "safe": 2},
]
PRIVATE = [{"contact": "+44 20 7946 0000"}, {}, {}]


def records(private=False):
    return [ResponseRecord(id=n, campaign="abc123", site="Riverside", wave="baseline",
                           language="ar" if n == 2 else "en", status="complete",
                           started_at=STARTED, submitted_at=SUBMITTED, answers=answers,
                           private_answers=PRIVATE[n - 1] if private else None)
            for n, answers in enumerate(ANSWERS, start=1)]


def workbook_of(layout, rows, **options):
    stream = io.BytesIO()
    write_workbook([Sheet("Responses", layout.columns, rows)], stream, **options)
    return openpyxl.load_workbook(io.BytesIO(stream.getvalue())), stream.getvalue()


def table(sheet):
    """{variable: [values of the data rows]} from a sheet with two header rows."""
    rows = list(sheet.iter_rows(values_only=True))
    return {name: [row[i] for row in rows[2:]] for i, name in enumerate(rows[0]) if name}


def test_columns_one_per_item_and_choice_with_question_text_below():
    layout = export.response_layout(INSTRUMENT, "en")
    names = [c.name for c in layout.columns]
    assert names == ["id", "campaign", "site", "wave", "language", "status", "started", "submitted",
                     "story", "years", "hours", "programmes", "programmes/mentoring",
                     "programmes/mediation", "programmes/workshops", "programmes/other",
                     "programmes.other", "safe", "trust.police", "trust.council", "met_on"]
    labels = {c.name: c.label for c in layout.columns}
    assert labels["trust.police"] == "Trust: Police"
    assert labels["programmes/mediation"] == "Programmes: Mediation"


def test_labels_by_default_codes_when_asked_and_select_multiple_as_0_1():
    by_label = table(workbook_of(export.response_layout(INSTRUMENT, "en"),
                                 map(export.response_layout(INSTRUMENT, "en").row, records()))[0]["Responses"])
    assert by_label["safe"] == ["Agree", "Disagree", "Neutral"]
    assert by_label["trust.police"] == ["Disagree", "Agree", None]
    assert by_label["programmes"] == ["Mediation, Other", "Mentoring", None]
    assert by_label["programmes/mediation"] == [1, 0, None]  # not answered is not "not chosen"
    assert by_label["programmes/other"] == [1, 0, None]
    assert by_label["programmes.other"] == ["Football ⚽ club", None, None]
    codes_layout = export.response_layout(INSTRUMENT, "en", codes=True)
    by_code = table(workbook_of(codes_layout, map(codes_layout.row, records()))[0]["Responses"])
    assert by_code["safe"] == [3, 1, 2]  # numeric codes stay numbers
    assert by_code["programmes"] == ["mediation other", "mentoring", None]


def test_labels_in_arabic_and_unicode_round_trips():
    layout = export.response_layout(INSTRUMENT, "ar")
    sheet = workbook_of(layout, map(layout.row, records()))[0]["Responses"]
    rows = list(sheet.iter_rows(values_only=True))
    header = dict(zip(rows[0], rows[1]))
    assert header["trust.police"] == "الثقة: الشرطة"
    values = table(sheet)
    assert values["safe"][0] == "أوافق"
    assert values["story"][1] == "إنارة أفضل للشوارع 🌙 قرب الحديقة"
    assert values["programmes.other"][0] == "Football ⚽ club"


def test_numbers_are_numbers_and_dates_are_dates():
    layout = export.response_layout(INSTRUMENT, "en")
    sheet = workbook_of(layout, map(layout.row, records()))[0]["Responses"]
    values = table(sheet)
    assert values["years"] == [4, 10, 7] and values["hours"][0] == 2.5
    assert sheet["J3"].data_type == "n"
    assert values["met_on"][0] == dt.datetime(2026, 3, 1) and sheet["U3"].is_date
    # Aware times are written in UTC: 12:30 at UTC+2 is 10:30.
    assert values["submitted"][0] == dt.datetime(2026, 11, 20, 10, 30)
    assert values["started"][0] == dt.datetime(2026, 11, 20, 10, 0) and sheet["G3"].is_date


def test_text_that_looks_like_a_formula_or_an_error_stays_text():
    layout = export.response_layout(INSTRUMENT, "en")
    rows = [layout.row(r) for r in records()]
    rows.append([4, "-1", "+cmd|' /C calc'!A0", "#N/A", "=1+1", "complete"])
    book, raw = workbook_of(layout, rows)
    sheet = book["Responses"]
    story = sheet["I3"]
    assert story.value.startswith("=HYPERLINK(") and story.data_type == "s" and story.quotePrefix
    assert sheet["I5"].value == "@SUM(1+1) bell" and sheet["I5"].data_type == "s"  # \x07 stripped
    for cell in sheet[6][1:5]:
        assert cell.data_type == "s", cell.coordinate
    assert b"<f>" not in b"".join(zipfile.ZipFile(io.BytesIO(raw)).read(n)
                                  for n in zipfile.ZipFile(io.BytesIO(raw)).namelist())


def test_pii_columns_only_when_asked():
    plain = export.response_layout(INSTRUMENT, "en")
    assert "contact" not in [c.name for c in plain.columns]
    assert all("+44" not in str(v) for r in records(private=True) for v in plain.row(r))
    asked = export.response_layout(INSTRUMENT, "en", include_pii=True)
    names = [c.name for c in asked.columns]
    # Read from the private answers, never from the public document.
    record = replace(records(private=True)[0], answers={**ANSWERS[0], "contact": "public copy"})
    assert asked.row(record)[names.index("contact")] == "+44 20 7946 0000"


def test_a_40000_character_turn_continues_in_the_next_cells_with_a_note():
    long_turn = ("Nous avons parlé de l'éclairage 💡. " * 1200)[:40_000]
    segment = SegmentRecord(7, dt.date(2026, 11, 2), "Riverside", "baseline", "guide", "fr", "p1",
                            "Safety", 1, "P1", "25-34", "woman", "resident", long_turn)
    stream = io.BytesIO()
    write_workbook([Sheet("Focus groups", export.FOCUS_GROUP_COLUMNS,
                          export.segment_rows([segment]))], stream)
    sheet = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))["Focus groups"]
    text_at = len(export.FOCUS_GROUP_COLUMNS)  # 1-based: the last column
    first, rest = sheet.cell(2, text_at), sheet.cell(2, text_at + 1)
    assert first.value + rest.value == long_turn  # nothing cut
    assert "continues in O2" in first.comment.text
    for piece in (first.value, rest.value):
        # Excel's limit is in UTF-16 units: an emoji counts twice.
        assert len(piece.encode("utf-16-le")) // 2 <= MAX_CELL_CHARS
    assert first.alignment.wrap_text


def test_pieces_never_split_a_character():
    text = "😀" * 20_000  # 40,000 UTF-16 units
    pieces = split_for_cells(text)
    assert "".join(pieces) == text and [len(p) for p in pieces] == [16_383, 3_617]


def test_text_cell_keeps_numbers_numbers():
    cell = text_cell(None, 3)
    assert cell.value == 3 and cell.data_type == "n"
    assert text_cell(None, 2.5).value == 2.5
    assert text_cell(None, "3").data_type == "s"


def test_rows_past_the_limit_continue_on_a_second_sheet_with_the_headers():
    layout = export.response_layout(INSTRUMENT, "en")
    many = [layout.row(ResponseRecord(n, "abc123", "Riverside", "baseline", "en", "complete",
                                      None, None, {"years": n})) for n in range(1, 8)]
    book, _ = workbook_of(layout, many, row_limit=5)  # 2 header rows + 3 data rows per sheet
    assert book.sheetnames == ["Responses", "Responses (2)", "Responses (3)"]
    ids = [row[0] for ws in book for row in ws.iter_rows(min_row=3, values_only=True)]
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    second = book["Responses (2)"]
    assert [c.value for c in second[1]][:3] == ["id", "campaign", "site"]
    assert second.freeze_panes == "A3" and second.auto_filter.ref.startswith("A2:")


def test_every_sheet_has_frozen_headers_a_filter_and_widths_and_the_xml_parses():
    layout = export.response_layout(INSTRUMENT, "en")
    summary = export.SummaryAccumulator(INSTRUMENT)
    for record in records():
        summary.add(record.answers)
    sheets = [
        Sheet("About", export.ABOUT_COLUMNS, export.about_rows([("instrument", "x")]), deferred=True),
        Sheet("Responses", layout.columns, map(layout.row, records()), freeze_columns=1),
        Sheet("Codebook", export.CODEBOOK_COLUMNS, export.codebook_rows(INSTRUMENT, "en")),
        Sheet("Summary", export.SUMMARY_COLUMNS, summary.rows("en")),
        export.capacity_sheet(capacity_table(
            [("Riverside", "baseline", "trust", s) for s in (40, 50, 60, 70, 80)]
            + [("Hillcrest", "baseline", "trust", s) for s in (10, 20, 30)],
            waves=["baseline"], domains=["trust"]), {"trust": "Trust"}),
    ]
    sheets.append(export.capacity_chart_sheet(capacity_table(
        [("Riverside", w, "trust", s) for s in (40, 50, 60, 70, 80) for w in ("baseline", "follow-up 1")],
        waves=["baseline", "follow-up 1"], domains=["trust"]), {"trust": "Trust"}))
    stream = io.BytesIO()
    write_workbook(sheets, stream)
    archive = zipfile.ZipFile(io.BytesIO(stream.getvalue()))
    assert archive.testzip() is None
    for name in archive.namelist():
        if name.endswith((".xml", ".rels", ".vml")):
            etree.fromstring(archive.read(name))  # raises on anything malformed
    assert any(n.startswith("xl/charts/chart") for n in archive.namelist())  # a native chart
    book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert book.sheetnames == ["About", "Responses", "Codebook", "Summary", "Capacity",
                               "Capacity charts"]
    for ws in book.worksheets[:-1]:
        assert ws.freeze_panes and ws.auto_filter.ref, ws.title
        assert ws.column_dimensions["A"].width >= 8, ws.title
    assert book["Responses"].freeze_panes == "B3"
    capacity = list(book["Capacity"].iter_rows(min_row=2, values_only=True))
    rows = {row[0]: row for row in capacity}
    assert rows["Hillcrest"][4:9] == (None, None, None, None, None)  # 3 < 5: suppressed
    assert "fewer than 5" in rows["Hillcrest"][-1]
    assert rows["All sites"][1] == "Baseline" and rows["All sites"][4:6] == (8, 45.0)
    all_sites = next(r for r in book["Capacity"].iter_rows(min_row=2) if r[0].value == "All sites")
    assert all_sites[5].number_format == "0.0"       # scores to one decimal, every digit kept
    # Riverside's 5 with all sites' 8 would give Hillcrest's 3 away: suppressed too, said why.
    assert rows["Riverside"][4:9] == (None, None, None, None, None)
    assert "would give it away" in rows["Riverside"][-1]


def test_summary_frequencies_and_numeric_statistics():
    summary = export.SummaryAccumulator(INSTRUMENT)
    for record in records():
        summary.add(record.answers)
    rows = {(r[0], r[2]): r for r in summary.rows("en")}
    # variable, question, value, label, count, percent_of_valid, valid, missing
    assert rows[("safe", 3)][3:8] == ["Agree", 1, 33.3, 3, 0]
    assert rows[("trust.council", 2)][4:8] == [1, 100.0, 1, 2]
    assert rows[("programmes", "mediation")][4:8] == [1, 50.0, 2, 1]
    assert rows[("programmes", "workshops")][4] == 0  # every choice is listed
    years = rows[("years", None)]
    assert years[8:] == [3, 7.0, 7, pytest.approx(3.0), 4, 10]
    hours = rows[("hours", None)]
    assert hours[6:9] == [1, 2, 1] and hours[11] is None  # one value: no SD


def test_summary_counts_across_batches_and_odd_stored_shapes_once():
    # More responses than one batch, so counts fold at a batch boundary and at the end;
    # the odd shapes land in different batches.
    summary = export.SummaryAccumulator(INSTRUMENT)
    answers = [{"safe": 1 + n % 3, "trust.police": 2, "programmes": ["mentoring"]}
               for n in range(2 * export.SUMMARY_BATCH + 7)]
    answers[5] = {"safe": [1, 3]}                  # a list where one value belongs
    answers[export.SUMMARY_BATCH + 1] = {"safe": {"x": 1}}  # a dict: valid, counted as nothing
    answers[-1] = {"programmes": ["mediation", {"x": 1}, "workshops"]}  # a dict among choices
    for answer in answers:
        summary.add(answer)
    rows = {(r[0], r[2]): r for r in summary.rows("en")}
    expected = {1: 0, 2: 0, 3: 0}
    for answer in answers:
        value = answer.get("safe")
        for v in value if isinstance(value, list) else [value] if isinstance(value, int) else []:
            expected[v] += 1
    valid = sum(1 for answer in answers if "safe" in answer)
    assert [rows[("safe", v)][4] for v in (1, 2, 3)] == [expected[1], expected[2], expected[3]]
    assert rows[("safe", 1)][6:8] == [valid, len(answers) - valid]
    assert rows[("trust.police", 2)][4] == len(answers) - 3
    assert [rows[("programmes", v)][4] for v in ("mentoring", "mediation", "workshops")] == [
        len(answers) - 3, 1, 1]  # once each, whatever stood between them


def test_codebook_lists_choices_relevance_and_domains():
    capacity = load_file(ROOT / "instruments" / "community-capacity.yaml")
    rows = {r[0]: r for r in export.codebook_rows(capacity, "en")}
    assert rows["resources.unwilling_help"][5] == "resources (reversed)"
    assert "1 = " in rows["resources.meeting_places"][3]
    assert "contact" not in rows
    relevant = [r for r in rows.values() if r[4]]
    assert relevant, "some questions have a relevance rule"


def test_csv_zip_has_a_bom_quotes_everything_and_escapes_formulas():
    layout = export.response_layout(INSTRUMENT, "en")
    stream = io.BytesIO()
    write_csv_zip([Sheet("Responses", layout.columns, map(layout.row, records()))], stream)
    archive = zipfile.ZipFile(io.BytesIO(stream.getvalue()))
    (name,) = archive.namelist()
    raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf") and b'"id","campaign"' in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    by_name = {n: [row[i] for row in rows[2:]] for i, n in enumerate(rows[0])}
    assert by_name["story"][0] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert by_name["story"][1] == "إنارة أفضل للشوارع 🌙 قرب الحديقة"
    assert by_name["story"][2] == "'@SUM(1+1) bell"
    assert by_name["years"] == ["4", "10", "7"]
    assert by_name["met_on"][0] == "2026-03-01"


def test_themes_sheet_from_input_rows_keeps_text_safe():
    rows = [export.ThemeRow("question", "improve", "What would you improve?", "=Street lighting", 42, 35.0,
                            ("street lights", "dark"), (0.1, 0.3, 0.6),
                            ("=HYPERLINK(\"http://evil.example\") the lamps are out", "too dark")),
            export.ThemeRow("question", "improve", "¿Qué mejoraría?", "Jóvenes", 3, 2.5)]
    sheet = Sheet("Themes", export.THEME_COLUMNS, export.theme_rows(rows))
    stream = io.BytesIO()
    write_workbook([sheet], stream)
    ws = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))["Themes"]
    assert [c.value for c in ws[2]][:10] == ["question", "improve", "What would you improve?",
                                             "=Street lighting", 42, 35.0, "street lights; dark",
                                             0.1, 0.3, 0.6]
    assert ws["D2"].data_type == "s" and ws["K2"].data_type == "s"
    assert ws["K2"].value.startswith("=HYPERLINK(") and "too dark" in ws["K2"].value
    assert [c.value for c in ws[3]][7:10] == [None, None, None]  # no sentiment: empty, never 0
    without = list(export.theme_rows(rows, quotes=False))
    quotes = [c.name for c in export.THEME_COLUMNS].index("quotes")
    assert [row[quotes] for row in without] == ["", ""]


def test_aggregates_only_summary_hides_a_small_count_and_what_would_give_it_away():
    """safe: 6 Disagree, 5 Neutral, 2 Agree. With a minimum of 5 the 2 is hidden, and so is
    the 5, since valid (13) - 6 - 5 would give the 2; the 6 stays. trust.police has 3
    answers in all: every count and the valid and missing counts are hidden. min and max
    of a number are never given (each is one resident's answer); unknown values are left
    out (they may be someone's own words)."""
    summary = export.SummaryAccumulator(INSTRUMENT)
    for value, n in ((1, 6), (2, 5), (3, 2)):
        for _ in range(n):
            summary.add({"safe": value, "years": 4})
    for value in (1, 2, 3):
        summary.add({"trust.police": value, "years": 9})
    summary.add({"safe": "my neighbour Zephyrine"})
    plain = {(r[0], r[2]): r for r in summary.rows("en")}
    assert plain[("safe", 3)][4] == 2 and ("safe", "my neighbour Zephyrine") in plain
    rows = {(r[0], r[2]): r for r in summary.rows("en", min_cell_size=5)}
    assert rows[("safe", 1)][3:8] == ["Disagree", 6, 42.9, 14, 3]
    assert rows[("safe", 2)][3:6] == ["Neutral (suppressed: fewer than 5)", None, None]
    assert rows[("safe", 3)][3:6] == ["Agree (suppressed: fewer than 5)", None, None]
    assert ("safe", "my neighbour Zephyrine") not in rows
    for value in (1, 2, 3):
        assert rows[("trust.police", value)][4:8] == [None, None, None, None]
    years = rows[("years", None)]
    assert years[8:10] == [16, pytest.approx((13 * 4 + 3 * 9) / 16)] and years[12:] == [None, None]


def test_the_fast_row_path_keeps_every_cell_safe(tmp_path):
    """Rows where safe labels repeat (the fast path) mixed with values that must not pass as
    they are: every cell comes back as the safe form, on every row, not only the first."""
    import datetime as dt

    import openpyxl

    from surveyapp.domain.workbook import write_workbook
    columns = [Column("label"), Column("risky"), Column("number"), Column("when"),
               Column("story", wrap=True), Column("flag")]
    aware = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    risky = ["=SUM(A1:A9)", "-not sure", "@home", "#N/A", "bell\x07 here", "+44 20"]
    rows = [["Agree", risky[n % len(risky)], (n if n % 3 else float("nan")), aware,
             ("=HYPERLINK(\"x\")" if n % 2 else "a long story"), n % 4 == 0] for n in range(600)]
    path = tmp_path / "fast.xlsx"
    write_workbook([Sheet("Rows", columns, iter(rows))], str(path))
    sheet = openpyxl.load_workbook(path)["Rows"]
    for number, row in enumerate(sheet.iter_rows(min_row=2), start=0):
        label, cell, value, when, story, flag = row[:6]
        assert label.value == "Agree"
        expected = risky[number % len(risky)].replace("\x07", "")
        assert cell.data_type == "s" and cell.value == expected, (number, cell.value)
        assert cell.quotePrefix == expected.startswith(("=", "+", "-", "@"))
        if number % 3:
            assert value.value == number and value.data_type == "n"
        else:
            assert value.value == "nan"  # not a number Excel could read back: text
        assert when.value == dt.datetime(2026, 11, 1, 10, 0)  # in UTC
        assert story.data_type == "s" and story.alignment.wrap_text
        assert story.value == ("=HYPERLINK(\"x\")" if number % 2 else "a long story")
        assert flag.value is (number % 4 == 0)


def capacity_chart_book(rows, waves=("baseline", "follow-up 1")):
    table = capacity_table(rows, waves=list(waves), domains=["resources", "trust"])
    stream = io.BytesIO()
    write_workbook([export.capacity_chart_sheet(table, {"resources": "Resources", "trust": "Trust"})],
                   stream)
    return table, openpyxl.load_workbook(io.BytesIO(stream.getvalue())), stream.getvalue()


def test_capacity_charts_one_clustered_chart_per_site_waves_as_series_on_the_whole_scale():
    rows = [(site, wave, domain, float(score)) for site in ("Hillcrest", "Riverside")
            for wave in ("baseline", "follow-up 1") for domain in ("resources", "trust")
            for score in (30, 40, 50, 60, 70)]
    table, book, raw = capacity_chart_book(rows)
    ws = book["Capacity charts"]
    charts = ws._charts
    assert len(charts) == 3                                   # two sites and all sites
    for chart in charts:
        assert chart.type == "col" and chart.grouping == "clustered"
        assert len(chart.series) == 2                        # baseline and follow-up 1
        assert (chart.y_axis.scaling.min, chart.y_axis.scaling.max) == (0, 100)
    values = list(ws.iter_rows(values_only=True))
    assert values[2][:3] == ("Domain", "Baseline", "Follow-up 1")
    assert values[3][:2] == ("Resources", 50.0)
    # Each block prints on its own page, landscape and one page wide.
    assert len(ws.row_breaks.brk) == 2
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    archive = zipfile.ZipFile(io.BytesIO(raw))
    chart_xml = archive.read("xl/charts/chart1.xml").decode()
    assert re.search(r'<(c:)?max val="100(\.0)?"', chart_xml)
    assert re.search(r'<(c:)?min val="0(\.0)?"', chart_xml)


def test_capacity_charts_leave_suppressed_means_blank_and_say_why():
    rows = [("Big", wave, domain, float(score)) for wave in ("baseline", "follow-up 1")
            for domain in ("resources", "trust") for score in range(10, 90, 10)]
    rows += [("Tiny", "baseline", domain, 50.0) for domain in ("resources", "trust") for _ in range(2)]
    table, book, _ = capacity_chart_book(rows)
    values = list(book["Capacity charts"].iter_rows(values_only=True))
    tiny = values.index(next(r for r in values if r[0] and str(r[0]).startswith("Tiny")))
    assert values[tiny + 2][1] is None and "fewer than 5" in values[tiny + 2][-1]
    # A block with nothing to draw gets no (empty) chart: Big, all sites only.
    assert len(book["Capacity charts"]._charts) == 2


def test_capacity_rows_carry_g_p_q_and_flag_a_low_alpha_naming_its_items():
    from surveyapp.domain.statistics import cronbach_alpha
    rows = [("Hillcrest", wave, "trust", float(score)) for wave, shift in (("baseline", 0), ("follow-up 1", 15))
            for score in (30 + shift, 40 + shift, 50 + shift, 60 + shift, 45 + shift, 55 + shift)]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], domains=["trust"])
    low = cronbach_alpha([{"a": x, "b": y, "c": z} for x, y, z in
                          ((1, 1, 5), (2, 2, 1), (3, 3, 4), (4, 4, 2), (5, 5, 3))])
    sheet = export.capacity_sheet(table, {"trust": "Trust"}, {("follow-up 1", "trust"): low})
    header = [c.name for c in sheet.columns]
    out = {(r[0], r[1]): dict(zip(header, r)) for r in sheet.rows}
    change = table.change("Hillcrest", "follow-up 1", "trust")
    site = out[("Hillcrest", "Follow-up 1")]
    assert site["hedges_g"] == change.effect.value > 0 and site["g_ci_low"] == change.effect.ci_low
    assert site["p"] == change.p_value and site["q_bh"] == change.q_value >= change.p_value
    assert site["alpha"] is None                      # alpha is on the all-sites rows
    overall = out[("All sites", "Follow-up 1")]
    assert overall["alpha"] == pytest.approx(low.alpha) and low.alpha < 0.7
    assert "alpha under 0.7: items lowering it: c" in overall["note"]
    assert out[("Hillcrest", "Baseline")]["hedges_g"] is None                 # no change at baseline
