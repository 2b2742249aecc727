"""How each kind of dataset predicts and serves, looked up through one table: KINDS, kind -> its module.

A dataset's kind is its row of FAMILIES (tasks.core.config): a new dataset of a known kind needs no edit here.
Each kind's module (tasks.serve.text, tasks.serve.series) has the members of ServeKind.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import tasks.serve.series as series
import tasks.serve.text as text
from tasks.core.config import FAMILIES, TrainSettings


class ServeKind(Protocol):
    """What a kind's module gives this stage: predictions from what a user has, and a serving model."""

    SIGNATURE: tuple[str, str, str]  # the serving model's input name, output name and what the output is
    OUTPUT_DTYPE: str  # the serving model's output dtype, as serving.json states it
    SERVING_CODE: tuple[str, ...]  # the modules below tasks/ that build its serving model

    def predict(self, model_dir: Path, inputs: Mapping[str, Any], data_dir: Path,
                out_dir: Path) -> list[dict[str, Any]]:
        """A saved model's predictions from the inputs a user gives, written to out_dir; the rows."""

    def unservable(self, model_dir: Path) -> str | None:
        """Why a finished run of this kind gets no serving model, or None."""

    def build_serving(self, model: Any, model_dir: Path, settings: TrainSettings,
                      name: str) -> tuple[Any, dict[str, Any]]:
        """The trained model with its preprocessing inside, and what that was built from (for serving.json)."""

    def input_spec(self, built: Any) -> Any:
        """The SavedModel signature's input (a tf.TensorSpec named SIGNATURE[0])."""


KINDS: dict[str, ServeKind] = {"text": text, "series": series}  # kind (tasks.core.kinds.KINDS) -> its module


def kind_of(dataset: str) -> ServeKind:
    """The module of a dataset's kind."""
    return KINDS[FAMILIES[dataset].kind]
