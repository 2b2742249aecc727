"""Every section of a dataset spec has its generated table in the reference (docs/reference/datasets.md), and the
guide's "Your own data" shows the tables of every section a user's spec of each format writes: a dataclass added to
tasks/core/spec_sections.py without its table would leave its keys undocumented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC_MODULES = ("tasks/core/spec_sections.py", "tasks/core/text_spec.py")  # where a spec's sections are dataclasses
MARKER = re.compile(r"^<!-- settings-table (\S+) (\w+) -->$", re.MULTILINE)


def spec_dataclasses() -> set[tuple[str, str]]:
    """(module path, class) of every dataclass in the spec modules."""
    found = set()
    for module in SPEC_MODULES:
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        found |= {(module, node.name) for node in tree.body if isinstance(node, ast.ClassDef)
                  and any("dataclass" in ast.unparse(d) for d in node.decorator_list)}
    return found


def tables(page: str) -> set[tuple[str, str]]:
    return set(MARKER.findall((ROOT / "docs" / page).read_text(encoding="utf-8")))


def test_every_spec_section_has_its_table_in_the_reference():
    classes = {name for _, name in spec_dataclasses()}
    assert {"DatasetSpec", "Sources", "SourceFile", "Record", "TextFiles", "TextVocabulary"} <= classes  # parsed
    assert spec_dataclasses() - tables("reference/datasets.md") == set()


def test_the_guide_shows_the_sections_a_users_spec_writes():
    users = {"DatasetSpec", "Sources", "SourceFile", "Record", "Text", "TextFiles", "Fractions", "TextVocabulary"}
    assert {c for c in spec_dataclasses() if c[1] in users} - tables("own-data.md") == set()
