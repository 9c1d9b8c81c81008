"""load_stored_instrument (libyaml, for versions already checked) reads every instrument
exactly as load_instrument (ruamel.yaml round trip) does, and hands anything it is not
sure of to load_instrument."""
from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from surveyapp.domain import instruments
from surveyapp.domain.instruments import InstrumentError, load_instrument, load_stored_instrument

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("instruments/*.yaml"), *ROOT.glob("tests/data/**/*.yaml")])


def _loads(path: Path):
    text = path.read_text(encoding="utf-8")
    try:
        return load_instrument(text, str(path)), text
    except InstrumentError:
        return None, text


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_instrument_as_the_round_trip_loader(path):
    expected, text = _loads(path)
    if expected is None:
        with pytest.raises(InstrumentError) as error:
            load_stored_instrument(text, str(path))
        assert str(error.value) == str(InstrumentError(
            pytest.raises(InstrumentError, load_instrument, text, str(path)).value.problems))
    else:
        assert load_stored_instrument(text, str(path)) == expected


def test_the_fast_path_is_taken_for_the_shipped_instruments(monkeypatch):
    """Not a fallback in disguise: with load_instrument broken, the shipped ones still load."""
    assert instruments._FastLoader is not None, "PyYAML with libyaml is in requirements.txt"
    texts = [(p, p.read_text(encoding="utf-8")) for p in ROOT.glob("instruments/*.yaml")]
    expected = [load_instrument(t, str(p)) for p, t in texts]

    def broken(*args, **kwargs):
        raise AssertionError("fell back to the round-trip loader")
    monkeypatch.setattr(instruments, "load_instrument", broken)
    assert [load_stored_instrument(t, str(p)) for p, t in texts] == expected


@pytest.mark.parametrize("plain", [
    "no", "yes", "on", "off", "y", "N", "true", "False", "TRUE", "null", "~", "", "12", "-3", "+4",
    "012", "0o17", "0x1f", "1_000", "1.5", "-0.25", "1e3", ".inf", "-.Inf", ".nan", "2026-11-01",
    "1:30", "<<", "=", "0", "00", "1.", ".5", "3.0", "Other", "=HYPERLINK(x)", "12abc",
])
def test_plain_scalars_typed_as_yaml_1_2(plain, monkeypatch):
    """Each plain scalar becomes what ruamel makes of it, through the fast path or not."""
    expected = YAML(typ="rt").load(f"value: {plain}\n")["value"]
    fell_back = []
    real = instruments.load_instrument
    monkeypatch.setattr(instruments, "load_instrument",
                        lambda *a, **k: fell_back.append(1) or real(*a, **k))
    loader = instruments._FastLoader(f"value: {plain}\n")
    try:
        got = loader.get_single_data()["value"]
    except instruments._Unsure:
        return  # load_stored_instrument would hand this to ruamel
    finally:
        loader.dispose()
    assert got == expected and _kind(got) is _kind(expected), (got, expected)


def _kind(value):
    # ruamel's ScalarFloat / ScalarInt are floats and ints; bool before int (True == 1).
    return next(kind for kind in (bool, int, float, str, type(None)) if isinstance(value, kind))


def test_duplicate_keys_and_tags_go_to_the_round_trip_loader():
    for text in ("id: a\nid: b\n", "id: !!int '3'\n", "base: &b {x: 1}\nother:\n  <<: *b\n"):
        with pytest.raises(instruments._Unsure):
            loader = instruments._FastLoader(text)
            try:
                loader.get_single_data()
            finally:
                loader.dispose()
