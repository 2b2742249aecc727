"""The shape of the code: stage packages, imports pointing downward, no import circle, modules of a few hundred
lines. Read from the source text (ast), so nothing is imported and the test takes a second.

The layers, bottom to top: tasks.core (plumbing) < ingest < model < judge < publish < serve < tune < flows.
A stage uses another only through that stage's package (`from tasks.model import prepare_jena`, what its
`__init__.py` exports); tasks.core's modules are imported by their own paths. A flow module's `__main__` needs
only its own flow and the command runner, never flows.cli (which imports every flow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["core", "ingest", "model", "judge", "publish", "serve", "tune"]  # tasks.<stage>, bottom to top
MAX_LINES = 400  # a product module past this does more than one job


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {module_name(p): p for top in ("tasks", "flows") for p in sorted((ROOT / top).rglob("*.py"))}


def imports_of(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in the file, function bodies included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names], node.lineno))
    return found


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module an import names (a name imported from a package may be a submodule)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, names, _ in imports_of(name, path):
            for candidate in [target, *(f"{target}.{n}" for n in names)]:
                resolved = resolve(candidate, modules)
                if resolved and resolved != name:
                    graph[name].add(resolved)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "tasks" and len(parts) > 1 and parts[1] in LAYERS else None


def test_circles_are_found_by_the_checker():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_flows_and_tasks():
    assert circles(import_graph()) == []


def test_imports_point_downward_between_stages():
    upward = []
    for name, path in product_modules().items():
        mine = stage_of(name)
        for target, _, line in imports_of(name, path):
            theirs = stage_of(target)
            if mine and theirs and LAYERS.index(theirs) > LAYERS.index(mine):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {target} ({theirs})")
            if name.startswith("tasks") and target.startswith("flows"):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports the flows ({target})")
    assert upward == []


def test_other_stages_use_a_stage_through_its_package_only():
    reached_in = []
    for name, path in product_modules().items():
        mine = stage_of(name)
        for target, names, line in imports_of(name, path):
            theirs = stage_of(target)
            if theirs and theirs != "core" and theirs != mine and target != f"tasks.{theirs}":
                reached_in.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
            if theirs and theirs not in ("core", mine) and target == f"tasks.{theirs}":
                exported = package_exports(theirs)
                reached_in += [f"{path.relative_to(ROOT)}:{line} imports {n} from tasks.{theirs}, which does not "
                               f"export it" for n in names if n not in exported]
    assert reached_in == []


def package_exports(stage: str) -> set[str]:
    tree = ast.parse((ROOT / "tasks" / stage / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {ast.literal_eval(e) for e in node.value.elts}
    return set()


def test_every_stage_package_states_its_public_api():
    for stage in LAYERS[1:]:
        exported = package_exports(stage)
        assert exported, f"tasks/{stage}/__init__.py has no __all__"
        imported = {n for _, names, _ in imports_of(f"tasks.{stage}", ROOT / "tasks" / stage / "__init__.py")
                    for n in names}
        assert exported <= imported, f"tasks.{stage}.__all__ names what it does not import: {exported - imported}"


def test_no_private_name_is_imported_from_another_module():
    private = []
    for name, path in product_modules().items():
        for target, names, line in imports_of(name, path):
            if target.split(".")[0] in ("tasks", "flows"):
                private += [f"{path.relative_to(ROOT)}:{line} imports {target}.{n}" for n in names
                            if n.startswith("_") and n != "__all__"]
    assert private == []


def test_flow_modules_do_not_need_the_cli():
    graph = import_graph()
    needing = sorted(m for m in graph if m.startswith("flows.") and not m.startswith("flows.cli") and "flows.cli" in graph[m])
    assert needing == []


def test_product_modules_stay_a_few_hundred_lines():
    long = {str(p.relative_to(ROOT)): n for p in product_modules().values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
