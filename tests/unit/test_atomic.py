"""Atomic writes and dataset publishing through a symbolic link (plain functions on tiny folders)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks import atomic

pytestmark = pytest.mark.unit


def publish(link: Path, content: str, keep: int = 1) -> Path:
    """As the ingest flows publish: stage, seal as the version named by its content, then swap the link."""
    with atomic.staging_dir(link) as staging:
        (staging / "data.txt").write_text(content)
        version = atomic.finalize_version(staging, link, key=content)
    return atomic.point_link(version, link, keep=keep)


def versions(link: Path) -> list[str]:
    return sorted(p.name for p in (link.parent / atomic.VERSIONS).iterdir())


def test_point_link_swaps_the_link_and_keeps_one_older_version(tmp_path: Path) -> None:
    link = tmp_path / "processed" / "jena"

    assert publish(link, "v1") == link
    first = os.readlink(link)
    assert not os.path.isabs(first) and first.startswith(f"{atomic.VERSIONS}/jena-")  # relative: the folder moves
    assert (link / "data.txt").read_text() == "v1"

    publish(link, "v2")
    second = os.readlink(link)
    assert second != first and (link / "data.txt").read_text() == "v2"
    assert versions(link) == sorted([Path(first).name, Path(second).name])  # the previous one is kept

    publish(link, "v3")
    assert (link / "data.txt").read_text() == "v3"
    assert versions(link) == sorted([Path(second).name, Path(os.readlink(link)).name])  # v1 pruned
    assert not any(p.name.startswith(".") and p.name.endswith(".link") for p in link.parent.iterdir())


def test_point_link_keep_zero_prunes_every_older_version(tmp_path: Path) -> None:
    link = tmp_path / "imdb"
    publish(link, "v1", keep=0)
    publish(link, "v2", keep=0)

    assert versions(link) == [Path(os.readlink(link)).name]


def test_finalize_version_keeps_the_first_build_of_the_same_content(tmp_path: Path) -> None:
    link = tmp_path / "jena"
    publish(link, "v1")
    sealed = (link / "data.txt").stat().st_ino
    publish(link, "v1")  # same key: the staging copy goes, the sealed version stays

    assert versions(link) == ["jena-v1"] and (link / "data.txt").stat().st_ino == sealed


def test_staging_dir_is_private_and_removes_itself_when_the_block_fails(tmp_path: Path) -> None:
    link = tmp_path / "processed" / "jena"
    publish(link, "good")
    target = os.readlink(link)

    with pytest.raises(RuntimeError, match="validation blew up"):
        with atomic.staging_dir(link) as staging:
            assert staging.parent == link.parent / atomic.VERSIONS and staging.name.startswith(".staging-jena-")
            (staging / "data.txt").write_text("half-written")
            raise RuntimeError("validation blew up")

    assert not staging.exists()
    assert versions(link) == [Path(target).name]
    assert os.readlink(link) == target and (link / "data.txt").read_text() == "good"


def test_point_link_refuses_to_replace_a_real_folder(tmp_path: Path) -> None:
    link = tmp_path / "processed" / "imdb"
    link.mkdir(parents=True)
    (link / "mine.txt").write_text("not ours")

    with pytest.raises(FileExistsError, match="is a real folder, not a published dataset link"):
        publish(link, "new")

    assert not link.is_symlink() and (link / "mine.txt").read_text() == "not ours"


def test_write_json_replaces_atomically_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "validation" / "jena.raw.json"
    atomic.write_json(path, {"success": True})
    atomic.write_json(path, {"success": False})

    assert path.read_text() == '{\n  "success": false\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["jena.raw.json"]
