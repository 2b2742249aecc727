"""A small labelled text corpus made by the tests: three labels (four with `labels=4`), each with its own signal
words among shared filler, so a model can learn it in seconds; written in any of the `text_files` layouts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

SIGNAL = {  # label -> words that mostly appear in its texts
    "billing": ["invoice", "refund", "charged", "payment", "price"],
    "bug": ["crash", "error", "broken", "freeze", "exception"],
    "praise": ["love", "great", "thanks", "wonderful", "happy"],
    "shipping": ["parcel", "courier", "delivery", "tracking", "late"],
}
FILLER = ["the", "a", "my", "app", "today", "it", "is", "and", "we", "please", "this", "with", "your", "team"]


def corpus(n: int = 300, labels: int = 3, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) pairs: each text 6-14 words, two or three of them its label's signal words, in a seeded order."""
    rng = np.random.default_rng(seed)
    names = list(SIGNAL)[:labels]
    rows = []
    for i in range(n):
        label = names[i % labels]
        words = list(rng.choice(FILLER, size=int(rng.integers(4, 11))))
        words += list(rng.choice(SIGNAL[label], size=int(rng.integers(2, 4))))
        rng.shuffle(words)
        rows.append((" ".join(words).capitalize() + "!", label))
    order = rng.permutation(n)
    return [rows[i] for i in order]


def write_csv(path: Path, rows, *, split: list[str] | None = None, delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(["text", "label"] + (["split"] if split else []))
        for i, (text, label) in enumerate(rows):
            writer.writerow([text, label] + ([split[i]] if split else []))
    return path


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows), encoding="utf-8")
    return path


def write_folders(root: Path, rows, split: str | None = None) -> Path:
    """<root>[/<split>]/<label>/<n>.txt, one text a file."""
    for i, (text, label) in enumerate(rows):
        folder = root / split / label if split else root / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.txt").write_text(text, encoding="utf-8")
    return root


def write_lines(root: Path, rows) -> list[Path]:
    """<root>/<label>.txt, one text a line."""
    root.mkdir(parents=True, exist_ok=True)
    by_label: dict[str, list[str]] = {}
    for text, label in rows:
        by_label.setdefault(label, []).append(text)
    paths = []
    for label, texts in sorted(by_label.items()):
        path = root / f"{label}.txt"
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


SPEC = """name = "{name}"
kind = "text"
format = "text_files"
description = "{description}"

[sources]
files = [{{ name = "{source}" }}]

[text.files]
layout = "{layout}"

[settings]
num_words = 200
maxlen = 50
"""


def write_spec(folder: Path, name: str, source: str, layout: str = "table",
               description: str = "labelled texts") -> Path:
    """<folder>/<name>.toml: a text_files spec of one source (a file or a folder, relative to the spec), the
    kind's defaults for the rest."""
    path = Path(folder) / f"{name}.toml"
    path.write_text(SPEC.format(name=name, source=source, layout=layout, description=description), encoding="utf-8")
    return path
