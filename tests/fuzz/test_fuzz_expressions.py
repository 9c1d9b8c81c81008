"""Fuzz the expression language: parse() returns an Expression or raises ExpressionError
with a column inside the source; evaluate() never raises, whatever the answers."""
from __future__ import annotations

import datetime

from hypothesis import given, strategies as st

from surveyapp.domain.expressions import MAX_LENGTH, Expression, ExpressionError, parse
from tests.fuzz.strategies import HOSTILE

NAMES = ["age", "years", "area", "progs", "trust.police_listen", "empty", "none", "day", "nested.a.b"]
FUNCTIONS = ["selected", "count", "answered", "length", "matches", "number", "nosuch"]

atoms = st.one_of(
    st.sampled_from([*NAMES, ".", "@site", "@wave", "@language", "@nosuch", "true", "false", "null"]),
    st.integers(-10**6, 10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: repr(abs(x))),
    st.text(max_size=6).map(lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    st.sampled_from(["'\\d+'", "'(a+)+$'", "'['", "'\\'", "''", "'2026-02-30'", "'2026-01-01'"]),
)


def _extend(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["or", "and", "==", "!=", "<", "<=", ">", ">=", "in",
                                          "not in", "+", "-", "*", "/"]), inner).map(" ".join),
        inner.map(lambda e: f"not {e}"), inner.map(lambda e: f"-{e}"), inner.map(lambda e: f"({e})"),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, max_size=3)).map(
            lambda call: f"{call[0]}({', '.join(call[1])})"),
    )


grammar = st.recursive(atoms, _extend, max_leaves=12)


@st.composite
def broken(draw):
    """A grammatical expression with a few characters deleted or inserted."""
    source = draw(grammar)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(source)))
        if draw(st.booleans()) and source:
            source = source[:at] + source[at + 1:]
        else:
            source = source[:at] + draw(st.sampled_from(["(", ")", "'", '"', ",", "[", "@", ".", "\\",
                                                         "==", "and", "\x00", "٣"])) + source[at:]
    return source


sources = st.one_of(grammar, broken(), st.text(max_size=60), st.sampled_from(HOSTILE),
                    st.integers(1, 200).map(lambda n: "(" * n + "1" + ")" * n),
                    st.integers(1, 200).map(lambda n: "not " * n + "true"),
                    st.just("1" + " + 1" * (MAX_LENGTH // 4)))

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.dates().map(str) | st.datetimes() | st.dates() | st.decimals(allow_nan=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8)
answers = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), values, max_size=6)
contexts = st.dictionaries(st.sampled_from(["site", "wave", "language"]), values, max_size=3)


@given(sources, answers, contexts, values)
def test_parse_then_evaluate_never_raises_anything_else(source, answered, context, self_value):
    try:
        expression = parse(source)
    except ExpressionError as error:
        assert error.message and 1 <= error.column <= max(len(source), MAX_LENGTH) + 1
        return
    assert isinstance(expression, Expression)
    value = expression.evaluate(answered, context=context, self_value=self_value)
    assert value is None or isinstance(value, (bool, int, float, str, list, tuple, datetime.date,
                                               dict, set, frozenset)) or hasattr(value, "as_tuple")
    assert isinstance(expression.test(answered, context=context, self_value=self_value), bool)


@given(grammar)
def test_every_grammatical_expression_parses_or_names_its_column(source):
    try:
        expression = parse(source)
    except ExpressionError as error:
        # Only reasons the grammar cannot rule out: chained comparisons, unknown functions
        # and their arity, bad patterns, names with keywords, nesting.
        assert error.message
    else:
        # The names it reports are exactly names written outside strings.
        assert expression.names <= set(NAMES)
