"""Train one model on already-ingested data and write its run folder.

    python -m flows.train --model imdb_conv|jena_conv|jena_conv_gru|jena_conv_gru_fast \
        --profile smoke|quick|seed|tuned [--data-dir D] [--artifacts-dir A] [--set key=value ...] [--run-id ID]

Runs locally without a Prefect server (ephemeral mode) and prints the run folder. Settings and data are checked
before any training starts. Rerunning an interrupted run's id resumes it from its last finished epoch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow

from tasks.cache import cached_path
from tasks.config import MODELS, PROFILES, family, resolve_settings
from tasks.errors import SeqconvError, SettingsError
from tasks.train import dataset_path, fingerprint_data, new_run_id, record_reuse, train_model_task


@flow(name="train-model", log_prints=True)
def train_model_flow(
    model: str,
    profile: str = "quick",
    data_dir: str = "data",
    artifacts_dir: str = "artifacts",
    run_id: str | None = None,
    overrides: dict[str, str] | None = None,
    force: bool = False,
) -> str:
    """Train one model (imdb_conv, jena_conv, jena_conv_gru, jena_conv_gru_fast) on ingested data; returns its
    run folder. The same data, code and settings reuse the earlier run unless `force`."""
    settings = resolve_settings(model, profile, overrides)
    data_sha256 = fingerprint_data(data_dir, family(model))
    run_id = run_id or new_run_id()
    run_dir = Path(artifacts_dir) / "runs" / run_id / model
    metrics = cached_path(train_model_task, settings, profile, data_dir, run_dir, run_id, data_sha256, force=force)
    if Path(metrics).parent.resolve() != run_dir.resolve():
        print(f"reusing {Path(metrics).parent}: same data, code and settings (force=True trains again)")
        record_reuse(run_dir, Path(metrics).parent)
    return str(Path(metrics).parent)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"--set {pair!r}: expected key=value, e.g. --set epochs=3")
        out[key.strip()] = value.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.train", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    parser.add_argument("--data-dir", default="data", help="holds processed/ from the ingest flows")
    parser.add_argument("--artifacts-dir", default="artifacts", help="run folders go to <this>/runs/<run-id>/")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting of the profile (repeatable), e.g. --set epochs=3")
    parser.add_argument("--run-id", default=None, help="reuse an interrupted run's id to resume it")
    parser.add_argument("--force", action="store_true", help="train even if the same data, code and settings "
                                                               "were trained before")
    args = parser.parse_args(argv)
    try:
        overrides = parse_overrides(args.overrides)
        resolve_settings(args.model, args.profile, overrides)  # fail fast, before Prefect starts
        dataset_path(Path(args.data_dir), family(args.model))
        run_dir = train_model_flow(model=args.model, profile=args.profile, data_dir=args.data_dir,
                                   artifacts_dir=args.artifacts_dir, run_id=args.run_id, overrides=overrides,
                                   force=args.force)
    except SeqconvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, SettingsError) else 1
    print(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
