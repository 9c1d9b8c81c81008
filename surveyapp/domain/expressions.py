"""The expression language of instruments' ``relevant`` and ``constraint`` keys.

Expressions are tokenized and parsed by hand into a small immutable tree that
is then walked; user text never reaches ``eval``, ``exec``, ``compile`` or
``ast``.  From lowest to highest precedence::

    a or b        a and b        not a
    a == b  a != b  a < b  a <= b  a > b  a >= b  a in b  a not in b
    a + b   a - b
    a * b   a / b
    -a
    2  2.5  'text'  "text"  true  false  null  ['a', 'b']  (a)
    years_here  trust.police_listen  .  @site  @wave  @language
    selected(x, 'v')  count(x)  answered(x)  length(x)  matches(x, 're')  number(x)

Comparisons do not chain (``a < b < c`` is an error).  In strings ``\\'``,
``\\"`` and ``\\\\`` are escapes and any other backslash is kept as written,
so patterns read naturally: ``matches(., '\\d+')``.  ``.`` is the answer
being validated.  Keywords are lowercase and cannot be names.

Semantics, chosen so that skip logic fails closed and evaluation never raises:

* an unanswered name is null (None).  Comparing with None is false, except
  against a *written* ``null``: ``x == null`` and ``x != null`` are null
  tests.  Arithmetic with None, or dividing by zero, gives None;
* equality is strict: numbers equal numbers (``1 == 1.0``) and strings equal
  strings, so ``'3' == 3`` and ``true == 1`` are false;
* ordering works for number/number, string/string and date/date, where a
  date may be an ISO ``YYYY-MM-DD`` string (datetimes compare by their
  date); any other pair is false;
* ``x in y`` is list membership or substring; it and ``x not in y`` are
  false when x or y is null;
* ``and``/``or`` short-circuit and give booleans; null, false, 0, '' and []
  are falsy.

Parse errors raise :class:`ExpressionError` with a 1-based column.
"""
from __future__ import annotations

import datetime
import functools
import operator
import re
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

__all__ = ["CONTEXT_NAMES", "Expression", "ExpressionError", "parse"]

CONTEXT_NAMES = frozenset({"site", "wave", "language"})
MAX_LENGTH = 2000
MAX_DEPTH = 50

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_CONSTANTS = {"true": True, "false": False, "null": None}
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SIZED = (str, list, tuple, set, frozenset, dict)
_LISTS = (list, tuple, set, frozenset)


class ExpressionError(ValueError):
    """A parse error: ``message`` in plain English, ``column`` 1-based in the source."""

    def __init__(self, message: str, column: int):
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column

    def __reduce__(self):  # the default would replay str(self) as the only argument
        return (type(self), (self.message, self.column))


# --- values -----------------------------------------------------------------
# These helpers see caller-supplied answers, which may hold any object at all;
# where they catch Exception broadly it is because evaluation must not raise.

def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, Decimal)) and not isinstance(x, bool)


def _as_date(x: Any) -> datetime.date | None:
    if isinstance(x, datetime.date):
        return x.date() if isinstance(x, datetime.datetime) else x
    try:  # fromisoformat alone would also take '20250102' and times
        return datetime.date.fromisoformat(x) if _ISO_DATE.fullmatch(x) else None
    except (TypeError, ValueError):  # not a string; 2025-02-30
        return None


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The pair in a form Python can compare, or None when the types don't mix."""
    if _is_number(a) and _is_number(b):
        # Decimal and float refuse arithmetic together and compare exactly
        # (Decimal('0.1') != 0.1); comparing as floats is what authors mean.
        return (float(a), float(b)) if isinstance(a, float) or isinstance(b, float) else (a, b)
    if isinstance(a, str) and isinstance(b, str):
        return a, b  # ISO dates order correctly as strings
    if isinstance(a, datetime.date) or isinstance(b, datetime.date):
        da, db = _as_date(a), _as_date(b)
        return (da, db) if da is not None and db is not None else None
    return None


def _eq(a: Any, b: Any) -> bool:
    try:
        if a is None or b is None:
            return False
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
        pair = _comparable(a, b)
        if pair is not None:
            return pair[0] == pair[1]
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _order(op: str, a: Any, b: Any) -> bool:
    try:
        pair = _comparable(a, b)
        return pair is not None and bool(_ORDERINGS[op](*pair))
    except Exception:  # e.g. Decimal('NaN') < 1 signals InvalidOperation
        return False


def _contains(item: Any, container: Any) -> bool:
    try:
        if isinstance(container, _LISTS):
            return any(_eq(item, x) for x in container)
        return isinstance(container, str) and isinstance(item, str) and item in container
    except Exception:
        return False


def _arith(op: str, a: Any, b: Any) -> Any:
    if not (_is_number(a) and _is_number(b)):
        return None
    try:
        if isinstance(a, float) or isinstance(b, float):
            a, b = float(a), float(b)
        if op == "/":
            return None if b == 0 else a / b
        return a + b if op == "+" else a - b if op == "-" else a * b
    except Exception:  # overflow, Decimal signals
        return None


def _truthy(x: Any) -> bool:
    try:
        return bool(x)
    except Exception:  # a __bool__ that raises counts as false
        return False


def _lookup(answers: Any, name: str) -> Any:
    """A flat key (``'trust.police_listen'``) wins; otherwise walk nested mappings."""
    try:
        if name in answers:
            return answers[name]
        value = answers
        for part in name.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return value
    except Exception:
        return None


def _number(x: Any) -> Any:
    if _is_number(x):
        return x
    text = x.strip() if isinstance(x, str) else ""
    if not _NUMERIC_TEXT.fullmatch(text):
        return None
    try:
        return float(text) if "." in text else int(text)
    except ValueError:  # more digits than int() agrees to convert
        return None


# name -> (arity, implementation); matches() is evaluated from its compiled pattern.
_FUNCTIONS = {
    "answered": (1, lambda x: x is not None and not (isinstance(x, _SIZED) and len(x) == 0)),
    "count": (1, lambda x: 0 if x is None else len(x) if isinstance(x, _SIZED) else None),
    "length": (1, lambda x: 0 if x is None else len(x) if isinstance(x, str) else None),
    "matches": (2, None),
    "number": (1, _number),
    "selected": (2, lambda x, v: _contains(v, x) if isinstance(x, _LISTS) else _eq(x, v)),
}

# --- tree -------------------------------------------------------------------
# Runs of one precedence level (a + b - c, a and b and c) are single flat
# nodes, so tree depth follows nesting, which is capped, not source length.

_Lit = namedtuple("_Lit", "value")
_Name = namedtuple("_Name", "name")
_Ctx = namedtuple("_Ctx", "name")
_Self = namedtuple("_Self", "")
_List = namedtuple("_List", "items")
_Not = namedtuple("_Not", "operand")
_Neg = namedtuple("_Neg", "operand")
_Arith = namedtuple("_Arith", "first rest")  # rest: ((op, node), ...)
_Logic = namedtuple("_Logic", "op items")  # op: 'and' | 'or'
_Compare = namedtuple("_Compare", "op left right")
_Call = namedtuple("_Call", "function args pattern")  # pattern: matches() only
_Env = namedtuple("_Env", "answers context self_value")


def _is_null(node: Any) -> bool:
    return isinstance(node, _Lit) and node.value is None


def _ev(node: Any, env: _Env) -> Any:
    match node:
        case _Lit(value):
            return value
        case _Name(name):
            return _lookup(env.answers, name)
        case _Ctx(name):
            return _lookup(env.context, name)
        case _Self():
            return env.self_value
        case _List(items):
            return [_ev(item, env) for item in items]
        case _Not(operand):
            return not _truthy(_ev(operand, env))
        case _Neg(operand):
            return _arith("-", 0, _ev(operand, env))
        case _Arith(first, rest):
            value = _ev(first, env)
            for op, operand in rest:
                value = _arith(op, value, _ev(operand, env))
            return value
        case _Logic(op, items):
            decisive = op == "or"  # the truth value that settles the result early
            return decisive if any(_truthy(_ev(i, env)) == decisive for i in items) else not decisive
        case _Compare(op, left, right):
            a, b = _ev(left, env), _ev(right, env)
            if op in ("==", "!="):
                # Only a written null makes a null test; a None from an
                # unanswered name must make the comparison false.
                if _is_null(left) or _is_null(right):
                    return (a is None and b is None) == (op == "==")
                return a is not None and b is not None and _eq(a, b) == (op == "==")
            if op == "in":
                return _contains(a, b)
            if op == "not in":
                return a is not None and b is not None and not _contains(a, b)
            return _order(op, a, b)
        case _Call(function, args, pattern):
            values = [_ev(arg, env) for arg in args]
            try:  # len() and str methods can still meet a hostile subclass
                if pattern is not None:
                    return isinstance(values[0], str) and pattern.fullmatch(values[0]) is not None
                return _FUNCTIONS[function][1](*values)
            except Exception:
                return None


# --- tokens -----------------------------------------------------------------

# kind: number, string, name, keyword, context, self, op or end; text is the
# token as written, for error messages.
_Token = namedtuple("_Token", "kind value column text")


def _check_name_part(word: str, column: int) -> None:
    if word in _KEYWORDS:
        raise ExpressionError(f"'{word}' is a keyword and cannot be used as a name", column)
    # Python habits (True, None, AND) would otherwise parse as unanswered names.
    lowered = "null" if word == "None" else word.lower()
    if lowered in _KEYWORDS:
        raise ExpressionError(f"'{word}' is not a name; keywords are lowercase: write '{lowered}'",
                              column)


def _tokenize(source: str) -> list:
    tokens, i, n = [], 0, len(source)
    while i < n:
        c, col = source[i], i + 1
        if c.isspace():
            i += 1
        elif c in "'\"":
            chars, j = [], i + 1
            while j < n and source[j] != c:
                if source[j] == "\\" and j + 1 < n and source[j + 1] in "'\"\\":
                    j += 1
                chars.append(source[j])
                j += 1
            if j >= n:
                raise ExpressionError("unterminated string", col)
            tokens.append(_Token("string", "".join(chars), col, source[i:j + 1]))
            i = j + 1
        elif c in "0123456789":
            text = _NUMBER.match(source, i).group()
            tokens.append(_Token("number", float(text) if "." in text else int(text), col, text))
            i += len(text)
        elif m := _IDENT.match(source, i):
            end, parts = m.end(), [(m.group(), col)]
            while end < n and source[end] == "." and (p := _IDENT.match(source, end + 1)):
                parts.append((p.group(), end + 2))
                end = p.end()
            text = source[i:end]
            if text in _KEYWORDS:
                tokens.append(_Token("keyword", text, col, text))
            else:
                for word, word_col in parts:
                    _check_name_part(word, word_col)
                tokens.append(_Token("name", text, col, text))
            i = end
        elif c == "@":
            m = _IDENT.match(source, i + 1)
            allowed = ", ".join("@" + x for x in sorted(CONTEXT_NAMES))
            if not m:
                raise ExpressionError(f"expected a context name after '@'; allowed: {allowed}", col)
            if m.group() not in CONTEXT_NAMES:
                raise ExpressionError(f"unknown context name '@{m.group()}'; allowed: {allowed}",
                                      col)
            tokens.append(_Token("context", m.group(), col, "@" + m.group()))
            i = m.end()
        elif c == ".":
            tokens.append(_Token("self", ".", col, "."))
            i += 1
        elif op := next((o for o in _OPERATORS if source.startswith(o, i)), None):
            tokens.append(_Token("op", op, col, op))
            i += len(op)
        else:
            hint = {"=": "; use '==' to compare", "!": "; use 'not' or '!='"}.get(c, "")
            raise ExpressionError(f"unexpected character {c!r}{hint}", col)
    tokens.append(_Token("end", None, n + 1, ""))
    return tokens


# --- parser -----------------------------------------------------------------

def _unexpected(token: _Token, expected: str = "") -> ExpressionError:
    found = ("end of expression" if token.kind == "end" else
             f"string {token.text}" if token.kind == "string" else f"'{token.text}'")
    message = f"expected {expected} but found {found}" if expected else f"unexpected {found}"
    return ExpressionError(message, token.column)


class _Parser:
    """Recursive descent, one method per precedence level."""

    def __init__(self, source: str):
        self.tokens, self.pos, self.depth = _tokenize(source), 0, 0
        self.name_columns: dict[str, int] = {}
        self.uses_self = False

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def at(self, kind: str, values: Any, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == kind and token.value in values

    def expect(self, op: str) -> None:
        if not self.at("op", (op,)):
            raise _unexpected(self.peek(), f"'{op}'")
        self.take()

    def nest(self, column: int, parse: Any, closer: str | None = None) -> Any:
        """Run ``parse`` (then expect ``closer``) one level deeper.  Capping depth
        here bounds parser recursion and tree depth, so neither hits RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression is nested too deeply (limit {MAX_DEPTH})", column)
        node = parse()
        if closer:
            self.expect(closer)
        self.depth -= 1
        return node

    def parse(self) -> Any:
        node = self.logic("or")
        if self.peek().kind != "end":
            raise _unexpected(self.peek())
        return node

    def logic(self, op: str) -> Any:
        operand = (lambda: self.logic("and")) if op == "or" else self.negation
        items = [operand()]
        while self.at("keyword", (op,)):
            self.take()
            items.append(operand())
        return items[0] if len(items) == 1 else _Logic(op, tuple(items))

    def negation(self) -> Any:
        if not self.at("keyword", ("not",)):
            return self.comparison()
        return self.nest(self.take().column, lambda: _Not(self.negation()))

    def comparison_op(self) -> str | None:
        if self.at("op", _COMPARISONS) or self.at("keyword", ("in",)):
            return self.peek().value
        if self.at("keyword", ("not",)) and self.at("keyword", ("in",), 1):
            return "not in"
        return None

    def comparison(self) -> Any:
        left = self.arith(("+", "-"))
        op = self.comparison_op()
        if op is None:
            return left
        self.pos += 2 if op == "not in" else 1
        node = _Compare(op, left, self.arith(("+", "-")))
        if self.comparison_op() is not None:
            raise ExpressionError("comparisons cannot be chained; join them with 'and'",
                                  self.peek().column)
        return node

    def arith(self, ops: tuple[str, str]) -> Any:
        operand = (lambda: self.arith(("*", "/"))) if ops[0] == "+" else self.unary
        first, rest = operand(), []
        while self.at("op", ops):
            rest.append((self.take().value, operand()))
        return _Arith(first, tuple(rest)) if rest else first

    def unary(self) -> Any:
        if not self.at("op", ("-",)):
            return self.atom()
        operand = self.nest(self.take().column, self.unary)
        if isinstance(operand, _Lit) and _is_number(operand.value):
            return _Lit(-operand.value)  # '-2' is a plain literal
        return _Neg(operand)

    def atom(self) -> Any:
        token = self.take()
        kind, value = token.kind, token.value
        if kind in ("number", "string") or (kind == "keyword" and value in _CONSTANTS):
            return _Lit(_CONSTANTS[value] if kind == "keyword" else value)
        if kind == "self":
            self.uses_self = True
            return _Self()
        if kind == "context":
            return _Ctx(value)
        if kind == "name" and self.at("op", ("(",)):
            return self.call(token)
        if kind == "name":
            self.name_columns.setdefault(value, token.column)
            return _Name(value)
        if kind == "op" and value == "(":
            return self.nest(token.column, lambda: self.logic("or"), ")")
        if kind == "op" and value == "[":
            items = self.nest(token.column, lambda: self.items("]"), "]")
            return _List(tuple(node for _, node in items))
        raise _unexpected(token)

    def items(self, closer: str) -> list:
        """(first token, node) of each comma-separated expression before ``closer``."""
        found = []
        while not self.at("op", (closer,)):
            if found and not self.at("op", (",",)):
                raise _unexpected(self.peek(), f"',' or '{closer}'")
            self.pos += bool(found)  # the comma
            found.append((self.peek(), self.logic("or")))
        return found

    def call(self, name: _Token) -> _Call:
        function = name.value
        if function not in _FUNCTIONS:
            known = ", ".join(sorted(_FUNCTIONS))
            raise ExpressionError(f"unknown function '{function}'; known: {known}", name.column)
        self.take()  # '('
        args = self.nest(name.column, lambda: self.items(")"), ")")
        arity = _FUNCTIONS[function][0]
        if len(args) != arity:
            raise ExpressionError(f"{function}() takes {arity} argument{'s' * (arity > 1)}, "
                                  f"got {len(args)}", name.column)
        pattern = None
        if function == "matches":
            start, node = args[1]
            if not (isinstance(node, _Lit) and isinstance(node.value, str)):
                raise ExpressionError("the pattern of matches() must be a string literal",
                                      start.column)
            try:
                pattern = re.compile(node.value)
            except RecursionError:  # sre's parser recurses once per nested group
                raise ExpressionError("invalid regular expression: nested too deeply",
                                      start.column) from None
            # Under -W error a FutureWarning from re arrives as an exception.
            except (re.error, OverflowError, ValueError, Warning) as exc:
                reason = getattr(exc, "msg", None) or str(exc)
                raise ExpressionError(f"invalid regular expression: {reason}",
                                      start.column) from None
        return _Call(function, tuple(node for _, node in args), pattern)


# --- public API -------------------------------------------------------------

@dataclass(frozen=True)
class Expression:
    """A parsed expression; immutable, so cached instances are shared safely.

    ``names`` holds every answer name referenced (dotted names whole, e.g.
    ``'trust.police_listen'``), never ``.`` or ``@`` names; ``name_columns``
    maps each to the 1-based column where it first appears.
    """

    source: str
    names: frozenset[str]
    uses_self: bool
    name_columns: Mapping[str, int] = field(compare=False, repr=False)
    _root: Any = field(compare=False, repr=False)

    def evaluate(self, answers: Mapping[str, Any], *, context: Mapping[str, Any] | None = None,
                 self_value: Any = None) -> Any:
        """The expression's value; never raises, whatever the data.

        ``answers`` maps names to values (a dotted name is tried as a flat key,
        then through nested mappings); ``context`` maps 'site', 'wave' and
        'language' (no '@'); ``self_value`` is '.'.  Missing names are None.
        """
        return _ev(self._root, _Env({} if answers is None else answers,
                                    {} if context is None else context, self_value))

    def test(self, answers: Mapping[str, Any], *, context: Mapping[str, Any] | None = None,
             self_value: Any = None) -> bool:
        """Truthiness of :meth:`evaluate` (null, false, 0, '' and [] are false)."""
        return _truthy(self.evaluate(answers, context=context, self_value=self_value))


def parse(source: str) -> Expression:
    """Parse ``source`` or raise ExpressionError; results are cached by source.

    A non-string source (YAML's ``relevant: true``) is an ExpressionError too,
    so callers report every bad expression the same way.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"expression must be text, not {type(source).__name__}", 1)
    return _parse_cached(source)


@functools.lru_cache(maxsize=1024)
def _parse_cached(source: str) -> Expression:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression is too long ({len(source)} characters; "
                              f"limit {MAX_LENGTH})", MAX_LENGTH + 1)
    if not source.strip():
        raise ExpressionError("empty expression", 1)
    parser = _Parser(source)
    try:
        root = parser.parse()
    except RecursionError:  # only if the caller's own stack is already nearly full
        raise ExpressionError("expression is nested too deeply", 1) from None
    columns = dict(parser.name_columns)
    return Expression(source, frozenset(columns), parser.uses_self,
                      MappingProxyType(columns), root)
