"""A finished evaluation's `metrics.json`: what a model scored, beside its baselines, and whether it was blessed.

tasks.judge.evaluate writes it, last, into a run folder (after training) or an evaluation folder (a saved model
judged again); its presence means the evaluation finished. The registry, the report, the plots, the tune table, the
CLI's summaries and the benchmarks read it back through `Metrics.read`, so the file has one reader and one set of
error messages (file and field).

The document is kept whole in `Metrics.data`, keys in the order written: consumers read many nested keys
(validation, test, baselines, blessing, splits, settings...), and the file's bytes must not change when a record
is written back. The typed properties are the fields every consumer relies on, checked where they are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.core import atomic
from tasks.core.config import FAMILIES, MODELS, family, is_model
from tasks.core.errors import DataFormatError

FILE = "metrics.json"  # in a run folder or an evaluation folder; tasks.core.runs.METRICS names the same file


def validation_metric(metrics: Mapping) -> tuple[str, str, bool]:
    """(key in metrics["validation"], label for sentences, higher is better) of a metrics.json or registry entry.

    The model family decides; metrics["monitor"] (val_accuracy / val_loss) must agree where it is present.

    Raises:
        DataFormatError: if the metrics name no known model, or a monitor of another family.
    """
    model = metrics.get("model")
    if not isinstance(model, str) or not is_model(model):
        raise DataFormatError(f"metrics name no known model (got {model!r}); expected a metrics.json of a finished run")
    spec = FAMILIES[family(model)]
    monitor = metrics.get("monitor")
    if monitor is not None and monitor != spec.monitor:
        raise DataFormatError(f"{model}: monitor {monitor!r} does not match the {spec.name} family's {spec.monitor!r}")
    return spec.metric, spec.label, spec.higher_is_better


def validation_value(metrics: Mapping) -> float:
    """The validation metric a champion is judged on (accuracy or MAE) of a metrics.json or registry entry.

    Raises:
        DataFormatError: as validation_metric, or if validation.<metric> is not a number.
    """
    key, _, _ = validation_metric(metrics)
    try:
        return float(metrics["validation"][key])
    except (KeyError, TypeError, ValueError):
        raise DataFormatError(
            f"{metrics.get('model')} run {metrics.get('run_id')!r} has no number at validation.{key}"
        ) from None


BINARY_NAMES = ("negative", "positive")  # a two-label record from before names were recorded: IMDB's


def label_names(metrics: Mapping, count: int | None = None) -> tuple[str, ...]:
    """The names of a text model's labels by label number, as its metrics.json or registry entry records them (the
    data's own: tasks.judge.text); for a record from before they were recorded, IMDB's negative and positive for two
    labels, the numbers for more.

    Args:
        metrics: a metrics.json document or a registry entry's metrics.
        count: how many labels there are (the confusion matrix's side), where the record may not say.
    """
    names = metrics.get("labels")
    if isinstance(names, list) and names and (count is None or len(names) == count):
        return tuple(map(str, names))
    count = count or len((metrics.get("test") or {}).get("confusion_matrix") or BINARY_NAMES)
    return BINARY_NAMES if count == 2 else tuple(map(str, range(count)))


@dataclass(frozen=True)
class Metrics:
    """One metrics.json: the whole document in `data`, and where it was read from (None for one not yet written)."""

    data: dict[str, Any]  # the document as written by tasks.judge.evaluate.evaluate_model, keys in order
    path: Path | None = field(default=None, compare=False)  # the file it was read from

    @staticmethod
    def path_in(folder: Path | str) -> Path:
        """<folder>/metrics.json."""
        return Path(folder) / FILE

    @classmethod
    def read(cls, folder: Path | str) -> Metrics:
        """The metrics.json of a run or evaluation folder.

        Raises:
            DataFormatError: if the file is missing (the evaluation did not finish), not valid JSON, or not a JSON
                object; each message names the file.
        """
        path = cls.path_in(folder)
        data = atomic.read_json(path, "only a finished run or evaluation has one")
        return cls(data, path)

    def write(self, folder: Path | str) -> Path:
        """Write <folder>/metrics.json atomically (tasks.core.atomic.write_json); returns its path."""
        return atomic.write_json(self.path_in(folder), self.data)

    def _where(self) -> str:
        return str(self.path) if self.path else "metrics"

    @property
    def model(self) -> str:
        """The model judged, one of MODELS."""
        model = self.data.get("model")
        if not isinstance(model, str) or not is_model(model):
            raise DataFormatError(f"{self._where()}: field model is {model!r}; expected one of {', '.join(MODELS)}")
        return model

    @property
    def run_id(self) -> str | None:
        """The training run's id (what training.json recorded), None for an older file."""
        return self.data.get("run_id")

    @property
    def validation(self) -> dict:
        """The model's figures on the validation split (accuracy, roc_auc... or mae, mae_celsius, windows)."""
        value = self.data.get("validation")
        if not isinstance(value, dict):
            raise DataFormatError(f"{self._where()}: field validation is {value!r}; expected an object of figures")
        return value

    @property
    def test(self) -> dict:
        """The model's figures on the test split; {} where the file has none."""
        return self.data.get("test") or {}

    @property
    def baselines(self) -> dict:
        """Baseline -> split -> figures; {} where the file has none."""
        return self.data.get("baselines") or {}

    @property
    def blessing(self) -> dict:
        """The blessing (tasks.judge.blessing.bless); {} where the file has none."""
        return self.data.get("blessing") or {}

    @property
    def blessed(self) -> bool:
        return bool(self.data.get("blessed"))

    @property
    def data_sha256(self) -> str | None:
        """The sha256 of the data version judged on."""
        return (self.data.get("data") or {}).get("sha256")

    @property
    def model_dir(self) -> str | None:
        """The resolved model folder that was judged."""
        return self.data.get("model_dir")

    def metric(self) -> tuple[str, str, bool]:
        """validation_metric of this file, its errors naming the file."""
        try:
            return validation_metric(self.data)
        except DataFormatError as error:
            raise DataFormatError(f"{self._where()}: {error}") from None

    def validation_value(self) -> float:
        """validation_value of this file, its errors naming the file."""
        try:
            return validation_value(self.data)
        except DataFormatError as error:
            raise DataFormatError(f"{self._where()}: {error}") from None
