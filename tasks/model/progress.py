"""Training progress: a progress artifact per model in the Prefect UI, updated after every epoch, and the epoch bar
of the live view on a terminal (tasks.core.log.report_progress; Keras draws its own bar only where none is shown)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from tasks.core.artifacts import artifact_key, in_prefect_run
from tasks.core.log import log, progress_shown, report_progress


def progress_key(model: str) -> str:
    """"training-progress-jena-conv"."""
    return artifact_key("training-progress", model)


def epoch_description(epoch: int, epochs: int, logs: Mapping[str, float] | None = None) -> str:
    """"epoch 3/10 loss=0.25 val_loss=0.31": a progress artifact's description after an epoch (1-based)."""
    metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted((logs or {}).items())
                       if isinstance(v, (int, float)) and not isinstance(v, bool))
    return f"epoch {epoch}/{epochs}" + (f" {metrics}" if metrics else "")


def keras_verbose() -> int:
    """Keras' `verbose` for fit: its own bar (steps of the epoch, time left) on a terminal without a live view;
    elsewhere nothing, as logs get one line an epoch (and the live view its epoch bar)."""
    return 1 if sys.stdout.isatty() and not progress_shown() else 0


class ProgressReporter:
    """A progress artifact for a long loop (e.g. epochs): created at 0% on first use, then updated.

    Outside a Prefect run it does nothing. Inside one, a failure to reach the API is logged once and stops
    further updates: a progress bar is never worth failing a training run for.

        progress = ProgressReporter(progress_key("jena_conv"), total=settings.epochs)
        progress.update(3, epoch_description(3, 10, logs))  # 30%, "epoch 3/10 loss=0.28 val_loss=0.31"
    """

    def __init__(self, key: str, total: int, description: str = "starting"):
        self.key, self.total, self.description = key, max(int(total), 1), description
        self.artifact_id = None  # set once the artifact exists
        self.enabled = True  # False outside a run, or after a failure

    def start(self) -> None:
        """Create the artifact at 0% (done by the first update if not called)."""
        if self.artifact_id is not None or not self.enabled:
            return
        if not in_prefect_run():
            self.enabled = False
            return
        from prefect.artifacts import create_progress_artifact

        self._safely(lambda: setattr(self, "artifact_id", create_progress_artifact(
            progress=0.0, key=self.key, description=self.description, _sync=True)))

    def update(self, done: int, description: str | None = None) -> None:
        """Set the progress to done/total (as a percentage, clamped to 0-100) and the description; a live view on
        the terminal shows it too."""
        report_progress(done, self.total, description or self.description)
        self.start()
        if self.artifact_id is None or not self.enabled:
            return
        from prefect.artifacts import update_progress_artifact

        percent = min(max(100.0 * done / self.total, 0.0), 100.0)
        self._safely(lambda: update_progress_artifact(artifact_id=self.artifact_id, progress=percent,
                                                      description=description, _sync=True))

    def _safely(self, call) -> None:
        try:
            call()
        except Exception as error:  # noqa: BLE001 - the server is down or refused: stop, say so once
            self.enabled = False
            try:
                log(f"progress artifact {self.key!r} not updated any more: {error}", logging.WARNING)
            except Exception:  # noqa: BLE001
                pass
