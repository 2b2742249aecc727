"""A local folder as a text source (tasks.ingest.source_folder, tasks.ingest.download.fetch_folder): a folder per
label, optionally under train/ test/ folders, copied into the raw folder as a snapshot and hashed by its content;
links out of it, links to folders and devices refused. Real folders in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.core.datasets import read_spec
from tasks.core.errors import ChecksumError, DataFormatError
from tasks.core.sources import Source, sources_of
from tasks.ingest.checksums import VERIFIED_CANONICAL_SHA256, VERIFIED_RECORDED
from tasks.ingest.download import INCOMING, fetch, keep_download
from tasks.ingest.source_folder import copy_folder, folder_files
from tasks.ingest.text_files import assign_splits, label_names, read_texts, text_keys
from tests.support.text_corpus import corpus, write_folders
from tests.unit.test_text_files import spec_file

pytestmark = pytest.mark.unit


def label_tree(root: Path, rows: int = 60) -> Path:
    """<root>/{train,test}/<label>/<n>.txt for three labels, 2 texts in train for each in test."""
    texts = corpus(rows, labels=3)
    cut = rows * 2 // 3
    write_folders(root, texts[:cut], split="train")
    write_folders(root, texts[cut:], split="test")
    return root


def folder_source(tmp_path: Path, folder: Path, sha256: str | None = None) -> Source:
    """The Source a spec naming `folder` (a local path, relative to the spec) gets."""
    pin = f', sha256 = "{sha256}"' if sha256 else ""
    spec = spec_file(tmp_path, 'layout = "folders"')
    spec.write_text(spec.read_text().replace(f'base_url = "{tmp_path.as_posix()}/"\n', "")
                    .replace('{ name = "tickets.csv" }', f'{{ name = "{folder.name}"{pin} }}'))
    (source,) = sources_of(read_spec(spec))
    return source


def test_a_folder_of_label_folders_is_ingested_from_its_snapshot_with_the_data_split(tmp_path):
    folder = label_tree(tmp_path / "tickets")
    (folder / "train" / "bug" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: left out, as the reader does
    raw = tmp_path / "raw"
    fetched = fetch(folder_source(tmp_path, folder), None, raw)
    assert fetched.path == raw / "tickets" and fetched.path.is_dir() and fetched.verified_by == VERIFIED_RECORDED
    assert (raw / "tickets.sha256").read_text().split()[0] == fetched.sha256
    assert not (fetched.path / "train" / "bug" / ".DS_Store").exists()

    spec = read_spec(spec_file(tmp_path, 'layout = "folders"'))
    texts = read_texts(spec, [fetched])
    assert label_names(texts, spec) == ("billing", "bug", "praise")
    assert len(texts.text) == 60 and set(texts.split) == {"train", "test"}
    assert texts.where[0] == "tickets/test/billing/00000.txt"  # sorted: split, then label, then file
    assert texts.where == sorted(texts.where)
    splits = assign_splits(texts, text_keys(spec)[0])  # the data's train and test; val carved out of train
    assert {s for s, given in zip(splits, texts.split) if given == "test"} == {"test"}
    assert set(splits) == {"train", "val", "test"}


def test_the_digest_follows_the_folders_content_and_an_unchanged_folder_reuses_its_snapshot(tmp_path):
    folder = label_tree(tmp_path / "tickets")
    raw = tmp_path / "raw"
    source = folder_source(tmp_path, folder)
    first = fetch(source, None, raw)
    again = fetch(source, None, raw)
    assert (again.sha256, again.path, again.fetched) == (first.sha256, raw / "tickets", False)
    os.utime(folder / "train" / "bug", (0, 0))  # times are not content
    assert fetch(source, None, raw).sha256 == first.sha256

    (folder / "train" / "bug" / "extra.txt").write_text("a new crash report", encoding="utf-8")
    changed = fetch(source, None, raw)
    assert changed.sha256 != first.sha256 and changed.path == raw / INCOMING / "tickets"  # waits for validation
    assert not (raw / "tickets" / "train" / "bug" / "extra.txt").exists()  # the validated snapshot stands
    kept = keep_download(changed, raw)
    assert kept.path == raw / "tickets" and (raw / "tickets" / "train" / "bug" / "extra.txt").is_file()
    assert not (raw / INCOMING / "tickets").exists()
    assert (raw / "tickets.sha256").read_text().split()[0] == changed.sha256

    (folder / "train" / "bug" / "extra.txt").rename(folder / "train" / "bug" / "renamed.txt")
    assert fetch(source, None, raw).sha256 not in (first.sha256, changed.sha256)  # a rename is a change


def test_a_pinned_folder_digest_is_checked_and_a_mismatch_leaves_nothing(tmp_path):
    folder = label_tree(tmp_path / "tickets")
    digest = copy_folder(folder, "tickets", tmp_path / "copy")
    raw = tmp_path / "raw"
    assert fetch(folder_source(tmp_path, folder, digest), None, raw).verified_by == VERIFIED_CANONICAL_SHA256
    other = tmp_path / "raw2"
    with pytest.raises(ChecksumError, match=r"tickets: the folder .*tickets has content digest [0-9a-f]{64}, not "
                                            r"the spec's sha256 0{64}"):
        fetch(folder_source(tmp_path, folder, "0" * 64), None, other)
    assert [p.name for p in other.iterdir()] == []  # no snapshot, no sidecar, no staging folder


def test_a_link_to_a_file_inside_the_folder_is_read_as_that_file(tmp_path):
    folder = label_tree(tmp_path / "tickets")
    (folder / "train" / "bug" / "again.txt").symlink_to(folder / "train" / "bug" / "00001.txt")
    files = dict(folder_files(folder, "tickets"))
    assert files[Path("train/bug/again.txt")] == (folder / "train" / "bug" / "00001.txt").resolve()
    copy_folder(folder, "tickets", tmp_path / "copy")
    assert not (tmp_path / "copy" / "train" / "bug" / "again.txt").is_symlink()  # the snapshot holds bytes


@pytest.mark.parametrize("make, message", [
    (lambda folder, outside: (folder / "train" / "bug" / "passwd").symlink_to(outside),
     r"tickets/train/bug/passwd: a link to .*secret.txt, outside the folder"),
    (lambda folder, outside: (folder / "train" / "loop").symlink_to(folder / "train"),
     r"tickets/train/loop: a link to a folder"),
    (lambda folder, outside: (folder / "train" / "bug" / "gone.txt").symlink_to(folder / "nothing"),
     r"tickets/train/bug/gone.txt: a broken link"),
    (lambda folder, outside: os.mkfifo(folder / "train" / "bug" / "pipe"),
     r"tickets/train/bug/pipe: not a regular file \(a named pipe\)"),
])
def test_links_out_links_to_folders_and_devices_are_refused_naming_the_entry(tmp_path, make, message):
    folder = label_tree(tmp_path / "tickets")
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the model", encoding="utf-8")
    make(folder, outside)
    raw = tmp_path / "raw"
    with pytest.raises(DataFormatError, match=message):
        fetch(folder_source(tmp_path, folder), None, raw)
    assert not (raw / "tickets").exists() and not [p for p in raw.iterdir() if p.name.startswith(".tickets")]


def test_a_device_is_refused_without_being_read(tmp_path):
    folder = label_tree(tmp_path / "tickets")
    (folder / "train" / "bug" / "zero").symlink_to("/dev/zero")  # outside the folder, and endless
    with pytest.raises(DataFormatError, match=r"tickets/train/bug/zero: a link to /dev/zero, outside the folder"):
        folder_files(folder, "tickets")


def test_an_empty_folder_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "tickets"
    (folder / "train" / "bug").mkdir(parents=True)
    (folder / ".hidden").write_text("x", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"tickets: the folder holds no files"):
        fetch(folder_source(tmp_path, folder), None, tmp_path / "raw")
