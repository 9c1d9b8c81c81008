"""Transcripts: quick entry, WebVTT import, upload decoding and the redaction assist. No app."""
import pytest

from surveyapp.domain.speakers import Speakers
from surveyapp.domain.transcripts import (
    Finding, ParseIssue, ParsedSegment, apply_redactions, decode_upload, find_personal_data,
    parse_quick_entry, parse_webvtt,
)

KNOWN = ["P1", "P2", "P3", "F1", "FAC"]
ROSTER = {"Amina Hassan": "P3", "Tom Brown": "P1"}


def segments(result):
    return [(s.speaker, s.text, s.start_seconds, s.line) for s in result.segments]


def issues(result):
    return [(i.line, i.kind, i.speaker) for i in result.issues]


# ----------------------------------------------------------------------------- quick entry

@pytest.mark.parametrize("text, expected_segments, expected_issues", [
    pytest.param(
        "F1: What does the council do here?\nP1: Not much.\np2: They fixed the lights.",
        [("F1", "What does the council do here?", None, 1), ("P1", "Not much.", None, 2),
         ("P2", "They fixed the lights.", None, 3)],
        [], id="well-formed"),
    pytest.param("[00:12:31] P3: Yes.", [("P3", "Yes.", 751, 1)], [], id="timestamp-[hh:mm:ss]"),
    pytest.param("[12:31] P3: Yes.", [("P3", "Yes.", 751, 1)], [], id="timestamp-[mm:ss]"),
    pytest.param("00:12:31 P3: Yes.", [("P3", "Yes.", 751, 1)], [], id="timestamp-bare"),
    pytest.param("(12:31) P3: Yes.", [("P3", "Yes.", 751, 1)], [], id="timestamp-(mm:ss)"),
    pytest.param("[75:10] P3: Long group.", [("P3", "Long group.", 4510, 1)], [],
                 id="timestamp-minutes-past-the-hour"),
    pytest.param(
        "P1: First paragraph.\nSecond paragraph.\n  indented   text  \nP2: Next.",
        [("P1", "First paragraph.\nSecond paragraph.\nindented   text", None, 1),
         ("P2", "Next.", None, 4)],
        [], id="continuation-lines"),
    pytest.param(
        "P1: Hello.\nP9: I was not on the list.\nstill P9",
        [("P1", "Hello.", None, 1), ("P9", "I was not on the list.\nstill P9", None, 2)],
        [(2, "unknown_speaker", "P9")], id="unknown-speaker-flagged-and-kept"),
    pytest.param(
        "\n\nP1: One.\n\n   \nstill one\n\nP2: Two.\n",
        [("P1", "One.\nstill one", None, 3), ("P2", "Two.", None, 8)],
        [], id="blank-lines"),
    pytest.param(
        "P1: One.\r\nmore\r\n\r\nP2: Two.\r\n",
        [("P1", "One.\nmore", None, 1), ("P2", "Two.", None, 4)],
        [], id="windows-line-endings"),
    pytest.param(
        "P1: One.\rmore\rP2: Two.",
        [("P1", "One.\nmore", None, 1), ("P2", "Two.", None, 3)],
        [], id="old-mac-line-endings"),
    pytest.param(
        "P1: It was fine.\nNote: the room was cold\nQ: did anyone ask?\nhttps://example.org",
        [("P1", "It was fine.\nNote: the room was cold\nQ: did anyone ask?\nhttps://example.org",
          None, 1)],
        [], id="note-prose-is-not-a-speaker"),
    pytest.param(
        "P1：نعم، أوافق\nFAC ： شكرا",
        [("P1", "نعم، أوافق", None, 1), ("FAC", "شكرا", None, 2)],
        [], id="full-width-colon"),
    pytest.param(
        "\u200fP2: الشرطة لا تأتي",
        [("P2", "الشرطة لا تأتي", None, 1)],
        [], id="right-to-left-mark-before-label"),
    pytest.param(
        "We started late.\nP1: Sorry.",
        [(None, "We started late.", None, 1), ("P1", "Sorry.", None, 2)],
        [(1, "no_speaker", None)], id="no-speaker-on-first-line"),
    pytest.param(
        "[99:99:99] P1: One.\n[1:2:3:4] P2: Two.",
        [("P1", "One.", None, 1), ("P2", "Two.", None, 2)],
        [(1, "bad_timestamp", None), (2, "bad_timestamp", None)], id="bad-timestamp"),
    pytest.param(
        "P1: One.\n12:30 we went in.",
        [("P1", "One.\n12:30 we went in.", None, 1)],
        [], id="bare-time-without-speaker-is-prose"),
    pytest.param(
        "P1: One.\n[00:01:00] and then",
        [("P1", "One.", None, 1), (None, "and then", 60, 2)],
        [(2, "no_speaker", None)], id="bracketed-timestamp-without-speaker"),
    pytest.param(
        "M: Welcome.\nF2: Thanks.",
        [("M", "Welcome.", None, 1), ("F2", "Thanks.", None, 2)],
        [(1, "unknown_speaker", "M"), (2, "unknown_speaker", "F2")],
        id="pseudonym-shapes-are-speakers"),
])
def test_quick_entry(text, expected_segments, expected_issues):
    result = parse_quick_entry(text, KNOWN)
    assert segments(result) == expected_segments
    assert issues(result) == expected_issues
    assert result.ok is (expected_issues == [])


def test_issue_carries_the_offending_line_trimmed():
    result = parse_quick_entry("P1: hi\n   p7 :  who am I  \n", KNOWN)
    assert result.issues == (ParseIssue(2, "unknown_speaker", "P7", "p7 :  who am I"),)
    assert result.segments[1] == ParsedSegment("P7", "who am I", None, 2)


def test_known_speakers_are_case_insensitive_and_may_be_any_label():
    result = parse_quick_entry("interviewer: Hello?\nNote: a speaker here", ["Interviewer", "note"])
    assert [s.speaker for s in result.segments] == ["INTERVIEWER", "NOTE"]
    assert result.ok


def test_empty_text_has_no_segments():
    assert parse_quick_entry("\n  \n", KNOWN).segments == ()


# ----------------------------------------------------------------------------- WebVTT

CALL = """\ufeffWEBVTT - focus group 2, Riverside
Kind: captions
Language: en

NOTE recorded on the hall's laptop;
speakers set by the facilitator

STYLE
::cue(v[voice="F1"]) { color: yellow }

intro
00:00:01.500 --> 00:00:04.000 align:start position:10%
<v F1>Welcome, everyone &amp; thank you.</v>

00:00:04.000 --> 00:00:06.250
<v F1>Let's start with trust.</v>

3
00:00:07.900 --> 00:00:09.000
<v.loud P2>I don't <i>trust</i> them,
not since <00:00:08.500>last <c.yellow>year</c>.</v>

4
00:01:10.000 --> 00:01:12.000
<v P9>Me&nbsp;neither &lt;laughs&gt;</v>
"""


def test_webvtt_with_voice_tags():
    result = parse_webvtt(CALL, KNOWN)
    assert segments(result) == [
        ("F1", "Welcome, everyone & thank you. Let's start with trust.", 1, 13),
        ("P2", "I don't trust them, not since last year.", 7, 20),
        # &nbsp; decodes to U+00A0, which the whitespace collapse makes a plain space.
        ("P9", "Me neither <laughs>", 70, 25),
    ]
    assert result.issues == (
        ParseIssue(25, "unknown_speaker", "P9", "<v P9>Me&nbsp;neither &lt;laughs&gt;</v>"),)


def test_webvtt_with_speaker_prefixes_and_hours_less_timings():
    text = ("WEBVTT\r\n\r\n00:01.000 --> 00:03.000\r\nP1: We need a youth club.\r\n\r\n"
            "01:02.345 --> 01:05.000\r\np3: And lights &amp; benches.\r\n")
    result = parse_webvtt(text, KNOWN)
    assert segments(result) == [("P1", "We need a youth club.", 1, 4),
                                ("P3", "And lights & benches.", 62, 7)]
    assert result.ok


def test_webvtt_merges_consecutive_cues_by_the_same_speaker():
    text = """WEBVTT

00:00:01.000 --> 00:00:02.000
P1: One

00:00:02.000 --> 00:00:03.000
P1: two

00:00:03.000 --> 00:00:04.000
three, no speaker given

00:00:04.000 --> 00:00:05.000
<v P2>Four</v>

00:00:05.000 --> 00:00:06.000
<v P1>Five</v>
"""
    result = parse_webvtt(text, KNOWN)
    assert segments(result) == [("P1", "One two three, no speaker given", 1, 4),
                                ("P2", "Four", 4, 13), ("P1", "Five", 5, 16)]


def test_webvtt_two_voices_in_one_cue():
    text = "WEBVTT\n\n00:00:10.000 --> 00:00:12.000\n<v P1>Is it safe?\n<v P2>No.\n"
    assert segments(parse_webvtt(text, KNOWN)) == [("P1", "Is it safe?", 10, 4),
                                                  ("P2", "No.", 10, 5)]


@pytest.mark.parametrize("payload, expected", [
    ("<v P1><b>bold</b> and <u>under</u></v>", "bold and under"),
    ("<v P1><c.red.bg_black>coloured</c> <lang ar>مرحبا</lang></v>", "coloured مرحبا"),
    ("<v P1>one<00:00:01.200> two<00:00:01.400> three</v>", "one two three"),
    ("<v P1><ruby>漢<rt>kan</rt></ruby></v>", "漢kan"),
    ("<v P1>&lt;i&gt; is not a tag &amp;amp; stays</v>", "<i> is not a tag &amp; stays"),
    ("<v P1>&lrm;left &rlm;right</v>", "\u200eleft \u200fright"),
    ("<v P1>it&#39;s &quot;ok&quot;</v>", "it's \"ok\""),
    ("<v P1>5 < 6 > 4</v>", "5 < 6 > 4"),
])
def test_webvtt_tags_stripped_and_entities_decoded(payload, expected):
    text = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{payload}\n"
    assert segments(parse_webvtt(text, KNOWN)) == [("P1", expected, 1, 4)]


def test_webvtt_note_blocks_and_header_lines_are_skipped():
    text = ("WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:0\n\nNOTE\nP1: not a cue\n\n"
            "REGION\nid:left\n\n00:00:02.000 --> 00:00:03.000\nP2: real\n\nNOTE end\n")
    assert segments(parse_webvtt(text, KNOWN)) == [("P2", "real", 2, 11)]


def test_webvtt_without_speakers_keeps_the_text_flagged():
    text = ("WEBVTT\n\n00:00:02.000 --> 00:00:03.000\nauto caption\n\n"
            "00:00:03.000 --> 00:00:04.000\nmore\n")
    result = parse_webvtt(text, KNOWN)
    assert segments(result) == [(None, "auto caption more", 2, 4)]
    assert issues(result) == [(4, "no_speaker", None)]


def test_webvtt_bad_timing_keeps_the_cue():
    text = ("WEBVTT\n\n00:00:02.000 --> 00:00:03.000\nP1: fine\n\n"
            "00:99:00.000 --> 01:00:00.000\nP2: odd\n")
    result = parse_webvtt(text, KNOWN)
    assert segments(result) == [("P1", "fine", 2, 4), ("P2", "odd", None, 7)]
    assert issues(result) == [(6, "bad_timestamp", None)]


def test_webvtt_real_names_from_the_recording_tool_are_flagged():
    text = "WEBVTT\n\n00:00:02.000 --> 00:00:03.000\n<v Amina Hassan>Hello</v>\n"
    result = parse_webvtt(text, KNOWN)
    assert segments(result) == [("AMINA HASSAN", "Hello", 2, 4)]
    assert issues(result) == [(4, "unknown_speaker", "AMINA HASSAN")]


@pytest.mark.parametrize("text", ["", "1\n00:00:01,000 --> 00:00:02,000\nHello\n",
                                  "WEBVTTX\n", " WEBVTT\n"])
def test_webvtt_missing_header_is_refused(text):
    with pytest.raises(ValueError, match="^not a WebVTT file: "):
        parse_webvtt(text, KNOWN)


# ----------------------------------------------------------------------------- uploads

@pytest.mark.parametrize("data, expected", [
    ("\ufeffP1: café\r\nmore".encode("utf-8"), "P1: café\nmore"),
    ("P1: café\rmore".encode("cp1252"), "P1: café\nmore"),
    ("P1: “quoted”".encode("cp1252"), "P1: “quoted”"),
    ("P1: مرحبا\r\n".encode("utf-16"), "P1: مرحبا\n"),
    (b"P1: \x81", "P1: \x81"),
])
def test_decode_upload(data, expected):
    assert decode_upload(data) == expected


def test_plain_text_import_is_quick_entry_on_the_decoded_file():
    result = parse_quick_entry(decode_upload("P1: un café\r\nP2: oui".encode("cp1252")), KNOWN)
    assert segments(result) == [("P1", "un café", None, 1), ("P2", "oui", None, 2)]


# ----------------------------------------------------------------------------- redaction

def found(text, roster=None, language="en"):
    return [(f.kind, f.text, f.suggestion)
            for f in find_personal_data(text, roster or {}, language=language)]


@pytest.mark.parametrize("text, kind, match, suggestion", [
    ("write to amina.h+fg@example.co.uk please", "email", "amina.h+fg@example.co.uk",
     "[redacted]"),
    ("call +44 20 7946 0000 after six", "phone", "+44 20 7946 0000", "[redacted]"),
    ("call (555) 123-4567 after six", "phone", "(555) 123-4567", "[redacted]"),
    ("call 0612345678 after six", "phone", "0612345678", "[redacted]"),
    ("call 06.12.34.56.78 after six", "phone", "06.12.34.56.78", "[redacted]"),
    ("call 555-1234 after six", "phone", "555-1234", "[redacted]"),
    ("Amina Hassan runs the group", "roster_name", "Amina Hassan", "P3"),
    ("we met Jane Doe at the market", "capitalised_name", "Jane Doe", "[redacted]"),
    ("a man called Kevin shouted", "capitalised_name", "Kevin", "[redacted]"),
    ("my neighbour Fatima helps", "capitalised_name", "Fatima", "[redacted]"),
    ("Officer Jones came round", "capitalised_name", "Jones", "[redacted]"),
    ("then Mrs. O'Brien-Kelly said", "capitalised_name", "O'Brien-Kelly", "[redacted]"),
])
def test_each_kind_is_found_with_offsets_and_suggestion(text, kind, match, suggestion):
    (finding,) = find_personal_data(text, ROSTER)
    assert (finding.kind, finding.text, finding.suggestion) == (kind, match, suggestion)
    assert text[finding.start:finding.end] == match


@pytest.mark.parametrize("text", [
    "we moved here in 2024",
    "it starts at 12:30 or 12.30",
    "from 2019-2024 and 2019 2020 2021",
    "on 12.03.2024 or 2024-03-12",
    "we counted 1 2 3 4 5 6 7 chairs",
    "about 150 people, room 12, bus 123456",
    "between 10:30-11:45",
])
def test_years_times_and_short_numbers_are_not_phones(text):
    assert [f for f in find_personal_data(text) if f.kind == "phone"] == []


def test_arabic_indic_digits_are_phones():
    assert found("رقمي ٠٦١٢٣٤٥٦٧٨ شكرا") == [("phone", "٠٦١٢٣٤٥٦٧٨", "[redacted]")]


@pytest.mark.parametrize("text, expected", [
    ("amina said it was fine", [("roster_name", "amina", "P3")]),
    ("AMINA HASSAN said", [("roster_name", "AMINA HASSAN", "P3")]),
    ("Amina\nHassan said", [("roster_name", "Amina\nHassan", "P3")]),
    ("Tom came", [("roster_name", "Tom", "P1")]),
    ("Aminata and Tomas came", []),              # not a word on its own
    ("ask about Aminah's stall", []),
])
def test_roster_first_name_matches_on_word_boundaries(text, expected):
    assert found(text, ROSTER) == expected


def test_roster_short_or_shared_first_names():
    roster = {"Al Green": "P4", "Sara Ali": "P5", "Sara Omar": "P6"}
    assert found("Al came with Sara", roster) == [("roster_name", "Sara", "[redacted]")]
    assert found("Al Green came", roster) == [("roster_name", "Al Green", "P4")]


def test_roster_names_in_arabic_script():
    roster = {"أمينة حسن": "P3"}
    text = "قالت امينة إن أمينة حسن، وليس أمينتي، ستأتي"
    assert found(text, roster, "ar") == [("roster_name", "امينة", "P3"),
                                         ("roster_name", "أمينة حسن", "P3")]


def test_arabic_text_with_an_email():
    text = "راسلوني على amina@example.org شكرا"
    (finding,) = find_personal_data(text, language="ar")
    assert finding == Finding("email", "amina@example.org", 12, 29, "[redacted]")
    assert apply_redactions(text, [finding]) == "راسلوني على [redacted] شكرا"


@pytest.mark.parametrize("text", [
    "John Smith came to the meeting",           # sentence start: could be any capital
    "We went to Riverside Youth Club on Monday",
    "the Friends Of Riverside Park Association met",
    "I told the Council and the Police in May",
    "she speaks English and Arabic at the Mosque",
    "we asked the NHS and the UK Government",
    "he said: Come In and sit",
])
def test_capitalised_name_rule_keeps_false_positives_low(text):
    assert [f for f in find_personal_data(text) if f.kind == "capitalised_name"] == []


def test_capitalised_names_after_a_sentence_start_word():
    assert found("Yesterday Tom Jones came. Then Ana María Pérez spoke.") == [
        ("capitalised_name", "Tom Jones", "[redacted]"),
        ("capitalised_name", "Ana María Pérez", "[redacted]"),
    ]


@pytest.mark.parametrize("language", ["ar", "fa", "ur", "ru", "ku-Arab"])
def test_capitalised_names_only_for_latin_script_languages(language):
    assert found("we met Jane Doe at the market", language=language) == []


def test_capitalised_names_for_latin_script_tags():
    assert found("we met Jane Doe", language="ku-Latn") == [
        ("capitalised_name", "Jane Doe", "[redacted]")]


def test_findings_are_sorted_and_do_not_overlap():
    text = ("Amina Hassan (amina.hassan@example.org, 07700 900123) said we met "
            "Officer Tom Brown and John Smith.")
    result = find_personal_data(text, ROSTER)
    assert [(f.kind, f.text) for f in result] == [
        ("roster_name", "Amina Hassan"),
        ("email", "amina.hassan@example.org"),
        ("phone", "07700 900123"),
        ("roster_name", "Tom Brown"),
        ("capitalised_name", "John Smith"),
    ]
    assert all(a.end <= b.start for a, b in zip(result, result[1:]))


def test_apply_redactions():
    text = "Amina Hassan (07700 900123) said Officer Jones knows Tom."
    result = apply_redactions(text, find_personal_data(text, ROSTER))
    assert result == "P3 ([redacted]) said Officer [redacted] knows P1."


def test_apply_redactions_ignores_overlapping_duplicates_and_order():
    text = "call 0612345678 now"
    phone = Finding("phone", "0612345678", 5, 15, "[redacted]")
    part = Finding("phone", "2345", 8, 12, "[x]")
    assert apply_redactions(text, [part, phone, phone]) == "call [redacted] now"
    assert apply_redactions(text, []) == text


def test_apply_redactions_refuses_stale_findings():
    finding = Finding("roster_name", "Amina", 0, 5, "P3")
    with pytest.raises(ValueError):
        apply_redactions("Tom said hello", [finding])


# ----------------------------------------------------------------------------- speakers

SPEAKERS = Speakers.of(KNOWN, {"Amina Yusuf": "P3"})


@pytest.mark.parametrize("line, speaker", [
    ("Moderator: Shall we start?", "MODERATOR"), ("Guest: I am new here.", "GUEST"),
    ("Guest Speaker: Thanks for having me.", "GUEST SPEAKER"),
])
def test_a_label_not_in_the_roster_is_an_unknown_speaker_not_a_continuation(line, speaker):
    result = parse_quick_entry(f"P1: I moved here.\n{line}", KNOWN)
    assert [s.speaker for s in result.segments] == ["P1", speaker]
    assert issues(result) == [(2, "unknown_speaker", speaker)]


def test_prose_with_a_colon_still_continues_the_turn():
    text = ("P1: It was fine.\nso what I mean is: nobody came\nThe point: they left\n"
            "Note: cold room\nsee https://example.org")
    result = parse_quick_entry(text, KNOWN)
    assert [s.speaker for s in result.segments] == ["P1"] and result.ok


def test_a_roster_real_name_as_a_quick_entry_label_becomes_the_pseudonym():
    result = parse_quick_entry("Amina Yusuf: Hello.\namina: Again.", SPEAKERS)
    assert segments(result) == [("P3", "Hello.", None, 1), ("P3", "Again.", None, 2)]
    assert result.ok


def test_webvtt_roster_real_names_become_pseudonyms():
    text = ("WEBVTT\n\n00:00:02.000 --> 00:00:03.000\n<v Amina Yusuf>Hello</v>\n\n"
            "00:00:04.000 --> 00:00:05.000\n<v amina>again</v>\n\n"
            "00:00:06.000 --> 00:00:07.000\n<v Guest Speaker>Hi</v>\n")
    result = parse_webvtt(text, SPEAKERS)
    assert segments(result) == [("P3", "Hello again", 2, 4), ("GUEST SPEAKER", "Hi", 6, 10)]
    assert issues(result) == [(10, "unknown_speaker", "GUEST SPEAKER")]


def _seconds(work, repeat=3):
    import time
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def test_personal_data_search_grows_linearly_with_the_findings():
    """Eight times the findings in one text take about eight times as long, not 64 times
    (each finding used to be checked against every finding kept before it)."""
    def text(n):
        return " and ".join(f"mail{i}@example.org" for i in range(n))
    small, large = text(1000), text(8000)
    ratio = _seconds(lambda: find_personal_data(large)) / _seconds(lambda: find_personal_data(small))
    assert len(find_personal_data(large)) == 8000
    assert ratio < 24


def test_a_prepared_roster_is_read_once_per_text_whatever_its_size():
    """Searching with 40 times the names costs about the same: no loop over names per text."""
    from surveyapp.domain.transcripts import RosterNames
    texts = [f"P{i}: I told Amina Hassan and Tom about it, then went home." for i in range(300)]

    def roster(n):
        return RosterNames({"Amina Hassan": "P3", "Tom Brown": "P1",
                            **{f"Person{i} Surname{i}": f"P{i + 10}" for i in range(n)}})
    few, many = roster(25), roster(1000)
    assert [f.text for f in find_personal_data(texts[0], many)] == ["Amina Hassan", "Tom"]
    ratio = (_seconds(lambda: [find_personal_data(t, many) for t in texts])
             / _seconds(lambda: [find_personal_data(t, few) for t in texts]))
    assert ratio < 3
