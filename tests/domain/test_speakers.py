"""Speaker resolution: which label a written speaker maps to, what counts as a speaker,
and the labels speakers not on the roster get. No app."""
import pytest

from surveyapp.domain.speakers import (LabelTooLong, NewSpeaker, Speakers, labels_for_new_speakers,
                                       looks_like_speaker, normalise_label)

ROSTER = Speakers.of(["P1", "P2", "P3", "F1"], {"Amina Yusuf": "P3", "Tom Brown": "P1",
                                                "Tom Jones": "P2"})


@pytest.mark.parametrize("written, label", [
    ("p3", "P3"), ("F1", "F1"), ("Amina Yusuf", "P3"), ("amina  yusuf", "P3"), ("AMINA", "P3"),
    ("Tom Brown", "P1"), ("Tom", None),   # a first name two people share: no guess
    ("Guest Speaker", None), ("P9", None),
])
def test_resolve_maps_labels_and_roster_real_names(written, label):
    assert ROSTER.resolve(written) == label


@pytest.mark.parametrize("label", ["Moderator", "Guest", "Guest Speaker", "Amina Yusuf",
                                   "Dr. Jean-Luc Picard", "P13", "fac", "m2", "José"])
def test_short_capitalised_labels_are_speakers(label):
    assert looks_like_speaker(label)


@pytest.mark.parametrize("label", ["Note", "NB", "Q", "A", "PS", "Question", "note", "https",
                                   "so what I mean", "The council said we", "what they",
                                   "One Two Three Four"])
def test_prose_before_a_colon_is_not_a_speaker(label):
    assert not looks_like_speaker(label)


def test_new_speakers_keep_a_one_word_label_and_hide_names_behind_a_pseudonym():
    planned = labels_for_new_speakers(["P7", "MODERATOR", "GUEST SPEAKER", "JOSÉ", "X" * 21],
                                      taken=["P1", "P2", "P4", "F1"])
    assert planned == {"P7": NewSpeaker("P7"), "MODERATOR": NewSpeaker("MODERATOR"),
                       "GUEST SPEAKER": NewSpeaker("P8", "Guest Speaker"),
                       "JOSÉ": NewSpeaker("P9", "José"), "X" * 21: NewSpeaker("P10", "X" + "x" * 20)}


def test_a_label_that_grows_when_upper_cased_is_too_long():
    assert normalise_label("  p3 ") == "P3"
    assert normalise_label("ß" * 10) == "SS" * 10
    with pytest.raises(LabelTooLong):
        normalise_label("ß" * 20)


@pytest.mark.parametrize("label", ["Nota", "P", "R", "Remarque", "Ghi chú", "Hỏi", "Su'aal"])
def test_prose_words_of_the_other_languages_are_not_speakers(label):
    assert not looks_like_speaker(label)
