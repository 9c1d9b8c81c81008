"""The boundary the style guide asks for: domain code imports no Flask, no database layer.

Importing the package runs Flask anyway, so this reads the source instead.
"""
import ast
import functools
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


PACKAGE = DOMAIN.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """surveyapp module -> the surveyapp modules it imports, at any level (lazy ones too)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                # "from package import module" needs the module; "from module import name", the module.
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    targets.add(submodule if submodule in modules else node.module)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A chain of imports from ``start`` back to ``start``, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, chain = stack.pop()
        for target in graph.get(module, ()):
            if target == start:
                return chain + [start]
            if target not in seen:
                seen.add(target)
                stack.append((target, chain + [target]))
    return None


def test_access_is_in_no_import_cycle():
    """access -> auth.held -> auth.views -> access was one: safe_next lives in surveyapp.urls."""
    assert cycle_through(import_graph(), "surveyapp.access") is None


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert cycle_through(graph, "a") == ["a", "b", "c", "a"]


# The layers under the blueprints: queries read, operations write, jobs run them later.
LAYERS = ("operations", "queries", "jobs")
BLUEPRINTS = tuple(f"surveyapp.{name}" for name in
                   ("staff", "analysis", "surveys", "focus_groups", "api", "auth", "results"))


def _layer_modules(*layers: str) -> list[Path]:
    return sorted(path for layer in layers for path in (PACKAGE / layer).rglob("*.py"))


def _imports_of(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    """The imports of ``path`` that are (or are inside) one of ``forbidden``, sorted;
    ``from surveyapp import staff`` counts as importing surveyapp.staff."""
    names = set(imported_modules(path))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(m for m in names if any(m == name or m.startswith(name + ".") for name in forbidden))


@pytest.mark.parametrize("path", _layer_modules(*LAYERS),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layer_module_imports_no_blueprint_package(path):
    """Blueprints call down into queries, operations and jobs, never the other way: a read
    a blueprint shares belongs in queries (lazy imports inside functions count too)."""
    assert _imports_of(path, BLUEPRINTS) == []


@pytest.mark.parametrize("path", _layer_modules("queries"), ids=lambda p: p.name)
def test_queries_import_no_operations_or_jobs(path):
    """Reads never reach up into the writes or the job runner."""
    assert _imports_of(path, ("surveyapp.operations", "surveyapp.jobs")) == []


def test_the_layer_check_notices_a_blueprint_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from surveyapp.analysis import export\n"
                      "from surveyapp.results.views import page_link\nfrom surveyapp import resultsets\n"
                      "from surveyapp import staff\n")
    assert _imports_of(sample, BLUEPRINTS) == [
        "surveyapp.analysis", "surveyapp.analysis.export", "surveyapp.results.views",
        "surveyapp.results.views.page_link", "surveyapp.staff"]


_graph = functools.cache(import_graph)  # parsing every module once is enough


@pytest.mark.parametrize("module", sorted(
    name for name in _graph() if name.split(".")[1:2] and name.split(".")[1] in LAYERS))
def test_layer_module_is_in_no_import_cycle(module):
    """No chain of imports (lazy ones too) leads from a module of operations, queries or
    jobs back to itself: the job backends once imported the runner that imported them."""
    assert cycle_through(_graph(), module) is None


# ----------------------------------------------------------------------------- audit events
# Operations that change something record their own audit event and take the actor as a
# keyword (default INTERNAL: nothing recorded, for an operation called inside another).
# A view, a command or a job body that left the actor out would record nothing: this
# check reads their calls.

CALLERS = tuple(PACKAGE / name for name in
                ("staff", "analysis", "surveys", "focus_groups", "api", "auth", "results",
                 "jobs", "cli", "cli.py"))


@functools.cache
def audited_operations() -> frozenset[str]:
    """``area.function`` of every operation with an ``actor`` keyword defaulting to INTERNAL."""
    import inspect

    from surveyapp import operations
    from surveyapp.operations.audit import INTERNAL
    found = set()
    for area, module in vars(operations).items():
        if not inspect.ismodule(module) or not module.__name__.startswith("surveyapp.operations."):
            continue
        for name, function in vars(module).items():
            if inspect.isfunction(function) and function.__module__ == module.__name__:
                actor = inspect.signature(function).parameters.get("actor")
                if actor is not None and actor.default is INTERNAL:
                    found.add(f"{area}.{name}")
    return frozenset(found)


def calls_without_actor(path: Path, audited: set[str]) -> list[str]:
    """``line: operations.area.function`` for each call that names no actor (a ``**``
    argument, such as ``**requester()``, counts as naming it)."""
    missing = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        chain, target = [node.func.attr], node.func.value
        while isinstance(target, ast.Attribute):
            chain.insert(0, target.attr)
            target = target.value
        if isinstance(target, ast.Name):
            chain.insert(0, target.id)
        # operations.area.function(...) or, imported as a module, area.function(...)
        name = ".".join(chain[-2:])
        if name in audited and (len(chain) == 2 or chain[-3] == "operations") and not any(
                keyword.arg in ("actor", None) for keyword in node.keywords):
            missing.append(f"{node.lineno}: {'.'.join(chain)}")
    return missing


def _caller_files() -> list[Path]:
    return sorted(path for place in CALLERS if place.exists()
                  for path in ([place] if place.is_file() else place.rglob("*.py")))


def test_there_are_audited_operations():
    audited = audited_operations()
    assert {"deletion.delete_response", "staff.create_project", "themes.store_run",
            "focus_groups.add_segment", "campaigns.create_campaign"} <= audited


@pytest.mark.parametrize("path", _caller_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_views_commands_and_jobs_name_the_actor_of_every_audited_operation(path):
    assert calls_without_actor(path, audited_operations()) == []


def test_the_actor_check_notices_a_call_without_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("operations.staff.create_project(name)\n"
                      "operations.staff.create_project(name, **requester())\n"
                      "themes.store_run(source, run, actor=user)\n"
                      "themes.store_run(source, run)\n")
    audited = {"staff.create_project", "themes.store_run"}
    assert calls_without_actor(sample, audited) == [
        "1: operations.staff.create_project", "4: themes.store_run"]
