"""Every YAML loader refuses text past a limit of domain/limits.py with file:line:col in the
error it already raises: deep nesting (a RecursionError before), aliases that expand to
millions of values, an alias inside its own anchor, an oversized file."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from surveyapp.domain import codebooks, instrument_text, limits
from surveyapp.domain.instruments import (InstrumentError, load_file, load_instrument,
                                          load_stored_instrument)

ROOT = Path(__file__).resolve().parent.parent.parent
HEADER = "id: x\nversion: 1\nkind: survey\nlanguages: [en]\ndefault_language: en\ntitle: {en: t}\n"


def laughs(levels: int = 9) -> str:
    """Billion laughs: ten x's, then each line ten aliases of the one before (10^levels)."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def aliased_pages(count: int = 3_000) -> str:
    """33 KB that stand for 3,000 pages of 3,001 questions each: the shape the instrument
    checker and the translation reader walk (before the limits: minutes, for each)."""
    question = "&q {id: q, type: text, label: {en: l}}"
    return (HEADER + "consent: {en: c}\npages:\n"
            + f"  - &p {{id: p, title: {{en: t}}, questions: [{question}" + ", *q" * count + "]}\n"
            + "  - *p\n" * count)


# text, (line, column), message: where and what each loader must report
HOSTILE = {
    "brackets": ("[" * 20_000, (1, 65), "nested deeper than 64 levels"),
    "braces": ("a: " + "{a: " * 20_000, (1, 256), "nested deeper than 64 levels"),
    "dashes": ("- " * 20_000 + "x", (1, 129), "nested deeper than 64 levels"),
    "block": ("".join(" " * n + "a:\n" for n in range(100)) + " " * 100 + "x\n", (65, 65),
              "nested deeper than 64 levels"),
    "laughs": (laughs(), (6, 45), "more than 1,000,000 values with aliases expanded"),
    "laughs in pages": (HEADER + laughs() + "pages: *l8\n", (12, 45),
                        "more than 1,000,000 values with aliases expanded"),
    "aliased pages": (aliased_pages(), (46, 5), "more than 1,000,000 values with aliases expanded"),
    "self alias": ("id: x\npages: &p [*p]\n", (2, 12),
                   "alias *p is inside its own anchor (a structure that contains itself)"),
    "too long": ("a: " + "x" * limits.MAX_YAML_CHARS, (1, 1),
                 "the text is 2,000,003 characters long, over the limit of 2,000,000"),
}
CASES = [pytest.param(text, where, message, id=name)
         for name, (text, where, message) in HOSTILE.items()]


def quick(call):
    started = time.monotonic()
    try:
        return call()
    finally:
        assert time.monotonic() - started < 5  # the laughs took minutes to walk; depth crashed


@pytest.mark.parametrize("text, where, message", CASES)
def test_the_instrument_loader_reports_file_line_col(text, where, message):
    with pytest.raises(InstrumentError) as caught:
        quick(lambda: load_instrument(text, "hostile.yaml"))
    assert [str(p) for p in caught.value.problems] == [
        f"hostile.yaml:{where[0]}:{where[1]}: {message}"]


@pytest.mark.parametrize("text, where, message", CASES)
def test_the_stored_instrument_loader_says_the_same(text, where, message):
    with pytest.raises(InstrumentError) as caught:
        quick(lambda: load_stored_instrument(text, "stored"))
    assert [str(p) for p in caught.value.problems] == [f"stored:{where[0]}:{where[1]}: {message}"]


@pytest.mark.parametrize("text, where, message", CASES)
def test_the_codebook_loader_reports_file_line_col(tmp_path, text, where, message):
    path = tmp_path / "codebooks" / "hostile.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(codebooks.CodebookFileError) as caught:
        quick(lambda: codebooks.load_codebook(path))
    assert [str(p) for p in caught.value.problems] == [f"{path}:{where[0]}:{where[1]}: {message}"]


@pytest.mark.parametrize("text, where, message", CASES)
def test_adding_a_theme_to_such_a_codebook_is_refused(text, where, message):
    with pytest.raises(codebooks.CodebookFileError) as caught:
        quick(lambda: codebooks.with_theme(text, "x", theme_id="t", label="T", description="d",
                                          language="en", keywords=["k"]))
    assert [str(p) for p in caught.value.problems] == [
        f"<codebook>:{where[0]}:{where[1]}: {message}"]


@pytest.mark.parametrize("read", [
    instrument_text.translatable_strings,
    instrument_text.instrument_header,
    lambda text: instrument_text.apply_translations(text, "so", {"title": "Cinwaan"}),
], ids=["translatable_strings", "instrument_header", "apply_translations"])
@pytest.mark.parametrize("text, where, message", CASES)
def test_the_translation_reader_raises_its_value_error_with_line_and_column(read, text, where,
                                                                             message):
    with pytest.raises(ValueError) as caught:
        quick(lambda: read(text))
    assert str(caught.value) == f"line {where[0]}, column {where[1]}: {message}"


def test_the_depth_limit_is_exact():
    limits.check_yaml("[" * limits.MAX_YAML_DEPTH + "]" * limits.MAX_YAML_DEPTH)
    with pytest.raises(limits.YamlLimit, match="line 1, column 65: nested deeper than 64"):
        limits.check_yaml("[" * (limits.MAX_YAML_DEPTH + 1) + "]" * (limits.MAX_YAML_DEPTH + 1))


def test_aliases_within_the_limit_pass():
    limits.check_yaml(laughs(5))  # 111,111 values once expanded
    limits.check_yaml(HEADER + "yes_no: &yes_no [{value: 1, label: {en: 'Yes'}}]\n"
                               "again: *yes_no\n")


def test_without_pyyaml_ruamels_own_parser_finds_the_same(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now raises ImportError
    for name in ("brackets", "dashes", "laughs", "self alias"):
        text, where, message = HOSTILE[name]
        with pytest.raises(limits.YamlLimit) as caught:
            limits.check_yaml(text)
        assert (caught.value.line, caught.value.column, caught.value.message) == (*where, message)


def test_text_libyaml_refuses_is_read_again_as_ruamel_reads_it():
    # libyaml stops at 1,000 levels while looking ahead, before it has passed 64: the
    # limit is then found by ruamel's own parser, which reads on where libyaml gave up
    yaml = pytest.importorskip("yaml")
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    text = "a: 1\nb: " + "[" * 2_000
    with pytest.raises(yaml.YAMLError, match="maximum nesting depth"):
        list(yaml.parse(text, Loader=yaml.CSafeLoader))
    with pytest.raises(limits.YamlLimit, match="line 2, column 67: nested deeper than 64"):
        limits.check_yaml(text)


def test_a_syntax_error_is_left_to_the_loader():
    limits.check_yaml("a: [1, 2\nb: }")  # passes here ...
    with pytest.raises(InstrumentError, match=r"x.yaml:\d+:\d+: YAML syntax"):
        load_instrument("a: [1, 2\nb: }", "x.yaml")  # ... and the loader says where


@pytest.mark.parametrize("path", sorted((ROOT / "instruments").rglob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_shipped_file_is_far_within_the_limits(path):
    limits.check_yaml(path.read_text(encoding="utf-8"))
    if path.parent.name != "codebooks":
        load_file(path)
