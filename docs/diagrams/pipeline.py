"""Draws docs/pipeline.svg, the home page's pipeline diagram: `python docs/diagrams/pipeline.py`.

A plain SVG file rather than a mermaid block because Material renders mermaid with a script fetched from a CDN at
view time: offline (and in every copy of the built site without internet) the block shows as raw text.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parents[1] / "pipeline.svg"
W, H = 980, 370
BOX_H = 46

# (id, x, y, width, title, subtitle, fill)
BOXES = [
    ("imdb", 10, 20, 180, "IMDB reviews", "datasets/imdb.toml", "#eef3fb"),
    ("jena", 10, 80, 180, "Jena station record", "datasets/jena.toml", "#eef3fb"),
    ("yours", 10, 140, 180, "your data", "a spec file: texts or a series", "#fff4e0"),
    ("download", 225, 80, 130, "download", "checksums, mirror", "#f4f4f4"),
    ("validate", 370, 80, 130, "validate", "Great Expectations", "#f4f4f4"),
    ("normalize", 515, 80, 130, "normalize", "Parquet", "#f4f4f4"),
    ("publish", 660, 80, 130, "publish", "a dataset version", "#f4f4f4"),
    ("drift", 805, 80, 168, "drift, new rows", "the champion judged again", "#f4f4f4"),
    ("train", 225, 200, 150, "train", "a worker of the gpu pool", "#e8f5e9"),
    ("evaluate", 395, 200, 150, "evaluate", "against the baselines", "#e8f5e9"),
    ("registry", 565, 200, 150, "registry", "champions, blessed", "#e8f5e9"),
    ("serving", 735, 200, 235, "serving/ and predict", "raw texts or readings in", "#e8f5e9"),
    ("report", 395, 290, 150, "report", "markdown, Prefect artifacts", "#f3e5f5"),
]
ARROWS = [  # (from, to, from side, to side)
    ("imdb", "download", "e", "w"), ("jena", "download", "e", "w"), ("yours", "download", "e", "w"),
    ("download", "validate", "e", "w"), ("validate", "normalize", "e", "w"), ("normalize", "publish", "e", "w"),
    ("publish", "drift", "e", "w"), ("drift", "train", "s", "n"),
    ("train", "evaluate", "e", "w"), ("evaluate", "registry", "e", "w"), ("registry", "serving", "e", "w"),
    ("evaluate", "report", "s", "n"),
]


def anchor(box: tuple, side: str) -> tuple[float, float]:
    _, x, y, w, *_ = box
    return {"e": (x + w, y + BOX_H / 2), "w": (x, y + BOX_H / 2), "n": (x + w / 2, y),
            "s": (x + w / 2, y + BOX_H)}[side]


def svg() -> str:
    by_id = {b[0]: b for b in BOXES}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
             'font-family="Helvetica, Arial, sans-serif" role="img" aria-label="The seqconv pipeline">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
             f'<rect x="205" y="60" width="771" height="86" rx="8" fill="none" stroke="#bbb" stroke-dasharray="5 4"/>',
             '<text x="215" y="74" font-size="11" fill="#777">ingest: every dataset, concurrently</text>',
             '<text x="215" y="362" font-size="11" fill="#777">train-all: each model of each dataset; '
             'scheduled retraining when the data drifts or the champion decays</text>']
    for a, b, sa, sb in ARROWS:
        (x1, y1), (x2, y2) = anchor(by_id[a], sa), anchor(by_id[b], sb)
        if sa in "ew" and sb in "ew":
            mid = (x1 + x2) / 2
            d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        else:
            d = f"M{x1},{y1} C{x1},{(y1 + y2) / 2} {x2},{(y1 + y2) / 2} {x2},{y2}"
        parts.append(f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.4" marker-end="url(#arrow)"/>')
    for _, x, y, w, title, subtitle, fill in BOXES:
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="6" fill="{fill}" stroke="#888"/>')
        parts.append(f'<text x="{x + w / 2}" y="{y + 19}" font-size="14" text-anchor="middle" '
                     f'font-weight="bold" fill="#222">{escape(title)}</text>')
        parts.append(f'<text x="{x + w / 2}" y="{y + 36}" font-size="11" text-anchor="middle" '
                     f'fill="#555">{escape(subtitle)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.write_text(svg(), encoding="utf-8")
    print(OUT)
