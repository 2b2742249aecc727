"""Every error a user can meet on the command line is one `error:` line: each bad input of every command (the
ingest suite's and the others'), and an OSError in any stage (a full disk, a read-only folder), which names the
stage and the path and publishes nothing.

A full disk and a read-only folder are real: a small tmpfs mounted for the test (tests run as root, and root
writes through chmod 0500), skipped with the reason where mounting is not allowed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.test_ingest_flow import BAD_INPUTS, snapshot, staging_left

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TINY = ["--set", "lookback=132", "--set", "step=6", "--set", "delay=12", "--set", "epochs=1", "--set",
        "steps_per_epoch=2", "--set", "batch_size=16", "--set", "validation_steps=1"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env or {**os.environ, "PYTHONPATH": str(ROOT)})


def session_server() -> dict:
    """The session's test server instead of a temporary one per command (which costs ~20 s to start here)."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}


def the_error_line(result: subprocess.CompletedProcess) -> str:
    """The one `error:` line of a failed command: a non-zero exit, no traceback anywhere, exactly one line of stderr
    starting with `error:` and none on stdout."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert not [line for line in result.stdout.splitlines() if line.startswith("error:")], result.stdout[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


@contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (read-only once `prepare`d content is in: remount it with
    `remount_read_only`); skips the test where this process may not mount."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a full disk or a read-only folder here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount_read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# ---------------------------------------------------------------------------------------------------------------
# Each bad input of the ingest suite, through the real command
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_each_bad_input_of_the_ingest_suite_is_exactly_one_error_line(bad, ingested_data, fixture_mirror,
                                                                      tmp_path):
    from tests.support import fixtures
    from tests.support.http_mirror import HttpMirror

    write_bad, dataset, files, _, says = BAD_INPUTS[bad]
    mirror = fixtures.write_bad_mirror(tmp_path / "mirror", write_bad, fixture_mirror)
    data_dir = tmp_path / "data"
    shutil.copytree(ingested_data, data_dir, symlinks=True)
    with HttpMirror(mirror) as server:
        result = run("-m", "flows.ingest", dataset, "--mirror", server.base_url, "--data-dir", str(data_dir),
                     "--artifacts-dir", str(tmp_path / "artifacts"), *(["--files", *files] if files else []),
                     env=session_server())
    line = the_error_line(result)
    for text in says:  # the whole message on that one line, however many lines it was written on
        assert text in line, line


# ---------------------------------------------------------------------------------------------------------------
# The other commands' bad inputs
# ---------------------------------------------------------------------------------------------------------------
def corrupt_registry(tmp: Path) -> list[str]:
    (tmp / "artifacts" / "registry").mkdir(parents=True)
    (tmp / "artifacts" / "registry" / "jena_conv.json").write_text("{not json")
    return ["-m", "flows.train_all", "--profile", "smoke", "--mirror", str(tmp / "no-mirror"), "--data-dir",
            str(tmp / "data"), "--artifacts-dir", str(tmp / "artifacts")]


def binary_reviews_file(tmp: Path) -> list[str]:
    (tmp / "reviews.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary\nmore\x00\x9c")
    return ["-m", "flows.predict", "imdb", "--file", str(tmp / "reviews.txt"), "--artifacts-dir",
            str(tmp / "artifacts")]


def not_json_trials(tmp: Path) -> list[str]:
    (tmp / "trials.json").write_text("[{")
    return ["-m", "flows.tune", "--model", "jena_conv", "--trials-file", str(tmp / "trials.json")]


OTHER_BAD_INPUTS = {  # name: (the command line, given a fresh folder; what the error line must say)
    "a setting out of range": (lambda tmp: ["-m", "flows.train", "--model", "jena_conv", "--profile", "smoke", "--set",
                                            "learning_rate=inf", "--data-dir", str(tmp)],
                               "learning_rate=inf: must be a finite positive number"),
    "an unknown setting": (lambda tmp: ["-m", "flows.train", "--model", "jena_conv", "--set", "kernel_size=5",
                                        "--data-dir", str(tmp)], "kernel_size"),
    "training without data": (lambda tmp: ["-m", "flows.train", "--model", "jena_conv", "--profile", "smoke",
                                           "--data-dir", str(tmp / "data")], "no jena dataset at"),
    "a model folder that is not there": (lambda tmp: ["-m", "flows.evaluate", "--model-dir", str(tmp / "nowhere")],
                                         "error: model folder"),
    "a corrupt registry": (corrupt_registry, "jena_conv.json is not valid JSON"),
    "a binary reviews file": (binary_reviews_file, "reviews.txt"),
    "--files for a dataset without station files": (
        lambda tmp: ["-m", "flows.ingest", "imdb", "--files", "x.csv", "--data-dir", str(tmp)], "--files applies to"),
    "pruning a dataset never published": (
        lambda tmp: ["-m", "flows.versions", "--dataset", "jena", "--data-dir", str(tmp)], "--dataset jena: not "
                                                                                             "published"),
    "a trials file that is not JSON": (not_json_trials, "cannot read it as JSON"),
}


@pytest.mark.parametrize("bad", list(OTHER_BAD_INPUTS))
def test_each_bad_input_of_the_other_commands_is_exactly_one_error_line(bad, tmp_path):
    args, says = OTHER_BAD_INPUTS[bad]
    line = the_error_line(run(*args(tmp_path)))
    assert says in line, line


# ---------------------------------------------------------------------------------------------------------------
# An OSError in a stage: a full disk, a read-only folder
# ---------------------------------------------------------------------------------------------------------------
def test_a_full_disk_while_normalizing_is_one_error_line_naming_the_stage_and_path_and_publishes_nothing(
        prefect_harness, ingested_data, tmp_path):
    from tests.support import fixtures

    mirror = tmp_path / "mirror"
    fixtures.write_imdb(mirror, seed=1)  # other reviews: a new version to build
    fixtures.write_checksums(mirror)
    data_dir = tmp_path / "data"
    versions = data_dir / "processed" / ".versions"
    shutil.copytree(ingested_data, data_dir, symlinks=True, ignore=lambda folder, names: [".versions"]
                    if Path(folder) == ingested_data / "processed" else [])
    room = folder_bytes(ingested_data / "processed" / ".versions") + 512 * 1024  # far less than a new version
    with tmpfs(versions, str(room)):
        shutil.copytree(ingested_data / "processed" / ".versions", versions, symlinks=True, dirs_exist_ok=True)
        before = snapshot(data_dir)
        result = run("-m", "flows.ingest", "imdb", "--mirror", str(mirror), "--data-dir", str(data_dir),
                     "--artifacts-dir", str(tmp_path / "artifacts"), env=session_server())
        line = the_error_line(result)
        assert line.startswith("error: ingest stage: writing a new version of imdb into"), line
        assert f"{versions}/.staging-imdb-" in line and ".parquet" in line and "No space left on device" in line, line
        assert f"nothing was published, {data_dir / 'processed' / 'imdb'} is as it was" in line
        assert snapshot(data_dir) == before  # every published file byte-identical, every link where it was
        assert staging_left(data_dir) == []
    assert result.returncode == 1


def test_a_read_only_artifacts_folder_fails_training_in_one_line_naming_the_stage_and_path(prefect_harness,
                                                                                          tmp_path):
    from tests.support.published import publish_jena

    publish_jena(tmp_path / "data")
    artifacts = tmp_path / "readonly" / "artifacts"
    with tmpfs(tmp_path / "readonly", "1m"):
        artifacts.mkdir()
        remount_read_only(tmp_path / "readonly")
        result = run("-m", "flows.train", "--model", "jena_conv", "--profile", "smoke", *TINY, "--data-dir",
                     str(tmp_path / "data"), "--artifacts-dir", str(artifacts), env=session_server())
        line = the_error_line(result)
        assert line.startswith("error: train stage (") and line.endswith(
            f"Read-only file system: {artifacts / 'runs'}"), line
        assert list(artifacts.iterdir()) == []  # no run folder, not even an empty one
    assert result.returncode == 1


def test_pruning_a_read_only_data_folder_is_one_error_line_and_removes_nothing(tmp_path, capsys):
    from flows.cli import main
    from tasks.core import atomic

    link = tmp_path / "data" / "processed" / "jena"
    with tmpfs(tmp_path / "data", "1m"):
        for content in ("v1", "v2", "v3"):
            with atomic.staging_dir(link) as staging:
                (staging / "jena.parquet").write_text(content)
                atomic.point_link(atomic.finalize_version(staging, link, content), link)
        remount_read_only(tmp_path / "data")
        code = main(["prune", "--data-dir", str(tmp_path / "data"), "--artifacts-dir", str(tmp_path / "a"),
                     "--yes"])
        err = capsys.readouterr().err
        assert code == 1 and err.count("error:") == 1 and len(err.strip().splitlines()) == 1, err
        versions_dir = link.parent / atomic.VERSIONS
        assert err.startswith("error: prune stage: Read-only file system: "
                              f"{versions_dir / 'jena-v1'} -> {versions_dir / '.pruning-jena-v1'}"), err
        assert sorted(p.name for p in versions_dir.iterdir() if not p.name.startswith(".")) == [
            "jena-v1", "jena-v2", "jena-v3"]
