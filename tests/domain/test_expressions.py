"""Tests for surveyapp.domain.expressions: parsing, semantics and errors."""
import dataclasses
import datetime
import pathlib
import pickle
import random
import re
import warnings
from collections.abc import Mapping
from decimal import Decimal

import pytest

from surveyapp.domain import expressions
from surveyapp.domain.expressions import CONTEXT_NAMES, Expression, ExpressionError, parse

D = datetime.date


def ev(source, answers=None, **kwargs):
    return parse(source).evaluate(answers or {}, **kwargs)


# --- precedence and operators -----------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 - 4 - 3", 3),             # left associative
    ("12 / 3 / 2", 2.0),
    ("2 * 3 / 4", 1.5),
    ("-2 * 3", -6),
    ("-(1 + 2)", -3),
    ("- - 2", 2),
    ("2 - -2", 4),
    ("1 + 2 == 3", True),          # arithmetic binds tighter than comparison
    ("true or false and false", True),
    ("(true or false) and false", False),
    ("not true or true", True),    # not binds tighter than or / and
    ("not (true or true)", False),
    ("not 1 == 2", True),          # ...but looser than comparison
    ("not not true", True),
    ("1 < 2 and 2 < 3", True),
    ("'a' in ['a'] and not 'b' in ['a']", True),
    ("'b' not in ['a'] or false", True),
    ("false and true or true", True),
])
def test_precedence(source, expected):
    result = ev(source)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("source, expected", [
    ("3 == 3", True), ("3 == 4", False), ("'a' == 'a'", True), ('"a" == \'a\'', True),
    ("3 != 4", True), ("3 != 3", False), ("'a' != 'b'", True),
    ("2 < 3", True), ("3 < 3", False), ("3 <= 3", True), ("4 <= 3", False),
    ("4 > 3", True), ("3 > 3", False), ("3 >= 3", True), ("2 >= 3", False),
    ("'apple' < 'banana'", True),
    ("'a' in ['a', 'b']", True), ("'c' in ['a', 'b']", False),
    ("'ell' in 'hello'", True), ("'x' in 'hello'", False),
    ("'c' not in ['a', 'b']", True), ("'a' not in ['a', 'b']", False),
    ("1 + 2", 3), ("5 - 7", -2), ("2.5 * 2", 5.0), ("7 / 2", 3.5),
    ("true and true", True), ("true and false", False),
    ("false or true", True), ("false or false", False),
    ("not false", True), ("not 0", True), ("not ''", True), ("not []", True),
    ("not 'x'", False),
    ("-x", -4),
    ("[1, 'a', null]", [1, "a", None]), ("[]", []),
    ("1 and 'x'", True), ("0 or ''", False),  # and/or always give booleans
    ("2.50", 2.5), ("007", 7),
])
def test_operators(source, expected):
    result = ev(source, {"x": 4})
    assert result == expected and type(result) is type(expected)


def test_and_or_short_circuit():
    class Recording(dict):
        def __init__(self, *args):
            super().__init__(*args)
            self.seen = []

        def __contains__(self, key):
            self.seen.append(key)
            return super().__contains__(key)

    answers = Recording({"a": 0, "b": 1})
    assert parse("a and c").test(answers) is False
    assert parse("b or d").test(answers) is True
    assert answers.seen == ["a", "b"]


@pytest.mark.parametrize("source", [
    " + ".join(["1"] * 500),            # long flat chains are not nesting
    " and ".join(["true"] * 220),
    "(" * 50 + "1" + ")" * 50,
    "not " * 50 + "true",
    "-" * 50 + "1",
    "[" * 50 + "]" * 50,
    "count(" * 50 + "x" + ")" * 50,
])
def test_limits_that_are_allowed(source):
    parse(source).evaluate({})


# --- functions --------------------------------------------------------------

@pytest.mark.parametrize("source, answers, expected", [
    ("selected(p, 'other')", {"p": ["a", "other"]}, True),
    ("selected(p, 'other')", {"p": ["a"]}, False),
    ("selected(p, 'other')", {"p": "other"}, True),
    ("selected(p, 'other')", {"p": ("other",)}, True),
    ("selected(p, 'other')", {}, False),
    ("selected(p, 2)", {"p": [1, 2]}, True),
    ("selected(p, 2)", {"p": ["2"]}, False),          # strict, like ==
    ("count(p)", {"p": ["a", "b"]}, 2),
    ("count(p)", {"p": "abc"}, 3),
    ("count(p)", {"p": []}, 0),
    ("count(p)", {}, 0),
    ("count(p)", {"p": 5}, None),
    ("answered(p)", {"p": "x"}, True),
    ("answered(p)", {"p": 0}, True),
    ("answered(p)", {"p": False}, True),
    ("answered(p)", {"p": ["a"]}, True),
    ("answered(p)", {"p": ""}, False),
    ("answered(p)", {"p": []}, False),
    ("answered(p)", {"p": None}, False),
    ("answered(p)", {}, False),
    ("length(p)", {"p": "hello"}, 5),
    ("length(p)", {"p": ""}, 0),
    ("length(p)", {}, 0),
    ("length(p)", {"p": ["a", "b"]}, None),
    ("length(p)", {"p": 12345}, None),
    ("matches(p, '[0-9]{3}')", {"p": "123"}, True),
    ("matches(p, '[0-9]{3}')", {"p": "1234"}, False),   # fullmatch, not search
    ("matches(p, '\\d+')", {"p": "42"}, True),           # backslash kept as written
    ("matches(p, '\\\\d+')", {"p": "42"}, True),         # or escaped
    ("matches(p, 'it\\'s')", {"p": "it's"}, True),
    ("matches(p, '[0-9]+')", {"p": 123}, False),          # only strings match
    ("matches(p, '.*')", {}, False),
    ("number(p)", {"p": "42"}, 42),
    ("number(p)", {"p": " -2.5 "}, -2.5),
    ("number(p)", {"p": ".5"}, 0.5),
    ("number(p)", {"p": "4e2"}, None),
    ("number(p)", {"p": "abc"}, None),
    ("number(p)", {"p": ""}, None),
    ("number(p)", {"p": 7}, 7),
    ("number(p)", {"p": True}, None),
    ("number(p)", {}, None),
    ("number(p)", {"p": "9" * 5000}, None),              # beyond int()'s digit limit
    ("number(p) >= 18", {"p": "21"}, True),
])
def test_functions(source, answers, expected):
    result = ev(source, answers)
    assert result == expected and type(result) is type(expected)


# --- null, types, dates -----------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("x == null", True), ("null == x", True), ("x != null", False), ("y != null", True),
    ("y == null", False), ("null == null", True), ("null != null", False),
    ("x == 1", False), ("x != 1", False),        # unanswered: every comparison is false...
    ("x < 1", False), ("x >= 1", False),
    ("x == z", False), ("x != z", False),        # ...even between two unanswered names
    ("x in ['a']", False), ("x not in ['a']", False),
    ("'a' in x", False), ("'a' not in x", False),
    ("x + 1", None), ("1 - x", None), ("x * 2", None), ("x / 2", None), ("-x", None),
    ("1 / 0", None), ("1.5 / 0", None), ("y / (y - y)", None),
    ("x", None), ("not x", True), ("x or y", True), ("x and y", False),
    ("selected(x, null)", False),
])
def test_null_semantics(source, expected):
    assert ev(source, {"y": 3}) == expected


@pytest.mark.parametrize("source, answers, expected", [
    ("1 == 1.0", {}, True),
    ("a == 2.5", {"a": Decimal("2.5")}, True),
    ("a == 0.1", {"a": Decimal("0.1")}, True),    # Decimal/float compare as floats
    ("a + 0.1", {"a": Decimal("0.2")}, 0.30000000000000004),
    ("a + 1", {"a": Decimal("0.5")}, Decimal("1.5")),
    ("a > 2", {"a": Decimal("2.5")}, True),
    ("'3' == 3", {}, False),
    ("a == 3", {"a": "3"}, False),
    ("a != 3", {"a": "3"}, True),
    ("a < 5", {"a": "3"}, False),
    ("a >= 5", {"a": "3"}, False),
    ("true == 1", {}, False),
    ("false == 0", {}, False),
    ("true == true", {}, True),
    ("true < 2", {}, False),
    ("a == ['x', 'y']", {"a": ["x", "y"]}, True),
    ("a == ['y', 'x']", {"a": ["x", "y"]}, False),
    ("a == 'x'", {"a": ["x"]}, False),
    ("a < ['z']", {"a": ["x"]}, False),
    ("'a' + 'b'", {}, None),                      # + is arithmetic only
    ("true + 1", {}, None),
    ("a * 2", {"a": [1]}, None),
    ("1 in 'a1'", {}, False),
    ("1 in [1.0]", {}, True),
    ("'1' in [1]", {}, False),
    ("'a' in a", {"a": {"a": 1}}, False),         # only lists and strings contain
])
def test_type_semantics(source, answers, expected):
    result = ev(source, answers)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("source, answers, expected", [
    ("d > '2024-01-01'", {"d": D(2024, 5, 1)}, True),
    ("d < '2024-01-01'", {"d": D(2024, 5, 1)}, False),
    ("'2024-01-01' <= d", {"d": D(2024, 1, 1)}, True),
    ("d == '2024-05-01'", {"d": D(2024, 5, 1)}, True),
    ("d == e", {"d": D(2024, 5, 1), "e": D(2024, 5, 1)}, True),
    ("d < e", {"d": D(2023, 12, 31), "e": D(2024, 1, 1)}, True),
    ("d > '2024-02-30'", {"d": D(2024, 5, 1)}, False),   # not a real date
    ("d > '2024-1-1'", {"d": D(2024, 5, 1)}, False),     # not ISO YYYY-MM-DD
    ("d > '20240101'", {"d": D(2024, 5, 1)}, False),
    ("d > 2024", {"d": D(2024, 5, 1)}, False),
    ("d == '2024-05-01'", {"d": datetime.datetime(2024, 5, 1, 13, 30)}, True),
    ("d >= e", {"d": datetime.datetime(2024, 5, 1, 9), "e": D(2024, 5, 1)}, True),
    ("d < '2025-01-01'", {"d": "2024-12-31"}, True),     # ISO strings order as text
    (". >= '2000-01-01' and . <= '2030-12-31'", {}, True),
])
def test_dates(source, answers, expected):
    assert parse(source).test(answers, self_value=answers.get("d", D(2020, 2, 29))) is expected


# --- names, context, self ---------------------------------------------------

@pytest.mark.parametrize("source, context, expected", [
    ("@wave == 'follow-up'", {"wave": "follow-up"}, True),
    ("@site == 'north'", {"site": "north"}, True),
    ("@language in ['ar', 'fa']", {"language": "ar"}, True),
    ("@wave == 'follow-up'", {}, False),
    ("@wave == 'follow-up'", None, False),
    ("@wave == null", None, True),
])
def test_context_names(source, context, expected):
    assert parse(source).test({"wave": "follow-up"}, context=context) is expected
    assert parse(source).names == frozenset()
    assert CONTEXT_NAMES == {"site", "wave", "language"}


@pytest.mark.parametrize("source, self_value, expected", [
    (". >= 0 and . <= 120", 50, True),
    (". >= 0 and . <= 120", 121, False),
    (". >= 0 and . <= 120", None, False),
    (". <= 90 or @wave == 'follow-up'", 95, True),
    ("matches(., '[A-Z]{2}[0-9]{4}')", "AB1234", True),
    ("count(.) <= 3", ["a", "b", "c", "d"], False),
    (". != null", None, False),
])
def test_self(source, self_value, expected):
    expression = parse(source)
    assert expression.uses_self
    assert expression.test({".": 1}, context={"wave": "follow-up"}, self_value=self_value) is expected


@pytest.mark.parametrize("source, names, uses_self", [
    ("attended_meeting == 'yes' and years_here >= 2", {"attended_meeting": 1, "years_here": 31},
     False),
    ("trust.police_listen > 3 or programmes.other != null",
     {"trust.police_listen": 1, "programmes.other": 28}, False),
    ("a == a and b", {"a": 1, "b": 12}, False),                      # first occurrence wins
    ("selected(p, 'x') and count(q) > . and @site == s", {"p": 10, "q": 28, "s": 48}, True),
    ("'not_a_name' == \"nor.this\"", {}, False),
    ("1", {}, False),
])
def test_names_and_columns(source, names, uses_self):
    expression = parse(source)
    assert dict(expression.name_columns) == names
    assert expression.names == frozenset(names)
    assert expression.uses_self is uses_self
    for name, column in names.items():
        assert source[column - 1:].startswith(name)


@pytest.mark.parametrize("answers, expected", [
    ({"trust.police_listen": 4}, 4),                         # flat key, as stored
    ({"trust": {"police_listen": 4}}, 4),                    # nested mapping
    ({"trust.police_listen": None, "trust": {"police_listen": 4}}, None),  # flat wins
    ({"trust": 4}, None),
    ({"trust": {"other": 4}}, None),
    ({}, None),
])
def test_dotted_lookup(answers, expected):
    assert ev("trust.police_listen", answers) == expected


# --- the Expression object and caching -------------------------------------

def test_expression_is_immutable_and_cached():
    expression = parse("a > 1")
    assert parse("a > 1") is expression
    assert isinstance(expression, Expression) and expression.source == "a > 1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "b"
    with pytest.raises(TypeError):
        expression.name_columns["b"] = 2
    assert hash(expression) == hash(parse("a > 1"))
    assert expression.test({"a": 2}) is True and expression.test({"a": 1}) is False
    assert expression.evaluate(None) is False


def test_error_object():
    with pytest.raises(ExpressionError) as info:
        parse("a ==")
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.message, err.column) == ("unexpected end of expression", 5)
    assert str(err) == "column 5: unexpected end of expression"
    again = pickle.loads(pickle.dumps(err))
    assert (again.message, again.column, str(again)) == (err.message, err.column, str(err))


def test_no_eval_exec_or_ast_in_module():
    text = pathlib.Path(expressions.__file__).read_text()
    assert not re.search(r"(?<![.\w])(eval|exec|compile|__import__)\(", text)
    assert not re.search(r"^\s*(import|from)\s+ast\b", text, re.MULTILINE)


# --- parse errors -----------------------------------------------------------

KNOWN = "answered, count, length, matches, number, selected"
ALLOWED = "@language, @site, @wave"


@pytest.mark.parametrize("source, message, column", [
    ("", "empty expression", 1),
    ("   \n ", "empty expression", 1),
    ("a == 'yes", "unterminated string", 6),
    ('a == "it\\"s', "unterminated string", 6),
    ("a == 'x\\'", "unterminated string", 6),
    ("a == 1)", "unexpected ')'", 7),
    ("(a == 1", "expected ')' but found end of expression", 8),
    ("a ==", "unexpected end of expression", 5),
    ("== 1", "unexpected '=='", 1),
    ("a and or b", "unexpected 'or'", 7),
    ("a == 1 b", "unexpected 'b'", 8),                            # trailing garbage
    ("a == 1 'x'", "unexpected string 'x'", 8),
    ("a == 1 2", "unexpected '2'", 8),
    ("a not b", "unexpected 'not'", 3),
    ("a.", "unexpected '.'", 2),
    ("2.", "unexpected '.'", 2),
    (". .", "unexpected '.'", 3),
    ("[1, 2", "expected ',' or ']' but found end of expression", 6),
    ("[1 2]", "expected ',' or ']' but found '2'", 4),
    ("[1,]", "unexpected ']'", 4),
    ("count(x y)", "expected ',' or ')' but found 'y'", 9),
    ("a = 1", "unexpected character '='; use '==' to compare", 3),
    ("!a", "unexpected character '!'; use 'not' or '!='", 1),
    ("a && b", "unexpected character '&'", 3),
    ("a $ b", "unexpected character '$'", 3),
    ("café == 1", "unexpected character 'é'", 4),
    ("foo(1)", f"unknown function 'foo'; known: {KNOWN}", 1),
    ("x == 1 or __import__('os')", f"unknown function '__import__'; known: {KNOWN}", 11),
    ("a.b(1)", f"unknown function 'a.b'; known: {KNOWN}", 1),
    ("Count(x)", f"unknown function 'Count'; known: {KNOWN}", 1),
    ("count()", "count() takes 1 argument, got 0", 1),
    ("1 + count(a, b)", "count() takes 1 argument, got 2", 5),
    ("selected(a)", "selected() takes 2 arguments, got 1", 1),
    ("matches(a, 'x', 'y')", "matches() takes 2 arguments, got 3", 1),
    ("a < b < c", "comparisons cannot be chained; join them with 'and'", 7),
    ("a == b == c", "comparisons cannot be chained; join them with 'and'", 8),
    ("a in b in c", "comparisons cannot be chained; join them with 'and'", 8),
    ("a < b not in c", "comparisons cannot be chained; join them with 'and'", 7),
    ("matches(a, '(')", "invalid regular expression: missing ), unterminated subpattern", 12),
    ("matches(a, '" + "(" * 900 + ")" * 900 + "')",
     "invalid regular expression: nested too deeply", 12),
    ("matches(a, b)", "the pattern of matches() must be a string literal", 12),
    ("matches(a, 'x' + 'y')", "the pattern of matches() must be a string literal", 12),
    ("@foo == 1", f"unknown context name '@foo'; allowed: {ALLOWED}", 1),
    ("a == @Site", f"unknown context name '@Site'; allowed: {ALLOWED}", 6),
    ("@ == 1", f"expected a context name after '@'; allowed: {ALLOWED}", 1),
    ("in == 1", "unexpected 'in'", 1),
    ("trust.and == 1", "'and' is a keyword and cannot be used as a name", 7),
    ("x == True", "'True' is not a name; keywords are lowercase: write 'true'", 6),
    ("x == None", "'None' is not a name; keywords are lowercase: write 'null'", 6),
    ("a AND b", "'AND' is not a name; keywords are lowercase: write 'and'", 3),
    ("(" * 51 + "1" + ")" * 51, "expression is nested too deeply (limit 50)", 51),
    ("not " * 51 + "x", "expression is nested too deeply (limit 50)", 201),
    ("-" * 51 + "1", "expression is nested too deeply (limit 50)", 51),
    ("[" * 51 + "]" * 51, "expression is nested too deeply (limit 50)", 51),
    ("count(" * 51 + "x" + ")" * 51, "expression is nested too deeply (limit 50)", 301),
    ("(" * 600 + ")" * 600, "expression is nested too deeply (limit 50)", 51),
    ("1" + " + 1" * 500, "expression is too long (2001 characters; limit 2000)", 2001),
])
def test_parse_errors(source, message, column):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert (info.value.message, info.value.column) == (message, column)
    assert str(info.value) == f"column {column}: {message}"


def test_regex_future_warning_follows_the_warning_filters():
    # re only warns about '[[' and friends; under -W error (as in this project's
    # pytest config) that warning is an exception and becomes a parse error.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ExpressionError) as info:
            parse("matches(a, '[[a]')")
    assert info.value.message == "invalid regular expression: Possible nested set at position 1"
    assert info.value.column == 12
    with pytest.warns(FutureWarning):
        assert parse("matches(a, '[[b]')").test({"a": "["})


@pytest.mark.parametrize("source", [None, True, 5, ["a"]])
def test_non_string_source(source):
    with pytest.raises(ExpressionError, match="expression must be text"):
        parse(source)


# --- evaluation never raises ------------------------------------------------

class Hostile:
    """Every dunder a comparison might touch raises."""

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __lt__(self, other):
        raise RuntimeError("lt")

    def __bool__(self):
        raise RuntimeError("bool")

    __hash__ = object.__hash__


class HostileStr(str):
    def __len__(self):
        raise RuntimeError("len")

    def __eq__(self, other):
        raise RuntimeError("eq")

    __hash__ = str.__hash__


class HostileMapping(Mapping):
    def __getitem__(self, key):
        raise RuntimeError("getitem")

    def __iter__(self):
        raise RuntimeError("iter")

    def __len__(self):
        raise RuntimeError("len")


_loop = []
_loop.append(_loop)

ODD_VALUES = [
    None, True, False, 0, 1, -1, 2.5, float("nan"), float("inf"), 10 ** 400,
    Decimal("1.5"), Decimal("NaN"), Decimal("sNaN"), Decimal("1e999999"), "", "yes", "3",
    "2024-02-30", "2024-01-01", D(2024, 1, 1), datetime.datetime(2024, 1, 1, 5),
    datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), [], ["a", 1, None], (1, 2),
    {"a": 1}, set(), {"x"}, object(), Hostile(), HostileStr("abc"), [Hostile()], _loop,
    HostileMapping(), b"bytes", 3j,
]

ODD_SOURCES = [
    "a == b", "a != b", "a < b", "a <= b", "a > b", "a >= b", "a in b", "a not in b",
    "a == null", "a != null", "a + b", "a - b", "a * b", "a / b", "-a", "not a",
    "a and b", "a or b", "[a, b] == [b, a]", "selected(a, b)", "count(a)", "answered(a)",
    "length(a)", "matches(a, '.*')", "number(a)", "a.b == b.a", ". == a", "@site == a",
    "a == '2024-01-01'", "a > 1.5", "a * b / (a - b) >= -1",
]


@pytest.mark.parametrize("source", ODD_SOURCES)
def test_evaluation_never_raises(source):
    expression = parse(source)
    rng = random.Random(source)
    for _ in range(60):
        a, b = rng.choice(ODD_VALUES), rng.choice(ODD_VALUES)
        answers = {"a": a, "b": b, "a.b": rng.choice(ODD_VALUES)}
        expression.evaluate(answers, context={"site": b}, self_value=a)
        expression.test(answers, context={"site": b}, self_value=a)
    for a in ODD_VALUES:  # and each value at least once in each position
        for answers in ({"a": a, "b": 1}, {"a": "x", "b": a}, a):
            expression.test(answers, context=a, self_value=a)


PIECES = ["a", "b.c", ".", "@site", "1", "2.5", "'s'", '"t\\""', "true", "null", "and", "or",
          "not", "in", "==", "<", ">=", "+", "-", "*", "/", "(", ")", "[", "]", ",",
          "count(", "matches(", "selected(", "'['", "@x", "=", "'", "\\", "é"]


@pytest.mark.parametrize("seed", range(20))
def test_parse_only_ever_raises_expression_error(seed):
    rng = random.Random(seed)
    for _ in range(300):
        source = " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))
        try:
            expression = parse(source)
        except ExpressionError as err:
            assert 1 <= err.column <= len(source) + 1
        else:
            expression.evaluate({"a": rng.choice(ODD_VALUES)}, self_value=rng.choice(ODD_VALUES))
