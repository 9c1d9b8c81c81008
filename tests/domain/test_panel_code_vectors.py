"""tests/data/panel_code_vectors.json is what domain/panel_code.py answers: the offline app's
panel_code.js is held to the same file in Chromium (tests/browser/test_offline_browser.py),
so the two cannot drift apart unnoticed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from surveyapp.domain import panel_code

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "panel_code_vectors.json")
                     .read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS["checks"], ids=lambda v: repr(v["input"]))
def test_python_check_meets_the_shared_vectors(vector):
    result = panel_code.check(vector["input"])
    assert (result.valid, result.reason, result.character, result.code) == (
        vector["valid"], vector["reason"], vector["character"], vector["code"])


def test_the_vectors_cover_every_reason_and_every_check_symbol_is_right():
    assert {v["reason"] for v in VECTORS["checks"]} == {
        None, panel_code.EMPTY, panel_code.WRONG_LENGTH, panel_code.BAD_CHARACTER, panel_code.CHECK_FAILED}
    assert len(VECTORS["checks"]) > 150
    for pair in VECTORS["check_symbols"]:
        completing = [s for s in panel_code.ALPHABET if panel_code.check(pair["payload"] + s).valid]
        assert completing == [pair["code"][-1]]  # one check symbol per payload, the stored one
