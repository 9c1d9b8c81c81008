"""The boundary the style guide asks for: domain code imports no Flask, no database layer.

Importing the package runs Flask anyway, so this reads the source instead.
"""
import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parent.parent / "surveyapp" / "domain"
FORBIDDEN = ("flask", "flask_", "werkzeug", "sqlalchemy", "surveyapp.models",
             "surveyapp.extensions", "surveyapp.operations", "surveyapp.queries")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_no_web_or_database_code(path):
    bad = [m for m in imported_modules(path) if m.startswith(FORBIDDEN)]
    assert bad == []


def test_the_check_itself_notices_a_flask_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from flask import request\nimport sqlalchemy as sa\n")
    assert [m for m in imported_modules(sample) if m.startswith(FORBIDDEN)] == ["flask", "sqlalchemy"]
