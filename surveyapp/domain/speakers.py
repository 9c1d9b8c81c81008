"""Who is speaking: a written speaker (``P3``, ``Moderator``, ``<v Amina Yusuf>``) to a label.

A session's roster holds pseudonymous labels (``P1``, ``P2``, ...) and, optionally,
each participant's real name, only so that the name can be found and hidden. The
facilitators speak as ``F1``, ``F2``, ... Transcripts name speakers in other ways too:
a call recording's captions carry the name the person joined with, and a typed
transcript may say ``Moderator:`` or ``Guest:``. This module decides, in one place,

* whether a line-start ``word:`` names a speaker at all (:func:`looks_like_speaker`),
* which label a written speaker maps to (:meth:`Speakers.resolve`), a real name from
  the roster mapping to that participant's pseudonym so it is never shown or stored,
* what label a speaker who is not on the roster gets when the facilitator asks to
  add them (:func:`labels_for_new_speakers`).

Nothing here imports Flask or SQLAlchemy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

LABEL_MAX = 20     # participants.label and segments.speaker are String(20)

# A label that can join the roster as written: one ASCII word, at most LABEL_MAX long.
_ROSTER_LABEL_RE = re.compile(rf"[A-Z][A-Z0-9_]{{0,{LABEL_MAX - 1}}}")
# Labels that are speakers even when nobody listed them, so that a typo ("P13" for
# "P3") is flagged rather than swallowed into the previous turn as prose.
_PSEUDONYM_RE = re.compile(r"P\d+|F\d+|FAC\d*|M\d*", re.IGNORECASE)
# Line-start words followed by a colon that introduce prose, not a person: a note, a
# question-and-answer pair, a link; in the transcripts' Latin-script languages (en, es,
# fr, vi, so). Compared case-insensitively, without a final ".".
_PROSE_WORDS = frozenset("""
    note notes nb n.b ps p.s q a question answer comment comments observation observations
    aside edit update summary context translation example examples reminder important
    warning tip source re subject date time location place topic prompt probe also
    yes no ok okay so and but then later
    nota notas p r pregunta respuesta comentario observación ejemplo resumen
    remarque réponse r commentaire exemple rappel résumé
    ghi hỏi đáp lưu ví câu
    fiiro su'aal jawaab tusaale
""".split())
_MAX_LABEL_WORDS = 3


class LabelTooLong(ValueError):
    """A label that is longer than the column once upper-cased (``ß`` -> ``SS``)."""


def normalise_label(written: str) -> str:
    """``written`` stripped, upper-cased, inner spaces collapsed; ``LabelTooLong`` past 20.

    Upper-casing can lengthen a label (``"ß" * 20`` is 40 characters upper-cased),
    so the length is checked after it, against what is stored.
    """
    label = " ".join(written.split()).upper()
    if len(label) > LABEL_MAX:
        raise LabelTooLong(label)
    return label


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def looks_like_speaker(label: str) -> bool:
    """Whether a line-start ``label:`` that nobody listed is a speaker rather than prose.

    A speaker is a short label of 1 to 3 words, each starting with a capital letter
    (``Moderator``, ``Guest Speaker``, ``Amina Yusuf``), or a pseudonym's shape
    (``P<n>``, ``F<n>``, ``FAC``/``FAC<n>``, ``M``/``M<n>``, any case). A sentence
    before a colon (``so what I mean is:``), lower-case words, or a first word that
    introduces prose (``Note``, ``NB``, ``Q``, ``A``, ``PS``, ``Question``, ...) is not.
    """
    if _PSEUDONYM_RE.fullmatch(label):
        return True
    words = label.split()
    if not 1 <= len(words) <= _MAX_LABEL_WORDS:
        return False
    if words[0].casefold().rstrip(".") in _PROSE_WORDS:
        return False
    return all(word[0].isupper() for word in words)


@dataclass(frozen=True)
class Speakers:
    """The speakers a session knows: roster and facilitator labels, and real names.

    ``labels`` are upper-cased. ``real_names`` maps a participant's real name to
    their label; the full name matches, and the first name alone when no other
    participant shares it (case and spacing ignored).
    """
    labels: frozenset[str]
    _by_name: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, labels: Iterable[str], real_names: Mapping[str, str] | None = None) -> Speakers:
        by_name: dict[str, str] = {}
        first_names: dict[str, set[str]] = {}
        for real_name, label in (real_names or {}).items():
            key = _name_key(real_name)
            if not key:
                continue
            by_name[key] = label.upper()
            parts = key.split()
            if len(parts) > 1:
                first_names.setdefault(parts[0], set()).add(label.upper())
        for first, owners in first_names.items():
            if len(owners) == 1:   # a first name two people share could be either: no guess
                by_name.setdefault(first, next(iter(owners)))
        return cls(frozenset(label.strip().upper() for label in labels), by_name)

    def resolve(self, written: str) -> str | None:
        """The label ``written`` stands for, or None when it is nobody on the roster.

        ``p3`` -> ``P3``; ``Amina Yusuf`` or ``amina`` -> ``P3`` when she is P3.
        """
        label = " ".join(written.split()).upper()
        if label in self.labels:
            return label
        return self._by_name.get(_name_key(written))

    def is_real_name(self, written: str) -> bool:
        """Whether ``written`` is a roster participant's real (full or first) name."""
        return _name_key(written) in self._by_name and written.upper() not in self.labels


@dataclass(frozen=True)
class NewSpeaker:
    """A roster entry for a speaker who was not on the roster: ``label`` to use, and
    ``real_name`` when the written name may be a person's name (kept only to hide it)."""
    label: str
    real_name: str = ""


def labels_for_new_speakers(unknown: Iterable[str], taken: Iterable[str]) -> dict[str, NewSpeaker]:
    """A roster entry for each unknown speaker, keyed by the speaker as parsed.

    A one-word ASCII label (``P7``, ``MODERATOR``) joins the roster as written.
    Anything else (``GUEST SPEAKER``, ``AMINA YUSUF``, ``JOSÉ``, a label too long
    for the column) may be a person's name, so it gets the next free pseudonym
    (``P4``) and is kept as that participant's real name, never as a label.
    """
    taken = {label.upper() for label in taken}
    planned: dict[str, NewSpeaker] = {}
    for speaker in sorted(set(unknown)):
        if _ROSTER_LABEL_RE.fullmatch(speaker) and speaker not in taken:
            planned[speaker] = NewSpeaker(speaker)
            taken.add(speaker)
    # After the highest P-number, as the roster's "next participant" is.
    numbers = [int(label[1:]) for label in taken if label[:1] == "P" and label[1:].isdigit()]
    next_number = max(numbers, default=0) + 1
    for speaker in sorted(set(unknown) - planned.keys()):
        planned[speaker] = NewSpeaker(f"P{next_number}", speaker.title())
        next_number += 1
    return planned
