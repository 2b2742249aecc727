"""What this stage draws and writes per kind of dataset, looked up through one table: KINDS, kind -> its module.

A dataset's kind is its row of FAMILIES (tasks.core.config): a new dataset of a known kind needs no edit here.
Each kind's module (tasks.publish.text, tasks.publish.series) has the members of PublishKind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

import tasks.publish.series as series
import tasks.publish.text as text
from tasks.core.architectures import BookResult
from tasks.core.config import FAMILIES, Family, family_of


class PublishKind(Protocol):
    """What a kind's module gives this stage: its figures and the lines a person reads."""

    PREDICTIONS_ARTIFACT: str  # the first word of its predictions artifact's key ("<word>-<dataset>")

    def plot_test_split(self, arrays: Mapping[str, np.ndarray], metrics: Mapping, out_dir: Path) -> list[Path]:
        """Its figures of an evaluation (evaluation.npz's arrays, metrics.json) in out_dir; the PNGs written."""

    def ingest_summary(self, spec: Family, path: Path) -> str:
        """A published dataset of this kind in a few lines for the terminal."""

    def prediction_summary(self, out_dir: Path, limit: int) -> str:
        """A predictions folder of this kind for the terminal."""

    def publish_predictions(self, out_dir: Path, key: str, spec: Family) -> None:
        """A predictions folder of this kind as a Prefect artifact under `key` (inside a Prefect run)."""

    def split_lines(self, metrics: Sequence[Mapping]) -> list[str]:
        """The report's lines on how these models' data was split (all of this kind)."""

    def verdict(self, model: str, val: float, baselines: Mapping, spec: Family, book: BookResult | None) -> str:
        """One model's verdict in the book's terms, from its validation figure and its baselines'."""


KINDS: dict[str, PublishKind] = {"text": text, "series": series}  # kind (tasks.core.kinds.KINDS) -> its module


def kind_of(dataset: str) -> PublishKind:
    """The module of a dataset's kind."""
    return KINDS[FAMILIES[dataset].kind]


def kind_of_model(model: str) -> PublishKind:
    """The module of the kind of dataset a model reads."""
    return KINDS[family_of(model).kind]
