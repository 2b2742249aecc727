"""Text for people: markdown tables for reports and artifacts, plain tables for the terminal, months as words.

Plumbing shared by every stage that writes something a person reads (drift, report, tune, predictions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MAX_EMBEDDED_PNG = 2_000_000  # bytes; a larger PNG is listed by path (our plots are 50-150 KB)


def _cell(value) -> str:
    """A value as the text of a markdown table cell: pipes escaped, one line."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    """A markdown table's lines: the header, the rule, one line per row (cells as _cell writes them)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def embedded_png(path: Path, alt: str) -> str:
    """A PNG as a markdown image carrying its bytes (a data URI), so the Prefect UI shows it (see plots_markdown);
    a file that is not a PNG, or one over MAX_EMBEDDED_PNG bytes, is named by its path instead."""
    import base64

    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return f"`{Path(path).name}` is not a PNG; not shown."
    if len(data) > MAX_EMBEDDED_PNG:
        return f"`{path}` ({len(data) / 1e6:.1f} MB) is too large to embed; open it from its folder."
    return f"![{alt}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})"


def describe_months(months: Sequence[str]) -> str:
    """Months as a person reads them: ["2024-01", "2024-02", "2024-04"] -> "Jan-Feb, Apr 2024".

    Consecutive months form one run; the year follows its runs ("Jan-Feb, Apr 2024; Jan 2025"); a run across a
    new year names both ("Nov 2023-Feb 2024").
    """
    import calendar

    index = sorted({int(year) * 12 + int(month) - 1 for year, month in (m.split("-")[:2] for m in months)})
    runs: list[list[int]] = []  # [first, last] month index (year * 12 + month - 1)
    for i in index:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])

    def name(i: int) -> str:
        return calendar.month_abbr[i % 12 + 1]

    pieces: list[str] = []
    group: list[str] = []  # runs of one year, named before the year is
    year = None
    for first, last in runs:
        if first // 12 != year or first // 12 != last // 12:
            if group:
                pieces.append(f"{', '.join(group)} {year}")
            group, year = [], first // 12
        if first // 12 != last // 12:
            pieces.append(f"{name(first)} {first // 12}-{name(last)} {last // 12}")
            year = None
        else:
            group.append(name(first) if first == last else f"{name(first)}-{name(last)}")
    if group:
        pieces.append(f"{', '.join(group)} {year}")
    return "; ".join(pieces)


def _format_cell(value: Any, width: int) -> str:
    if isinstance(value, float):
        text = f"{value:.3f}" if math.isfinite(value) else str(value)
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(
    rows: Sequence[Mapping[str, Any]], limit: int = 20, columns: Sequence[str] | None = None, max_width: int = 40
) -> str:
    """A plain-text table of the first `limit` rows, for the terminal; floats to 3 decimals.

    Args:
        rows: dicts with the same keys.
        limit: the most rows shown; a last line says how many were left out.
        columns: the keys to show, in order; default every key of the first row.
        max_width: the widest a cell may be (longer text is cut with "…").

    Returns:
        The table, lines joined by newlines, no trailing newline; "(no rows)" for none.
    """
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0])
    shown = rows[: max(limit, 0)]
    cells = [[_format_cell(row.get(c, ""), max_width) for c in columns] for row in shown]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), (int, float)) for row in shown) for c in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
    if len(rows) > len(shown):
        out.append(f"... {len(rows) - len(shown)} more row(s)")
    return "\n".join(out)
