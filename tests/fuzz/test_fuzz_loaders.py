"""Fuzz the file loaders and text parsers: each returns a result or raises its own error
type (listing problems), never anything else. No app, no database."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings, strategies as st

from surveyapp.domain import codebook as codebook_data
from surveyapp.domain import transcripts
from surveyapp.domain.codebooks import CodebookFile, CodebookFileError, load_codebook
from surveyapp.domain.instruments import Instrument, InstrumentError, load_instrument
from tests.fuzz.strategies import HOSTILE, fragments, mutated_lines

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENTS = {path.name: path.read_text("utf-8") for path in (ROOT / "instruments").glob("*.yaml")}
CODEBOOK = (ROOT / "instruments" / "codebooks" / "community-capacity.yaml").read_text("utf-8")
LANGUAGES = {"community-capacity": ("en", "es", "fr", "ar", "zh", "vi", "so")}


def _instrument_or_problems(text: str) -> None:
    try:
        assert isinstance(load_instrument(text, "fuzz.yaml"), Instrument)
    except InstrumentError as error:
        assert error.problems and all(p.message for p in error.problems)
        str(error)  # the message renders


@given(st.text(max_size=400))
def test_instrument_loader_on_any_text(text):
    _instrument_or_problems(text)


# A whole instrument in seven languages takes up to a second to check: a third of the examples.
@settings(max_examples=max(10, settings.default.max_examples // 3))
@given(st.sampled_from(sorted(INSTRUMENTS)).flatmap(lambda name: mutated_lines(INSTRUMENTS[name])))
def test_instrument_loader_on_mutated_shipped_instruments(text):
    _instrument_or_problems(text)


def _codebook_or_problems(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("codebooks", numbered=True) / "codebooks"
    folder.mkdir()
    path = folder / "community-capacity.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    try:
        assert isinstance(load_codebook(path, LANGUAGES), CodebookFile)
    except CodebookFileError as error:
        assert error.problems and all(p.message for p in error.problems)
        str(error)


@given(text=mutated_lines(CODEBOOK))
def test_codebook_loader_on_mutated_shipped_codebook(tmp_path_factory, text):
    _codebook_or_problems(tmp_path_factory, text)


@given(text=st.text(max_size=300))
def test_codebook_loader_on_any_text(tmp_path_factory, text):
    _codebook_or_problems(tmp_path_factory, text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(HOSTILE) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6) | st.sampled_from(
        ["code", "label", "description", "keywords", "en", "es"]), inner, max_size=4),
    max_leaves=20)


@given(st.lists(json_values, max_size=5))
def test_codebook_from_plain_data(data):
    try:
        book = codebook_data.codebook_from_data(data)
    except codebook_data.CodebookError as error:
        assert error.problems
    else:
        assert all(code.code for code in book.codes)


SPEAKERS = ("F1", "P1", "P2", "P3")
transcript_lines = st.lists(st.one_of(
    fragments,
    st.builds(lambda clock, who, said: f"{clock}{who}: {said}",
              st.sampled_from(["", "[00:12:31] ", "[12:31] ", "(1:2) ", "99:99:99 ", "[00:00:-1] "]),
              st.sampled_from([*SPEAKERS, "p3", "X9", "", " P1 ", "Ana"]), fragments),
), max_size=12).map("\n".join)


@given(transcript_lines)
def test_quick_entry_parser(text):
    result = transcripts.parse_quick_entry(text, SPEAKERS)
    assert all(issue.kind in transcripts.ISSUE_KINDS for issue in result.issues)
    assert all(segment.line >= 1 for segment in result.segments)
    transcripts.as_quick_entry(result, SPEAKERS)


cue_timings = st.builds(
    lambda a, b, extra: f"{a} --> {b}{extra}",
    st.sampled_from(["00:00.000", "00:01:02.345", "99:59.999", "1:00:00.000", "00:00", "-1:00.000",
                     "00:60.000", "9" * 30 + ":00.000"]),
    st.sampled_from(["00:05.000", "00:01:05.000", "00:00.000", "xx"]),
    st.sampled_from(["", " align:start", " -->"]))
cues = st.builds(lambda ident, timing, payload: "\n".join(filter(None, [ident, timing, *payload])),
                 st.sampled_from(["", "1", "NOTE", "STYLE", "REGION", "cue-id"]), cue_timings,
                 st.lists(st.one_of(fragments, st.builds(lambda v, t: f"<v{v}>{t}</v>",
                                                         st.sampled_from([" P1", ".loud P3", "", " ", " Ana"]),
                                                         fragments)), max_size=3))
webvtt = st.builds(lambda head, body: head + "\n\n".join(body),
                   st.sampled_from(["WEBVTT\n\n", "\ufeffWEBVTT - title\n\n", "WEBVTT", "", "WEBVTTX\n"]),
                   st.lists(cues, max_size=6))


@given(st.one_of(webvtt, st.text(max_size=200)))
def test_webvtt_parser(text):
    try:
        result = transcripts.parse_webvtt(text, SPEAKERS)
    except ValueError as error:
        assert str(error).startswith("not a WebVTT file")
    else:
        assert all(issue.kind in transcripts.ISSUE_KINDS for issue in result.issues)


@given(st.binary(max_size=300))
def test_uploaded_bytes_always_decode(data):
    text = transcripts.decode_upload(data)
    assert "\r" not in text
    transcripts.parse_quick_entry(text, SPEAKERS)


@given(st.lists(fragments, max_size=10).map(" ".join),
       st.dictionaries(st.sampled_from(SPEAKERS), st.sampled_from(["Ana", "José María", "", "O'Neil", "("]),
                       max_size=3))
def test_personal_data_finder_and_redaction(text, roster):
    findings = transcripts.find_personal_data(text, roster)
    redacted = transcripts.apply_redactions(text, findings)
    assert isinstance(redacted, str)
