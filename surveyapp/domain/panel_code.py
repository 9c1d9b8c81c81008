"""Panel codes: a short code a resident keeps to link a baseline and a follow-up response
without saying who they are. No I/O; the server stores only :func:`link_key` of a code.

Form: 10 random symbols and a check symbol, shown in groups as ``K7QM-4XTD-P9Q``. The
alphabet is the resume codes' 31 symbols, ``23456789ABCDEFGHJKMNPQRSTUVWXYZ``: no 0/O
and no 1/I/L, which are misread aloud and on paper. Input is forgiving about form
(lower case, spaces, any dash, full-width characters from a phone keyboard) and strict
about content: a symbol outside the alphabet is refused with the symbol named, never
guessed (a code never holds 0, O, 1, I or L, so the view can say so).

The check symbol makes the weighted sum of all 11 symbol values, with weights 1..11,
zero modulo 31. Because 31 is prime and the weights are distinct and non-zero modulo 31:

* changing one symbol from a to b changes the sum by w * (b - a), which no prime 31
  divides as neither factor is 0 modulo 31: every single substitution is caught;
* swapping symbols a and b at positions i and j changes it by (w_i - w_j) * (b - a):
  every swap is caught, of neighbours or not.

Guessing: 10 random symbols are 31^10, about 8.2e14 codes (49.5 bits; the check symbol
adds nothing against a guesser, who can compute it). A guesser held to the resume-code
limit of 300 wrong tries an hour per address makes 2.6 million tries a year; against a
project that issued 10,000 codes the chance of hitting any of them is about 3e-5 per
address-year, 0.03 for a thousand addresses trying all year. Without the server secret
the stored keys cannot be tested offline at all.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from dataclasses import dataclass

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MODULUS = len(ALPHABET)  # 31, a prime: the check's guarantees rest on it
PAYLOAD_LENGTH = 10
LENGTH = PAYLOAD_LENGTH + 1
WEIGHTS = tuple(range(1, LENGTH + 1))  # distinct and non-zero modulo 31
GROUPS = (4, 4, 3)
BITS = PAYLOAD_LENGTH * math.log2(MODULUS)
MIN_SECRET_BYTES = 16

EMPTY = "empty"
WRONG_LENGTH = "wrong_length"
BAD_CHARACTER = "bad_character"
CHECK_FAILED = "check_failed"

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# The derivation is part of every stored key: changing it unlinks every panel.
_KEY_CONTEXT = b"surveyapp panel link v1"


@dataclass(frozen=True)
class CodeCheck:
    """``valid``, or why not: ``reason`` is EMPTY, WRONG_LENGTH, BAD_CHARACTER (then
    ``character`` is the first refused character, as typed but for width) or CHECK_FAILED
    (a mistyped or swapped symbol). ``code`` is the canonical form when valid."""
    valid: bool
    reason: str | None = None
    character: str | None = None
    code: str | None = None


def _weighted_sum(symbols: str) -> int:
    return sum(weight * _VALUE[symbol] for weight, symbol in zip(WEIGHTS, symbols)) % MODULUS


def _check_symbol(payload: str) -> str:
    # Solve sum(payload) + w_last * c = 0 (mod 31) for c.
    inverse = pow(WEIGHTS[-1], -1, MODULUS)
    return ALPHABET[(-_weighted_sum(payload) * inverse) % MODULUS]


def _is_separator(character: str) -> bool:
    # Spaces, every dash (Unicode "Pd": phones turn "-" into "–" on their own) and the
    # minus sign, which looks the same on a card.
    return character.isspace() or unicodedata.category(character) == "Pd" or character == "\u2212"


def check(text: str | None) -> CodeCheck:
    """Check what a resident typed: see :class:`CodeCheck` for the reasons, in the order
    they are tested (a refused character is named even when the length is also wrong)."""
    # NFKC turns full-width "ＫＡ７" from CJK keyboards into "KA7".
    typed = [c for c in unicodedata.normalize("NFKC", text or "") if not _is_separator(c)]
    if not typed:
        return CodeCheck(False, EMPTY)
    for character in typed:
        if character.upper() not in _VALUE:
            return CodeCheck(False, BAD_CHARACTER, character=character)
    code = "".join(typed).upper()
    if len(code) != LENGTH:
        return CodeCheck(False, WRONG_LENGTH)
    if _weighted_sum(code) != 0:
        return CodeCheck(False, CHECK_FAILED)
    return CodeCheck(True, code=code)


def normalise(text: str | None) -> str | None:
    """The canonical code (11 upper-case symbols, no separators) if ``text`` is a valid
    code in any accepted spelling, else None (:func:`check` says why)."""
    return check(text).code


def format_code(text: str) -> str:
    """A valid code in its grouped form for showing and printing, ``K7QM-4XTD-P9Q``."""
    code = normalise(text)
    if code is None:
        raise ValueError(f"not a valid panel code ({check(text).reason})")
    groups, start = [], 0
    for size in GROUPS:
        groups.append(code[start:start + size])
        start += size
    return "-".join(groups)


def new_code(rng=secrets) -> str:
    """A new code in grouped form. ``rng`` is anything with ``choice``: the ``secrets``
    module (the default, and the only right choice in production, since a seeded
    generator's codes can be predicted) or a ``random.Random(seed)`` in tests."""
    payload = "".join(rng.choice(ALPHABET) for _ in range(PAYLOAD_LENGTH))
    return format_code(payload + _check_symbol(payload))


def link_key(secret: bytes, project_id: int, code: str) -> str:
    """The only trace of a code the server keeps: HMAC-SHA256 under the instance secret
    of (project, canonical code), as 64 hex characters.

    The same code typed differently gives the same key; the same code in another project
    or under another secret gives an unrelated one, so projects cannot be joined. Raises
    ValueError for a secret under 16 bytes or an invalid code.
    """
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the panel secret must be at least {MIN_SECRET_BYTES} bytes")
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise ValueError("project_id must be an int")
    result = check(code)
    if not result.valid:
        raise ValueError(f"not a valid panel code ({result.reason})")
    message = b"\x00".join((_KEY_CONTEXT, str(project_id).encode(), result.code.encode()))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
