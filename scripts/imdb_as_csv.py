"""The mirror's IMDB reviews decoded back to text, as a CSV a user could have: text, label, split.

Each review's word ranks are looked up in the inverted word index (rank -> word) and joined with spaces; labels
become "negative" / "positive"; the split is the npz's (train, test). The words are the recipe's own output
(tasks.serve.tokens), so a `text_files` spec with standardize = "keras_imdb" sees the same words the npz holds,
and the only differences from the npz path are the ones a user's data has: the vocabulary the pipeline builds from
the training split only, and a stratified validation split (docs/examples/imdb_reviews.toml).

Usage (writes outside the repository; never copy the mirror's data into it):
    .venv/bin/python scripts/imdb_as_csv.py ../shared/datasets /tmp/imdb-text
    .venv/bin/seqconv train-all --dataset /tmp/imdb-text/imdb_reviews.toml --models imdb_conv,imdb_dilated
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.core.cache import file_sha256  # noqa: E402
from tasks.ingest.imdb_reviews import load_imdb_npz, load_word_index  # noqa: E402

LABELS = ("negative", "positive")


def write_imdb_csv(mirror: Path, out_dir: Path) -> Path:
    """imdb_reviews.csv in out_dir (written beside, then renamed): 50,000 rows of text, label, split; and the
    spec that reads it (docs/examples/imdb_reviews.toml) beside it."""
    npz = Path(mirror) / "imdb.npz"
    arrays = load_imdb_npz(npz, file_sha256(npz))  # read without unpickling code
    words = {rank: word for word, rank in load_word_index(Path(mirror) / "imdb_word_index.json").items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "imdb_reviews.csv"
    part = out_dir / ".imdb_reviews.csv.part"
    with part.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "split"])
        for split in ("train", "test"):
            for review, label in zip(arrays[f"x_{split}"], arrays[f"y_{split}"]):
                writer.writerow([" ".join(words[r] for r in review), LABELS[int(label)], split])
    part.replace(target)
    spec = ROOT / "docs" / "examples" / "imdb_reviews.toml"  # its source is the CSV beside it
    (out_dir / spec.name).write_bytes(spec.read_bytes())
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: scripts/imdb_as_csv.py MIRROR_DIR OUT_DIR")
    path = write_imdb_csv(Path(sys.argv[1]), Path(sys.argv[2]))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path}: sha256 {digest}")
