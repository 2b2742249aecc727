"""Atomic writes and dataset publishing through a symbolic link (plain functions on tiny folders)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.core import atomic

pytestmark = pytest.mark.unit


def publish(link: Path, content: str) -> Path:
    """As the ingest flows publish: stage, seal as the version named by its content, then swap the link."""
    with atomic.staging_dir(link) as staging:
        (staging / "data.txt").write_text(content)
        version = atomic.finalize_version(staging, link, key=content)
    return atomic.point_link(version, link)


def versions(link: Path) -> list[str]:
    return sorted(p.name for p in (link.parent / atomic.VERSIONS).iterdir() if not p.name.startswith("."))


def test_point_link_swaps_the_link_and_never_deletes_a_version(tmp_path: Path) -> None:
    link = tmp_path / "processed" / "jena"

    assert publish(link, "v1") == link
    first = os.readlink(link)
    assert not os.path.isabs(first) and first.startswith(f"{atomic.VERSIONS}/jena-")  # relative: the folder moves
    assert (link / "data.txt").read_text() == "v1"

    publish(link, "v2")
    second = os.readlink(link)
    assert second != first and (link / "data.txt").read_text() == "v2"

    publish(link, "v3")
    assert (link / "data.txt").read_text() == "v3"
    # Only tasks.core.retention removes a version (a champion or a resumable run may need v1).
    assert versions(link) == ["jena-v1", "jena-v2", "jena-v3"]
    log = link.parent / atomic.VERSIONS / atomic.published_log_name("jena")
    assert log.read_text().split() == ["jena-v1", "jena-v2", "jena-v3"]
    assert not any(p.name.startswith(".") and p.name.endswith(".link") for p in link.parent.iterdir())


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


def test_a_full_disk_while_writing_a_version_names_the_dataset_and_path_and_loses_nothing(tmp_path: Path) -> None:
    import errno

    link = tmp_path / "processed" / "imdb"
    publish(link, "good")
    target = os.readlink(link)
    with pytest.raises(atomic.StagingError) as caught:
        with atomic.staging_dir(link) as staging:
            (staging / "train.parquet").write_text("half-written")
            raise OSError(errno.ENOSPC, "No space left on device", str(staging / "test.parquet"))
    message = str(caught.value)
    assert message.startswith("ingest stage: writing a new version of imdb into") and "test.parquet" in message
    assert "No space left on device" in message and f"nothing was published, {link} is as it was" in message
    assert not staging.exists() and os.readlink(link) == target and (link / "data.txt").read_text() == "good"

    with pytest.raises(atomic.StagingError) as caught:  # a writer's full disk names no file: the one it was filling
        with atomic.staging_dir(link) as staging:
            (staging / "train.parquet").write_text("whole")
            os.utime(staging / "train.parquet", (1, 1))
            (staging / "test.parquet").write_text("half-wri")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert f"({staging / 'test.parquet'}): No space left on device;" in str(caught.value)


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


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped), so no process has it now."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_new_build_removes_staging_left_by_a_killed_run_but_not_a_live_one(tmp_path: Path) -> None:
    import socket
    import time

    link = tmp_path / "processed" / "jena"
    versions_dir = link.parent / atomic.VERSIONS
    here = socket.gethostname()
    crashed = versions_dir / f".staging-jena-k1ll3d00.pid{dead_pid()}@{here}"  # SIGKILLed mid-normalize
    live = versions_dir / f".staging-jena-l1ve0000.pid{os.getpid()}@{here}"  # another build, still running
    elsewhere = versions_dir / f".staging-jena-0th3rh05.pid{dead_pid()}@not-{here}"  # pid not ours to judge
    other_dataset = versions_dir / f".staging-imdb-k1ll3d00.pid{dead_pid()}@{here}"  # its own run cleans it
    unmarked_old = versions_dir / ".staging-jena-0ld0ld00"  # made before staging names carried their owner
    unmarked_new = versions_dir / ".staging-jena-n3wn3w00"
    for folder in (crashed, live, elsewhere, other_dataset, unmarked_old, unmarked_new):
        (folder / "half").mkdir(parents=True)
        (folder / "half" / "jena.parquet").write_bytes(b"PAR1 torn")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(unmarked_old, (two_days_ago, two_days_ago))

    with atomic.staging_dir(link) as staging:
        owner = atomic.staging_owner(staging)
        assert owner == (os.getpid(), here)  # this build's own folder says whose it is
        assert not crashed.exists() and not unmarked_old.exists()
        assert live.is_dir() and elsewhere.is_dir() and other_dataset.is_dir() and unmarked_new.is_dir()


def test_publishing_removes_staging_left_by_a_killed_run(tmp_path: Path) -> None:
    """A later run whose build is cached creates no staging folder: publishing cleans up too."""
    import socket

    link = tmp_path / "processed" / "jena"
    publish(link, "v1")
    crashed = link.parent / atomic.VERSIONS / f".staging-jena-k1ll3d00.pid{dead_pid()}@{socket.gethostname()}"
    crashed.mkdir()

    atomic.point_link(link.resolve(), link)  # the same version again, as a cached run publishes it

    assert not crashed.exists() and (link / "data.txt").read_text() == "v1"


def test_published_version_is_the_folder_the_link_points_at_and_none_before(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    assert atomic.published_link(processed, "jena") == processed / "jena"
    assert atomic.published_version(processed, "jena") is None  # nothing published yet

    publish(processed / "jena", "v1")
    version = atomic.published_version(processed, "jena")
    assert version is not None and version.parent.name == atomic.VERSIONS and version.name.startswith("jena-")
    assert (version / "data.txt").read_text() == "v1"

    (processed / "imdb").mkdir()  # a real folder put there by hand: not a published version
    assert atomic.published_version(processed, "imdb") is None
