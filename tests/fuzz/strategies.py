"""Shared Hypothesis strategies: hostile text and mutations of real, valid files."""
from __future__ import annotations

from hypothesis import strategies as st

# Fragments that break naive parsers: YAML syntax, markup, control characters, RTL marks,
# surrogates-as-text, huge numbers, expression and XPath operators.
HOSTILE = [
    "", " ", "\t", "\n", "\r\n", "\x00", "\x1b", "\ufeff", "\u202e", "\u200f", "\x85", "\u2028",
    ":", ": ", "- ", "? ", "|", ">", "&a", "*a", "!!python/object:os.system", "!!binary", "{", "}",
    "[", "]", "#", "'", '"', "\\", "%", "@", "`", "---", "...", "~", "null", "true", "no", "1e999",
    "-0", "0x1F", "9" * 400, "1_000", ".inf", ".nan", "2026-02-30", "0000-00-00",
    '"><img src=x onerror=alert(1)>', "<script>", "&amp;", "${x}", "{{7*7}}", "=cmd|' /C calc'!A0",
    "(", ")", "and", "or", "not", "in", "selected(", "count(", "matches(., '(a+)+$')", "..", ".",
    "//", "../", "\u0661\u0662", "\u00b2", "ß", "İ", "𝔘", "中文", "٣", "-->", "WEBVTT", "00:00:00.000",
    "P1:", "[00:01]", "NOTE", "<v Ana>", "&lt;", "&#0;", "&#xD800;",
]

fragments = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


@st.composite
def mutated_lines(draw, text: str, max_edits: int = 6) -> str:
    """``text`` with a few lines deleted, duplicated, cut or spliced with hostile fragments:
    close enough to a valid file to reach the deep checks, wrong in a new way each time."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, max_edits))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "cut", "insert", "replace", "indent"]))
        line = lines[at]
        if edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, line)
        elif edit == "cut":
            lines[at] = line[: draw(st.integers(0, len(line)))]
        elif edit == "insert":
            where = draw(st.integers(0, len(line)))
            lines[at] = line[:where] + draw(fragments) + line[where:]
        elif edit == "replace" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(fragments)}"
        else:
            lines[at] = " " * draw(st.integers(0, 5)) + line.lstrip()
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))
