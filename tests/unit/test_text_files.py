"""A user's labelled texts (format `text_files`): each source layout, the encoding trap, labels, splits, the
vocabulary built from the training split, and each error as one message naming the file, line and byte or the spec
key. Real files in tmp_path; real Parquet."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest

from tasks.core.datasets import SpecError, read_spec
from tasks.core.errors import DataFormatError
from tasks.core.vocabulary import OOV, PAD, build_vocabulary, read_vocabulary, words
from tasks.ingest.text_files import (
    TEXTS,
    VOCABULARY,
    assign_splits,
    label_names,
    read_texts,
    replaced_finding,
    text_keys,
    texts_table,
)
from tasks.ingest.text_sources import read_sources
from tests.support.text_corpus import corpus, write_csv, write_folders, write_jsonl, write_lines

EVALUATION = """
[evaluation]
metric = "accuracy"
label = "val accuracy"
higher_is_better = true
monitor = "val_accuracy"
curve = "accuracy"
curve_label = "Accuracy"
unit = "texts"
baselines = ["majority", "bag_of_words"]
compared = "accuracy"
compared_label = "val accuracy"
"""


def spec_file(tmp_path: Path, files: str, text: str = "", vocabulary: str = "") -> Path:
    path = tmp_path / "tickets.toml"
    path.write_text(f"""
name = "tickets"
kind = "text"
format = "text_files"
description = "support tickets"
published = ["texts.parquet", "vocabulary.json"]
predicts_with = "imdb_conv"

[sources]
base_url = "{tmp_path.as_posix()}/"
files = [{{ name = "tickets.csv" }}]

[text]
{text}

[text.files]
{files}

[text.vocabulary]
{vocabulary}

[settings]
num_words = 100
maxlen = 20
{EVALUATION}""", encoding="utf-8")
    return path


def fetched(*paths: Path) -> list:
    return [SimpleNamespace(path=p, name=p.name, sha256="0" * 64) for p in paths]


# ---------------------------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------------------------
def test_csv_tsv_and_jsonl_tables_give_the_same_texts_and_labels(tmp_path):
    rows = corpus(60)
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    csv_texts = read_texts(spec, fetched(write_csv(tmp_path / "a.csv", rows)))
    tsv_texts = read_texts(spec, fetched(write_csv(tmp_path / "a.tsv", rows, delimiter="\t")))
    jsonl_texts = read_texts(spec, fetched(write_jsonl(tmp_path / "a.jsonl", rows)))
    for texts in (csv_texts, tsv_texts, jsonl_texts):
        assert list(zip(texts.text, texts.label)) == rows
    assert csv_texts.where[0] == "a.csv:2" and jsonl_texts.where[0] == "a.jsonl:1"


def test_a_header_less_file_of_any_extension_is_read_by_the_spec_s_columns_and_delimiter(tmp_path):
    """As the SMS Spam Collection is published: one file, no extension, no header, label TAB text on each line."""
    rows = corpus(40, labels=2)
    path = tmp_path / "SMSSpamCollection"
    path.write_text("".join(f"{label}\t{text}\n" for text, label in rows), encoding="utf-8")
    spec = read_spec(spec_file(tmp_path, 'layout = "table"\ndelimiter = "\\t"\ncolumns = ["label", "text"]'))
    text_keys(spec)
    texts = read_texts(spec, fetched(path))
    assert list(zip(texts.text, texts.label)) == rows and texts.where[0] == "SMSSpamCollection:1"
    without = read_spec(spec_file(tmp_path, 'layout = "table"\ncolumns = ["label", "text"]'))
    with pytest.raises(DataFormatError, match=r"^SMSSpamCollection: a table must be .csv, .tsv, .jsonl or .ndjson, "
                                              r"not no extension \(or name its text.files.delimiter\)$"):
        read_texts(without, fetched(path))
    path.write_text("ham\tfine\nspam\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"^SMSSpamCollection: line 2: 1 fields; the spec's text.files.columns "
                                              r"name 2$"):
        read_texts(spec, fetched(path))


def test_a_text_longer_than_the_csv_module_s_field_limit_is_read_whole(tmp_path, csv_field_limit):
    rows = corpus(6)
    rows[3] = ("word " * 60_000 + "end", rows[3][1])  # 300 KB in one field; the csv module's default limit: 128 KiB
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    texts = read_texts(spec, fetched(write_csv(tmp_path / "a.csv", rows)))
    assert list(zip(texts.text, texts.label)) == rows


@pytest.mark.parametrize("files, message", [
    ('layout = "table"\ncolumns = ["class", "body"]', r"text.files.columns=\['class', 'body'\]: has no 'text' "
                                                       r"\(text.files.text_column\)"),
    ('layout = "table"\ncolumns = ["text", "label", "text"]', r"text.files.columns=.*: a name given twice"),
    ('layout = "lines"\ncolumns = ["text", "label"]', r"text.files.columns is read by layout \"table\" only"),
])
def test_header_less_columns_that_cannot_be_read_name_the_key(tmp_path, files, message):
    with pytest.raises(SpecError, match=message):
        text_keys(read_spec(spec_file(tmp_path, files)))


def test_several_files_and_a_zip_of_tables_are_read_in_order(tmp_path):
    rows = corpus(90)
    first = write_csv(tmp_path / "one.csv", rows[:30])
    inner = write_csv(tmp_path / "inner" / "two.csv", rows[30:])
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(inner, "data/two.csv")
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    texts = read_texts(spec, fetched(first, archive))
    assert list(zip(texts.text, texts.label)) == rows
    assert texts.where[30] == "more.zip/data/two.csv:2"


def test_a_folder_per_label_with_train_and_test_folders_keeps_the_data_split(tmp_path):
    rows = corpus(90)
    write_folders(tmp_path / "corpus", rows[:60], "train")
    write_folders(tmp_path / "corpus", rows[60:], "test")
    spec = read_spec(spec_file(tmp_path, 'layout = "folders"\nfractions = { train = 0.8, val = 0.2, test = 0.0 }'))
    files, _ = text_keys(spec)
    texts = read_sources([tmp_path / "corpus"], files, ["corpus"])
    assert sorted(zip(texts.text, texts.label)) == sorted(rows)
    splits = assign_splits(texts, files)
    test_rows = {texts.text[i] for i in np.flatnonzero(splits == "test")}
    assert test_rows == {t for t, _ in rows[60:]}
    # val: 20% of train, each label's share the same
    val = np.flatnonzero(splits == "val")
    assert len(val) == 12 and sorted(np.unique(np.array(texts.label)[val], return_counts=True)[1]) == [4, 4, 4]


def acl_imdb_like(root: Path, rows) -> Path:
    """The layout of the raw IMDB archive (aclImdb_v1.tar.gz): one folder wrapping train/ and test/, each holding
    neg/ and pos/ beside files that are not texts (bag-of-words features, URL lists), train/ an unlabelled unsup/
    too, and a README and a vocabulary at the top."""
    top = root / "aclImdb"
    write_folders(top, rows[:40], "train")
    write_folders(top, rows[40:], "test")
    for split in ("train", "test"):
        (top / split / "labeledBow.feat").write_text("0 0:1\n")
        for label in ("neg", "pos"):
            (top / split / f"urls_{label}.txt").write_text("http://example.com\n")
    write_folders(top / "train", [("no label here", "unsup")] * 3)
    (top / "README").write_text("Large Movie Review Dataset\n")
    (top / "imdb.vocab").write_text("the\nand\n")
    return root


ACL_IGNORE = 'ignore = ["unsup", "*.feat", "urls_*.txt", "README", "imdb.vocab"]'


def test_the_raw_imdb_archive_layout_reads_with_its_extra_files_ignored_and_counted(tmp_path):
    rows = corpus(60, labels=2)
    rows = [(t, {"billing": "neg", "bug": "pos"}[label]) for t, label in rows]
    root = acl_imdb_like(tmp_path / "x", rows)
    spec = read_spec(spec_file(tmp_path, f'layout = "folders"\n{ACL_IGNORE}'))
    files, _ = text_keys(spec)
    texts = read_sources([root], files, ["aclImdb_v1"])
    assert sorted(zip(texts.text, texts.label)) == sorted(rows) and set(texts.label) == {"neg", "pos"}
    assert {s for s, (t, _) in zip(texts.split, zip(texts.text, texts.label))} == {"train", "test"}
    assert texts.ignored == {"aclImdb_v1/aclImdb/README": 1, "aclImdb_v1/aclImdb/imdb.vocab": 1,
                             "aclImdb_v1/aclImdb/train/unsup": 3, "aclImdb_v1/aclImdb/train/labeledBow.feat": 1,
                             "aclImdb_v1/aclImdb/test/labeledBow.feat": 1,
                             **{f"aclImdb_v1/aclImdb/{s}/urls_{l}.txt": 1 for s in ("train", "test")
                                for l in ("neg", "pos")}}
    bare = read_spec(spec_file(tmp_path, 'layout = "folders"'))
    with pytest.raises(DataFormatError, match=r"^aclImdb_v1/aclImdb/test/labeledBow.feat: a file beside the label "
                                              r"folders.*text.files.ignore leaves files out"):
        read_sources([root], text_keys(bare)[0], ["aclImdb_v1"])


def test_a_tar_gz_archive_is_extracted_safely_and_read_like_its_folder(tmp_path):
    import tarfile

    rows = [(t, {"billing": "neg", "bug": "pos"}[label]) for t, label in corpus(60, labels=2)]
    root = acl_imdb_like(tmp_path / "x", rows)
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "aclImdb", "aclImdb")
    spec = read_spec(spec_file(tmp_path, f'layout = "folders"\n{ACL_IGNORE}'))
    texts = read_texts(spec, fetched(archive))
    assert sorted(zip(texts.text, texts.label)) == sorted(rows)
    assert (tmp_path / "extracted" / "aclImdb_v1" / "aclImdb" / "train" / "pos").is_dir()
    for name, edit in (("link.tar", lambda tar: tar.addfile(_link_entry("aclImdb/train/pos/x.txt", "/etc/passwd"))),
                       ("escape.tar", lambda tar: tar.add(root / "aclImdb" / "README", "../../escape.txt"))):
        with tarfile.open(tmp_path / name, "w") as tar:
            edit(tar)
        with pytest.raises(DataFormatError, match=f"{name}: entry .* (is a link or a device|would land outside)"):
            read_texts(spec, fetched(tmp_path / name))
    assert not (tmp_path.parent / "escape.txt").exists()
    (tmp_path / "cut.tar.gz").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataFormatError, match=r"cut.tar.gz: the tar archive is truncated or corrupt"):
        read_texts(spec, fetched(tmp_path / "cut.tar.gz"))


def _link_entry(name: str, target: str):
    import tarfile

    entry = tarfile.TarInfo(name)
    entry.type, entry.linkname = tarfile.SYMTYPE, target
    return entry


def test_split_folders_named_otherwise_are_mapped_to_the_splits(tmp_path):
    rows = corpus(90)
    write_folders(tmp_path / "news", rows[:60], "20news-bydate-train")
    write_folders(tmp_path / "news", rows[60:], "20news-bydate-test")
    spec = read_spec(spec_file(tmp_path, 'layout = "folders"\n'
                                         'split_folders = { train = "20news-bydate-train", test = "20news-bydate-test" }'))
    files, _ = text_keys(spec)
    texts = read_sources([tmp_path / "news"], files, ["news"])
    assert {t for t, s in zip(texts.text, texts.split) if s == "test"} == {t for t, _ in rows[60:]}
    (tmp_path / "news" / "20news-bydate-train").rename(tmp_path / "news" / "train-set")
    with pytest.raises(DataFormatError, match=r"^news: holds 20news-bydate-test/, train-set/; expected the folders "
                                              r"text.files.split_folders names"):
        read_sources([tmp_path / "news"], files, ["news"])


@pytest.mark.parametrize("files, message", [
    ('layout = "table"\nsplit_folders = { train = "a" }', r"text.files.split_folders is read by layouts"),
    ('layout = "folders"\nsplit_folders = { training = "a" }', r"text.files.split_folders=.*expected splits from"),
    ('layout = "folders"\nsplit_folders = { train = "a", test = "a" }', r"text.files.split_folders=.*own folder"),
])
def test_split_folders_that_cannot_be_read_name_the_key(tmp_path, files, message):
    with pytest.raises(SpecError, match=message):
        text_keys(read_spec(spec_file(tmp_path, files)))


def test_one_file_per_label_one_text_a_line(tmp_path):
    rows = corpus(60)
    paths = write_lines(tmp_path / "lines", rows)
    (paths[0]).write_text(paths[0].read_text(encoding="utf-8") + "\n\n", encoding="utf-8")  # blank lines: not texts
    spec = read_spec(spec_file(tmp_path, 'layout = "lines"'))
    texts = read_texts(spec, fetched(*paths))
    assert sorted(zip(texts.text, texts.label)) == sorted(rows)
    assert texts.blank_lines == 2 and texts.where[0] == "billing.txt:1"


# ---------------------------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------------------------
def encoding_trap(tmp_path: Path) -> Path:
    """A file declared utf-8 whose third line has latin-1 bytes (é as 0xe9)."""
    path = tmp_path / "trap.csv"
    path.write_bytes("text,label\nfine text,a\n".encode() + "caf\xe9 au lait,b\n".encode("latin-1")
                     + b"more,b\ncaf\xe9 again,a\n")
    return path


def test_an_undecodable_byte_is_an_error_naming_file_line_and_byte(tmp_path):
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    with pytest.raises(DataFormatError) as error:
        read_texts(spec, fetched(encoding_trap(tmp_path)))
    message = str(error.value)
    assert message.startswith("trap.csv: line 3, byte 26: bytes e9 are not utf-8")
    assert "text.files.encoding" in message and "\n" not in message


def test_undecodable_bytes_replaced_when_the_spec_says_so_are_counted(tmp_path):
    spec = read_spec(spec_file(tmp_path, 'layout = "table"\nundecodable = "replace"'))
    texts = read_texts(spec, fetched(encoding_trap(tmp_path)))
    assert texts.text[1] == "caf\ufffd au lait" and texts.replaced == {"trap.csv": 2}
    finding = replaced_finding(texts)[0]
    assert finding["unexpected_count"] == 2 and finding["observed"] == {"trap.csv": 2}


def test_the_spec_encoding_reads_latin_1(tmp_path):
    spec = read_spec(spec_file(tmp_path, 'layout = "table"\nencoding = "latin-1"'))
    texts = read_texts(spec, fetched(encoding_trap(tmp_path)))
    assert texts.text[1] == "café au lait" and not texts.replaced


# ---------------------------------------------------------------------------------------------------------------
# Labels and splits
# ---------------------------------------------------------------------------------------------------------------
def test_labels_are_named_as_in_the_data_sorted_or_in_the_spec_order(tmp_path):
    rows = corpus(60)
    path = write_csv(tmp_path / "a.csv", rows)
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    assert label_names(read_texts(spec, fetched(path)), spec) == ("billing", "bug", "praise")
    ordered = read_spec(spec_file(tmp_path, 'layout = "table"', 'labels = ["praise", "bug", "billing"]'))
    assert label_names(read_texts(ordered, fetched(path)), ordered) == ("praise", "bug", "billing")


def test_one_label_only_is_an_error(tmp_path):
    path = write_csv(tmp_path / "a.csv", [(t, "bug") for t, _ in corpus(20)])
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    with pytest.raises(DataFormatError, match=r"^a.csv: one label only \('bug'\); a text dataset needs two"):
        label_names(read_texts(spec, fetched(path)), spec)


def test_a_label_the_spec_does_not_list_is_an_error_naming_its_row(tmp_path):
    path = write_csv(tmp_path / "a.csv", corpus(30))
    spec = read_spec(spec_file(tmp_path, 'layout = "table"', 'labels = ["bug", "praise"]'))
    texts = read_texts(spec, fetched(path))
    row = texts.label.index("billing")
    with pytest.raises(DataFormatError, match=rf"^a.csv:{row + 2}: .*label 'billing' is not among"):
        label_names(texts, spec)


def test_a_seeded_stratified_split_with_the_spec_fractions(tmp_path):
    path = write_csv(tmp_path / "a.csv", corpus(300))
    spec = read_spec(spec_file(tmp_path, 'layout = "table"\nfractions = { train = 0.6, val = 0.2, test = 0.2 }\n'
                                         'seed = 7'))
    files, _ = text_keys(spec)
    texts = read_texts(spec, fetched(path))
    splits = assign_splits(texts, files)
    labels = np.array(texts.label)
    for split, share in (("train", 0.6), ("val", 0.2), ("test", 0.2)):
        assert [int(((splits == split) & (labels == label)).sum()) for label in ("billing", "bug", "praise")] \
            == [int(100 * share)] * 3
    assert (assign_splits(texts, files) == splits).all()  # seeded
    other = read_spec(spec_file(tmp_path, 'layout = "table"\nfractions = { train = 0.6, val = 0.2, test = 0.2 }\n'
                                          'seed = 8'))
    assert (assign_splits(texts, text_keys(other)[0]) != splits).any()


def test_a_split_column_is_the_split_and_a_bad_value_names_its_row(tmp_path):
    rows = corpus(30)
    split = ["train"] * 20 + ["test"] * 5 + ["val"] * 5
    path = write_csv(tmp_path / "a.csv", rows, split=split)
    spec = read_spec(spec_file(tmp_path, 'layout = "table"\nsplit_column = "split"'))
    texts = read_texts(spec, fetched(path))
    assert list(assign_splits(texts, text_keys(spec)[0])) == split
    split[3] = "holdout"
    write_csv(path, rows, split=split)
    with pytest.raises(DataFormatError, match=r"^a.csv:5: column 'split' holds 'holdout'; expected one of"):
        read_texts(spec, fetched(path))


# ---------------------------------------------------------------------------------------------------------------
# Errors in the files and in the spec
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    ("body,label\nhello,a\n", r"^a.csv: line 1: no column 'text' \(text.files.text_column\); the header has body, "
                              r"label$"),
    ("text,label\nhello,a\nbye\n", r"^a.csv: line 3: 1 fields; the header has 2$"),
    ("text,label\nhello,\n", r"^a.csv:2: column 'label' holds ''; expected a label"),
    ("", r"^a.csv: empty file; expected a header with text, label$"),
])
def test_a_table_that_is_not_as_the_spec_says_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "a.csv"
    path.write_text(content, encoding="utf-8")
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    with pytest.raises(DataFormatError, match=message):
        read_texts(spec, fetched(path))


def test_a_jsonl_line_that_is_not_an_object_names_its_line(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "x", "label": "a"}\n[1, 2]\n', encoding="utf-8")
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    with pytest.raises(DataFormatError, match=r"^a.jsonl: line 2: a list, not a JSON object$"):
        read_texts(spec, fetched(path))


def test_a_zip_escaping_its_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escape.csv", "text,label\nx,a\n")
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    with pytest.raises(DataFormatError, match="would land outside the target folder"):
        read_texts(spec, fetched(archive))
    assert not (tmp_path.parent / "escape.csv").exists()


@pytest.mark.parametrize("files, vocabulary, key", [
    ('layout = "spreadsheet"', "", "text.files.layout='spreadsheet'"),
    ('layout = "table"\nundecodable = "ignore"', "", "text.files.undecodable='ignore'"),
    ('layout = "table"\nencoding = "utf-9"', "", "text.files.encoding='utf-9'"),
    ('layout = "table"\nfractions = { train = 0.9, test = 0.2 }', "", "text.files.fractions="),
    ('layout = "table"\nfractions = { train = 1.0, val = 0.0, test = 0.0 }', "", "text.files.fractions="),
    ('layout = "table"', 'standardize = "stem"', "text.vocabulary.standardize='stem'"),
    ('layout = "table"', "max_tokens = 2", "text.vocabulary.max_tokens=2"),
])
def test_a_bad_spec_value_names_the_spec_file_and_key(tmp_path, files, vocabulary, key):
    spec = read_spec(spec_file(tmp_path, files, vocabulary=vocabulary))
    with pytest.raises(SpecError) as error:
        text_keys(spec)
    assert str(error.value).startswith(f"{tmp_path / 'tickets.toml'}: {key}")


def test_a_text_key_the_reader_does_not_read_is_refused(tmp_path):
    spec = read_spec(spec_file(tmp_path, 'layout = "table"', "balance_tolerance = 0.1"))
    with pytest.raises(SpecError, match=r"tickets.toml: text.balance_tolerance is not read by format \"text_files\""):
        text_keys(spec)


def test_an_unknown_text_files_key_is_refused_by_the_spec_reader(tmp_path):
    with pytest.raises(SpecError, match=r"tickets.toml: unknown key text.files.colum; allowed in text.files: layout"):
        read_spec(spec_file(tmp_path, 'layout = "table"\ncolum = "x"'))
    with pytest.raises(SpecError, match=r"tickets.toml: unknown key text.files.fractions.validation; allowed"):
        read_spec(spec_file(tmp_path, 'layout = "table"\nfractions = { train = 0.8, validation = 0.2 }'))


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary and the published table
# ---------------------------------------------------------------------------------------------------------------
def test_standardization_recipes():
    text = "Don't STOP: it's <br />great,\tÉtoile!"
    assert words(text, "lower_and_strip_punctuation") == ["dont", "stop", "its", "br", "great", "Étoile"]
    assert words(text, "keras_imdb") == ["don't", "stop", "it's", "br", "great", "Étoile"]
    assert words(text, "none") == ["Don't", "STOP:", "it's", "<br", "/>great,", "Étoile!"]


def test_the_vocabulary_is_the_most_frequent_training_words_and_encodes_like_pad_sequences(tmp_path):
    vocabulary = build_vocabulary(["b a a", "c b a", "d"], "none", 4, ["neg", "pos"])
    assert vocabulary.tokens == (PAD, OOV, "a", "b")  # a: 3, b: 2; c and d (1 each) do not fit
    assert vocabulary.encode(["a c b", "b b b b b a"], maxlen=4).tolist() == [[0, 2, 1, 3], [3, 3, 3, 2]]
    assert vocabulary.encode(["a b"], maxlen=3, num_words=3).tolist() == [[0, 2, 1]]  # b beyond num_words: OOV
    path = tmp_path / "vocabulary.json"
    path.write_text(vocabulary.to_json(), encoding="utf-8")
    assert read_vocabulary(path) == vocabulary
    path.write_text('{"tokens": []}', encoding="utf-8")
    with pytest.raises(DataFormatError, match="vocabulary.json: not a vocabulary"):
        read_vocabulary(path)


def test_the_published_table_is_text_label_split(tmp_path):
    rows = corpus(30)
    spec = read_spec(spec_file(tmp_path, 'layout = "table"'))
    texts = read_texts(spec, fetched(write_csv(tmp_path / "a.csv", rows)))
    splits = assign_splits(texts, text_keys(spec)[0])
    pq.write_table(texts_table(texts, splits), tmp_path / TEXTS)
    table = pq.read_table(tmp_path / TEXTS)
    assert table.column_names == ["text", "label", "split"] and table.num_rows == 30
    assert set(table.column("split").to_pylist()) == {"train", "val", "test"}
    assert VOCABULARY == "vocabulary.json"


# ---------------------------------------------------------------------------------------------------------------
# The suites made from the spec
# ---------------------------------------------------------------------------------------------------------------
def test_the_raw_suite_fails_on_an_empty_text_and_reports_replaced_bytes(tmp_path):
    import json

    from tasks.core.datasets import user_spec
    from tasks.core.errors import ValidationFailed
    from tasks.ingest.text_files import validate_raw_texts

    spec = user_spec(spec_file(tmp_path, 'layout = "table"\nundecodable = "replace"'))
    trap = encoding_trap(tmp_path)
    path = validate_raw_texts.fn(spec.name, fetched(trap), tmp_path / "validation")
    report = json.loads(path.read_text())
    assert report["success"] and report["batches"][0]["failed_soft"][0]["observed"] == {"trap.csv": 2}

    rows = corpus(20) + [("   ", "bug")]
    with pytest.raises(ValidationFailed, match=r"column 'empty_text': expect_column_values_to_be_null \(no empty "
                                               r"text \(examples: where\)\): 1 of 21 rows; e.g. \['empty.csv:22'\]"):
        validate_raw_texts.fn(spec.name, fetched(write_csv(tmp_path / "empty.csv", rows)), tmp_path / "validation")
