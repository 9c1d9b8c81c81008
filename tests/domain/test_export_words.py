"""The Responses sheet's own columns (wave, language, status) read as words when the
answers are labels, and stay codes when codes are asked for (issue 23 item 5)."""
from __future__ import annotations

import datetime as dt

import pytest

from surveyapp.domain import export
from surveyapp.domain.export import ResponseRecord
from surveyapp.domain.words import language_name
from tests.domain.test_export_rows import INSTRUMENT


def record(n, wave, language, status):
    return ResponseRecord(id=n, campaign="abc123", site="Riverside", wave=wave, language=language,
                          status=status, started_at=dt.datetime(2026, 11, 20, 10, 0),
                          submitted_at=None, answers={"safe": 3})


RECORDS = [record(1, "baseline", "ar", "complete"), record(2, "follow-up 1", "en", "partial"),
           record(3, "Spring round", "so", "complete")]


def fixed(layout, records):
    names = [c.name for c in layout.columns]
    return [{name: row[names.index(name)] for name in ("wave", "language", "status")}
            for row in map(layout.row, records)]


def test_labels_say_wave_language_and_status_in_words():
    layout = export.response_layout(INSTRUMENT, "en")
    assert fixed(layout, RECORDS) == [
        {"wave": "Baseline", "language": "Arabic", "status": "Complete"},
        {"wave": "Follow-up 1", "language": "English", "status": "Partial"},
        {"wave": "Spring round", "language": "Somali", "status": "Complete"}]
    # The second header row names each fixed column for a person.
    labels = {c.name: c.label for c in layout.columns}
    assert labels["started"] == "Started (UTC)" and labels["language"] == "Language"


def test_codes_keep_the_stored_values():
    layout = export.response_layout(INSTRUMENT, "en", codes=True)
    assert fixed(layout, RECORDS) == [
        {"wave": "baseline", "language": "ar", "status": "complete"},
        {"wave": "follow-up 1", "language": "en", "status": "partial"},
        {"wave": "Spring round", "language": "so", "status": "complete"}]


@pytest.mark.parametrize("code, language, name", [
    ("ar", "en", "Arabic"), ("ar", "fr", "Arabe"), ("zh", "ar", "الصينية"), ("vi", "es", "Vietnamita"),
    ("so", "zh", "索马里语"), ("xx", "en", "xx"), ("", "en", ""), ("es", "not a locale!", "es")])
def test_a_language_by_its_name_in_another_language(code, language, name):
    assert language_name(code, language) == name
