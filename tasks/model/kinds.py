"""The model stage of each kind of dataset, looked up by kind (tasks.core.config.Family.kind): the one table that
says how a run's data is read for training, so training never names a dataset.

A kind is one module here (tasks.model.text, tasks.model.series) with the two functions below; a new dataset of a
known kind needs no code in this stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tasks.model.series as series
import tasks.model.text as text
from tasks.core.config import TrainSettings


@dataclass(frozen=True)
class DataKind:
    """What the model stage does differently for one kind of dataset."""

    settings_for_data: Callable[[Path, TrainSettings], TrainSettings]  # (dataset, settings) -> the settings a run
    # trains with on that published dataset (a series' `auto` split resolved); settings.json records them
    fit_arguments: Callable[[TrainSettings, Path, Path], tuple[dict, int]]  # (settings, dataset, run folder) ->
    # `model.fit` arguments and features per timestep (0 for word ids); writes what the run keeps of its data


KINDS: dict[str, DataKind] = {  # kind (tasks.core.kinds.KINDS) -> its model stage
    "text": DataKind(text.settings_for_data, text.fit_arguments),
    "series": DataKind(series.settings_for_data, series.fit_arguments),
}


def settings_for_data(path: Path, s: TrainSettings) -> TrainSettings:
    """The settings a run trains with on the published dataset at `path`, by its kind (a series' `auto` split
    resolved on its timestamps; text settings as they are). The result is what the run's settings.json records."""
    return KINDS[s.spec.kind].settings_for_data(path, s)
