"""Every section of a dataset spec has its generated table in the reference (docs/reference/datasets.md), and the
guide's "Your own data" shows the tables of every section a user's spec of each format writes: a dataclass added to
tasks/core/datasets.py without its table would leave its keys undocumented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- settings-table tasks/core/datasets.py (\w+) -->$", re.MULTILINE)


def spec_dataclasses() -> set[str]:
    tree = ast.parse((ROOT / "tasks" / "core" / "datasets.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)
            and any(getattr(d, "id", None) == "dataclass" or getattr(getattr(d, "func", None), "id", None) == "dataclass"
                    for d in node.decorator_list)}


def tables(page: str) -> set[str]:
    return set(MARKER.findall((ROOT / "docs" / page).read_text(encoding="utf-8")))


def test_every_spec_section_has_its_table_in_the_reference():
    classes = spec_dataclasses()
    assert {"DatasetSpec", "Sources", "SourceFile", "Record"} <= classes  # the parse found them
    assert classes - tables("reference/datasets.md") == set()


def test_the_guide_shows_the_sections_a_users_spec_writes():
    users = {"DatasetSpec", "Sources", "SourceFile", "Record"} | ({"Text", "TextFiles", "Fractions", "TextVocabulary"}
                                                                & spec_dataclasses())
    assert users - tables("own-data.md") == set()
