"""The shape of the code: stage packages, imports pointing downward, no import circle, modules of a few hundred
lines. Read from the source text (ast), so nothing is imported and the test takes a second.

The layers, bottom to top: tasks.core (plumbing) < ingest < model < judge < publish < serve < tune < flows.
A stage uses another only through that stage's package (`from tasks.model import prepare_jena`, what its
`__init__.py` exports); tasks.core's modules are imported by their own paths. A flow module (flows/*.py with an
@flow) holds its flows and nothing else: no argparse, no `run(args)`, and its `__main__` block, which hands
`python -m flows.<module>` to the command line (flows.cli), is its last statement. flows.cli reaches the flow
modules only through flows.cli.command.flow_module, never by an import statement, so there is no circle.
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


def is_flow_decorator(node: ast.expr) -> bool:
    """`@flow` or `@flow(...)`."""
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Name) and target.id == "flow"


def is_main_block(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def flow_modules() -> dict[str, ast.Module]:
    """flows/*.py that define a Prefect flow, parsed."""
    found = {}
    for path in sorted((ROOT / "flows").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        if any(isinstance(node, ast.FunctionDef) and any(map(is_flow_decorator, node.decorator_list))
               for node in tree.body):
            found[module_name(path)] = tree
    return found


def test_a_flow_module_holds_its_flows_and_ends_with_its_command():
    modules = flow_modules()
    assert {"flows.ingest", "flows.train", "flows.train_all", "flows.tune", "flows.evaluate",
            "flows.predict"} <= set(modules)
    wrong = []
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                taken = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
                if "argparse" in taken:
                    wrong.append(f"{name}:{node.lineno} imports argparse (options belong in flows.cli.options)")
            if isinstance(node, ast.FunctionDef) and node.name == "run":
                wrong.append(f"{name}:{node.lineno} defines run() (a command's run belongs in flows.cli.commands)")
        mains = [node for node in tree.body if is_main_block(node)]
        if mains and mains != [tree.body[-1]]:
            wrong.append(f"{name}:{mains[0].lineno} has an `if __name__ == \"__main__\"` block before its end")
    assert wrong == []


def test_the_command_line_reaches_the_flow_modules_only_through_flow_module():
    graph, flows = import_graph(), set(flow_modules())
    static = sorted(f"{m} imports {t}" for m in graph if m == "flows.cli" or m.startswith("flows.cli.")
                    for t in graph[m] & flows)
    assert static == []


def test_product_modules_stay_a_few_hundred_lines():
    long = {str(p.relative_to(ROOT)): n for p in product_modules().values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


# ---------------------------------------------------------------------------------------------------------------
# Datasets are specs, architectures registrations: no stage names a dataset
# ---------------------------------------------------------------------------------------------------------------
BUILT_IN_DATASETS = ("imdb", "jena")
DATASET_SPECIFIC = {  # the only modules that may name a built-in dataset, and why
    "tasks.core.sources": "the built-in datasets' readers' names for their shapes (IMDB, JENA)",
    "tasks.core.architectures": "each registration names the dataset its architecture trains on",
    "tasks.ingest.data_profiles": "the drift profiles of the Keras reviews and of the station's features",
}


def dataset_literals(path: Path) -> list[int]:
    """The lines of every string constant that is exactly a built-in dataset's name."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Constant) and node.value in BUILT_IN_DATASETS]


def test_no_stage_or_flow_names_a_built_in_dataset():
    found = {name: lines for name, path in product_modules().items()
             if name not in DATASET_SPECIFIC and (lines := dataset_literals(path))}
    assert found == {}, "a dataset's name in code; it belongs in its spec (datasets/<name>.toml) or its reader"


def test_the_literal_check_finds_a_dataset_name(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('x = 1\nif dataset == "jena":\n    y = {"imdb": 1, "imdb_conv": 2}\n')
    assert dataset_literals(path) == [2, 3]


def test_every_dataset_specific_module_exists():
    assert set(DATASET_SPECIFIC) <= set(product_modules())
