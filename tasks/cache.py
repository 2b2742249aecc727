"""What makes a cached result reusable: content hashes of the data, the code and the settings.

Prefect caches a task by the key its `cache_key_fn` returns. Our keys hash what the result depends on, never
run ids. Cached results are paths; `cached_path` runs a task again when the path its cached result names has
been deleted since, instead of handing on a dangling path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def code_fingerprint() -> str:
    """sha256 of the pipeline's code (tasks/*.py): a change to any stage invalidates cached results."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tasks").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def content_key(kind: str, *parts: Any) -> str:
    """A stable cache key for `kind` from JSON-able parts (dataclasses allowed) and the code fingerprint."""
    plain = [asdict(p) if is_dataclass(p) else p for p in parts]
    blob = json.dumps([kind, code_fingerprint(), *plain], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def short_key(kind: str, *parts: Any) -> str:
    """16 hex digits of `content_key`, for names on disk (dataset versions)."""
    return content_key(kind, *parts).rsplit("-", 1)[1][:16]


def cached_path(task, *args, force: bool = False) -> str:
    """Call a cached task whose result is a path; `force` or a vanished path runs it again (refresh_cache)."""
    result = task.with_options(refresh_cache=force)(*args)
    if not Path(result).exists():
        result = task.with_options(refresh_cache=True)(*args)
    return result
