"""The layers, read from the source: ``web -> services -> models``, calls inside services one way.

Every ``import`` of the package counts, also one inside a function.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "volunteer_app"
PACKAGE = "volunteer_app"

#: Web modules that may import the models: none (pages and API read through the services).
WEB_MODELS_ALLOWED: set[str] = set()
#: What a service must not read: the request and the signed-in user belong to the web layer.
REQUEST_STATE = {("flask", "request"), ("flask", "g"), ("flask", "session"), ("flask_login", "current_user")}
#: The bottom of the services: these call no other service but each other and ``access``/``audit``.
BOTTOM = {"ledger", "codes", "idempotency", "outbox"}
BOTTOM_MAY_CALL = BOTTOM | {"access", "audit"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[tuple[str, str | None]]:
    """``(module, imported name or None)`` for every import in the file, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, None) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found |= {(base, alias.name) for alias in node.names}
    return found


def _targets(module: str, name: str | None) -> set[str]:
    """The package's modules an import loads: ``from .. import ledger`` names a module itself."""
    if name is not None and f"{module}.{name}" in MODULES:
        return {f"{module}.{name}"}
    return {module} if module in MODULES else set()


def _graph() -> dict[str, set[str]]:
    return {name: {target for module, imported in _imports(name, path) for target in _targets(module, imported)}
            for name, path in MODULES.items()}


GRAPH = _graph()


def _in(layer: str, module: str) -> bool:
    return module == f"{PACKAGE}.{layer}" or module.startswith(f"{PACKAGE}.{layer}.")


def _service(module: str) -> str:
    """``volunteer_app.services.shifts.schedule`` -> ``shifts`` (the package itself: "")."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else ""


def test_the_graph_sees_function_local_and_relative_imports():
    assert f"{PACKAGE}.services.ledger" in GRAPH[f"{PACKAGE}.services.store"]
    assert f"{PACKAGE}.services.shifts.schedule" in GRAPH[f"{PACKAGE}.services.shifts.signups"]
    assert f"{PACKAGE}.demo" in GRAPH[f"{PACKAGE}.cli"]  # imported inside the command


def test_services_do_not_touch_the_request_or_the_web():
    offences = []
    for name, path in MODULES.items():
        if not _in("services", name):
            continue
        for module, imported in _imports(name, path):
            if (module, imported) in REQUEST_STATE or _in("web", module) or (
                    imported and _in("web", f"{module}.{imported}")):
                offences.append(f"{name}: {module}.{imported}")
    assert offences == []


def test_models_do_not_import_services():
    offences = [f"{name} -> {target}" for name, targets in GRAPH.items() if _in("models", name)
                for target in targets if _in("services", target) or _in("web", target)]
    assert offences == []


def test_web_reads_models_only_where_allowed():
    offences = sorted(name for name, targets in GRAPH.items() if _in("web", name) and name not in WEB_MODELS_ALLOWED
                      and any(_in("models", target) for target in targets))
    assert offences == []


#: The two units of work: the API's ``route`` and the pages' ``unit_of_work``.
UNITS_OF_WORK = {f"{PACKAGE}.web.api.base", f"{PACKAGE}.web.pages.common"}
#: Calls that end or shape a transaction: only a unit of work makes them.
TRANSACTION_CALLS = {"commit", "rollback", "read_before_writing", "done_writing", "end_reading", "without_waiting"}
#: Refusals a view must leave to its unit of work.
REFUSALS = {"DomainError", "FieldError"}


def _handled_names(handler: ast.ExceptHandler) -> set[str]:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "") for node in types if node}


def _transaction_handling(source: str) -> list[str]:
    """``commit``/``rollback``/SQLite lock calls and ``except DomainError`` in ``source``, by line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in TRANSACTION_CALLS:
                found.append(f"{node.lineno}: {name}()")
        elif isinstance(node, ast.ExceptHandler) and node.type is not None and _handled_names(node) & REFUSALS:
            found.append(f"{node.lineno}: except {', '.join(sorted(_handled_names(node) & REFUSALS))}")
    return found


def test_only_the_units_of_work_commit_roll_back_or_catch_refusals():
    offences = [f"{name}:{where}" for name, path in MODULES.items() if _in("web", name) and name not in UNITS_OF_WORK
                for where in _transaction_handling(path.read_text(encoding="utf-8"))]
    assert offences == []


@pytest.mark.parametrize("source, found", [
    ("db.commit()", ["1: commit()"]),
    ("session_db.rollback()", ["1: rollback()"]),
    ("with db.read_before_writing(s):\n    pass", ["1: read_before_writing()"]),
    ("try:\n    x()\nexcept DomainError as error:\n    pass", ["3: except DomainError"]),
    ("try:\n    x()\nexcept (ValueError, errors.FieldError):\n    pass", ["3: except FieldError"]),
    ("try:\n    x()\nexcept ValueError:\n    pass", []),
    ("flash(message)", []),
])
def test_transaction_handling_is_found(source, found):
    assert _transaction_handling(source) == found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of more than one module (or a module importing itself)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_services_import_no_cycle():
    services = {name: {target for target in targets if _in("services", target)}
                for name, targets in GRAPH.items() if _in("services", name)}
    assert _cycles(services) == []


def test_the_bottom_of_the_services_calls_nothing_above():
    offences = [f"{name} -> {target}" for name, targets in GRAPH.items()
                if _in("services", name) and _service(name) in BOTTOM
                for target in targets if _in("services", target) and _service(target) not in BOTTOM_MAY_CALL]
    assert offences == []


@pytest.mark.parametrize("graph, cycle", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_cycles_are_found(graph, cycle):
    assert _cycles(graph) == cycle
