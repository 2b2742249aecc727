"""Prefect artifacts' plumbing: readable stable keys, and whether there is a run to attach an artifact to."""

from __future__ import annotations

ARTIFACT_KEY_PATTERN = r"^[a-z0-9-]+$"  # Prefect's rule for artifact keys


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from readable parts: artifact_key("plots", "imdb_conv") -> "plots-imdb-conv".

    Lowercase letters and digits are kept; every other run of characters becomes one dash.

    Raises:
        ValueError: if nothing usable is left.
    """
    import re

    key = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    if not key:
        raise ValueError(f"artifact key from {parts!r} is empty; expected letters or digits")
    return key


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run."""
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None
