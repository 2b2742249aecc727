"""Fetching, verifying and extracting raw files, against a real HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import stat
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from prefect import flow
from prefect.testing.utilities import prefect_test_harness

from tasks.core.sources import CHECKSUMS_FILE, Source
from tasks.ingest.checksums import VERIFIED_CANONICAL_SHA256, VERIFIED_MIRROR, VERIFIED_RECORDED, read_mirror_checksums
from tasks.ingest.download import INCOMING, download_source, fetch, keep_download
from tasks.ingest.transfer import resolve_url
from tasks.ingest.unpack import extract_zip
from tasks.core.errors import ChecksumError, DataFormatError, DownloadError
from tests.support.http_mirror import HttpMirror

pytestmark = pytest.mark.unit

NAME = "series.bin"
PAYLOAD = bytes(range(256)) * 1200  # 300 KiB: several server writes, one client chunk
CANONICAL = "https://example.invalid/datasets/"  # never reached: every test fetches from a mirror
UNRESOLVABLE = "https://storage.seqconv-test.invalid/datasets/"  # .invalid never resolves (RFC 2606)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_sums(folder: Path, entries: dict[str, bytes]) -> None:
    (folder / CHECKSUMS_FILE).write_text("".join(f"{sha256(data)}  {name}\n" for name, data in entries.items()))


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """A mirror folder holding NAME and a SHA256SUMS that lists it."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / NAME).write_bytes(PAYLOAD)
    write_sums(folder, {NAME: PAYLOAD})
    return folder


@pytest.fixture
def mirror(served: Path):
    with HttpMirror(served) as server:
        yield server


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "raw"  # not created: fetch must create it


@pytest.fixture(scope="module")
def prefect_backend():
    with prefect_test_harness():
        yield


def leftovers(raw_dir: Path) -> list[str]:
    return sorted(p.name for p in raw_dir.iterdir() if p.name.startswith(".")) if raw_dir.exists() else []


# ---------------------------------------------------------------------------------------------------------------
# resolve_url and SHA256SUMS
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mirror", "expected"),
    [
        (None, CANONICAL + NAME),
        ("http://127.0.0.1:8000/seqconv", "http://127.0.0.1:8000/seqconv/" + NAME),
        ("https://mirror.example/seqconv/", "https://mirror.example/seqconv/" + NAME),
        ("file:///srv/mirror", "file:///srv/mirror/" + NAME),
        ("/srv/mirror", "/srv/mirror/" + NAME),
    ],
)
def test_resolve_url_picks_canonical_url_mirror_url_or_folder(mirror: str | None, expected: str) -> None:
    assert resolve_url(Source(NAME, CANONICAL), mirror) == expected


def test_read_mirror_checksums_parses_both_sha256sum_forms_and_absent_file_is_empty(tmp_path: Path) -> None:
    digest_a, digest_b = sha256(b"a"), sha256(b"b")
    (tmp_path / CHECKSUMS_FILE).write_text(f"{digest_a.upper()}  a.csv\n\n{digest_b} *b.zip\n")
    assert read_mirror_checksums(str(tmp_path)) == {"a.csv": digest_a, "b.zip": digest_b}
    assert read_mirror_checksums(str(tmp_path / "elsewhere")) == {}
    with HttpMirror(tmp_path / "elsewhere") as server:  # 404 on SHA256SUMS
        assert read_mirror_checksums(server.base_url) == {}
    assert read_mirror_checksums(None) == {}


def test_malformed_sha256sums_names_file_and_line(served: Path, raw_dir: Path) -> None:
    (served / CHECKSUMS_FILE).write_text(f"{sha256(PAYLOAD)}  {NAME}\nnot-a-digest  other.csv\n")
    with pytest.raises(DataFormatError, match=r"SHA256SUMS: line 2 is not in sha256sum format"):
        fetch(Source(NAME, CANONICAL), str(served), raw_dir)
    assert not (raw_dir / NAME).exists()


# ---------------------------------------------------------------------------------------------------------------
# fetch over HTTP
# ---------------------------------------------------------------------------------------------------------------
def test_fetch_from_mirror_url_verifies_against_sha256sums(mirror: HttpMirror, raw_dir: Path) -> None:
    fetched = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert fetched.path == raw_dir / NAME
    assert fetched.path.read_bytes() == PAYLOAD
    assert (fetched.sha256, fetched.verified_by, fetched.fetched) == (sha256(PAYLOAD), VERIFIED_MIRROR, True)
    assert fetched.url == mirror.base_url + NAME
    assert (raw_dir / f"{NAME}.sha256").read_text() == f"{sha256(PAYLOAD)}  {NAME}\n"
    assert leftovers(raw_dir) == []


def test_verified_file_already_there_is_not_fetched_again(mirror: HttpMirror, raw_dir: Path) -> None:
    fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)
    assert mirror.count(NAME) == 1

    again = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert again.fetched is False and again.verified_by == VERIFIED_MIRROR
    assert mirror.count(NAME) == 1  # only SHA256SUMS was read again


def test_pinned_canonical_checksum_is_enough_without_sha256sums(served: Path, raw_dir: Path) -> None:
    (served / CHECKSUMS_FILE).unlink()
    pinned = Source(NAME, CANONICAL, sha256=sha256(PAYLOAD))
    with HttpMirror(served) as server:
        fetched = fetch(pinned, server.base_url, raw_dir)
        assert fetched.verified_by == VERIFIED_CANONICAL_SHA256 and fetched.path.read_bytes() == PAYLOAD
        asked = server.count()

        again = fetch(pinned, server.base_url, raw_dir)

        assert again.fetched is False
        assert server.count() == asked  # the pin settles it: not even SHA256SUMS is asked for


def test_resume_after_dropped_connection_sends_range_and_completes(mirror: HttpMirror, raw_dir: Path) -> None:
    cut = 100_000
    mirror.drop(NAME, after_bytes=cut)
    part = raw_dir / f".{NAME}.part"

    with pytest.raises(DownloadError, match=rf"connection dropped after {cut} of {len(PAYLOAD)} bytes") as failure:
        fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)
    assert failure.value.retryable is True
    assert part.read_bytes() == PAYLOAD[:cut]  # kept for the next attempt
    assert not (raw_dir / NAME).exists()

    fetched = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert [r.range for r in mirror.requests_for(NAME)] == [None, f"bytes={cut}-"]
    assert mirror.requests_for(NAME)[-1].status == 206
    assert fetched.path.read_bytes() == PAYLOAD and fetched.verified_by == VERIFIED_MIRROR
    assert not part.exists()


def test_part_longer_than_the_file_starts_over_after_416(mirror: HttpMirror, raw_dir: Path) -> None:
    raw_dir.mkdir(parents=True)
    (raw_dir / f".{NAME}.part").write_bytes(b"x" * (len(PAYLOAD) + 10))

    fetched = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    asked = [(r.range, r.status) for r in mirror.requests_for(NAME)]
    assert asked == [(f"bytes={len(PAYLOAD) + 10}-", 416), (None, 200)]
    assert fetched.path.read_bytes() == PAYLOAD


def test_http_404_is_not_retryable_and_names_file_and_url(mirror: HttpMirror, raw_dir: Path) -> None:
    with pytest.raises(DownloadError) as failure:
        fetch(Source("missing.csv", CANONICAL), mirror.base_url, raw_dir)
    assert str(failure.value) == f"missing.csv: HTTP 404 Not Found at {mirror.base_url}missing.csv"
    assert failure.value.retryable is False


def test_http_500_and_refused_connection_are_retryable(mirror: HttpMirror, served: Path, raw_dir: Path) -> None:
    mirror.fail(NAME, status=503)
    with pytest.raises(DownloadError, match="HTTP 503") as failure:
        fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)
    assert failure.value.retryable is True

    with HttpMirror(served) as gone:
        url = gone.base_url
    with pytest.raises(DownloadError, match="could not fetch") as refused:  # nothing listens on that port now
        fetch(Source(NAME, CANONICAL, sha256=sha256(PAYLOAD)), url, raw_dir)
    assert refused.value.retryable is True


def closed_port(served: Path) -> str:
    """The base URL of a real HTTP server that has just closed: nothing listens on its port."""
    with HttpMirror(served) as gone:
        return gone.base_url


def test_an_unreachable_canonical_host_fails_at_once_saying_how_to_use_a_mirror(served: Path, raw_dir: Path) -> None:
    hint = ('no internet? point the pipeline at a mirror with MIRROR=DIR (make), --mirror DIR, or SEQCONV_MIRROR '
            '(README "Without internet")')
    base = closed_port(served)
    host = base.removeprefix("http://").rstrip("/")
    with pytest.raises(DownloadError) as refused:  # the canonical site, here on a closed port of 127.0.0.1
        fetch(Source(NAME, base, sha256=sha256(PAYLOAD)), None, raw_dir)
    assert str(refused.value) == f"{NAME}: cannot reach {host} (connection refused): {hint}"
    assert refused.value.retryable is False

    with pytest.raises(DownloadError) as unresolved:
        fetch(Source(NAME, UNRESOLVABLE), None, raw_dir)
    assert str(unresolved.value) == f"{NAME}: cannot reach storage.seqconv-test.invalid (name does not resolve): {hint}"
    assert unresolved.value.retryable is False
    assert not raw_dir.exists() or leftovers(raw_dir) == []


def test_a_mirror_host_that_does_not_resolve_fails_at_once_naming_the_mirror(raw_dir: Path) -> None:
    with pytest.raises(DownloadError) as unresolved:
        fetch(Source(NAME, CANONICAL, sha256=sha256(PAYLOAD)), "http://mirror.seqconv-test.invalid/data/", raw_dir)

    assert str(unresolved.value) == (
        f"{CHECKSUMS_FILE}: cannot reach mirror.seqconv-test.invalid (name does not resolve): check the mirror "
        f"setting (http://mirror.seqconv-test.invalid/data/{CHECKSUMS_FILE})"
    )
    assert unresolved.value.retryable is False


def test_a_download_prints_nothing_when_stderr_is_not_a_terminal(
    mirror: HttpMirror, raw_dir: Path, capfd: pytest.CaptureFixture
) -> None:
    fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert capfd.readouterr() == ("", "")


def test_a_download_shows_bytes_rate_and_time_left_on_a_terminal(
    mirror: HttpMirror, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.getvalue())  # without the colour and cursor codes
    # name, bar, bytes done of the whole file, rate ("?" until rich has timed two updates), time left
    assert re.search(rf"{NAME} ━+ 307\.2/307\.2 kB (\S+/s|\?) 0:00:00\n", shown), shown


def test_mirror_close_leaves_no_thread(served: Path) -> None:
    with HttpMirror(served) as server:
        server.drop(NAME, after_bytes=10)
        with pytest.raises(DownloadError):
            fetch(Source(NAME, CANONICAL), server.base_url, served.parent / "raw")
    assert server.count() == 2  # SHA256SUMS, then the dropped file
    names = [t.name for t in threading.enumerate()]
    assert not [n for n in names if n == "http-mirror" or "process_request" in n], names


def test_download_error_keeps_retryable_through_pickle() -> None:
    # Prefect may serialize a failed task's exception; the retry decision must survive it.
    restored = pickle.loads(pickle.dumps(DownloadError("x: HTTP 502", retryable=True)))
    assert restored.retryable is True and str(restored) == "x: HTTP 502"
    assert pickle.loads(pickle.dumps(ChecksumError("x: mismatch"))).retryable is False


# ---------------------------------------------------------------------------------------------------------------
# checksums
# ---------------------------------------------------------------------------------------------------------------
def test_checksum_mismatch_leaves_nothing_and_keeps_older_good_file(served: Path, raw_dir: Path) -> None:
    old = b"last month's verified bytes"
    raw_dir.mkdir(parents=True)
    (raw_dir / NAME).write_bytes(old)
    announced = sha256(b"the bytes the mirror promises")
    (served / CHECKSUMS_FILE).write_text(f"{announced}  {NAME}\n")  # the mirror moved on; its file is corrupt

    with HttpMirror(served) as server, pytest.raises(ChecksumError) as failure:
        fetch(Source(NAME, CANONICAL), server.base_url, raw_dir)

    message = str(failure.value)
    assert message.startswith(f"{NAME}: the bytes fetched from {server.base_url}{NAME} match no known checksum")
    assert f"expected sha256 {announced} (mirror SHA256SUMS)" in message
    assert f"actual   sha256 {sha256(PAYLOAD)}" in message
    assert failure.value.retryable is False
    assert (raw_dir / NAME).read_bytes() == old
    assert leftovers(raw_dir) == []


def test_md5_pin_mismatch_reports_both_actual_digests_and_writes_nothing(mirror: HttpMirror, raw_dir: Path) -> None:
    (mirror.root / CHECKSUMS_FILE).unlink()
    pin = md5(b"something else")

    with pytest.raises(ChecksumError) as failure:
        fetch(Source(NAME, CANONICAL, md5=pin), mirror.base_url, raw_dir)

    message = str(failure.value)
    assert f"expected md5 {pin} (canonical md5)" in message
    assert f"actual   sha256 {sha256(PAYLOAD)}" in message and f"actual   md5    {md5(PAYLOAD)}" in message
    assert not (raw_dir / NAME).exists() and leftovers(raw_dir) == []


def test_refresh_replaces_a_changed_unpinned_file_and_its_sidecar(mirror: HttpMirror, raw_dir: Path) -> None:
    (mirror.root / CHECKSUMS_FILE).unlink()
    station = Source(NAME, CANONICAL)  # like the Jena files: no checksum published anywhere
    first = fetch(station, mirror.base_url, raw_dir)
    assert first.verified_by == VERIFIED_RECORDED
    grown = PAYLOAD + b"01.07.2024 00:10:00,997.1\n"
    (mirror.root / NAME).write_bytes(grown)

    kept = fetch(station, mirror.base_url, raw_dir)
    assert kept.fetched is False and kept.path.read_bytes() == PAYLOAD  # matches its sidecar: reused

    refreshed = fetch(station, mirror.base_url, raw_dir, refresh=True)

    assert refreshed.fetched is True and refreshed.path.read_bytes() == grown
    assert refreshed.sha256 == sha256(grown) and refreshed.verified_by == VERIFIED_RECORDED
    assert refreshed.path == raw_dir / INCOMING / NAME  # not validated yet: the raw file stays as it was
    assert (raw_dir / NAME).read_bytes() == PAYLOAD
    assert (raw_dir / f"{NAME}.sha256").read_text() == f"{sha256(PAYLOAD)}  {NAME}\n"

    kept = keep_download(refreshed, raw_dir)

    assert kept.path == raw_dir / NAME and kept.path.read_bytes() == grown
    assert (raw_dir / f"{NAME}.sha256").read_text() == f"{sha256(grown)}  {NAME}\n"
    assert not (raw_dir / INCOMING / NAME).exists()
    assert leftovers(raw_dir) == []
    unchanged = fetch(station, mirror.base_url, raw_dir, refresh=True)  # the same bytes again: nothing waits
    assert unchanged.path == raw_dir / NAME and not (raw_dir / INCOMING / NAME).exists()


def test_a_new_download_waits_in_incoming_and_never_overwrites_the_raw_file_before_it_is_kept(
    mirror: HttpMirror, raw_dir: Path
) -> None:
    good = b"last month's bytes, validated and published"
    raw_dir.mkdir(parents=True)
    (raw_dir / NAME).write_bytes(good)  # the mirror's SHA256SUMS now lists PAYLOAD, which may not validate

    new = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert new.fetched is True and new.path == raw_dir / INCOMING / NAME and new.path.read_bytes() == PAYLOAD
    assert (raw_dir / NAME).read_bytes() == good  # a failed validation of PAYLOAD leaves this as it is
    again = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)  # a rerun: the verified candidate is reused
    assert again.fetched is False and again.path == new.path and mirror.count(NAME) == 1

    kept = keep_download(again, raw_dir)

    assert kept.path == raw_dir / NAME and (raw_dir / NAME).read_bytes() == PAYLOAD
    assert keep_download(kept, raw_dir) == kept  # already the raw file: nothing to do
    last = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)
    assert last.fetched is False and last.path == raw_dir / NAME and mirror.count(NAME) == 1


def test_unpinned_file_with_a_damaged_copy_is_fetched_again(mirror: HttpMirror, raw_dir: Path) -> None:
    (mirror.root / CHECKSUMS_FILE).unlink()
    fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)
    (raw_dir / NAME).write_bytes(PAYLOAD[:10])  # no longer matches its sidecar

    again = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert again.fetched is True and again.path.read_bytes() == PAYLOAD
    assert mirror.count(NAME) == 2
    assert keep_download(again, raw_dir).path.read_bytes() == PAYLOAD


def test_unpinned_part_is_not_resumed(mirror: HttpMirror, raw_dir: Path) -> None:
    # With no checksum to catch a splice of two versions of a growing file, a stale .part is discarded.
    (mirror.root / CHECKSUMS_FILE).unlink()
    raw_dir.mkdir(parents=True)
    (raw_dir / f".{NAME}.part").write_bytes(PAYLOAD[:1000])

    fetched = fetch(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert [r.range for r in mirror.requests_for(NAME)] == [None]
    assert fetched.path.read_bytes() == PAYLOAD


# ---------------------------------------------------------------------------------------------------------------
# local-folder and file:// mirrors
# ---------------------------------------------------------------------------------------------------------------
def test_local_folder_mirror_copies_and_verifies(served: Path, raw_dir: Path) -> None:
    fetched = fetch(Source(NAME, CANONICAL), str(served), raw_dir)
    assert fetched.path.read_bytes() == PAYLOAD and fetched.verified_by == VERIFIED_MIRROR
    assert fetched.url == str(served / NAME)

    with pytest.raises(DownloadError, match=r"absent\.csv: not in the mirror folder: .*absent\.csv") as failure:
        fetch(Source("absent.csv", CANONICAL), str(served), raw_dir)
    assert failure.value.retryable is False


def test_file_url_mirror_ignores_range_and_starts_over(served: Path, raw_dir: Path) -> None:
    raw_dir.mkdir(parents=True)
    (raw_dir / f".{NAME}.part").write_bytes(b"stale prefix")
    fetched = fetch(Source(NAME, CANONICAL), served.as_uri(), raw_dir)
    assert fetched.path.read_bytes() == PAYLOAD and fetched.verified_by == VERIFIED_MIRROR


# ---------------------------------------------------------------------------------------------------------------
# The Prefect task: retries only where a retry can help
# ---------------------------------------------------------------------------------------------------------------
@flow
def fetch_one_flow(source: Source, mirror: str | None, raw_dir: Path):
    return download_source.with_options(retry_delay_seconds=0)(source, mirror, raw_dir)


def test_task_retries_after_http_500s_then_succeeds(prefect_backend, mirror: HttpMirror, raw_dir: Path) -> None:
    mirror.fail(NAME, status=500, times=2)

    fetched = fetch_one_flow(Source(NAME, CANONICAL), mirror.base_url, raw_dir)

    assert [r.status for r in mirror.requests_for(NAME)] == [500, 500, 200]
    assert fetched.path.read_bytes() == PAYLOAD and fetched.verified_by == VERIFIED_MIRROR


def test_task_does_not_retry_a_404(prefect_backend, mirror: HttpMirror, raw_dir: Path) -> None:
    expected = r"^missing\.csv: HTTP 404 Not Found at http://127\.0\.0\.1:\d+/missing\.csv$"
    with pytest.raises(DownloadError, match=expected):
        fetch_one_flow(Source("missing.csv", CANONICAL), mirror.base_url, raw_dir)
    assert mirror.count("missing.csv") == 1


def test_task_does_not_retry_when_the_canonical_host_does_not_resolve(
    prefect_backend, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.ingest import transfer as download  # where _open_url lives

    attempts = []
    real_open = download._open_url
    monkeypatch.setattr(download, "_open_url", lambda url, *args: attempts.append(url) or real_open(url, *args))

    with pytest.raises(DownloadError, match=r"\(name does not resolve\): no internet\?"):
        fetch_one_flow(Source(NAME, UNRESOLVABLE), None, raw_dir)

    assert attempts == [UNRESOLVABLE + NAME]  # once: four retries with backoff cannot bring the network back


def test_task_does_not_retry_a_checksum_mismatch(prefect_backend, mirror: HttpMirror, raw_dir: Path) -> None:
    (mirror.root / CHECKSUMS_FILE).unlink()  # else the mirror's entry would vouch for the bytes
    with pytest.raises(ChecksumError):
        fetch_one_flow(Source(NAME, CANONICAL, sha256=sha256(b"other")), mirror.base_url, raw_dir)
    assert mirror.count(NAME) == 1


# ---------------------------------------------------------------------------------------------------------------
# extract_zip
# ---------------------------------------------------------------------------------------------------------------
def make_zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_extract_zip_writes_files_skips_junk_and_replaces_older_extraction(tmp_path: Path) -> None:
    csv = b"Date Time,T (degC)\n01.01.2009 00:10:00,-8.02\n" * 500
    archive = make_zip(
        tmp_path / "jena.zip",
        {"jena/": b"", "jena/climate.csv": csv, "__MACOSX/jena/._climate.csv": b"junk", "notes/a/../b.txt": b"b"},
    )
    target = tmp_path / "raw" / "jena"
    target.mkdir(parents=True)
    (target / "stale.csv").write_text("from an older zip")

    files = extract_zip(archive, target)

    assert files == [target / "jena" / "climate.csv", target / "notes" / "b.txt"]
    assert (target / "jena" / "climate.csv").read_bytes() == csv
    assert not (target / "stale.csv").exists() and not (target / "__MACOSX").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["jena"]  # no staging or retired folders left


@pytest.mark.parametrize(
    ("entries", "symlink", "bad"),
    [
        ({"good.csv": b"1", "../evil.csv": b"pwned"}, None, "../evil.csv"),
        ({"good.csv": b"1", "a/../../evil.csv": b"pwned"}, None, "a/../../evil.csv"),
        ({"/tmp/evil.csv": b"pwned"}, None, "/tmp/evil.csv"),
        ({"good.csv": b"1"}, "link.csv", "link.csv"),
    ],
)
def test_extract_zip_refuses_unsafe_entries_and_writes_nothing(
    tmp_path: Path, entries: dict[str, bytes], symlink: str | None, bad: str
) -> None:
    archive = make_zip(tmp_path / "evil.zip", entries, symlink)
    outer = tmp_path / "raw"
    target = outer / "jena"

    with pytest.raises(DataFormatError) as failure:
        extract_zip(archive, target)

    assert str(archive) in str(failure.value) and repr(bad) in str(failure.value)
    assert not (outer / "evil.csv").exists() and not (tmp_path / "evil.csv").exists()
    assert not target.exists()
    assert not outer.exists() or list(outer.iterdir()) == []  # no staging folder left


def test_extract_zip_refusal_leaves_an_older_extraction_untouched(tmp_path: Path) -> None:
    target = tmp_path / "raw" / "jena"
    target.mkdir(parents=True)
    (target / "climate.csv").write_text("good")
    archive = make_zip(tmp_path / "evil.zip", {"../evil.csv": b"pwned"})

    with pytest.raises(DataFormatError):
        extract_zip(archive, target)

    assert [p.name for p in target.iterdir()] == ["climate.csv"] and (target / "climate.csv").read_text() == "good"
    assert sorted(p.name for p in target.parent.iterdir()) == ["jena"]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped_payload_byte(data: bytes) -> bytes:
    corrupt = bytearray(data)
    corrupt[60] ^= 0xFF  # inside the first entry's compressed data, after its 30-byte header and name
    return bytes(corrupt)


@pytest.mark.parametrize("damage", [_truncated, _flipped_payload_byte])
def test_extract_zip_reports_truncated_or_corrupt_zip(tmp_path: Path, damage) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("climate.csv", bytes(range(256)) * 400)
    archive_path = tmp_path / "jena.zip"
    archive_path.write_bytes(damage(buffer.getvalue()))
    target = tmp_path / "raw" / "jena"

    with pytest.raises(DataFormatError, match=r"jena\.zip: the zip is truncated or corrupt"):
        extract_zip(archive_path, target)

    assert not target.exists()
    assert not target.parent.exists() or list(target.parent.iterdir()) == []  # no staging folder left
