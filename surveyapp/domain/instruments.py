"""Load YAML instruments into frozen dataclasses, checking everything on the way.

``load_instrument(text, path)`` returns an :class:`Instrument` or raises
:class:`InstrumentError`, whose ``problems`` list *every* problem found, each
with the file, line and column it is about. The format is described in
``docs/instruments.md``. Text past a limit of ``limits.check_yaml`` (nesting depth,
aliases, size) is refused first, as one problem where the limit is passed. Nothing
here imports Flask: the web app, the CLI and the tests all call the same functions.

Run ``python -m surveyapp.domain.instruments PATH...`` to check files by hand.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ruamel.yaml import YAML
from ruamel.yaml import resolver as ruamel_resolver
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from surveyapp.domain import expressions, limits

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ckb"})

QUESTION_TYPES = (
    "text", "textarea", "integer", "decimal", "select_one", "select_multiple",
    "likert", "matrix", "date", "note", "ranking",
)
CHOICE_TYPES = frozenset({"select_one", "select_multiple", "likert", "matrix", "ranking"})
SCALE_TYPES = frozenset({"likert", "matrix"})
OTHER_VALUE = "other"
DEFAULT_MAX_LENGTH = {"text": 500, "textarea": 5000}

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What YAML itself refuses to read (C0 and C1 controls but tab, newline, return; DEL;
# and the non-characters), found before parsing so that each gets its own line:col.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")

KINDS = ("survey", "focus_group", "interview")
# Guides: what a facilitator asks a group (focus_group) or one person (interview), with
# prompts in place of pages; both are transcribed, redacted and themed per prompt alike.
GUIDE_KINDS = ("focus_group", "interview")


# How a person names each kind of guide (the command line's messages).
GUIDE_NAMES = {"focus_group": "a focus-group guide", "interview": "an interview guide"}


def _guide_name(kind: str) -> str:
    """How a problem names a guide: "a focus_group guide", "an interview guide"."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} guide"

TOP_KEYS = ("id", "version", "kind", "languages", "default_language", "title",
            "description", "consent", "choice_lists", "pages", "scoring",
            "prompts", "session_fields")
GUIDE_ONLY_KEYS = ("prompts", "session_fields")
PROMPT_KEYS = ("id", "label", "probes")
PAGE_KEYS = ("id", "title", "questions")
QUESTION_KEYS = ("id", "type", "label", "hint", "required", "relevant", "constraint",
                 "constraint_message", "default", "pii", "min", "max", "max_length",
                 "choices", "other", "items", "min_choices", "max_choices", "themes")
# Keys that only make sense for some types; the rest apply to every type.
KEYS_FOR_TYPES = {
    "min": {"integer", "decimal", "date"},
    "max": {"integer", "decimal", "date"},
    "max_length": {"text", "textarea"},
    "choices": CHOICE_TYPES,
    "other": {"select_one", "select_multiple"},
    "items": {"matrix"},
    "min_choices": {"select_multiple", "ranking"},
    "max_choices": {"select_multiple", "ranking"},
    "themes": {"textarea"},
}
CHOICE_KEYS = ("value", "label")
ITEM_KEYS = ("id", "label")
SCORING_KEYS = ("scale", "domains", "min_answered")
SCALE_KEYS = ("min", "max")
DOMAIN_KEYS = ("id", "label", "items", "reverse")

Text = Mapping[str, str]


def text_direction(language: str) -> str:
    """'rtl' for right-to-left languages (by their primary subtag), else 'ltr'."""
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


def localise(text: Text | None, language: str, fallback: str) -> str:
    """The text in ``language``, else in ``fallback``, else ''."""
    if not text:
        return ""
    return text.get(language) or text.get(fallback) or ""


def yaml_position(node, key=None, *, value=False) -> tuple[int, int]:
    """1-based (line, column) of ``node[key]`` (its key, or with ``value`` its value) or of
    ``node``, as ruamel.yaml recorded it; (1, 1) when it recorded none."""
    try:
        if key is None:
            line, col = node.lc.line, node.lc.col
        elif isinstance(node, CommentedSeq):
            line, col = node.lc.item(key)
        elif value:
            line, col = node.lc.value(key)
        else:
            line, col = node.lc.key(key)
    except (AttributeError, KeyError, TypeError, IndexError):
        return (1, 1)
    if line is None or col is None:  # a node built without positions (load_stored_instrument)
        return (1, 1)
    return (line + 1, col + 1)


# ----------------------------------------------------------------------------- model

@dataclass(frozen=True)
class Choice:
    value: str | int
    label: Text


@dataclass(frozen=True)
class ChoiceList:
    id: str
    choices: tuple[Choice, ...]

    @property
    def values(self) -> tuple:
        return tuple(choice.value for choice in self.choices)

    @property
    def is_scale(self) -> bool:
        """True when every value is an integer, so the list can be scored."""
        return bool(self.choices) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True)
class MatrixItem:
    id: str
    label: Text


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    page_id: str
    label: Text
    hint: Text | None = None
    required: bool = False
    relevant: expressions.Expression | None = None
    constraint: expressions.Expression | None = None
    constraint_message: Text | None = None
    default: Any = None
    pii: bool = False
    min: Any = None
    max: Any = None
    max_length: int | None = None
    choices: ChoiceList | None = None
    other: bool = False
    items: tuple[MatrixItem, ...] = ()
    min_choices: int | None = None
    max_choices: int | None = None
    themes: bool = False

    @property
    def answer_keys(self) -> tuple[str, ...]:
        """The keys this question's answers are stored under, in order."""
        if self.type == "note":
            return ()
        if self.type == "matrix":
            return tuple(f"{self.id}.{item.id}" for item in self.items)
        if self.other:
            return (self.id, f"{self.id}.{OTHER_VALUE}")
        return (self.id,)

    @property
    def choice_values(self) -> tuple:
        values = self.choices.values if self.choices else ()
        return values + (OTHER_VALUE,) if self.other else values


@dataclass(frozen=True)
class Page:
    id: str
    title: Text | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Prompt:
    """A discussion question of a guide (focus group or interview), with optional probes."""
    id: str
    label: Text
    probes: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Domain:
    id: str
    label: Text
    items: tuple[str, ...]
    reverse: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scoring:
    scale_min: int
    scale_max: int
    domains: tuple[Domain, ...]
    # The share of a domain's items a response must answer to be scored (None: half).
    min_answered: float | None = None


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    kind: str
    languages: tuple[str, ...]
    default_language: str
    title: Text
    description: Text | None
    consent: Text
    choice_lists: Mapping[str, ChoiceList]
    pages: tuple[Page, ...]
    scoring: Scoring | None
    content_hash: str
    source_path: str = ""
    questions_by_id: Mapping[str, Question] = field(default_factory=dict, repr=False)
    # Guides (kind: focus_group or interview) have prompts and session fields, not pages.
    prompts: tuple[Prompt, ...] = ()
    session_fields: tuple[Question, ...] = ()

    @property
    def is_guide(self) -> bool:
        """A focus-group or interview guide (prompts), not a questionnaire (pages)."""
        return self.kind in GUIDE_KINDS

    def prompt(self, prompt_id: str) -> Prompt | None:
        return next((p for p in self.prompts if p.id == prompt_id), None)

    @property
    def questions(self) -> Iterator[Question]:
        for page in self.pages:
            yield from page.questions

    def question(self, question_id: str) -> Question:
        return self.questions_by_id[question_id]

    @property
    def answer_keys(self) -> tuple[str, ...]:
        """Every key an answer can be stored under, in questionnaire order."""
        return tuple(key for q in self.questions for key in q.answer_keys)

    def language_for(self, requested: str | None) -> str:
        """``requested`` if this instrument has it (or its primary subtag), else the default."""
        if requested:
            if requested in self.languages:
                return requested
            primary = requested.split("-")[0].lower()
            if primary in self.languages:
                return primary
        return self.default_language


# ----------------------------------------------------------------------------- problems

@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class InstrumentError(ValueError):
    """An instrument that cannot be used; ``problems`` lists every reason, in file order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# ----------------------------------------------------------------------------- loading

def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_instrument(text: str, path: str = "<instrument>") -> Instrument:
    """Parse and check one instrument's YAML text; raise InstrumentError listing every problem."""
    controls = _control_characters(text, path)
    if controls:
        raise InstrumentError(controls)
    try:
        limits.check_yaml(text)  # ruamel recurses per level: a deep file is a RecursionError
    except limits.YamlLimit as error:
        raise InstrumentError([Problem(path, error.line, error.column, error.message)]) from None
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True  # so expression columns can account for the quote
    try:
        data = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise InstrumentError([Problem(path, line, col, f"YAML syntax: {message}")]) from None
    except (ValueError, TypeError, OverflowError):
        # A typed scalar its constructor refuses (!!int abc, 2026-13-45): the error has no
        # position, so find every such scalar again, node by node.
        raise InstrumentError(_bad_scalars(text, path)) from None
    if not isinstance(data, CommentedMap):
        raise InstrumentError([Problem(path, 1, 1, "an instrument must be a YAML mapping")])
    return _Checker(path, text).instrument(data)


def load_stored_instrument(text: str, path: str = "<instrument>") -> Instrument:
    """The instrument of a stored version: what ``load_instrument`` returns, only faster.

    A stored version's text was checked by ``load_instrument`` when it was stored; reading
    it back (an export in a fresh worker process) needs no comments, no round trip and
    no positions, and ruamel.yaml's pure-Python round-trip parser takes seconds on a long
    questionnaire. So libyaml (PyYAML's C parser) parses it into the very types the checker
    expects (``CommentedMap``, ``CommentedSeq``, quoted strings as quoted), and every plain
    scalar is typed by ruamel's own YAML 1.2 rules (``no`` stays a string; YAML 1.1 would
    make it False). Anything with the least doubt, which the fast path does not read exactly
    as ruamel does (a tag, a merge key, a date, an octal or hex number, a duplicate key, a
    problem found), goes to ``load_instrument``, so the result is always the same. So does
    text past a limit of ``limits.check_yaml`` (a few milliseconds, once per version and
    process): the fast path walks what aliases expand to too, and 30 KB of them can stand
    for nine million questions."""
    if _FastLoader is None:
        return load_instrument(text, path)
    try:
        if _control_characters(text, path):
            raise _Unsure
        limits.check_yaml(text)  # YamlLimit, a ValueError: load_instrument says where
        loader = _FastLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
        if not isinstance(data, CommentedMap):
            raise _Unsure
        checker = _Checker(path, text)
        instrument = checker.instrument(data)
    except (_Unsure, InstrumentError, _pyyaml.YAMLError, ValueError, TypeError, RecursionError):
        return load_instrument(text, path)
    return instrument


class _Unsure(Exception):
    """The fast reader cannot promise to read this as ruamel.yaml does."""


def _fast_loader():
    try:
        import yaml as pyyaml
        base = pyyaml.CSafeLoader
    except (ImportError, AttributeError):  # no PyYAML, or built without libyaml
        return None, None
    plain = {tag: pattern for versions, tag, pattern, _first in ruamel_resolver.implicit_resolvers
             if (1, 2) in versions}
    decimal = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
    point = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
    prefix = "tag:yaml.org,2002:"

    def scalar(loader, node):
        value = node.value
        if node.style == '"':
            return DoubleQuotedScalarString(value)
        if node.style == "'":
            return SingleQuotedScalarString(value)
        if node.style:  # a block scalar (| or >): text, as ruamel reads it ('' is plain in libyaml)
            return value
        for tag, pattern in plain.items():
            if pattern.match(value):
                kind = tag[len(prefix):]
                if kind == "null":
                    return None
                if kind == "bool":
                    return value.lower() == "true"
                if kind == "int" and decimal.fullmatch(value):
                    return int(value)
                if kind == "float" and point.fullmatch(value):
                    return float(value)
                raise _Unsure  # 0o17, 1_000, 1e3, .inf, dates, <<, =: let ruamel type them
        return value

    def mapping(loader, node):
        data = CommentedMap()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                if key in data:
                    raise _Unsure  # ruamel refuses a duplicate key: let it say where
            except TypeError:
                raise _Unsure from None
            data[key] = loader.construct_object(value_node, deep=True)
        return data

    def sequence(loader, node):
        return CommentedSeq(loader.construct_object(child, deep=True) for child in node.value)

    def refuse(loader, node):
        raise _Unsure  # an explicit tag (!!int, !!binary, !custom)

    class Loader(base):
        yaml_implicit_resolvers: dict = {}  # every plain scalar comes as a string: typed above
        yaml_constructors = {prefix + "str": scalar, prefix + "map": mapping,
                             prefix + "seq": sequence, None: refuse}
        yaml_multi_constructors: dict = {}

    return pyyaml, Loader


def _control_characters(text: str, path: str) -> list[Problem]:
    """A problem for each control character in ``text``, which YAML cannot read."""
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: \x0b is a break there
        for match in _CONTROL_RE.finditer(line):
            problems.append(Problem(path, number, match.start() + 1,
                                    f"control character U+{ord(match.group()):04X} is not allowed"))
    return problems


def _bad_scalars(text: str, path: str) -> list[Problem]:
    """A problem for each scalar whose tag's constructor fails (``!!int abc``, ``!!timestamp
    2026-13-45``, an unquoted ``2026-13-45``), at the scalar's line and column."""
    yaml = YAML(typ="rt")
    problems = []
    pending = [yaml.compose(text)]
    while pending:
        node = pending.pop()
        if isinstance(node, ScalarNode):
            try:
                yaml.constructor.construct_object(node, deep=True)
            except (ValueError, TypeError, OverflowError) as error:
                tag = str(node.tag).rpartition(":")[2] or str(node.tag)
                mark = node.start_mark
                problems.append(Problem(path, mark.line + 1, mark.column + 1,
                                        f"'{node.value}' is not a valid {tag} ({error})"))
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                pending.extend((key, value))
    return problems or [Problem(path, 1, 1, "a value could not be read")]


def load_file(path: str | Path) -> Instrument:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InstrumentError([Problem(str(path), 1, 1, f"not UTF-8 text: {error}")]) from None
    return load_instrument(text, str(path))


def instrument_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their *.yaml / *.yml files, sorted; keep files as given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir()
                                if p.suffix in {".yaml", ".yml"} and p.is_file()))
        else:
            found.append(path)
    return found


def check_paths(paths: Iterable[str | Path]) -> tuple[list[Instrument], list[Problem]]:
    """Load every instrument under ``paths``; return the good ones and every problem found."""
    instruments: list[Instrument] = []
    problems: list[Problem] = []
    first_file_for_id: dict[str, str] = {}
    for path in instrument_files(paths):
        if not path.exists():
            problems.append(Problem(str(path), 1, 1, "no such file or directory"))
            continue
        try:
            instrument = load_file(path)
        except InstrumentError as error:
            problems.extend(error.problems)
            continue
        if instrument.id in first_file_for_id:
            problems.append(Problem(str(path), 1, 1, f"instrument id '{instrument.id}' is "
                                    f"also used by {first_file_for_id[instrument.id]}"))
            continue
        first_file_for_id[instrument.id] = str(path)
        instruments.append(instrument)
    return instruments, problems


def _is_date(text: str) -> bool:
    """YYYY-MM-DD naming a real day (2026-13-45 matches the pattern and is none)."""
    if not _DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _suggest(word: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _known(word: str, options) -> str:
    if not options:
        return "; no choice_lists are declared"
    return _suggest(word, options) or "; known: " + ", ".join(options)


class _Checker:
    """Walks the parsed YAML once, building dataclasses and collecting problems."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.source = text
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ()

    # -- positions
    def at(self, node, key=None, *, value=False) -> tuple[int, int]:
        return yaml_position(node, key, value=value)

    def problem(self, where: tuple[int, int], message: str) -> None:
        self.problems.append(Problem(self.path, where[0], where[1], message))

    def keys(self, node: CommentedMap, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key in node:
            if key not in allowed:
                self.problem(self.at(node, key),
                             f"unknown key '{key}' in {what}{_suggest(key, allowed)}")

    def mapping(self, node, what: str, where) -> CommentedMap | None:
        if isinstance(node, CommentedMap):
            return node
        self.problem(where, f"{what} must be a mapping")
        return None

    def sequence(self, node, what: str, where) -> CommentedSeq | None:
        if isinstance(node, CommentedSeq):
            return node
        self.problem(where, f"{what} must be a list")
        return None

    # -- scalars
    def text(self, node: CommentedMap, key: str, what: str, *, required: bool) -> dict | None:
        """``node[key]``: a {language: text} mapping with every declared language present."""
        if key not in node or node[key] is None:
            if required:
                self.problem(self.at(node), f"{what} needs '{key}'")
            return None
        return self.text_value(node[key], self.at(node, key, value=True), f"{key} of {what}")

    def text_value(self, value, where, name: str) -> dict | None:
        """Check one {language: text} mapping; ``name`` says what it is in messages."""
        if not isinstance(value, CommentedMap):
            self.problem(where, f"{name} must map each language to text, "
                                f"e.g. {{{', '.join(f'{lang}: ...' for lang in self.languages)}}}")
            return None
        result = {}
        for lang in value:
            if lang not in self.languages:
                self.problem(self.at(value, lang), f"{name} has text in '{lang}', "
                             f"which is not declared in languages{_suggest(lang, self.languages)}")
            elif not isinstance(value[lang], str) or not value[lang].strip():
                self.problem(self.at(value, lang, value=True), f"{name} has empty '{lang}' text")
            else:
                result[str(lang)] = str(value[lang]).strip()
        for lang in self.languages:
            if lang not in value:
                self.problem(where, f"{name} has no '{lang}' text "
                                    f"(languages: {', '.join(self.languages)})")
        return result

    def flag(self, node, key, what, default=False) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.problem(self.at(node, key, value=True), f"{key} of {what} must be true or false")
            return default
        return value

    def whole(self, node, key, what, *, minimum=None) -> int | None:
        if key not in node:
            return None
        value = node[key]
        if not isinstance(value, int) or isinstance(value, bool) or (
                minimum is not None and value < minimum):
            bound = f" of at least {minimum}" if minimum is not None else ""
            self.problem(self.at(node, key, value=True),
                         f"{key} of {what} must be a whole number{bound}")
            return None
        return value

    def identifier(self, node, key, what, pattern=_ID_RE) -> str | None:
        value = node.get(key)
        if value is None:
            self.problem(self.at(node), f"{what} needs '{key}'")
            return None
        if not isinstance(value, str) or not pattern.match(value):
            self.problem(self.at(node, key, value=True),
                         f"{key} '{value}' of {what} must match {pattern.pattern}")
            return None
        return value

    def expression(self, node, key, what) -> expressions.Expression | None:
        source = node.get(key)
        if source is None:
            return None
        line, col = self.at(node, key, value=True)
        if not isinstance(source, str):
            self.problem((line, col), f"{key} of {what} must be an expression in quotes")
            return None
        # The error column counts from the expression's first character, after any quote.
        quoted = isinstance(source, (SingleQuotedScalarString, DoubleQuotedScalarString))
        try:
            return expressions.parse(str(source))
        except expressions.ExpressionError as error:
            self.problem((line, col + error.column - 1 + quoted),
                         f"{key} of {what} does not parse: {error.message}")
            return None

    # -- the instrument
    def instrument(self, data: CommentedMap) -> Instrument:
        self.keys(data, TOP_KEYS, "the instrument")
        inst_id = self.identifier(data, "id", "the instrument", _SLUG_RE)
        version = data.get("version")
        if version is None:
            self.problem(self.at(data), "the instrument needs 'version'")
        kind = data.get("kind", "survey")
        if kind not in KINDS:
            self.problem(self.at(data, "kind", value=True),
                         f"kind '{kind}' is not supported; use one of {', '.join(KINDS)}")

        self.languages = self.declared_languages(data)
        default_language = data.get("default_language")
        if default_language is None:
            self.problem(self.at(data), "the instrument needs 'default_language'")
        elif default_language not in self.languages:
            self.problem(self.at(data, "default_language", value=True),
                         f"default_language '{default_language}' is not one of languages "
                         f"({', '.join(self.languages)})")

        title = self.text(data, "title", "the instrument", required=True)
        description = self.text(data, "description", "the instrument", required=False)
        consent = self.text(data, "consent", "the instrument", required=True)
        choice_lists = self.choice_lists(data)
        pages, prompts, session_fields = [], [], []
        if kind in GUIDE_KINDS:
            for key in ("pages", "scoring"):
                if key in data:
                    self.problem(self.at(data, key), f"{_guide_name(kind)} has prompts, not {key}")
            session_fields = self.session_fields(data, choice_lists)
            prompts = self.prompts(data)
        else:
            for key in GUIDE_ONLY_KEYS:
                if key in data:
                    self.problem(self.at(data, key),
                                 f"'{key}' belongs to a guide (focus_group or interview), "
                                 "not a survey")
            pages = self.pages(data, choice_lists)
        questions = {q.id: q for page in pages for q in page.questions}
        scoring = self.scoring(data, questions)

        if self.problems:
            raise InstrumentError(self.problems)
        return Instrument(
            id=inst_id, version=str(version), kind=kind, languages=self.languages,
            default_language=default_language, title=title, description=description,
            consent=consent, choice_lists=choice_lists, pages=tuple(pages), scoring=scoring,
            content_hash=content_hash(self.source), source_path=self.path,
            questions_by_id=questions, prompts=tuple(prompts), session_fields=tuple(session_fields),
        )

    def declared_languages(self, data) -> tuple[str, ...]:
        raw = data.get("languages")
        if raw is None:
            self.problem(self.at(data), "the instrument needs 'languages'")
            return ()
        seq = self.sequence(raw, "languages", self.at(data, "languages", value=True))
        if not seq:
            return ()
        languages = []
        for index, lang in enumerate(seq):
            if not isinstance(lang, str) or not _LANG_RE.match(lang):
                self.problem(self.at(seq, index), f"'{lang}' is not a language code such as 'en'")
            elif lang in languages:
                self.problem(self.at(seq, index), f"language '{lang}' is listed twice")
            else:
                languages.append(lang)
        return tuple(languages)

    def choice_lists(self, data) -> dict[str, ChoiceList]:
        raw = data.get("choice_lists")
        if raw is None:
            return {}
        lists = self.mapping(raw, "choice_lists", self.at(data, "choice_lists", value=True))
        result = {}
        for list_id in lists or ():
            what = f"choice list '{list_id}'"
            if not isinstance(list_id, str) or not _ID_RE.match(list_id):
                self.problem(self.at(lists, list_id), f"{what}: id must match {_ID_RE.pattern}")
            seq = self.sequence(lists[list_id], what, self.at(lists, list_id, value=True))
            if seq is None:
                continue
            choices, seen = [], set()
            for index, node in enumerate(seq):
                node = self.mapping(node, f"a choice in {what}", self.at(seq, index))
                if node is None:
                    continue
                self.keys(node, CHOICE_KEYS, f"a choice in {what}")
                value = node.get("value")
                if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
                    self.problem(self.at(node), f"a choice in {what} needs a 'value' "
                                 "(text or a whole number; quote yes/no/on/off)")
                    continue
                value = value if isinstance(value, int) else str(value)
                if value in seen:
                    self.problem(self.at(node, "value", value=True),
                                 f"choice value '{value}' appears twice in {what}")
                seen.add(value)
                label = self.text(node, "label", f"choice '{value}' in {what}", required=True)
                choices.append(Choice(value, label or {}))
            result[str(list_id)] = ChoiceList(str(list_id), tuple(choices))
        return result

    def pages(self, data, choice_lists) -> list[Page]:
        raw = data.get("pages")
        if raw is None:
            self.problem(self.at(data), "the instrument needs 'pages'")
            return []
        seq = self.sequence(raw, "pages", self.at(data, "pages", value=True))
        pages, page_ids = [], {}
        self.start_questions(q for page in (seq or ()) if isinstance(page, CommentedMap)
                             for q in (page.get("questions") or ()))
        for index, node in enumerate(seq or ()):
            node = self.mapping(node, "a page", self.at(seq, index))
            if node is None:
                continue
            self.keys(node, PAGE_KEYS, "a page")
            page_id = self.identifier(node, "id", "a page") or f"page{index + 1}"
            if page_id in page_ids:
                self.problem(self.at(node, "id", value=True),
                             f"duplicate page id '{page_id}' (first defined at line {page_ids[page_id]})")
            page_ids.setdefault(page_id, self.at(node, "id")[0])
            title = self.text(node, "title", f"page '{page_id}'", required=False)
            questions = []
            qseq = self.sequence(node.get("questions"), f"questions of page '{page_id}'",
                                 self.at(node, "questions", value=True) if "questions" in node
                                 else self.at(node))
            for qindex, qnode in enumerate(qseq or ()):
                qnode = self.mapping(qnode, "a question", self.at(qseq, qindex))
                if qnode is not None:
                    question = self.question(qnode, page_id, choice_lists)
                    if question is not None:
                        questions.append(question)
            pages.append(Page(page_id, title, tuple(questions)))
        if seq is not None and not pages:
            self.problem(self.at(data, "pages", value=True), "the instrument has no pages")
        return pages

    def start_questions(self, nodes) -> None:
        """Get ready to check questions in document order."""
        # question id -> (line, question), for references and duplicates
        self.defined: dict[str, tuple[int, Question | None]] = {}
        # Telling a "later" question from an "unknown" one needs every id up front.
        self.all_question_ids = {q.get("id") for q in nodes if isinstance(q, CommentedMap)}

    def session_fields(self, data, choice_lists) -> list[Question]:
        """What a facilitator records about a session: questions, as on a survey page."""
        raw = data.get("session_fields")
        self.start_questions(raw if isinstance(raw, CommentedSeq) else ())
        if raw is None:
            return []
        seq = self.sequence(raw, "session_fields", self.at(data, "session_fields", value=True))
        fields = []
        for index, node in enumerate(seq or ()):
            node = self.mapping(node, "a session field", self.at(seq, index))
            question = node is not None and self.question(node, "session", choice_lists)
            if question:
                fields.append(question)
        return fields

    def prompts(self, data) -> list[Prompt]:
        if "prompts" not in data:
            self.problem(self.at(data), f"{_guide_name(data.get('kind'))} needs 'prompts'")
            return []
        seq = self.sequence(data["prompts"], "prompts", self.at(data, "prompts", value=True))
        prompts, seen = [], {}
        for index, node in enumerate(seq or ()):
            node = self.mapping(node, "a prompt", self.at(seq, index))
            if node is None:
                continue
            self.keys(node, PROMPT_KEYS, "a prompt")
            prompt_id = self.identifier(node, "id", "a prompt")
            if prompt_id in seen:
                self.problem(self.at(node, "id", value=True), f"duplicate prompt id "
                             f"'{prompt_id}' (first defined at line {seen[prompt_id]})")
                continue
            what = f"prompt '{prompt_id}'"
            label = self.text(node, "label", what, required=True)
            probes = []
            if "probes" in node:
                pseq = self.sequence(node["probes"], f"probes of {what}",
                                     self.at(node, "probes", value=True))
                for pindex, raw_probe in enumerate(pseq or ()):
                    probe = self.text_value(raw_probe, self.at(pseq, pindex),
                                            f"probe {pindex + 1} of {what}")
                    if probe:
                        probes.append(probe)
            if prompt_id:
                seen[prompt_id] = self.at(node, "id")[0]
                prompts.append(Prompt(prompt_id, label or {}, tuple(probes)))
        if seq is not None and not prompts:
            self.problem(self.at(data, "prompts", value=True), "the guide has no prompts")
        return prompts

    def question(self, node, page_id, choice_lists) -> Question | None:
        qid = self.identifier(node, "id", "a question")
        what = f"'{qid}'" if qid else "a question"
        self.keys(node, QUESTION_KEYS, f"question {what}")
        qtype = node.get("type")
        if qtype not in QUESTION_TYPES:
            where = self.at(node, "type", value=True) if "type" in node else self.at(node)
            self.problem(where, f"question {what} needs a type, one of {', '.join(QUESTION_TYPES)}"
                         f"{_suggest(qtype, QUESTION_TYPES) if qtype else ''}")
            qtype = None
        else:
            for key in node:
                types = KEYS_FOR_TYPES.get(key)
                if types is not None and qtype not in types:
                    self.problem(self.at(node, key), f"key '{key}' does not apply to "
                                 f"{qtype} question {what}")
        if qid is not None and qid in self.defined:
            self.problem(self.at(node, "id", value=True), f"duplicate question id '{qid}' "
                         f"(first defined at line {self.defined[qid][0]})")
            qid = None

        label = self.text(node, "label", f"question {what}", required=True)
        hint = self.text(node, "hint", f"question {what}", required=False)
        constraint_message = self.text(node, "constraint_message", f"question {what}",
                                       required=False)
        required = self.flag(node, "required", f"question {what}")
        pii = self.flag(node, "pii", f"question {what}")
        other = self.flag(node, "other", f"question {what}")
        themes = self.flag(node, "themes", f"question {what}", default=qtype == "textarea")

        choices = None
        if qtype in CHOICE_TYPES:
            list_id = node.get("choices")
            if list_id is None:
                self.problem(self.at(node), f"{qtype} question {what} needs 'choices'")
            elif list_id not in choice_lists:
                self.problem(self.at(node, "choices", value=True),
                             f"unknown choice list '{list_id}'{_known(list_id, choice_lists)}")
            else:
                choices = choice_lists[list_id]
                if qtype in SCALE_TYPES and not choices.is_scale:
                    self.problem(self.at(node, "choices", value=True),
                                 f"{qtype} question {what} needs a choice list with whole-number "
                                 f"values; '{list_id}' has other values")
                if other and OTHER_VALUE in choices.values:
                    self.problem(self.at(node, "other"), f"question {what} has other: true but "
                                 f"its list '{list_id}' already has a choice '{OTHER_VALUE}'")

        items = self.matrix_items(node, what) if qtype == "matrix" else ()
        bounds = self.bounds(node, qtype, what)
        max_length = self.whole(node, "max_length", f"question {what}", minimum=1)
        min_choices = self.whole(node, "min_choices", f"question {what}", minimum=0)
        max_choices = self.whole(node, "max_choices", f"question {what}", minimum=1)
        if min_choices is not None and max_choices is not None and min_choices > max_choices:
            self.problem(self.at(node, "min_choices", value=True),
                         f"min_choices of {what} is more than max_choices")

        relevant = self.expression(node, "relevant", f"question {what}")
        constraint = self.expression(node, "constraint", f"question {what}")
        self.check_references(node, "relevant", relevant, f"question {what}", allow_self=False)
        self.check_references(node, "constraint", constraint, f"question {what}", allow_self=True)

        if qid is None or qtype is None:
            return None
        question = Question(
            id=qid, type=qtype, page_id=page_id, label=label or {}, hint=hint, required=required,
            relevant=relevant, constraint=constraint, constraint_message=constraint_message,
            default=node.get("default"), pii=pii, min=bounds[0], max=bounds[1],
            max_length=max_length or DEFAULT_MAX_LENGTH.get(qtype), choices=choices, other=other,
            items=items, min_choices=min_choices, max_choices=max_choices, themes=themes,
        )
        if question.default is not None:
            self.check_default(node, question)
        self.defined[qid] = (self.at(node, "id")[0], question)
        return question

    def matrix_items(self, node, what) -> tuple[MatrixItem, ...]:
        if "items" not in node:
            self.problem(self.at(node), f"matrix question {what} needs 'items'")
            return ()
        seq = self.sequence(node["items"], f"items of {what}", self.at(node, "items", value=True))
        items, seen = [], set()
        for index, raw in enumerate(seq or ()):
            item = self.mapping(raw, f"an item of {what}", self.at(seq, index))
            if item is None:
                continue
            self.keys(item, ITEM_KEYS, f"an item of {what}")
            item_id = self.identifier(item, "id", f"an item of {what}")
            if item_id in seen:
                self.problem(self.at(item, "id", value=True),
                             f"item id '{item_id}' appears twice in {what}")
            label = self.text(item, "label", f"item '{item_id}' of {what}", required=True)
            if item_id and item_id not in seen:
                items.append(MatrixItem(item_id, label or {}))
                seen.add(item_id)
        return tuple(items)

    def bounds(self, node, qtype, what) -> tuple[Any, Any]:
        result = []
        for key in ("min", "max"):
            value = node.get(key)
            if value is None or qtype is None:
                result.append(None)
                continue
            ok = (isinstance(value, str) and _is_date(value)) if qtype == "date" \
                else isinstance(value, (int, float)) and not isinstance(value, bool)
            if qtype == "integer" and isinstance(value, float):
                ok = False
            if not ok:
                kind = "an ISO date YYYY-MM-DD" if qtype == "date" else f"{'a whole' if qtype == 'integer' else 'a'} number"
                self.problem(self.at(node, key, value=True), f"{key} of {what} must be {kind}")
                value = None
            result.append(str(value) if qtype == "date" and value is not None else value)
        if None not in result and result[0] > result[1]:
            self.problem(self.at(node, "min", value=True), f"min of {what} is more than its max")
        return result[0], result[1]

    def check_default(self, node, question: Question) -> None:
        value = question.default
        where = self.at(node, "default", value=True)
        if question.type in {"integer"} and not (isinstance(value, int) and not isinstance(value, bool)):
            self.problem(where, f"default of '{question.id}' must be a whole number")
        elif question.type == "decimal" and not isinstance(value, (int, float)):
            self.problem(where, f"default of '{question.id}' must be a number")
        elif question.type in {"select_one", "likert"} and value not in question.choice_values:
            self.problem(where, f"default of '{question.id}' is not one of its choices")
        elif question.type in {"matrix", "note", "ranking", "select_multiple"}:
            self.problem(where, f"a {question.type} question cannot have a default")

    def check_references(self, node, key, expr, what, *, allow_self) -> None:
        """Each name must be an answer key of a question defined earlier."""
        if expr is None:
            return
        line, col = self.at(node, key, value=True)
        quoted = isinstance(node[key], (SingleQuotedScalarString, DoubleQuotedScalarString))
        if expr.uses_self and not allow_self:
            self.problem((line, col), f"{key} of {what} uses '.', which only a constraint may use")
        for name in sorted(expr.names, key=lambda n: expr.name_columns.get(n, 0)):
            where = (line, col + expr.name_columns.get(name, 1) - 1 + quoted)
            base = name.split(".")[0]
            if base not in self.defined:
                if base in self.all_question_ids:
                    self.problem(where, f"{key} of {what} refers to '{base}', which comes later")
                else:
                    known = [k for _, q in self.defined.values() if q for k in q.answer_keys]
                    self.problem(where, f"{key} of {what} refers to unknown question "
                                        f"'{name}'{_suggest(name, known)}")
                continue
            question = self.defined[base][1]
            if question is not None and name not in question.answer_keys:
                keys = ", ".join(question.answer_keys) or "none"
                self.problem(where, f"{key} of {what} refers to '{name}', but '{base}' "
                                    f"stores answers under: {keys}")

    def scoring(self, data, questions: dict[str, Question]) -> Scoring | None:
        if "scoring" not in data:
            return None
        node = self.mapping(data["scoring"], "scoring", self.at(data, "scoring", value=True))
        if node is None:
            return None
        self.keys(node, SCORING_KEYS, "scoring")
        scale = self.mapping(node.get("scale"), "scale of scoring",
                             self.at(node, "scale", value=True) if "scale" in node else self.at(node))
        low = high = None
        if scale is not None:
            self.keys(scale, SCALE_KEYS, "scale of scoring")
            low = self.whole(scale, "min", "the scoring scale")
            high = self.whole(scale, "max", "the scoring scale")
            if low is None or high is None or low >= high:
                self.problem(self.at(scale), "scale of scoring needs whole-number min < max")
                low = high = None
        domains, seen = [], set()
        seq = self.sequence(node.get("domains"), "domains of scoring",
                            self.at(node, "domains", value=True) if "domains" in node else self.at(node))
        for index, raw in enumerate(seq or ()):
            domain = self.mapping(raw, "a scoring domain", self.at(seq, index))
            if domain is None:
                continue
            self.keys(domain, DOMAIN_KEYS, "a scoring domain")
            domain_id = self.identifier(domain, "id", "a scoring domain")
            if domain_id in seen:
                self.problem(self.at(domain, "id", value=True), f"domain '{domain_id}' appears twice")
            seen.add(domain_id)
            label = self.text(domain, "label", f"domain '{domain_id}'", required=True)
            items = self.scored_items(domain, "items", domain_id, questions, low, high)
            reverse = self.scored_items(domain, "reverse", domain_id, questions, low, high)
            rseq = domain.get("reverse") or []
            for index_r, name in enumerate(rseq):
                if name not in items:
                    self.problem(self.at(rseq, index_r), f"reverse item '{name}' of domain "
                                 f"'{domain_id}' is not among its items")
            if domain_id:
                domains.append(Domain(domain_id, label or {}, tuple(items), frozenset(reverse)))
        share = node.get("min_answered")
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                                  or not 0 < share <= 1):
            self.problem(self.at(node, "min_answered", value=True),
                         "min_answered of scoring must be a share between 0 and 1, e.g. 0.5")
            share = None
        if low is None:
            return None
        return Scoring(low, high, tuple(domains), share)

    def scored_items(self, domain, key, domain_id, questions, low, high) -> list[str]:
        if key not in domain:
            if key == "items":
                self.problem(self.at(domain), f"domain '{domain_id}' needs 'items'")
            return []
        seq = self.sequence(domain[key], f"{key} of domain '{domain_id}'",
                            self.at(domain, key, value=True))
        names = []
        for index, name in enumerate(seq or ()):
            where = self.at(seq, index)
            question = questions.get(str(name).split(".")[0])
            scale_item = question is not None and (
                (question.type == "likert" and name == question.id)
                or (question.type == "matrix" and name in question.answer_keys))
            if not scale_item:
                self.problem(where, f"scoring item '{name}' is not a likert question or matrix item")
                continue
            values = question.choices.values if question.choices else ()
            if low is not None and values and not all(low <= v <= high for v in values
                                                      if isinstance(v, int)):
                self.problem(where, f"scoring item '{name}' has values {min(values)}..{max(values)}, "
                                    f"outside the scale {low}..{high}")
            names.append(str(name))
        return names


def main(argv: list[str] | None = None) -> int:
    """Print every problem in the given files or folders; exit 1 if there is any."""
    _, problems = check_paths(argv if argv is not None else sys.argv[1:] or ["instruments"])
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())


_pyyaml, _FastLoader = _fast_loader()
