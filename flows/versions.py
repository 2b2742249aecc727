"""Dataset versions: which are kept and why, and removing those nothing needs.

    python -m flows.versions [--dataset D] [--data-dir data] [--artifacts-dir artifacts] [--keep-runs N] [--yes]

`seqconv versions` lists each version of each dataset, its size and what needs it; `seqconv prune` lists what it
would remove and removes it only with `--yes`. The rule is tasks.core.retention's: never the published version, the
one published before it, a champion's, a resumable run's or one of the newest runs' (--keep-runs, default
$SEQCONV_KEEP_RUNS or 3). The ingest flows prune by the same rule after each publication.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from tasks.core.retention import datasets_in, prune_versions, retention_from_env


@flow(name="prune-versions", log_prints=True)
def prune_versions_flow(data_dir: str = "data", artifacts_dir: str = "artifacts", dataset: str | None = None,
                        keep_runs: int | None = None) -> dict[str, list[str]]:
    """Remove the dataset versions nothing needs (of `dataset`, else of every published dataset); returns the
    names removed per dataset."""
    processed = Path(data_dir) / "processed"
    retention = retention_from_env(keep_runs)
    return {name: prune_versions(processed, name, Path(artifacts_dir), retention)
            for name in ([dataset] if dataset else datasets_in(processed))}


if __name__ == "__main__":  # python -m flows.versions is `seqconv prune`
    from flows.cli import main
    sys.exit(main(["prune", *sys.argv[1:]]))
