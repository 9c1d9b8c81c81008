"""Focus-group transcripts: quick entry, WebVTT import and a redaction assist.

Facilitators transcribe a focus group per discussion prompt as a list of
*segments*: who spoke (a pseudonymous label such as ``P3``, or a facilitator's
``F1``/``FAC``/``M``), what they said, and optionally when (whole seconds from
the start). Three ways in, one result type:

* :func:`parse_quick_entry` reads text typed or pasted as ``P3: text`` lines;
* :func:`parse_webvtt` reads the captions file a call recording produces;
* a plain-text upload is :func:`decode_upload` then :func:`parse_quick_entry`.

Parsing never drops text. Anything doubtful (a speaker not on the list, a line
with nobody speaking, a timestamp that is not a time) comes back as a
:class:`ParseIssue` *next to* the segment that holds the text, so the page can
show the segment flagged and let the facilitator fix it.

:func:`find_personal_data` points at names, e-mail addresses and phone numbers a
participant let slip; :func:`apply_redactions` replaces the ones the facilitator
accepts. It is an assist, not a guarantee: a person reviews every transcript.

Nothing here imports Flask or SQLAlchemy.
"""
from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Iterable, Mapping

from surveyapp.domain.speakers import Speakers, looks_like_speaker

ISSUE_KINDS = ("unknown_speaker", "no_speaker", "bad_timestamp")
FINDING_KINDS = ("email", "phone", "roster_name", "capitalised_name")
REDACTED = "[redacted]"

# C0 controls other than tab and newline: PostgreSQL refuses NUL in text, and none of
# them is something a person typed on purpose (same rule as answers._CONTROL_RE).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Directional marks that Arabic keyboards and caption tools put around a line; they are
# invisible, so "\u200fP3: ..." must still read as P3 speaking.
_BIDI = "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"
_BLANK_RE = re.compile(rf"[\s{_BIDI}]*")

# A speaker prefix: a label of 1-3 words, optional spaces, then an ASCII or a full-width
# colon, but not "https://". Whether the label is a speaker or prose ("Note: ...") is
# for speakers.looks_like_speaker to say.
_WORD = r"[^\W\d_][\w'’.\-]*"
_LABEL_RE = re.compile(rf"[\s{_BIDI}]*(?P<label>{_WORD}(?:[ \t]+{_WORD}){{0,2}})[\s{_BIDI}]*"
                       r"[:\uff1a](?!//)")

# A clock time: digits and colons, optionally a fraction. Its *shape* makes it a
# timestamp; whether it is a valid time is checked afterwards (bad_timestamp).
_CLOCK = r"\d+(?::\d+)+(?:[.,]\d+)?"
_TIMESTAMP_RE = re.compile(
    rf"\[\s*(?P<square>{_CLOCK})\s*\]|\(\s*(?P<round>{_CLOCK})\s*\)|(?P<bare>{_CLOCK})(?=\s)")


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class ParsedSegment:
    """One speaker turn.

    ``speaker`` is the label as written, upper-cased (``"p3"`` -> ``"P3"``), or
    None when the text had no speaker. ``line`` is the 1-based line of the
    input where the turn starts, so the page can point at it.
    """
    speaker: str | None
    text: str
    start_seconds: int | None
    line: int


@dataclass(frozen=True)
class ParseIssue:
    """Something to check on ``line``; ``kind`` is one of ISSUE_KINDS.

    ``speaker`` is set for ``unknown_speaker`` (upper-cased, as in the segment);
    ``text`` is the offending input line, trimmed.
    """
    line: int
    kind: str
    speaker: str | None
    text: str


@dataclass(frozen=True)
class ParseResult:
    """Segments in input order, and the issues found on the way (sorted by line)."""
    segments: tuple[ParsedSegment, ...]
    issues: tuple[ParseIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass
class _Draft:
    speaker: str | None
    start_seconds: int | None
    line: int
    parts: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)


class _Collector:
    """Segments under construction plus their issues; shared by both parsers."""

    def __init__(self, known_speakers: Iterable[str] | Speakers, joiner: str):
        self.speakers = (known_speakers if isinstance(known_speakers, Speakers)
                         else Speakers.of(known_speakers))
        self.joiner = joiner
        self.drafts: list[_Draft] = []
        self.issues: list[ParseIssue] = []
        self.unknown: set[str] = set()

    def speaker(self, written: str, *, voice: bool = False) -> str | None:
        """The label for a written speaker, upper-cased when not on the roster; None when
        ``written`` is prose rather than a speaker (a voice tag is always a speaker)."""
        resolved = self.speakers.resolve(written)
        if resolved is not None:
            return resolved
        if voice or looks_like_speaker(written):
            label = " ".join(written.split()).upper()
            self.unknown.add(label)
            return label
        return None

    def issue(self, line: int, kind: str, text: str, speaker: str | None = None) -> None:
        self.issues.append(ParseIssue(line, kind, speaker, text.strip()))

    def start(self, speaker: str | None, start_seconds: int | None, line: int, text: str,
              raw: str) -> None:
        """Open a new segment; flag its speaker if it is missing or not on the list."""
        if speaker is None:
            self.issue(line, "no_speaker", raw)
        elif speaker in self.unknown:
            self.issue(line, "unknown_speaker", raw, speaker)
        draft = _Draft(speaker, start_seconds, line)
        draft.add(text)
        self.drafts.append(draft)

    def continue_or_start(self, text: str, line: int, raw: str,
                          start_seconds: int | None = None) -> None:
        """Add speakerless text to the current segment; before any, open one with no speaker."""
        if self.drafts:
            self.drafts[-1].add(text)
        else:
            self.start(None, start_seconds, line, text, raw)

    def result(self) -> ParseResult:
        segments = tuple(ParsedSegment(d.speaker, self.joiner.join(d.parts), d.start_seconds,
                                       d.line) for d in self.drafts)
        issues = tuple(sorted(self.issues, key=lambda i: i.line))  # stable: same-line order kept
        return ParseResult(segments, issues)


def _lines(text: str) -> list[str]:
    # Windows (\r\n) and old Mac (\r) endings; not str.splitlines, which also splits on
    # \x0c, \x85 and \u2028 and would make line numbers disagree with the editor's.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", text).split("\n")


def _blank(line: str) -> bool:
    return _BLANK_RE.fullmatch(line) is not None


def _clock_seconds(clock: str) -> int | None:
    """Whole seconds in ``[h:]mm:ss[.fff]``, or None when it is not a time.

    ``mm:ss`` may have more than 60 minutes (recorders show 75:10 for a long
    group); ``h:mm:ss`` needs minutes and seconds under 60 and at most two hour
    digits. The fraction is dropped (floor).
    """
    whole = re.split(r"[.,]", clock)[0]
    parts = [int(p) for p in whole.split(":")]   # int() reads Arabic-Indic digits too
    sizes = [len(p) for p in whole.split(":")]
    if len(parts) == 2:
        (minutes, seconds), hours = parts, 0
        if sizes[0] > 3:
            return None
    elif len(parts) == 3:
        hours, minutes, seconds = parts
        if sizes[0] > 2 or sizes[1] > 2 or minutes >= 60:
            return None
    else:
        return None
    if sizes[-1] > 2 or seconds >= 60:
        return None
    return hours * 3600 + minutes * 60 + seconds


# ----------------------------------------------------------------------------- quick entry

def parse_quick_entry(text: str, known_speakers: Iterable[str]) -> ParseResult:
    """Read a transcript typed as one speaker turn per line.

    A turn starts with ``LABEL:`` (or ``LABEL：`` with a full-width colon; spaces
    around the label are fine), optionally preceded by a timestamp ``[00:12:31]``,
    ``[12:31]``, ``(12:31)`` or a bare ``00:12:31``::

        [00:12:31] P3: We never see the council here.
        F1: Why do you think that is?

    ``known_speakers`` is a :class:`~surveyapp.domain.speakers.Speakers` (labels and
    the roster's real names) or just the labels. A line-start ``label:`` is a
    speaker when it resolves to a known label (case-insensitive; a roster real
    name, full or first, becomes that participant's pseudonym) or when
    :func:`~surveyapp.domain.speakers.looks_like_speaker` says so: a pseudonym's
    shape (``P13``) or 1-3 capitalised words (``Moderator``, ``Guest Speaker``).
    Such a speaker who is not known starts a segment *and* raises
    ``unknown_speaker``: never are their words credited to the previous speaker.
    Otherwise the line is ordinary text, so ``Note: the room was cold``,
    ``Q: ...``, ``so what I mean is: ...`` or a link continue the turn.

    A line without a speaker continues the previous turn, joined with a newline
    so paragraphs stay; blank lines are skipped and do not end a turn. If the
    first text has no speaker it becomes a segment with speaker None and a
    ``no_speaker`` issue. A bracketed timestamp always starts a new turn (with
    ``no_speaker`` if no label follows); a bare clock time only counts when a
    speaker follows, since ``12:30 we went in`` is prose. A timestamp that is not
    a time (``[99:99:99]``, ``[1:2:3:4]``) raises ``bad_timestamp`` and the
    segment keeps its text with ``start_seconds`` None. Each line is stripped;
    spaces inside it are kept.
    """
    collected = _Collector(known_speakers, "\n")
    for number, raw in enumerate(_lines(text), start=1):
        if _blank(raw):
            continue
        line = raw.strip()
        stamp = _TIMESTAMP_RE.match(line)
        rest = line[stamp.end():] if stamp else line
        label = _LABEL_RE.match(rest)
        speaker = collected.speaker(label.group("label")) if label else None
        if stamp and stamp.group("bare") and speaker is None:
            stamp, rest = None, line
        if stamp is None and speaker is None:
            collected.continue_or_start(line, number, line)
            continue
        start_seconds = None
        if stamp:
            start_seconds = _clock_seconds(stamp.group("square") or stamp.group("round")
                                           or stamp.group("bare"))
            if start_seconds is None:
                collected.issue(number, "bad_timestamp", line)
        body = rest[label.end():] if speaker else rest
        collected.start(speaker, start_seconds, number, body.strip(), line)
    return collected.result()


# ----------------------------------------------------------------------------- WebVTT

_VTT_HEADER_RE = re.compile(r"WEBVTT(?:[ \t]|$)")
_VTT_TIMING_RE = re.compile(
    r"\s*(?P<start>(?:\d+:)?\d+:\d+(?:[.,]\d+)?)\s*-->\s*(?:\d+:)?\d+:\d+(?:[.,]\d+)?")
# <v P3>, <v.loud P3>, </v>: the annotation after the classes names the voice.
_VOICE_RE = re.compile(r"<v(?:\.[^\s<>]*)?(?:[ \t]+(?P<voice>[^<>]*))?>|</v\s*>")
# Every other cue tag: <c.yellow>, </c>, <i>, <b>, <u>, <lang en>, <ruby>, <rt>, and
# timestamps <00:00:01.000>. A stray "<" in text (invalid, but seen) is left alone.
_TAG_RE = re.compile(r"</?(?:[A-Za-z]+(?:\.[^\s<>]*)?(?:[ \t][^<>]*)?|\d+(?::\d+)+(?:\.\d+)?)>")
_ENTITY_RE = re.compile(r"&(?:(?P<name>amp|lt|gt|nbsp|lrm|rlm|quot|apos)|#(?P<dec>\d{1,7})"
                        r"|#[xX](?P<hex>[0-9A-Fa-f]{1,6}));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "nbsp": "\u00a0", "lrm": "\u200e",
             "rlm": "\u200f", "quot": '"', "apos": "'"}


def _entity(match: re.Match) -> str:
    if match.group("name"):
        return _ENTITIES[match.group("name")]
    code = int(match.group("dec")) if match.group("dec") else int(match.group("hex"), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return match.group(0)
    return chr(code)


def _cue_text(fragment: str) -> str:
    """Tags stripped, entities decoded (in that order, so ``&lt;i&gt;`` stays text),
    whitespace collapsed: a cue's line breaks are only where the player wrapped."""
    return " ".join(_ENTITY_RE.sub(_entity, _TAG_RE.sub("", fragment)).split())


def _vtt_blocks(lines: list[str]) -> Iterable[tuple[int, list[str]]]:
    """(1-based line of the first line, lines) for each run of non-blank lines after the header."""
    index = 1
    # Header lines ("Kind: captions", "Language: en") run to the first blank line; a
    # timing line there means the writer forgot the blank line, so cues start at it.
    while index < len(lines) and not _blank(lines[index]) and "-->" not in lines[index]:
        index += 1
    block: list[str] = []
    first = 0
    for number, line in enumerate(lines[index:], start=index + 1):
        if _blank(line):
            if block:
                yield first, block
            block = []
            continue
        if not block:
            first = number
        block.append(line)
    if block:
        yield first, block


def _is_vtt_metadata(first_line: str) -> bool:
    head = first_line.strip()
    return (head == "NOTE" or head.startswith(("NOTE ", "NOTE\t"))
            or head in {"STYLE", "REGION"})


def parse_webvtt(text: str, known_speakers: Iterable[str]) -> ParseResult:
    """Read a WebVTT captions file (from a call recording) into speaker turns.

    The file must start with ``WEBVTT`` (a byte-order mark before it is fine),
    else ``ValueError("not a WebVTT file: ...")``. Header lines, NOTE, STYLE and
    REGION blocks are skipped. Each cue is an optional identifier line, a timing
    line (``00:01:02.345 --> 00:01:05.000``; hours optional) and payload lines.

    The speaker of a cue's text is the voice of a ``<v P3>`` / ``<v.loud P3>``
    tag; failing that, a ``P3: text`` prefix by the same rule as quick entry;
    failing that, the text continues the previous turn (the first text of the
    file with no speaker gets ``no_speaker``). A voice is resolved like a quick
    entry label, so a recording tool's real name from the roster (``<v Amina
    Hassan>``, or ``<v amina>``) comes back as her pseudonym and never as the
    name; any other voice (``<v Guest Speaker>``) is upper-cased with
    ``unknown_speaker``, for the facilitator to map or add. Other tags are stripped; ``&amp; &lt; &gt; &nbsp; &lrm; &rlm;`` (and
    ``&quot; &apos;`` and numeric references) are decoded; whitespace is
    collapsed to single spaces.

    Consecutive cues by the same speaker are merged into one segment, joined
    with a space: caption tools cut one turn into many short cues. A segment's
    ``start_seconds`` is the floor of its first cue's start and ``line`` the
    line of its first text. A cue whose timing does not parse keeps its text,
    raises ``bad_timestamp`` and contributes no start time; so does a block with
    no timing line at all, whose lines are all taken as text.
    """
    lines = _lines(text)
    if not _VTT_HEADER_RE.match(lines[0]):
        raise ValueError(f"not a WebVTT file: the first line is {lines[0][:40]!r}, "
                         "not 'WEBVTT'")
    collected = _Collector(known_speakers, " ")
    for first, block in _vtt_blocks(lines):
        if _is_vtt_metadata(block[0]):
            continue
        timing_at = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        start_seconds = None
        if timing_at is None:
            collected.issue(first, "bad_timestamp", block[0])
            payload_at = 0
        else:
            timing = _VTT_TIMING_RE.match(block[timing_at])
            start_seconds = _clock_seconds(timing.group("start")) if timing else None
            if start_seconds is None:
                collected.issue(first + timing_at, "bad_timestamp", block[timing_at])
            payload_at = timing_at + 1
        _read_cue(collected, block[payload_at:], first + payload_at, start_seconds)
    return collected.result()


def _read_cue(collected: _Collector, payload: list[str], first_line: int,
              start_seconds: int | None) -> None:
    voice: str | None = None     # a <v> span may run over several lines, to </v> or the end
    for number, raw in enumerate(payload, start=first_line):
        position = 0
        pieces: list[tuple[str | None, str]] = []
        for tag in _VOICE_RE.finditer(raw):
            pieces.append((voice, raw[position:tag.start()]))
            written = _cue_text(tag.group("voice") or "")
            voice = collected.speaker(written, voice=True) if written else None
            position = tag.end()
        pieces.append((voice, raw[position:]))
        for piece_voice, fragment in pieces:
            words = _cue_text(fragment)
            if not words:
                continue
            speaker = piece_voice
            if speaker is None:
                label = _LABEL_RE.match(words)
                speaker = collected.speaker(label.group("label")) if label else None
                if speaker is not None:
                    words = words[label.end():].strip()
            current = collected.drafts[-1] if collected.drafts else None
            if speaker is None or (current is not None and current.speaker == speaker):
                collected.continue_or_start(words, number, raw, start_seconds)
            else:
                collected.start(speaker, start_seconds, number, words, raw)


# ----------------------------------------------------------------------------- back to text

def format_clock(seconds: int | None) -> str:
    """``hh:mm:ss`` for whole seconds; ``""`` for None."""
    if seconds is None:
        return ""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def relabel(segments: Iterable[ParsedSegment], labels: Mapping[str, str]) -> tuple[ParsedSegment, ...]:
    """``segments`` with each speaker in ``labels`` replaced by its new label."""
    return tuple(replace(s, speaker=labels[s.speaker]) if s.speaker in labels else s
                 for s in segments)


def _written_speaker(speaker: str) -> str:
    """A speaker as a quick-entry label that reads back as the same speaker: at most
    three words, letters first; "GUEST" when nothing of the voice would read back."""
    words = re.findall(_WORD, speaker)[:3]
    written = " ".join(words)
    if written and looks_like_speaker(written):
        return written
    return "GUEST"


@dataclass(frozen=True)
class QuickText(ParseResult):
    """A :class:`ParseResult` together with the quick-entry text it was read from."""
    quick_text: str = ""


def as_quick_entry(result: ParseResult, speakers: Iterable[str] | Speakers) -> QuickText:
    """A parsed file (WebVTT) written out as quick-entry text, and that text parsed again.

    Returns the :class:`ParseResult` of the quick-entry text, with the text in
    ``quick_text``: one line per segment, ``[hh:mm:ss] LABEL: text``, so that the
    page can show it, point at its lines, and save it once fixed. Speakers were
    resolved already (a roster real name is its pseudonym by now, and is not in the
    text); a voice that would not read back as a label is written ``GUEST``. A
    timing that could not be read stays flagged, on the line of the segment it
    belongs to.
    """
    lines = []
    for segment in result.segments:
        stamp = f"[{format_clock(segment.start_seconds)}] " if segment.start_seconds is not None else ""
        who = f"{_written_speaker(segment.speaker)}: " if segment.speaker else ""
        lines.append(stamp + who + segment.text)
    text = "\n".join(lines)
    again = parse_quick_entry(text, speakers)
    starts = [segment.line for segment in result.segments]
    extra = []
    for issue in result.issues:
        if issue.kind == "bad_timestamp" and starts:
            at = next((i for i, line in enumerate(starts) if line >= issue.line), len(starts) - 1)
            extra.append(ParseIssue(at + 1, "bad_timestamp", None, lines[at]))
    issues = tuple(sorted(again.issues + tuple(extra), key=lambda i: i.line))
    return QuickText(again.segments, issues, text)


# ----------------------------------------------------------------------------- uploads

def decode_upload(data: bytes) -> str:
    """Text of an uploaded transcript file, with ``\\n`` line endings.

    UTF-16 when it starts with a UTF-16 byte-order mark (Notepad's "Unicode"),
    else UTF-8 (a BOM is dropped), else Windows-1252, which is what older Word
    and Notepad exports in our languages' Latin scripts usually are. Never fails:
    bytes that are not Windows-1252 either are read as Latin-1.
    """
    encodings = ["utf-8-sig", "cp1252", "latin-1"]   # latin-1 decodes any bytes: never fails
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings.insert(0, "utf-16")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


# ----------------------------------------------------------------------------- redaction

@dataclass(frozen=True)
class Finding:
    """Possible personal data at ``text[start:end]``; ``kind`` is one of FINDING_KINDS.

    ``suggestion`` is what to put instead: the speaker's pseudonym for a
    ``roster_name`` (``"P3"``), else ``"[redacted]"``.
    """
    kind: str
    text: str
    start: int
    end: int
    suggestion: str


# Overlapping findings: the first kind in this order wins, then the longer match.
_KIND_RANK = {kind: rank for rank, kind in enumerate(FINDING_KINDS)}

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,}(?![A-Za-z0-9-])")
# Digits (any script: \d includes ٠-٩) with at most three separators between each pair,
# after an optional "+" and "(". Not after a digit, "+", or "12:"/"3/" (times, fractions).
_PHONE_RE = re.compile(r"(?<![\d+])(?<!\d[:/])(?:\+[ \t]?)?\(?\d(?:[ \t.\-()\u00a0]{0,3}\d)*")
_DATE_RE = re.compile(r"\d{1,2}([-./ ])\d{1,2}\1(?:\d{4}|\d{2})|\d{4}([-./ ])\d{1,2}\2\d{1,2}")
_MIN_PHONE_DIGITS = 7


def _is_phone(candidate: str) -> bool:
    """7+ digits that are not a date (12.03.2024), a run of years (2019-2024, 2019 2020)
    or single digits counted out (1 2 3 4 5 6 7)."""
    groups = re.findall(r"\d+", candidate)
    if sum(len(g) for g in groups) < _MIN_PHONE_DIGITS:
        return False
    if all(len(g) == 1 for g in groups):
        return False
    if _DATE_RE.fullmatch(candidate.lstrip("+(")):
        return False
    return not all(len(g) == 4 and int(g) // 100 in (19, 20) for g in groups)


# A name is matched between non-letters. Python's \w also counts digits and "_", and
# does not count Arabic vowel marks, so spell out "letter or combining mark" instead.
_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
_NOT_AFTER_LETTER = rf"(?<![^\W\d_])(?<![{_MARKS}])"
_NOT_BEFORE_LETTER = rf"(?![^\W\d_]|[{_MARKS}])"
# Letters people write interchangeably in Arabic names: hamza forms of alef, final
# ya/alef maqsura, ta marbuta/ha. The pattern accepts either, so offsets stay exact.
_ARABIC_VARIANTS = {
    **dict.fromkeys("اأإآ", "[اأإآ]"), **dict.fromkeys("يى", "[يى]"),
    **dict.fromkeys("ةه", "[ةه]"),
}


def _name_pattern(name: str) -> str:
    out = []
    for char in name:
        if char.isspace():
            if not out or out[-1] != r"\s+":
                out.append(r"\s+")
        elif char in "'’":
            out.append("['’]")
        elif char in _ARABIC_VARIANTS:
            out.append(_ARABIC_VARIANTS[char] + rf"[{_MARKS}\u0640]*")
        elif "\u0600" <= char <= "\u06ff":
            # Vowel marks and the tatweel may sit after any Arabic letter.
            out.append(re.escape(char) + rf"[{_MARKS}\u0640]*")
        else:
            out.append(re.escape(char))
    return "".join(out)


_NAME_TOKEN_RE = re.compile(rf"(?:[^\W\d_]|[{_MARKS}\u0640])+")
_FOLD = str.maketrans({**{c: "ا" for c in "أإآ"}, "ى": "ي", "ة": "ه", "’": "'"})
_MARK_RE = re.compile(rf"[{_MARKS}\u0640]")


def _fold(word: str) -> str:
    """A word as the name patterns compare it: lower case, Arabic spelling variants
    and vowel marks evened out."""
    return _MARK_RE.sub("", word.lower().translate(_FOLD))


class RosterNames:
    """The roster's real names, prepared once to be looked for in many segments.

    ``roster_names`` maps a participant's real name to their pseudonym. Each form
    to look for (the full name; the first name alone when it has 3 or more letters)
    is compiled once and indexed by its first word, so a text is read once, word by
    word, whatever the size of the roster: no loop over names per segment.
    """

    def __init__(self, roster_names: Mapping[str, str]):
        wanted: dict[str, set[str]] = {}        # form to look for -> pseudonyms it may mean
        for real_name, pseudonym in roster_names.items():
            parts = real_name.split()
            if not parts:
                continue
            wanted.setdefault(" ".join(parts), set()).add(pseudonym)
            if len(parts) > 1 and sum(c.isalpha() for c in parts[0]) >= 3:
                wanted.setdefault(parts[0], set()).add(pseudonym)
        self._by_first_word: dict[str, list[tuple[re.Pattern, str]]] = {}
        for form, pseudonyms in sorted(wanted.items(), key=lambda item: -len(item[0])):
            first = _NAME_TOKEN_RE.search(form)
            if first is None:
                continue
            # A first name two roster people share could be either: redact, but do not guess.
            suggestion = next(iter(pseudonyms)) if len(pseudonyms) == 1 else REDACTED
            pattern = re.compile(_name_pattern(form) + _NOT_BEFORE_LETTER, re.IGNORECASE)
            self._by_first_word.setdefault(_fold(first.group()), []).append((pattern, suggestion))

    def findings(self, text: str) -> list[Finding]:
        if not self._by_first_word:
            return []
        found = []
        for word in _NAME_TOKEN_RE.finditer(text):   # a word starts after a non-letter
            for pattern, suggestion in self._by_first_word.get(_fold(word.group()), ()):
                match = pattern.match(text, word.start())
                if match:
                    found.append(Finding("roster_name", match.group(), match.start(), match.end(),
                                         suggestion))
        return found


# Words that look like names but are not: they split a run of capitalised words.
_NOT_NAMES = frozenset("""
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April
    May June July August September October November December Ramadan Eid Christmas Easter
    Diwali God Allah English Arabic French Spanish Somali Urdu Kurdish Muslim Christian
    Jewish British Mr Mrs Ms Miss Mx Dr Officer PC Sgt Sergeant Councillor Imam Pastor Sheikh
    Facebook WhatsApp Instagram Google Zoom YouTube TikTok
""".split())
# Words that make the whole run a place or an organisation ("Riverside Youth Club").
_PLACE_WORDS = frozenset("""
    Street St Road Rd Avenue Ave Lane Close Drive Way Park Square Estate Gardens Court
    Bridge Centre Center Hall Hub House Tower Library School Academy College University
    Hospital Clinic Surgery Mosque Church Temple Chapel Station Market Council Police
    Community Group Club Trust Project Programme Association Society Foundation Network
    Service Services Department Ministry Office Team Housing Health Youth City Town
    Village Month Week Day Festival
""".split())
_TITLES = r"Mr|Mrs|Ms|Miss|Mx|Dr|Officer|PC|Sgt|Sergeant|Councillor|Imam|Pastor|Sheikh"
_CUE_RE = re.compile(
    rf"(?:\b(?i:called|named|(?:my|our)\s+neighbou?r),?|\b(?:{_TITLES})\b\.?)[ \t]+")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
# What, between two words, means the second starts a sentence (or a quotation).
_SENTENCE_BREAKS = frozenset('.!?…:"“”«»‘\n')
_MAX_NAME_WORDS = 3
_NON_LATIN_LANGUAGES = frozenset({
    "ar", "fa", "ur", "ps", "sd", "he", "yi", "dv", "ckb", "ru", "uk", "be", "bg", "mk",
    "el", "ka", "hy", "am", "ti", "hi", "mr", "ne", "bn", "pa", "gu", "ta", "te", "kn",
    "ml", "si", "th", "lo", "km", "my", "zh", "ja", "ko",
})


def _latin_script(language: str) -> bool:
    """Whether ``language`` (a BCP 47 tag) is written in Latin script: a script
    subtag decides (``ku-Latn``, ``sr-Cyrl``), else the language's usual script."""
    subtags = re.split(r"[-_]", language.strip())
    script = next((s for s in subtags[1:] if len(s) == 4 and s.isalpha()), None)
    if script is not None:
        return script.lower() == "latn"
    return subtags[0].lower() not in _NON_LATIN_LANGUAGES


def _capitalised(word: str) -> bool:
    """Title-case Latin word: ``John``, ``O'Brien``, ``McDonald``, ``José``; not ``I``, ``NHS``."""
    return (word[0].isupper() and any(c.islower() for c in word[1:])
            and all("LATIN" in unicodedata.name(c, "") for c in word if c.isalpha()))


def _name_run(words: list[re.Match], text: str, at: int) -> list[re.Match]:
    """The capitalised words from ``words[at]`` on, one space apart (no punctuation)."""
    run: list[re.Match] = []
    for index in range(at, len(words)):
        word = words[index]
        if not _capitalised(word.group()) or word.group() in _NOT_NAMES:
            break
        if run and text[run[-1].end():word.start()] not in {" ", "\u00a0"}:
            break
        run.append(word)
    return run


def _as_finding(run: list[re.Match], text: str) -> Finding | None:
    if not 1 <= len(run) <= _MAX_NAME_WORDS:
        return None
    if any(word.group() in _PLACE_WORDS for word in run):
        return None
    start, end = run[0].start(), run[-1].end()
    return Finding("capitalised_name", text[start:end], start, end, REDACTED)


def _capitalised_findings(text: str) -> list[Finding]:
    """Names nobody put on the roster, by two cautious rules.

    1. After a cue (``called``, ``named``, ``my``/``our neighbour``, or a title:
       Mr, Mrs, Ms, Miss, Mx, Dr, Officer, PC, Sgt, Sergeant, Councillor, Imam,
       Pastor, Sheikh): the 1-3 capitalised words that follow. The title itself
       is kept ("Officer [redacted]"): who it was matters to the study.
    2. Anywhere else: a run of exactly 2-3 capitalised words, one space apart,
       mid-sentence ("we met John Smith at"). A sentence's first word is left
       out of the run, so "Yesterday John Smith came" flags "John Smith" and
       "John Smith came" flags nothing.

    Days, months, festivals, languages, faiths, titles and a few app names are
    never part of a name. A run of more than three words, or one containing a
    place or organisation word (Street, Centre, Council, Police, Club, ...), is
    taken as a place or organisation and not flagged.
    """
    words = list(_WORD_RE.finditer(text))
    starts = {word.start(): index for index, word in enumerate(words)}
    findings: list[Finding] = []
    for cue in _CUE_RE.finditer(text):
        if cue.end() in starts:
            finding = _as_finding(_name_run(words, text, starts[cue.end()]), text)
            if finding:
                findings.append(finding)
    index = 0
    while index < len(words):
        run = _name_run(words, text, index)
        if not run:
            index += 1
            continue
        gap = text[words[index - 1].end():run[0].start()] if index else "\n"
        candidates = run[1:] if _SENTENCE_BREAKS.intersection(gap) else run
        if len(candidates) >= 2:
            finding = _as_finding(candidates, text)
            if finding:
                findings.append(finding)
        index += len(run)
    return findings


_NO_ROSTER: Mapping[str, str] = MappingProxyType({})


def find_personal_data(text: str, roster_names: Mapping[str, str] | RosterNames = _NO_ROSTER, *,
                       language: str = "en") -> list[Finding]:
    """Spans of ``text`` that may identify someone, sorted by start, never overlapping.

    * ``email``: ``name@domain.tld`` (ASCII addresses; Arabic around them is fine).
    * ``phone``: 7 or more digits, in any script (``٠٦١٢٣٤٥٦٧٨``), with spaces,
      dashes, dots or parentheses between them and an optional leading ``+``:
      ``+44 20 7946 0000``, ``(555) 123-4567``, ``0612345678``. Years, clock
      times and short numbers are too short or broken by ``:``; dates
      (``12.03.2024``), runs of years (``2019-2024``) and digits counted one by
      one are left out. Amounts grouped by spaces (``1 500 000``) are flagged:
      better one click to dismiss than a number left in.
    * ``roster_name``: ``roster_names`` maps a participant's real name to their
      pseudonym (``{"Amina Hassan": "P3"}``). The full name matches, and the
      first name alone when it has 3 or more letters; case-insensitive, between
      non-letters (so Arabic script works too; alef/ya/ta-marbuta spellings and
      vowel marks are tolerated). The suggestion is the pseudonym, or
      ``[redacted]`` for a first name two roster people share. Pass a
      :class:`RosterNames` to prepare the roster once for many texts.
    * ``capitalised_name``: other names, by the rules of
      :func:`_capitalised_findings`; only for Latin-script ``language``\\ s.

    Where findings overlap, email beats phone beats roster_name beats
    capitalised_name, then the longer one wins.
    """
    candidates = [Finding("email", m.group(), m.start(), m.end(), REDACTED)
                  for m in _EMAIL_RE.finditer(text)]
    for match in _PHONE_RE.finditer(text):
        start, end = match.span()
        if "(" in match.group() and ")" not in match.group():
            # "(07700 900123)": the closing bracket is not part of the number, so the
            # opening one is not either; redacting one of the pair would look broken.
            start = text.index("(", start) + 1
        if _is_phone(text[start:end]):
            candidates.append(Finding("phone", text[start:end], start, end, REDACTED))
    if not isinstance(roster_names, RosterNames):
        roster_names = RosterNames(roster_names)
    candidates += roster_names.findings(text)
    if _latin_script(language):
        candidates += _capitalised_findings(text)
    candidates.sort(key=lambda f: (_KIND_RANK[f.kind], f.start - f.end, f.start))
    # Kept findings never overlap, so sorted by start their ends are sorted too: a
    # newcomer only has to be checked against its two neighbours (not against all).
    kept: list[Finding] = []
    starts: list[int] = []
    for finding in candidates:
        at = bisect.bisect_left(starts, finding.start)
        if at and kept[at - 1].end > finding.start:
            continue
        if at < len(kept) and kept[at].start < finding.end:
            continue
        starts.insert(at, finding.start)
        kept.insert(at, finding)
    return kept


def text_digest(text: str) -> str:
    """A short fingerprint of a segment's text: a form built from it can tell, when it
    comes back, whether the segment was edited in the meantime."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def apply_redactions(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each finding's span replaced by its ``suggestion``.

    Findings may come in any order and repeat; one that overlaps a finding
    starting earlier (or the same span, longer first) is ignored. Replacements
    run right to left so earlier offsets stay valid. A finding whose span no
    longer holds its ``text`` (the segment was edited since) raises
    ``ValueError`` rather than redact the wrong words and leave the right ones.
    """
    chosen: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, f.start - f.end)):
        if not 0 <= finding.start <= finding.end <= len(text) or \
                text[finding.start:finding.end] != finding.text:
            raise ValueError(f"finding {finding.text!r} at {finding.start}-{finding.end} "
                             "does not match the text; find personal data again")
        if chosen and finding.start < chosen[-1].end:
            continue
        chosen.append(finding)
    for finding in reversed(chosen):
        text = text[:finding.start] + finding.suggestion + text[finding.end:]
    return text
