"""Panel codes: the check symbol catches every typo and neighbour swap, input is forgiving
about form, and the stored key depends on project and secret. No app."""
import random
import re
import secrets

import pytest

from surveyapp.domain.panel_code import (
    ALPHABET, BAD_CHARACTER, BITS, CHECK_FAILED, EMPTY, LENGTH, WRONG_LENGTH, CodeCheck, check,
    format_code, link_key, new_code, normalise)

SECRET = b"0123456789abcdef0123456789abcdef"


def complete(fixed: dict[int, str], rng: random.Random) -> str:
    """A valid code with the symbols ``fixed`` at their positions and random ones
    elsewhere: the free position the check leaves is found by trying every symbol, and
    exactly one must fit (as it should, whatever the position)."""
    free = next(i for i in range(LENGTH) if i not in fixed)
    symbols = [fixed.get(i) or rng.choice(ALPHABET) for i in range(LENGTH)]
    fitting = [s for s in ALPHABET
               if check("".join(symbols[:free] + [s] + symbols[free + 1:])).valid]
    assert len(fitting) == 1
    symbols[free] = fitting[0]
    return "".join(symbols)


def test_the_alphabet_has_no_confusable_symbols_and_a_prime_size():
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert not set(ALPHABET) & set("0O1IL")
    assert all(31 % d for d in range(2, 31))


def test_every_single_substitution_is_caught_at_every_position():
    """The weighted sum is linear, so what a substitution does to it depends only on the
    position and the two symbols, not on the rest of the code: one code per (position,
    old symbol) and every new symbol covers every code there is. 11 x 31 x 30 cases."""
    rng = random.Random(1)
    caught = 0
    for position in range(LENGTH):
        for old in ALPHABET:
            code = complete({position: old}, rng)
            for new in ALPHABET.replace(old, ""):
                typo = code[:position] + new + code[position + 1:]
                assert check(typo).reason == CHECK_FAILED, (code, typo)
                caught += 1
    assert caught == LENGTH * 31 * 30


def test_every_swap_of_neighbours_is_caught_at_every_position():
    """As above: one code per (position, symbol pair) covers every code. 10 x 31 x 30."""
    rng = random.Random(2)
    caught = 0
    for position in range(LENGTH - 1):
        for first in ALPHABET:
            for second in ALPHABET.replace(first, ""):
                code = complete({position: first, position + 1: second}, rng)
                swapped = code[:position] + second + first + code[position + 2:]
                assert check(swapped).reason == CHECK_FAILED, (code, swapped)
                caught += 1
    assert caught == (LENGTH - 1) * 31 * 30


def test_every_typo_and_every_swap_in_a_sample_of_issued_codes_is_caught():
    rng = random.Random(3)
    for _ in range(300):
        code = normalise(new_code(rng))
        for position in range(LENGTH):
            for new in ALPHABET.replace(code[position], ""):
                assert not check(code[:position] + new + code[position + 1:]).valid
        for i in range(LENGTH):
            for j in range(i + 1, LENGTH):   # neighbours and beyond
                if code[i] != code[j]:
                    swapped = list(code)
                    swapped[i], swapped[j] = swapped[j], swapped[i]
                    assert check("".join(swapped)).reason == CHECK_FAILED


def test_a_new_code_is_grouped_valid_and_round_trips():
    rng = random.Random(4)
    for _ in range(200):
        code = new_code(rng)
        assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{3}", code)
        assert check(code) == CodeCheck(True, code=code.replace("-", ""))
        assert format_code(normalise(code)) == code


def test_new_codes_use_every_symbol_in_every_position():
    rng = random.Random(5)
    codes = [normalise(new_code(rng)) for _ in range(2000)]
    for position in range(LENGTH - 1):
        assert {code[position] for code in codes} == set(ALPHABET)


def test_new_code_defaults_to_the_secrets_module():
    assert new_code.__defaults__ == (secrets,)
    assert check(new_code()).valid


@pytest.mark.parametrize("spelling", [
    "{a}-{b}-{c}", "{a}{b}{c}", "{a} {b} {c}", "  {a}\t{b}\n{c} ", "{a}–{b}—{c}",
    "{a}-{b}-{c}".lower(), "{a}\u2011{b}\u2212{c}"])
def test_form_is_forgiven(spelling):
    code = new_code(random.Random(6))
    a, b, c = code.split("-")
    assert normalise(spelling.format(a=a, b=b, c=c)) == a + b + c


def test_full_width_characters_from_a_phone_keyboard_are_read():
    code = new_code(random.Random(7))
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in code)   # "Ｋ７ＱＭ－..."
    assert normalise(wide) == code.replace("-", "")


@pytest.mark.parametrize("typed, reason, character", [
    (None, EMPTY, None), ("", EMPTY, None), (" - -", EMPTY, None),
    ("K7QM-4XTD", WRONG_LENGTH, None), ("K7QM-4XTD-P9QQ2", WRONG_LENGTH, None),
    ("K7QM-4XTD-P9O", BAD_CHARACTER, "O"), ("K7QM-4XTD-P90", BAD_CHARACTER, "0"),
    ("k7qm-4xtd-p9l", BAD_CHARACTER, "l"), ("K7QM-1XTD", BAD_CHARACTER, "1"),
    ("K7QM/4XTD/P9Q", BAD_CHARACTER, "/"), ("K7QM-4XTD-P9Ä", BAD_CHARACTER, "Ä")])
def test_refusals_say_why(typed, reason, character):
    result = check(typed)
    assert (result.valid, result.reason, result.character) == (False, reason, character)
    assert normalise(typed) is None


def test_a_code_failing_its_check_is_refused_as_such():
    code = normalise(new_code(random.Random(8)))
    wrong = ALPHABET[(ALPHABET.index(code[-1]) + 1) % 31]
    assert check(code[:-1] + wrong).reason == CHECK_FAILED


def test_format_code_refuses_an_invalid_code():
    with pytest.raises(ValueError, match="check_failed"):
        format_code("2222-2222-223")


def test_guessing_space():
    assert 49 < BITS < 50   # 31^10 = 8.2e14 payloads


# --- the stored key --------------------------------------------------------------------

def test_link_key_is_the_same_for_any_spelling_of_a_code():
    code = new_code(random.Random(9))
    key = link_key(SECRET, 3, code)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert link_key(SECRET, 3, " " + code.lower().replace("-", " ")) == key
    assert code.replace("-", "") not in key


def test_link_key_differs_per_project_secret_and_code():
    rng = random.Random(10)
    code, other = new_code(rng), new_code(rng)
    keys = {link_key(SECRET, 1, code), link_key(SECRET, 2, code),
            link_key(SECRET[::-1], 1, code), link_key(SECRET, 1, other),
            link_key(SECRET, 12, code), link_key(SECRET + b"x", 1, code)}
    assert len(keys) == 6


def test_link_key_derivation_is_pinned():
    """Changing how the key is derived would unlink every panel already stored."""
    assert link_key(SECRET, 7, "2222-2222-222") == (
        "52337d1b8a9f05346e767eb49209bf924cf9dc91ca9191938585f6bfec20798d")


@pytest.mark.parametrize("secret, project, code, message", [
    (b"short", 1, "2222-2222-222", "16 bytes"),
    ("text-not-bytes-0123456", 1, "2222-2222-222", "bytes"),
    (SECRET, "1", "2222-2222-222", "int"), (SECRET, True, "2222-2222-222", "int"),
    (SECRET, 1, "2222-2222-223", "check_failed"), (SECRET, 1, "", "empty")])
def test_link_key_refuses_bad_input(secret, project, code, message):
    with pytest.raises(ValueError, match=message):
        link_key(secret, project, code)
