"""Translatable text by key, and writing one language back without disturbing the file.

No app, no database."""
from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

import pytest

from surveyapp.domain.instrument_text import (
    UnknownKeys, apply_translations, changed_keys, find_instrument, instrument_header,
    translatable_strings)
from surveyapp.domain.instruments import InstrumentError, load_file, load_instrument
from tests.helpers import differing_block

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "instruments").glob("*.yaml"))


def read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def shipped_cases():
    for path in SHIPPED:
        for language in load_file(path).languages:
            yield pytest.param(path, language, id=f"{path.stem}-{language}")


def texts(entries, language):
    return {entry.key: entry.texts[language] for entry in entries if language in entry.texts}


def changed_lines(before: str, after: str) -> list[tuple[str, list[str], list[str]]]:
    """(opcode, old lines, new lines) for every difference between two texts."""
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [(tag, old[i1:i2], new[j1:j2])
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


# ----------------------------------------------------------------------------- the property

@pytest.mark.parametrize("path, language", list(shipped_cases()))
def test_applying_a_files_own_texts_gives_back_the_same_bytes(path, language):
    source = read(path)
    entries = translatable_strings(source)
    assert apply_translations(source, language, texts(entries, language)) == source


# ----------------------------------------------------------------------------- keys

def model_keys(instrument) -> set[str]:
    """Every text the loader knows about, keyed the way translatable_strings keys them."""
    keys = {"title", "consent"} | ({"description"} if instrument.description else set())
    for list_id, choice_list in instrument.choice_lists.items():
        keys |= {f"choice_lists.{list_id}.{choice.value}.label" for choice in choice_list.choices}
    for page in instrument.pages:
        if page.title:
            keys.add(f"pages.{page.id}.title")
    for section, questions in (("questions", instrument.questions),
                               ("session_fields", instrument.session_fields)):
        for q in questions:
            keys.add(f"{section}.{q.id}.label")
            keys |= {f"{section}.{q.id}.{name}" for name in ("hint", "constraint_message")
                     if getattr(q, name)}
            keys |= {f"{section}.{q.id}.items.{item.id}.label" for item in q.items}
    for prompt in instrument.prompts:
        keys.add(f"prompts.{prompt.id}.label")
        keys |= {f"prompts.{prompt.id}.probes.{n}" for n in range(1, len(prompt.probes) + 1)}
    for domain in instrument.scoring.domains if instrument.scoring else ():
        keys.add(f"scoring.domains.{domain.id}.label")
    return keys


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_text_the_loader_reads_has_exactly_one_key(path):
    entries = translatable_strings(read(path))
    keys = [entry.key for entry in entries]
    assert len(keys) == len(set(keys))
    assert set(keys) == model_keys(load_file(path))
    instrument = load_file(path)
    assert all(set(entry.texts) == set(instrument.languages) for entry in entries)


@pytest.mark.parametrize("file, key, context, english", [
    ("community-capacity", "title", "instrument title", "Community capacity assessment"),
    ("community-capacity", "pages.about_you.title", "page about_you", "About you"),
    ("community-capacity", "questions.years_here.label", "years_here (integer question, label)",
     "How many years have you lived in this neighbourhood?"),
    ("community-capacity", "questions.years_here.hint", "years_here (integer question, hint)",
     "If less than one year, enter 0."),
    ("community-capacity", "questions.years_here.constraint_message",
     "years_here (integer question, error message)",
     "The number of years cannot be more than your age. Please check it."),
    ("community-capacity", "questions.trust.items.police_listen.label",
     "police_listen (statement of matrix trust, label)", None),
    ("community-capacity", "choice_lists.agree5.3.label", "choice 3 of list agree5",
     "Neither agree nor disagree"),
    ("community-capacity", "choice_lists.yes_no.yes.label", "choice yes of list yes_no", "Yes"),
    ("community-capacity", "scoring.domains.trust.label", "scoring domain trust",
     "Trust and collaboration with law enforcement"),
    ("community-capacity", "description", "instrument description",
     "A short survey about the resources, skills, participation, trust and safety in your "
     "neighbourhood."),  # a folded >- scalar, read as one line
    ("community-safety-focus-group", "prompts.police_trust.label",
     "prompt police_trust (discussion question)", None),
    ("community-safety-focus-group", "prompts.police_trust.probes.1", "probe 1 of prompt police_trust",
     "What builds trust between residents and the police, and what breaks it?"),
    ("community-safety-focus-group", "session_fields.venue_type.label",
     "venue_type (select_one session field, label)", None),
])
def test_keys_name_texts_by_id_and_value(file, key, context, english):
    entries = {e.key: e for e in translatable_strings(read(ROOT / "instruments" / f"{file}.yaml"))}
    assert entries[key].context == context
    if english is not None:
        assert entries[key].texts["en"] == english


def test_literal_blocks_keep_their_paragraphs():
    entries = {e.key: e for e in translatable_strings(read(ROOT / "instruments" / "programme-feedback.yaml"))}
    assert entries["consent"].texts["en"].startswith("This short survey is run by")
    assert "\n\nTaking part is voluntary." in entries["consent"].texts["en"]


def test_header_and_lookup_by_id(tmp_path):
    header = instrument_header(read(ROOT / "instruments" / "programme-feedback.yaml"))
    assert (header.id, header.default_language) == ("programme-feedback", "en")
    assert header.languages == ("en", "es", "fr", "ar", "zh", "vi", "so")
    assert find_instrument("programme-feedback", ROOT / "instruments").name == "programme-feedback.yaml"
    with pytest.raises(LookupError, match="no instrument with id 'nope'"):
        find_instrument("nope", ROOT / "instruments")


# ----------------------------------------------------------------------------- one edit

CAPACITY = ROOT / "instruments" / "community-capacity.yaml"


@pytest.mark.parametrize("key, language, new_text, old_line_count", [
    # a plain scalar in a block mapping: one line
    ("questions.years_here.hint", "so", "Haddii ay ka yar tahay sannad, qor 0 (eber).", 1),
    # a quoted scalar: stays quoted
    ("questions.programmes.constraint_message", "fr", "« Aucun » se choisit seul.", 1),
    # a flow mapping {en: 'Yes', ...}: only that line
    ("choice_lists.yes_no.yes.label", "vi", "Vâng", 1),
    # a literal |- block: only its own lines
    ("consent", "fr", "Premier paragraphe.\n\nDeuxième paragraphe.", 11),
    # a folded >- block: only its own lines
    ("description", "es", "Una encuesta corta.", 2),
])
def test_editing_one_translation_changes_only_that_value(key, language, new_text, old_line_count):
    source = read(CAPACITY)
    old_text = {e.key: e for e in translatable_strings(source)}[key].texts[language]
    result = apply_translations(source, language, {key: new_text})

    old_lines, new_lines = differing_block(source, result)
    assert len(old_lines) == old_line_count
    # the differing lines hold that value and nothing more (its line, or its block's lines)
    unquote = lambda lines: "\n".join(lines).replace("''", "'")  # noqa: E731 ('' inside '...')
    assert all(word in unquote(old_lines) for word in old_text.split())
    assert all(word in unquote(new_lines) for word in new_text.split())
    assert changed_keys(source, result, language) == [key]
    assert old_text != new_text
    instrument = load_instrument(result)  # still a valid instrument, with the new text
    assert key not in {"consent", "description"} or getattr(instrument, key)[language] == new_text


COMMENTED = textwrap.dedent("""\
    title:
      en: Hello   # the greeting
      es: Hola    # el saludo
      so:         # todo
    """)


@pytest.mark.parametrize("language, text, expected", [
    ("es", "Buenos días", "  es: Buenos días    # el saludo\n"),
    ("es", "Buenos\ndías", "  es: |-    # el saludo\n    Buenos\n    días\n"),
    ("so", "Salaan", "  so: Salaan         # todo\n"),
    ("so", "Salaan\nwanaagsan", "  so: |-         # todo\n    Salaan\n    wanaagsan\n"),
])
def test_a_comment_on_the_edited_line_stays(language, text, expected):
    result = apply_translations(COMMENTED, language, {"title": text})
    old_line = next(line for line in COMMENTED.splitlines(keepends=True)
                    if line.startswith(f"  {language}:"))
    assert result == COMMENTED.replace(old_line, expected)
    assert translatable_strings(result)[0].texts[language] == text


# ----------------------------------------------------------------------------- a new language

SAMPLE = textwrap.dedent("""\
    # A small sample, for adding a language.
    id: sample
    version: "1"
    languages: [en, es, de]
    default_language: en
    title: {en: Sample survey, es: Encuesta de ejemplo}   # flow, with a comment
    consent:
      # read this out
      en: |-
        First paragraph.

        Second paragraph.
      es: |-
        Primer párrafo.

        Segundo párrafo.

    choice_lists:
      yes_no:
        - {value: 'yes', label: {en: 'Yes', es: 'Sí'}}
        - value: 'no'
          label: {en: 'No', es: 'No'}
    pages:
      - id: main
        title:
          en: Main page
          es: Página principal
        questions:
          - id: years_here
            type: integer
            label:
              en: >-
                How many years have you lived in this neighbourhood? Count
                from the year you moved in.
              es: >-
                ¿Cuántos años lleva viviendo en este barrio?
            # a hint for everyone
            hint: {en: "Enter 0 if less than a year.", es: "0 si es menos de un año."}
          - {id: pick, type: select_one, choices: yes_no,
             label: {en: Pick one, es: Elija uno}}
    """)

GERMAN = {
    "title": "Beispielumfrage",
    "consent": "Erster Absatz.\n\nZweiter Absatz.",
    "choice_lists.yes_no.yes.label": "Ja",
    "choice_lists.yes_no.no.label": "Nein",
    "pages.main.title": "Hauptseite: Start",
    "questions.years_here.label": "Wie viele Jahre wohnen Sie schon in dieser Nachbarschaft? "
                                  "Zählen Sie ab dem Jahr, in dem Sie eingezogen sind.",
    "questions.years_here.hint": "0, wenn weniger als ein Jahr.",
    "questions.pick.label": "Wählen Sie eins",
}


def test_adding_a_language_only_inserts_lines_and_keeps_comments():
    with pytest.raises(InstrumentError, match="no 'de' text"):
        load_instrument(SAMPLE)  # 'de' is declared but has no text yet
    result = apply_translations(SAMPLE, "de", GERMAN)

    instrument = load_instrument(result)
    assert instrument.title["de"] == "Beispielumfrage"
    assert instrument.consent["de"] == "Erster Absatz.\n\nZweiter Absatz."
    assert instrument.question("years_here").label["de"] == GERMAN["questions.years_here.label"]
    assert texts(translatable_strings(result), "de") == GERMAN

    # every original line (comments included) is still there, in order
    for tag, old_lines, _ in changed_lines(SAMPLE, result):
        assert tag == "insert" or (tag == "replace" and all("{" in line for line in old_lines))
    for comment in [line for line in SAMPLE.splitlines() if "#" in line]:
        assert comment.split("#", 1)[1] in result
    assert ("title: {en: Sample survey, es: Encuesta de ejemplo, de: Beispielumfrage}"
            "   # flow, with a comment") in result
    assert "label: {en: 'Yes', es: 'Sí', de: 'Ja'}" in result  # takes after its quoted neighbours
    assert "  de: |-\n    Erster Absatz.\n\n    Zweiter Absatz.\n\n" in result
    assert "      de: 'Hauptseite: Start'\n" in result
    # a long line next to folded >- neighbours is folded too, within 80 columns
    assert "          de: >-\n" in result
    assert max(len(line) for line in result.splitlines() if "Jahre" in line or "Zählen" in line) <= 80


@pytest.mark.parametrize("new_text", [
    "yes", "no", "123", "#hashtag", "=SUM(A1)", "- dash", "a: b", "it's", 'say "hi"',
    "  leading spaces", "ends with a colon:", "tab\there", "line one\nline two", "@mention", "{braces}",
])
@pytest.mark.parametrize("key", ["title", "pages.main.title", "questions.years_here.label",
                                 "consent"])
def test_awkward_text_reads_back_exactly(key, new_text):
    result = apply_translations(SAMPLE, "de", {key: new_text})
    assert {e.key: e.texts for e in translatable_strings(result)}[key]["de"] == new_text


def test_crlf_files_keep_crlf():
    crlf = SAMPLE.replace("\n", "\r\n")
    result = apply_translations(crlf, "de", GERMAN)
    assert result == apply_translations(SAMPLE, "de", GERMAN).replace("\n", "\r\n")


# ----------------------------------------------------------------------------- refusals

def test_unknown_keys_are_refused_and_nothing_is_written():
    with pytest.raises(UnknownKeys) as raised:
        apply_translations(SAMPLE, "de", {"title": "Titel", "questions.old_q.label": "x",
                                          "pages.gone.title": "y"})
    assert isinstance(raised.value, ValueError)
    assert raised.value.keys == ["questions.old_q.label", "pages.gone.title"]
    assert "questions.old_q.label, pages.gone.title" in str(raised.value)


def test_an_empty_translation_is_refused():
    with pytest.raises(ValueError, match="empty translation for: title"):
        apply_translations(SAMPLE, "de", {"title": "  "})
