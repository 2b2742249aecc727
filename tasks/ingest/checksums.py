"""What a raw file's bytes must hash to, and which checksum they match: the pins in tasks.core.sources, a mirror's
SHA256SUMS, or, for a file no one publishes a checksum for, the sidecar `raw_dir/<name>.sha256` recorded when it
was fetched.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tasks.core.errors import DataFormatError
from tasks.core.sources import CHECKSUMS_FILE, Source
from tasks.ingest.transfer import CHUNK_BYTES, read_text, resolve_url

CHECKSUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")  # sha256sum: "<hex>  <name>" or "<hex> *<name>"

VERIFIED_CANONICAL_SHA256 = "canonical sha256"
VERIFIED_CANONICAL_MD5 = "canonical md5"
VERIFIED_MIRROR = "mirror SHA256SUMS"
VERIFIED_RECORDED = "recorded (no published checksum)"


@dataclass(frozen=True)
class Expected:
    """One digest the bytes may match, and where it was published."""

    algorithm: str  # "sha256" or "md5"
    digest: str  # lower-case hex
    verified_by: str  # one of the VERIFIED_* strings


def read_mirror_checksums(mirror: str | None) -> dict[str, str]:
    """The mirror's SHA256SUMS as {file name: lower-case sha256}; {} when there is none.

    Args:
        mirror: a base URL or local folder; None (the canonical sites) has no SHA256SUMS.

    Returns:
        One entry per line of the file.

    Raises:
        DataFormatError: a line is not in sha256sum format.
        DownloadError: the file exists but could not be read (retryable for 5xx and dropped connections).
    """
    if mirror is None:
        return {}
    where = resolve_url(Source(CHECKSUMS_FILE, ""), mirror)
    text = read_text(CHECKSUMS_FILE, where)
    return {} if text is None else parse_checksums(text, where)


def parse_checksums(text: str, where: str) -> dict[str, str]:
    """{file name: lower-case sha256} from sha256sum output; blank lines and # comments skipped.

    Raises:
        DataFormatError: a line is not in sha256sum format (naming `where` and the line).
    """
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = CHECKSUM_LINE.match(line.rstrip("\r"))
        if not match:
            raise DataFormatError(
                f"{where}: line {number} is not in sha256sum format: expected '<64 hex digits>  <file name>', "
                f"got {line!r}"
            )
        digest, name = match.groups()
        sums[name.removeprefix("./")] = digest.lower()
    return sums


def expected_digests(source: Source, mirror_sha256: str | None) -> list[Expected]:
    """Every checksum known for `source`, canonical pins first."""
    expected = []
    if source.sha256:
        expected.append(Expected("sha256", source.sha256.lower(), VERIFIED_CANONICAL_SHA256))
    if source.md5:
        expected.append(Expected("md5", source.md5.lower(), VERIFIED_CANONICAL_MD5))
    if mirror_sha256:
        expected.append(Expected("sha256", mirror_sha256.lower(), VERIFIED_MIRROR))
    return expected


def hash_file(path: Path) -> dict[str, str]:
    """{"sha256": hex, "md5": hex} of a file, read in 1 MiB chunks."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


def matching_checksum(digests: dict[str, str], expected: list[Expected]) -> str | None:
    """The VERIFIED_* label of the first expected digest the file matches, or None."""
    for candidate in expected:
        if digests[candidate.algorithm] == candidate.digest:
            return candidate.verified_by
    return None


def read_sidecar(sidecar: Path) -> str | None:
    """The sha256 recorded beside a file without a published checksum, or None when absent or unreadable."""
    try:
        match = CHECKSUM_LINE.match(sidecar.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return None
    return match.group(1).lower() if match else None


def mismatch_message(source: Source, url: str, known: list[Expected], digests: dict[str, str]) -> str:
    """What a user reads when fetched bytes match no known checksum: every expected digest and the actual ones."""
    lines = [f"{source.name}: the bytes fetched from {url} match no known checksum; the download was deleted."]
    lines += [f"  expected {e.algorithm} {e.digest} ({e.verified_by})" for e in known]
    lines.append(f"  actual   sha256 {digests['sha256']}")
    if any(e.algorithm == "md5" for e in known):
        lines.append(f"  actual   md5    {digests['md5']}")
    lines.append("Either the file on the server changed or the pin / SHA256SUMS is wrong; check before updating it.")
    return "\n".join(lines)
