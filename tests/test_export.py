"""The export on a real database: the CLI and the download route write the same workbook.

Known answers go in through the submission operation; the workbook comes back and is
read with openpyxl. Runs on SQLite and on PostgreSQL (a server-side cursor there).
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.queries import export
from surveyapp.extensions import db
from tests.helpers import (
    CAPACITY, CONTACT, REAL_NAME, XLSX, login, make_user, responses_by_id, seed)



def open_book(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def everything(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


def test_cli_export_holds_the_stored_answers(app, runner, make_campaign, tmp_path):
    data = seed(app, make_campaign)
    out = tmp_path / "out.xlsx"
    result = runner.invoke(args=["export", data["code"], "-o", str(out), "--codes"])
    assert result.exit_code == 0, result.output
    assert "Responses: 3" in result.output
    book = open_book(out.read_bytes())
    assert book.sheetnames == ["About", "Responses", "Codebook", "Summary", "Capacity", "Capacity charts",
                               "Themes", "Focus groups"]
    exported = responses_by_id(book)
    assert set(exported) == set(data["answers"])  # complete ones only, by default
    compared = 0
    for response_id, answers in data["answers"].items():
        row = exported[response_id]
        for key, value in answers.items():
            if isinstance(value, list):
                assert row[key] == " ".join(map(str, value)), key
            elif key in row:
                is_date = CAPACITY.question(key.split(".")[0]).type == "date"
                expected = dt.datetime.fromisoformat(value) if is_date else value
                assert row[key] == expected, key
            compared += 1
    assert compared > 60
    assert row["campaign"] == data["code"] and row["site"] == "Riverside"
    assert isinstance(row["submitted"], dt.datetime)
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["responses"] == 3 and about["answers as"] == "codes"


def test_status_filter_and_labels_language(app, runner, make_campaign, tmp_path):
    data = seed(app, make_campaign)
    out = tmp_path / "all.xlsx"
    assert runner.invoke(args=["export", data["code"], "-o", str(out), "--status", "all",
                               "--lang", "fr"]).exit_code == 0
    book = open_book(out.read_bytes())
    rows = responses_by_id(book)
    assert data["partial_id"] in rows and len(rows) == 4
    assert rows[data["partial_id"]]["status"] == "Partial"  # labels: the status in words too
    header = list(book["Responses"].iter_rows(max_row=2, values_only=True))
    labels = dict(zip(*header))
    assert labels["years_here"].startswith("Depuis combien")
    partial = tmp_path / "partial.xlsx"
    assert runner.invoke(args=["export", "community-capacity", "-o", str(partial),
                               "--status", "partial"]).exit_code == 0
    assert list(responses_by_id(open_book(partial.read_bytes()))) == [data["partial_id"]]
    bad = runner.invoke(args=["export", "no-such-thing", "-o", str(tmp_path / "x.xlsx")])
    assert bad.exit_code != 0 and "neither a campaign code nor an instrument id" in bad.output


def test_pii_is_left_out_and_its_table_never_read_unless_asked(app, make_campaign):
    data = seed(app, make_campaign)
    with app.app_context():
        statements, cursors = [], {}
        def listen(conn, cursor, statement, *args):
            statements.append(statement)
            cursors[statement] = type(cursor).__name__
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            stream = io.BytesIO()
            filters = export.filters_for(data["code"])
            export.write_export(filters, stream)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        assert statements and not [s for s in statements if "private_answers" in s]
        if db.engine.dialect.name == "postgresql":
            # The responses are read through a server-side cursor, not fetched all at once.
            (read,) = [s for s in statements if "ORDER BY responses.id" in s]
            assert cursors[read] == "ServerCursor"
        text = everything(stream.getvalue())
        assert CONTACT not in text and REAL_NAME not in text
        asked = io.BytesIO()
        export.write_export(export.filters_for(data["code"], include_pii=True), asked)
    rows = responses_by_id(open_book(asked.getvalue()))
    assert [r["contact"] for r in rows.values()].count(CONTACT) == 1


def test_focus_groups_sheet_has_finalised_segments_with_pseudonyms_only(app, make_campaign):
    data = seed(app, make_campaign)
    with app.app_context():
        stream = io.BytesIO()
        result = export.write_export(export.filters_for(data["code"]), stream)
    assert result.rows["Focus groups"] == 1
    sheet = open_book(stream.getvalue())["Focus groups"]
    rows = list(sheet.iter_rows(values_only=True))
    segment = dict(zip(rows[0], rows[1]))
    assert segment["speaker"] == "P1" and segment["age_band"] == "25-34"
    assert segment["text"] == "It is dark near the park =HYPERLINK(x)"
    assert sheet.cell(2, rows[0].index("text") + 1).data_type == "s"
    assert "still being checked" not in everything(stream.getvalue())


def test_csv_export_is_a_zip_of_sheets(app, runner, make_campaign, tmp_path):
    data = seed(app, make_campaign)
    out = tmp_path / "out.zip"
    assert runner.invoke(args=["export", data["code"], "-o", str(out), "--csv"]).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert sorted(names) == ["01-about.csv", "02-responses.csv", "03-codebook.csv",
                                 "04-summary.csv", "05-capacity.csv", "06-themes.csv",
                                 "07-focus-groups.csv"]
        segments = archive.read("07-focus-groups.csv").decode("utf-8-sig")
    assert "\"'=HYPERLINK" not in segments  # the formula is inside the text, not at its start
    assert segments.startswith('"session"')


@pytest.fixture
def analyst_and_admin(app):
    make_user(app, "admin@example.org", "admin")
    make_user(app, "analyst@example.org", "analyst")
    clients = {}
    for who in ("admin", "analyst"):
        clients[who] = app.test_client()
        assert login(clients[who], f"{who}@example.org").status_code == 302
    return clients


def test_download_route(app, make_campaign, analyst_and_admin):
    data = seed(app, make_campaign)
    url = f"/staff/campaigns/{data['campaign_id']}/export"
    analyst, admin = analyst_and_admin["analyst"], analyst_and_admin["admin"]
    reply = analyst.get(url)
    assert reply.status_code == 200 and reply.mimetype == XLSX
    assert "attachment" in reply.headers["Content-Disposition"]
    book = open_book(reply.data)
    assert len(responses_by_id(book)) == 3
    assert dict(book["About"].iter_rows(values_only=True))["generated by"] == "analyst@example.org"
    assert CONTACT not in everything(reply.data)
    assert analyst.get(url + "?pii=1").status_code == 403  # contact details: admins only
    with_pii = admin.get(url + "?pii=1")
    assert with_pii.status_code == 200 and CONTACT in everything(with_pii.data)
    assert analyst.get(url + "?format=csv").mimetype == "application/zip"
    bad = analyst.get(url + "?status=everything", follow_redirects=True)
    assert bad.status_code == 200 and "Choose complete, partial or all responses." in bad.text
    page = analyst.get(f"/staff/campaigns/{data['campaign_id']}").text
    assert url in page


def test_date_range_site_and_project_filters(app, runner, make_campaign, tmp_path):
    data = seed(app, make_campaign)
    with app.app_context():
        def backdate():
            from surveyapp.models import Response
            first = min(data["answers"])
            db.session.get(Response, first).submitted_at = dt.datetime(2026, 1, 15, 9, tzinfo=dt.timezone.utc)
            return first
        old_id = operations.transaction(backdate)
    out = tmp_path / "range.xlsx"
    january = ["--since", "2026-01-01", "--until", "2026-01-15"]
    assert runner.invoke(args=["export", data["code"], "-o", str(out), *january]).exit_code == 0
    assert list(responses_by_id(open_book(out.read_bytes()))) == [old_id]  # until is inclusive
    later = runner.invoke(args=["export", data["code"], "-o", str(out), "--since", "2026-01-16"])
    assert later.exit_code == 0 and old_id not in responses_by_id(open_book(out.read_bytes()))
    elsewhere = runner.invoke(args=["export", "community-capacity", "-o", str(out),
                                    "--site", "Nowhere"])
    assert elsewhere.exit_code != 0 and "no site named 'Nowhere'" in elsewhere.output
    here = runner.invoke(args=["export", "community-capacity", "-o", str(out), "--site", "riverside",
                               "--project", "Default project"])
    assert here.exit_code == 0, here.output
    assert len(responses_by_id(open_book(out.read_bytes()))) == 3


def test_cli_aggregates_only_export(app, runner, make_campaign, tmp_path):
    """``--aggregates-only`` writes what a partner's download holds: no Responses,
    Codebook or Focus groups sheet, no resident's words or transcript line, and with
    three responses every Summary count is suppressed. It cannot be combined with --pii."""
    data = seed(app, make_campaign)
    out = tmp_path / "partner.xlsx"
    result = runner.invoke(args=["export", data["code"], "-o", str(out), "--aggregates-only"])
    assert result.exit_code == 0, result.output
    book = open_book(out.read_bytes())
    assert book.sheetnames == ["About", "Summary", "Capacity", "Capacity charts", "Themes"]
    cells = [str(v) for ws in book for row in ws.iter_rows(values_only=True) for v in row
             if v is not None]
    text = "\n".join(cells)
    assert CONTACT not in text and REAL_NAME not in text and "dark near the park" not in text
    for answers in data["answers"].values():
        for value in answers.values():
            if isinstance(value, str) and len(value) > 12 and " " in value:
                assert value not in text  # free text never appears
    summary = list(book["Summary"].iter_rows(values_only=True))[1:]
    frequencies = [row for row in summary if row[2] is not None]
    assert frequencies and all(row[4] in (None, 0) for row in frequencies)  # zeros are shown
    assert any("suppressed" in row[3] for row in frequencies)
    assert "aggregates only" in dict(book["About"].iter_rows(values_only=True))["suppression"]
    csv_out = tmp_path / "partner.zip"
    assert runner.invoke(args=["export", data["code"], "-o", str(csv_out), "--csv",
                               "--aggregates-only"]).exit_code == 0
    with zipfile.ZipFile(csv_out) as archive:
        assert sorted(archive.namelist()) == ["01-about.csv", "02-summary.csv", "03-capacity.csv",
                                      "04-themes.csv"]
    refused = runner.invoke(args=["export", data["code"], "-o", str(out), "--aggregates-only", "--pii"])
    assert refused.exit_code != 0 and "never includes contact details" in refused.output
