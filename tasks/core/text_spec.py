"""The keys of a user's labelled texts in a spec (format `text_files`): `[text.files]`, where the texts and labels
are in the files, and `[text.vocabulary]`, the vocabulary the pipeline builds. Sections of `[text]`
(tasks.core.datasets.Text), read by its strict reader; checked by tasks.ingest.text_files.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fractions:
    """The shares of a seeded stratified split, each label dealt the same way (text.files.fractions)."""

    train: float = 0.7
    val: float = 0.1
    test: float = 0.2


@dataclass(frozen=True)
class TextFiles:
    """Where the texts and labels are in a user's files (format `text_files`, tasks.ingest.text_sources)."""

    layout: str  # "table": CSV, TSV or JSONL rows; "folders": a folder per label of text files (optionally under
    # train/ val/ test/ folders), in a local folder or a zip; "lines": one file per label (its name without
    # extension), one text a line
    text_column: str = "text"  # table: the column holding the text
    label_column: str = "label"  # table: the column holding the label, named as the data names it
    split_column: str = ""  # table: a column of train / val / test; "" = no split in the data
    delimiter: str = ""  # table: "" = by extension (.csv comma, .tsv tab); .jsonl/.ndjson are JSON lines; given,
    # a file of any extension (or none) is read as delimited values
    columns: tuple[str, ...] = ()  # table: the names of a header-less file's columns, in order (its first line is
    # then a row); empty: the first line is the header
    split_folders: dict[str, str] = field(default_factory=dict)  # folders, lines: the data's split folders when
    # not named train/ val/ test/, by split (e.g. { train = "20news-bydate-train", test = "20news-bydate-test" })
    ignore: tuple[str, ...] = ()  # files and folders under a source not read, by name or path below it, glob
    # patterns (aclImdb: ["unsup", "*.feat", "urls_*.txt", "README", "imdb.vocab", "imdbEr.txt"]); counted
    encoding: str = "utf-8"  # of every file (a Python codec name)
    undecodable: str = "error"  # bytes that do not decode: "error" (names file, line and byte) or "replace"
    # (with U+FFFD, counted per file in the raw validation report)
    fractions: Fractions = Fractions()  # the seeded, stratified split when the data has none; when it has train
    # and test but no val, val is fractions.val of train (stratified)
    seed: int = 1  # of that split


@dataclass(frozen=True)
class TextVocabulary:
    """The vocabulary built from the training split (tasks.core.vocabulary); its sequence length is settings.maxlen."""

    standardize: str = "lower_and_strip_punctuation"  # Keras' default; or "keras_imdb" (imdb.npz's), "none"
    max_tokens: int = 20_000  # ids in the vocabulary: padding, OOV, the most frequent words (num_words keeps fewer)
