"""Every translatable text of an instrument, by a stable key, and a way to write them back.

``translatable_strings(yaml_text)`` lists each ``{language: text}`` mapping of an
instrument as a :class:`TextEntry` whose ``key`` names it by ids and values,
never by position where an id exists::

    title, description, consent
    pages.about_you.title
    questions.years_here.label / .hint / .constraint_message
    questions.trust.items.police_listen.label
    choice_lists.agree5.3.label                (by choice value)
    scoring.domains.trust.label
    prompts.trust.label, prompts.trust.probes.1  (probes have no id: 1-based)
    session_fields.venue_type.label

``apply_translations(yaml_text, language, translations)`` writes one language's
texts back and returns the new YAML text. It refuses keys the instrument does
not have (:class:`UnknownKeys`) and then writes nothing.

How the file stays byte-identical: ruamel's round trip (``load`` then ``dump``)
reproduces the shipped files today, but not files it would normalise (a flow
mapping spread over two lines, ``en:   text`` with extra spaces, a 4-space
indent, a ``---`` marker, CRLF line ends). So nothing is re-dumped. ruamel
*composes* the file, which gives every scalar's start and end offset, and
only the changed values are spliced into the original text. A new language
entry becomes a new line after the last entry of a block mapping, or
``, de: ...`` before the ``}`` of a flow mapping. Each new scalar is rendered
by ruamel, so quoting is ruamel's decision in the right context (block or
flow). Unchanged text is never touched, so a no-op apply returns the input
unchanged, comments and all. Before returning, the result is parsed again and
every text compared with what was asked for.

Text past a limit of ``limits.check_yaml`` (nesting depth, aliases, size) raises its
``YamlLimit``, a ValueError naming the line and column, before ruamel composes it.

Plain Python and ruamel only: no Flask, no openpyxl.
"""
from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarstring import (DoubleQuotedScalarString, FoldedScalarString,
                                      LiteralScalarString, SingleQuotedScalarString)

from surveyapp.domain import limits

QUESTION_TEXT_FIELDS = ("label", "hint", "constraint_message")
FIELD_NAMES = {"label": "label", "hint": "hint", "constraint_message": "error message"}
FOLD_WIDTH = 80  # folded (>-) text is wrapped near this column, as in the shipped files
_NO_WRAP = 1 << 20  # ruamel's width: never wrap a line that is not folded
# Words some YAML 1.1 readers take for booleans or null; keep them quoted.
_YAML11_WORDS = re.compile(r"^(y|n|yes|no|on|off|true|false|null|~)$", re.IGNORECASE)
_TRAILING_BLANK_LINES = re.compile(r"(\r?\n[ \t]*)+$")


@dataclass(frozen=True)
class TextEntry:
    """One ``{language: text}`` mapping: where it is (``key``), what it is, its texts."""
    key: str
    context: str
    texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InstrumentHeader:
    """The few top-level facts a translator's workflow needs, read without a full check."""
    id: str
    version: str
    default_language: str
    languages: tuple[str, ...]


class UnknownKeys(ValueError):
    """Translations named keys that the instrument does not have; nothing was written."""

    def __init__(self, keys):
        self.keys = list(keys)
        shown = ", ".join(self.keys[:10])
        more = f" and {len(self.keys) - 10} more" if len(self.keys) > 10 else ""
        super().__init__(f"{len(self.keys)} key(s) not in this instrument: {shown}{more}")


# ----------------------------------------------------------------------------- reading

def translatable_strings(yaml_text: str) -> list[TextEntry]:
    """Every text mapping of the instrument, keyed by ids and values.

    In the order of the format: title, description, consent, choice lists, pages
    and their questions, session fields, prompts and probes, scoring domains.
    ``texts`` holds each language's text exactly as the YAML has it.
    """
    return [entry for entry, _ in _text_nodes(_compose(yaml_text))]


def instrument_header(yaml_text: str) -> InstrumentHeader:
    """id, version, default_language and languages; ValueError if the file has no id."""
    root = _compose(yaml_text)
    top = _pairs(root)
    inst_id = _scalar(top.get("id"))
    if not inst_id:
        raise ValueError("the instrument has no 'id'")
    languages = top.get("languages")
    langs = tuple(_scalar(n) for n in languages.value) if isinstance(languages, SequenceNode) else ()
    return InstrumentHeader(inst_id, _scalar(top.get("version")) or "",
                            _scalar(top.get("default_language")) or "", langs)


def find_instrument(reference: str | Path, folder: str | Path) -> Path:
    """``reference`` if it is a .yaml/.yml file in ``folder``, else the file in ``folder`` with that id.

    Raises LookupError for anything that leaves ``folder``: ``../x.yaml``, an absolute
    path elsewhere, a symlink pointing out (a workbook names its instrument, and the
    import writes to that file, so the name is not to be trusted).
    """
    folder = Path(folder).resolve()
    path = Path(reference)
    if path.suffix in {".yaml", ".yml"}:
        if not _inside(path, folder):
            raise LookupError(f"{reference}: not in the instruments folder {folder}")
        if not path.is_file():
            raise LookupError(f"{path}: no such file")
        return path
    if not _INSTRUMENT_ID.match(str(reference)):
        raise LookupError(f"'{reference}' is not an instrument id (letters, digits, '-' and '_')")
    candidates = sorted(p for p in folder.glob("*.y*ml")
                        if p.suffix in {".yaml", ".yml"} and _inside(p, folder))
    for candidate in candidates:
        try:
            if instrument_header(read_text(candidate)).id == str(reference):
                return candidate
        except (ValueError, UnicodeDecodeError):
            continue
    raise LookupError(f"no instrument with id '{reference}' in {folder}")


_INSTRUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, symlinks followed, is a file under ``folder`` (already resolved)."""
    try:
        return path.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def read_text(path: str | Path) -> str:
    """The file's text exactly, line ends included (no newline translation)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` exactly (no newline translation), replacing the file in one step."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    if path.exists():
        temporary.chmod(path.stat().st_mode & 0o777)
    temporary.replace(path)


def changed_keys(before: str, after: str, language: str) -> list[str]:
    """Keys whose ``language`` text differs between two versions of an instrument's YAML."""
    old = {entry.key: entry.texts.get(language) for entry in translatable_strings(before)}
    return [entry.key for entry in translatable_strings(after)
            if old.get(entry.key) != entry.texts.get(language)]


# ----------------------------------------------------------------------------- writing

def apply_translations(yaml_text: str, language: str, translations: Mapping[str, str]) -> str:
    """``yaml_text`` with ``language`` set to ``translations[key]`` for each key.

    Existing entries are replaced in place, keeping their style (plain, quoted,
    ``|-`` or ``>-``) where the new text allows it; a missing entry is added
    after the last language of its mapping, in that mapping's style. Text with
    line breaks becomes a ``|-`` block in block mappings. A translation equal
    to the current text (ignoring surrounding spaces) changes nothing, so
    applying a file's own texts returns it byte for byte. Raises
    :class:`UnknownKeys` (and writes nothing) if any key is not in the file,
    and ValueError for an empty translation.
    """
    root = _compose(yaml_text)
    nodes = {entry.key: (entry, mapping) for entry, mapping in _text_nodes(root)}
    unknown = [key for key in translations if key not in nodes]
    if unknown:
        raise UnknownKeys(unknown)
    wanted = {key: _normalise(text) for key, text in translations.items()}
    empty = [key for key, text in wanted.items() if not text.strip()]
    if empty:
        raise ValueError(f"empty translation for: {', '.join(empty)}")

    newline = "\r\n" if "\r\n" in yaml_text else "\n"
    edits = []  # (start, end, replacement)
    for key, text in wanted.items():
        entry, mapping = nodes[key]
        current = entry.texts.get(language)
        if current is not None and text in (current, current.strip()):
            continue
        edits.append(_edit(yaml_text, mapping, language, text, newline))
    result = yaml_text
    for start, end, replacement in sorted(edits, reverse=True):
        result = result[:start] + replacement + result[end:]
    if edits:
        _verify([entry for entry, _ in nodes.values()], result, language, wanted)
    return result


def _normalise(text: str) -> str:
    return str(text).replace("\r\n", "\n").replace("\r", "\n")


def _verify(before: list[TextEntry], after: str, language: str, wanted: Mapping[str, str]) -> None:
    """Read the result back: every asked-for text is there and nothing else moved."""
    old = {entry.key: entry.texts for entry in before}
    new = {entry.key: entry.texts for entry in translatable_strings(after)}
    if old.keys() != new.keys():
        raise RuntimeError("writing the translations changed the instrument's structure")
    for key, texts in new.items():
        expected = dict(old[key])
        if key in wanted and expected.get(language, "").strip() != wanted[key].strip():
            expected[language] = wanted[key]
        if texts != expected:
            raise RuntimeError(f"could not write '{key}' faithfully")


def _edit(source: str, mapping: MappingNode, language: str, text: str, newline: str):
    """The (start, end, replacement) that puts ``text`` under ``language`` in ``mapping``."""
    pairs = mapping.value
    flow = bool(mapping.flow_style)
    existing = next((v for k, v in pairs if _scalar(k) == language), None)
    if existing is not None:
        key_node = next(k for k, v in pairs if v is existing)
        rendered = _render(text, _style_for(existing, text, flow), flow, key_node.start_mark.column,
                           _block_step(source, mapping))
        if _scalar(existing) is None:  # `so:` with no value yet; its mark may lie past a comment
            at = source.index(":", key_node.end_mark.index) + 1
            return _replace(source, at, at, " " + rendered, newline)
        return _replace(source, existing.start_mark.index, _value_end(source, existing),
                        rendered, newline)

    if not pairs:  # `{}`
        at = mapping.start_mark.index + 1
        return at, at, f"{language}: {_render(text, None, True, 0, 2)}"
    last_key, last_value = pairs[-1]
    style = _style_for(last_value, text, flow, new=_quote_style(pairs))
    if flow:
        at = _value_end(source, last_value)
        return at, at, f", {language}: {_render(text, style, True, 0, 2)}"
    column = last_key.start_mark.column
    rendered = _render(text, style, False, column, _block_step(source, mapping))
    at = _line_end(source, _value_end(source, last_value))
    return at, at, ("\n" + " " * column + f"{language}: {rendered}").replace("\n", newline)


def _replace(source: str, start: int, end: int, rendered: str, newline: str):
    """(start, end, replacement) for ``rendered``; a comment after the old value stays on
    the first line, where a block scalar's header (``|-  # note``) can carry it."""
    first, *rest = rendered.split("\n")
    line_end = _line_end(source, end)
    if rest and source[end:line_end].strip():
        return start, line_end, newline.join([first + source[end:line_end], *rest])
    return start, end, newline.join([first, *rest])


def _style_for(neighbour: Node, text: str, flow: bool, new: str | None = None) -> str | None:
    """The style to write ``text`` in, taking after ``neighbour`` (or ``new`` for a new entry)."""
    style = neighbour.style if isinstance(neighbour, ScalarNode) else None
    if new is not None and style not in ("|", ">"):
        style = new
    multiline = "\n" in text
    if flow:
        return '"' if multiline else (style if style in ("'", '"') else None)
    if multiline:
        return "|"
    if style == ">" and text != text.strip():
        return None
    return style


def _quote_style(pairs) -> str | None:
    """The quote every value of a mapping shares (``{en: 'Yes', es: 'Sí'}``), else None."""
    styles = {v.style if isinstance(v, ScalarNode) else None for _, v in pairs}
    return styles.pop() if len(styles) == 1 and styles & {"'", '"'} else None


def _render(text: str, style: str | None, flow: bool, column: int, step: int) -> str:
    """``text`` as ruamel writes it as a mapping value, re-indented for a key at ``column``."""
    if style is None and _YAML11_WORDS.match(text):
        style = "'"
    value = {"|": LiteralScalarString, ">": FoldedScalarString, "'": SingleQuotedScalarString,
             '"': DoubleQuotedScalarString}.get(style, str)(text)
    if style == ">":
        value.fold_pos = _fold_positions(text, FOLD_WIDTH - column - step)
    yaml = YAML(typ="rt")
    yaml.width = _NO_WRAP  # folds come from fold_pos only
    yaml.indent(mapping=step, sequence=step + 2, offset=step)
    document = CommentedMap(k=value)
    if flow:
        document.fa.set_flow_style()
    out = io.StringIO()
    yaml.dump(document, out)
    dumped = out.getvalue()
    dumped = dumped[len("{k: "):-len("}\n")] if flow else dumped[len("k: "):-1]
    lines = dumped.split("\n")
    return "\n".join(lines[:1] + [" " * column + line if line else line for line in lines[1:]])


def _fold_positions(text: str, width: int) -> list[int]:
    """Where to fold ``text`` so no line is longer than ``width`` (a long word stays whole)."""
    if "  " in text or text != text.strip():
        return []  # folding only happens at a single space between words
    positions, line_start = [], 0
    last_space = -1
    for index, char in enumerate(text):
        if char == " ":
            if index - line_start > width and last_space > line_start:
                positions.append(last_space)
                line_start = last_space + 1
            last_space = index
    if len(text) - line_start > width and last_space > line_start:
        positions.append(last_space)
    return positions


def _block_step(source: str, mapping: MappingNode) -> int:
    """How far block-scalar lines sit right of their key in this mapping (2 if none)."""
    for key, value in mapping.value:
        if isinstance(value, ScalarNode) and value.style in ("|", ">"):
            body = source[value.start_mark.index:_value_end(source, value)].split("\n")[1:]
            for line in body:
                if line.strip():
                    return max(len(line) - len(line.lstrip(" ")) - key.start_mark.column, 1)
    return 2


def _value_end(source: str, node: Node) -> int:
    """Where a value's own text ends: block scalars' trailing blank lines excluded."""
    start, end = node.start_mark.index, node.end_mark.index
    return start + len(_TRAILING_BLANK_LINES.sub("", source[start:end]))


def _line_end(source: str, index: int) -> int:
    at = source.find("\n", index)
    if at < 0:
        return len(source)
    return at - 1 if at > 0 and source[at - 1] == "\r" else at


# ----------------------------------------------------------------------------- the walk

@functools.lru_cache(maxsize=8)
def _compose(yaml_text: str) -> Node | None:
    """The node tree (read-only here). Cached: ruamel is pure Python, ~0.3 s for a large
    instrument, and an import reads the same text several times (apply, verify, report)."""
    limits.check_yaml(yaml_text)  # YamlLimit, a ValueError: ruamel recurses per level
    try:
        return YAML(typ="rt").compose(yaml_text)
    except MarkedYAMLError as error:
        raise ValueError(f"YAML syntax: {error}") from None


def _scalar(node) -> str | None:
    if not isinstance(node, ScalarNode):
        return None
    if node.style is None and node.value in ("", "~", "null", "Null", "NULL"):
        return None
    # ruamel marks fold points of a `>` scalar with \a in the composed value.
    return node.value.replace("\a", "") if node.style == ">" else node.value


def _pairs(node) -> dict[str, Node]:
    """A mapping node's items by key (the first of any duplicate)."""
    result: dict[str, Node] = {}
    if isinstance(node, MappingNode):
        for key, value in node.value:
            name = _scalar(key)
            if name is not None and name not in result:
                result[name] = value
    return result


def _items(node) -> list:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _text(node, key: str, context: str):
    """(TextEntry, mapping node) if ``node`` is a {language: text} mapping."""
    if not isinstance(node, MappingNode) or not all(
            isinstance(k, ScalarNode) and isinstance(v, ScalarNode) for k, v in node.value):
        return None
    texts = {}
    for lang, value in node.value:
        text = _scalar(value)
        if text is not None and _scalar(lang) not in texts:
            texts[_scalar(lang)] = text
    return TextEntry(key, context, texts), node


def _text_nodes(root) -> Iterator[tuple[TextEntry, MappingNode]]:
    seen: set[str] = set()
    for found in _walk(root):
        if found is not None and found[0].key not in seen:
            seen.add(found[0].key)
            yield found


def _walk(root):
    top = _pairs(root)
    yield _text(top.get("title"), "title", "instrument title")
    yield _text(top.get("description"), "description", "instrument description")
    yield _text(top.get("consent"), "consent", "consent text")
    for list_id, choices in _pairs(top.get("choice_lists")).items():
        for choice in _items(choices):
            fields = _pairs(choice)
            value = _scalar(fields.get("value"))
            if value is not None:
                yield _text(fields.get("label"), f"choice_lists.{list_id}.{value}.label",
                            f"choice {value} of list {list_id}")
    for page in _items(top.get("pages")):
        fields = _pairs(page)
        page_id = _scalar(fields.get("id"))
        if page_id is None:
            continue
        yield _text(fields.get("title"), f"pages.{page_id}.title", f"page {page_id}")
        for question in _items(fields.get("questions")):
            yield from _question(question, "questions", "question")
    for field_node in _items(top.get("session_fields")):
        yield from _question(field_node, "session_fields", "session field")
    for prompt in _items(top.get("prompts")):
        fields = _pairs(prompt)
        prompt_id = _scalar(fields.get("id"))
        if prompt_id is None:
            continue
        yield _text(fields.get("label"), f"prompts.{prompt_id}.label",
                    f"prompt {prompt_id} (discussion question)")
        for number, probe in enumerate(_items(fields.get("probes")), start=1):
            yield _text(probe, f"prompts.{prompt_id}.probes.{number}",
                        f"probe {number} of prompt {prompt_id}")
    for domain in _items(_pairs(top.get("scoring")).get("domains")):
        fields = _pairs(domain)
        domain_id = _scalar(fields.get("id"))
        if domain_id is not None:
            yield _text(fields.get("label"), f"scoring.domains.{domain_id}.label",
                        f"scoring domain {domain_id}")


def _question(node, section: str, noun: str):
    fields = _pairs(node)
    qid = _scalar(fields.get("id"))
    if qid is None:
        return
    kind = f"{_scalar(fields.get('type')) or 'untyped'} {noun}"
    for name in QUESTION_TEXT_FIELDS:
        yield _text(fields.get(name), f"{section}.{qid}.{name}", f"{qid} ({kind}, {FIELD_NAMES[name]})")
    for item in _items(fields.get("items")):
        item_fields = _pairs(item)
        item_id = _scalar(item_fields.get("id"))
        if item_id is not None:
            yield _text(item_fields.get("label"), f"{section}.{qid}.items.{item_id}.label",
                        f"{item_id} (statement of matrix {qid}, label)")
