"""YAML codebooks: load and check ``instruments/codebooks/*.yaml`` with file:line:col problems.

A codebook lists the themes an analyst codes open answers against (deductive coding), each
with a description and keywords or phrases per language (format: docs/instruments.md,
"Codebooks")::

    data = load_codebook("instruments/codebooks/community-capacity.yaml", languages=...)
    codebook = codebook_from_data(data.themes)     # domain/codebook.py does the matching

A codebook may also list stop words per language (``stop_words: {en: [um, police]}``):
words the theme engine ignores for its instruments, on top of the language's list.
``with_theme`` returns a codebook's text with one theme added (an analyst promoting a
theme from the analysis page); comments and layout of the rest are kept.

``load_codebook`` raises :class:`CodebookFileError` whose ``problems`` (the same
``Problem`` as instruments use) list every problem at once; text past a limit of
``limits.check_yaml`` (nesting, aliases, size) is one problem where the limit is passed. ``check_codebooks`` is what
``surveyapp instruments check`` runs over the codebooks beside the instruments.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from surveyapp.domain import limits
from surveyapp.domain.instruments import Problem, yaml_position

CODEBOOK_FOLDER = "codebooks"
TOP_KEYS = ("instruments", "themes", "stop_words")
THEME_KEYS = ("id", "label", "description", "keywords")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class CodebookFile:
    """A checked codebook: the instruments it is for, and ``themes`` as the plain data
    ``codebook.codebook_from_data`` takes (``code``, ``label``, ``description``, ``keywords``)."""
    path: str
    instruments: tuple[str, ...]
    themes: list[dict]
    stop_words: dict = None     # language -> tuple of words the engine ignores

    def stop_words_for(self, language: str) -> tuple[str, ...]:
        return tuple((self.stop_words or {}).get(language, ()))


def _suggest(word, options) -> str:
    match = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


class CodebookFileError(ValueError):
    """A codebook that cannot be used; ``problems`` lists every reason, in file order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def codebook_files(paths: Iterable[str | Path]) -> list[Path]:
    """The codebooks among ``paths``: ``DIR/codebooks/*.yaml`` for a directory, and any file
    that sits in a folder named ``codebooks``."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            folder = path if path.name == CODEBOOK_FOLDER else path / CODEBOOK_FOLDER
            if folder.is_dir():
                found.extend(sorted(p for p in folder.iterdir()
                                    if p.suffix in {".yaml", ".yml"} and p.is_file()))
        elif is_codebook_path(path):
            found.append(path)
    return found


def is_codebook_path(path: str | Path) -> bool:
    return Path(path).parent.name == CODEBOOK_FOLDER


def load_codebook(path: str | Path,
                  languages: Mapping[str, Sequence[str]] | None = None) -> CodebookFile:
    """Read and check one codebook file. ``languages`` maps instrument ids to the languages
    each declares; given, every instrument named must be in it and every keyword language
    must be declared by each of them. Raises CodebookFileError listing every problem."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CodebookFileError([Problem(name, 1, 1, f"not UTF-8 text: {error}")]) from None
    _check_limits(text, name)
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise CodebookFileError([Problem(name, line, col, f"YAML syntax: {error}")]) from None
    return _Checker(name, languages).codebook(data)


def _check_limits(text: str, name: str) -> None:
    """CodebookFileError where ``text`` passes a limit of ``limits.check_yaml`` (ruamel
    recurses per level of nesting, and a walk of the themes expands every alias)."""
    try:
        limits.check_yaml(text)
    except limits.YamlLimit as error:
        raise CodebookFileError([Problem(name, error.line, error.column, error.message)]) from None


def check_codebooks(paths: Iterable[str | Path], languages: Mapping[str, Sequence[str]]
                    ) -> tuple[list[CodebookFile], list[Problem]]:
    """Every codebook under ``paths`` (see ``codebook_files``): the good ones, every problem.

    ``languages`` maps the instruments already checked to their languages; a codebook for
    another instrument is checked against the instruments folder it sits in."""
    from surveyapp.domain.instruments import check_paths
    known = dict(languages)
    looked_in: set[Path] = set()
    codebooks, problems = [], []
    for path in codebook_files(paths):
        folder = path.parent.parent
        if folder not in looked_in:
            looked_in.add(folder)
            for instrument in check_paths([folder])[0]:
                known.setdefault(instrument.id, instrument.languages)
        try:
            codebooks.append(load_codebook(path, known))
        except CodebookFileError as error:
            problems.extend(error.problems)
    return codebooks, problems


def codebook_for(instrument_id: str, instruments_dir: str | Path) -> Path | None:
    """The codebook in ``instruments_dir/codebooks`` whose ``instruments`` names the
    instrument (its own ``ID.yaml`` first), or None."""
    folder = Path(instruments_dir) / CODEBOOK_FOLDER
    own = folder / f"{instrument_id}.yaml"
    candidates = [own] + sorted(p for p in folder.glob("*.yaml") if p != own) \
        if folder.is_dir() else []
    for path in candidates:
        if path.is_file():
            try:
                if instrument_id in load_codebook(path).instruments:
                    return path
            except CodebookFileError:
                continue
    return None


class _Checker:
    def __init__(self, path: str, languages: Mapping[str, Sequence[str]] | None):
        self.path = path
        self.languages = languages
        self.problems: list[Problem] = []

    def at(self, node, key=None, *, value=False) -> tuple[int, int]:
        return yaml_position(node, key, value=value)

    def problem(self, where, message: str) -> None:
        self.problems.append(Problem(self.path, where[0], where[1], message))

    def keys(self, node: CommentedMap, allowed: Sequence[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                self.problem(self.at(node, key), f"unknown key '{key}' in {what}{_suggest(key, allowed)}")

    def codebook(self, data) -> CodebookFile:
        if not isinstance(data, CommentedMap):
            raise CodebookFileError([Problem(self.path, 1, 1, "a codebook must be a YAML mapping "
                                             "with 'instruments' and 'themes'")])
        self.keys(data, TOP_KEYS, "the codebook")
        instruments = self.instruments(data)
        declared = self.declared_languages(instruments)
        themes = []
        seen: dict[str, int] = {}
        seq = data.get("themes")
        if not isinstance(seq, CommentedSeq) or not seq:
            where = self.at(data, "themes", value=True) if "themes" in data else self.at(data)
            self.problem(where, "the codebook needs 'themes', a list of themes")
            seq = []
        for index, node in enumerate(seq):
            theme = self.theme(node, self.at(seq, index), declared, seen)
            if theme is not None:
                themes.append(theme)
        stop = self.stop_words(data, declared)
        if self.problems:
            raise CodebookFileError(self.problems)
        return CodebookFile(self.path, tuple(instruments), themes, stop)

    def stop_words(self, data: CommentedMap, declared) -> dict:
        value = data.get("stop_words")
        if value is None:
            return {}
        if not isinstance(value, CommentedMap):
            self.problem(self.at(data, "stop_words", value=True),
                         "stop_words must map each language to a list of words, "
                         "e.g. {en: [um, police]}")
            return {}
        result = {}
        for language, words in value.items():
            if declared is not None and language not in declared:
                self.problem(self.at(value, language), f"stop words are in '{language}', which "
                             f"the instrument does not declare (languages: {', '.join(declared)})"
                             f"{_suggest(language, declared)}")
                continue
            if not isinstance(words, CommentedSeq) or not all(
                    isinstance(w, (str, int)) and str(w).strip() for w in words):
                self.problem(self.at(value, language, value=True),
                             f"stop words in '{language}' must be a list of words")
                continue
            result[str(language)] = tuple(str(w).strip() for w in words)
        return result

    def instruments(self, data: CommentedMap) -> list[str]:
        value = data.get("instruments")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            where = self.at(data, "instruments", value=True) if "instruments" in data else self.at(data)
            self.problem(where, "the codebook needs 'instruments', the ids of the instruments "
                                "whose answers it codes, e.g. [community-capacity]")
            return []
        if self.languages is not None:
            for index, instrument_id in enumerate(value):
                if instrument_id not in self.languages:
                    where = (self.at(value, index) if isinstance(value, CommentedSeq)
                             else self.at(data, "instruments", value=True))
                    self.problem(where, f"unknown instrument '{instrument_id}' (no instrument "
                                        f"with that id loads){_suggest(instrument_id, self.languages)}")
        return [str(v) for v in value]

    def declared_languages(self, instruments: list[str]) -> tuple[str, ...] | None:
        """The languages every named instrument declares; None when they are not known."""
        if self.languages is None:
            return None
        known = [self.languages[i] for i in instruments if i in self.languages]
        if not known:
            return None
        return tuple(lang for lang in known[0] if all(lang in other for other in known[1:]))

    def theme(self, node, where, declared, seen: dict[str, int]) -> dict | None:
        if not isinstance(node, CommentedMap):
            self.problem(where, "a theme must be a mapping with id, description and keywords")
            return None
        theme_id = node.get("id")
        what = f"theme '{theme_id}'" if theme_id else "a theme"
        self.keys(node, THEME_KEYS, what)
        if not isinstance(theme_id, str) or not _ID_RE.match(theme_id):
            self.problem(self.at(node, "id", value=True) if "id" in node else self.at(node),
                         f"{what} needs an id of lower-case letters, digits and _ "
                         "(e.g. street_lighting)")
            theme_id = None
        elif theme_id in seen:
            self.problem(self.at(node, "id", value=True),
                         f"duplicate theme id '{theme_id}' (first defined at line {seen[theme_id]})")
        else:
            seen[theme_id] = self.at(node, "id")[0]
        description = node.get("description")
        if not isinstance(description, str) or not description.strip():
            where = self.at(node, "description", value=True) if "description" in node else self.at(node)
            self.problem(where, f"{what} needs a description: what answers it covers")
        label = node.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            self.problem(self.at(node, "label", value=True), f"label of {what} must be text")
        keywords = self.keywords(node, what, declared)
        if theme_id is None or keywords is None:
            return None
        return {"code": theme_id, "label": str(label or theme_id).strip(),
                "description": str(description or "").strip(), "keywords": keywords}

    def keywords(self, node: CommentedMap, what: str, declared) -> dict | None:
        value = node.get("keywords")
        if not isinstance(value, CommentedMap) or not value:
            where = self.at(node, "keywords", value=True) if "keywords" in node else self.at(node)
            self.problem(where, f"{what} needs keywords: each language mapped to a list of "
                                "words or phrases, e.g. {en: [street light, dark]}")
            return None
        result = {}
        for language, words in value.items():
            if declared is not None and language not in declared:
                self.problem(self.at(value, language), f"keywords of {what} are in '{language}', "
                             f"which the instrument does not declare (languages: "
                             f"{', '.join(declared)}){_suggest(language, declared)}")
                continue
            if not isinstance(words, CommentedSeq):
                self.problem(self.at(value, language, value=True),
                             f"keywords of {what} in '{language}' must be a list")
                continue
            clean = [str(w).strip() for w in words if isinstance(w, (str, int)) and str(w).strip()]
            if len(clean) != len(words):
                self.problem(self.at(value, language, value=True),
                             f"keywords of {what} in '{language}' has an empty entry")
            if not clean:
                self.problem(self.at(value, language, value=True),
                             f"keywords of {what} in '{language}' is empty")
                continue
            result[str(language)] = clean
        return result


def theme_id_for(label: str, taken: Iterable[str] = ()) -> str:
    """A codebook id for ``label``: ASCII lower case and _, "theme" when nothing is left
    (an Arabic or Chinese label), with _2, _3... when the id is taken."""
    import unicodedata
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:60].strip("_")
    if not base or not base[0].isalpha():
        base = f"theme_{base}" if base else "theme"
    taken = set(taken)
    found, number = base, 1
    while found in taken:
        number += 1
        found = f"{base}_{number}"
    return found


def with_theme(text: str | None, instrument_id: str, *, theme_id: str, label: str,
               description: str, language: str, keywords: Sequence[str]) -> str:
    """The codebook ``text`` (None: a new codebook for ``instrument_id``) with a theme
    added. When ``theme_id`` is already a theme of it, the keywords are added to that
    theme's ``language`` list (each once) and its label and description stay. The text
    is not checked here: load the result (``load_codebook``) before using it. Text past a
    limit of ``limits.check_yaml`` raises CodebookFileError (at ``<codebook>``)."""
    import io
    if text:
        _check_limits(text, "<codebook>")
    yaml = YAML(typ="rt")
    yaml.width = 4096           # a long keyword list stays on one line, like the shipped files
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(text) if text and text.strip() else None
    if not isinstance(data, CommentedMap):
        data = CommentedMap([("instruments", CommentedSeq([instrument_id])),
                             ("themes", CommentedSeq())])
        data["instruments"].fa.set_flow_style()
    themes = data.get("themes")
    if not isinstance(themes, CommentedSeq):
        themes = data["themes"] = CommentedSeq()
    words = [w for w in dict.fromkeys(" ".join(k.split()) for k in keywords) if w]
    existing = next((t for t in themes if isinstance(t, CommentedMap) and t.get("id") == theme_id),
                    None)
    if existing is None:
        entry = CommentedMap([("id", theme_id), ("label", label), ("description", description),
                              ("keywords", CommentedMap())])
        themes.append(entry)
        if len(themes) > 1:     # a blank line between themes, as in the shipped codebooks
            themes.yaml_set_comment_before_after_key(len(themes) - 1, before="\n", indent=2)
        existing = entry
    keyword_map = existing.setdefault("keywords", CommentedMap())
    current = keyword_map.get(language)
    if not isinstance(current, CommentedSeq):
        current = keyword_map[language] = CommentedSeq()
        current.fa.set_flow_style()
    for word in words:
        if word not in current:
            current.append(word)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
