"""One exception type per kind of failure a user must act on.

Every message names the file, row or field at fault and what was expected, so the CLI can print it as is.
"""

from __future__ import annotations

from dataclasses import dataclass


class SeqconvError(Exception):
    """Base class: the CLI prints these without a traceback and exits non-zero."""


class DownloadError(SeqconvError):
    """A source could not be fetched (HTTP error, dropped connection, missing mirror file)."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable  # True where trying again can help: 5xx, dropped or refused connection, timeout


class ChecksumError(DownloadError):
    """A fetched file's digest matches no pinned or mirror checksum; never retryable (the bytes would be the same)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class DataFormatError(SeqconvError):
    """A raw file cannot be read as the format it claims (truncated, missing column, non-numeric cell)."""


class ValidationFailed(SeqconvError):
    """A Great Expectations suite has failed hard expectations."""


class SettingsError(SeqconvError):
    """A setting, profile or command-line option is not allowed."""


class SpecError(SettingsError):
    """A dataset spec file that cannot be used: its file and key are named."""


@dataclass(frozen=True)
class Problem:
    """One refused setting: what is wrong, as the message says it, and the settings it is about, so whoever
    reports it can say where each value came from (tasks.core.profiles) without reading the text back."""

    text: str  # "lookback=4, step=6: lookback must be at least the step (>= 1)"
    keys: tuple[str, ...]  # ("lookback", "step")

    def __str__(self) -> str:
        return self.text


class PredictInputError(DataFormatError):
    """New data that cannot be predicted on: a reviews file that is not UTF-8 or lacks its column, station
    readings too short, broken by a gap, missing a column or holding a -9999 where the model must read."""


# ---------------------------------------------------------------------------------------------------------------
# An OSError (a full disk, a read-only folder, a permission) in any stage: one line naming the stage and the path
# ---------------------------------------------------------------------------------------------------------------
STAGE_NAMES = {"ingest": "ingest", "model": "train", "judge": "judge", "publish": "publish", "serve": "predict",
               "tune": "tune"}  # a tasks/ package -> the stage a user knows it as


def with_path(error: OSError, path: object) -> OSError:
    """`error` naming `path` when it names none (a write through an open file: a full disk says no file), so
    whoever reports it can say where; the same error when it names one already."""
    if getattr(error, "filename", None) or not error.errno:
        return error
    try:
        named = type(error)(error.errno, error.strerror or str(error), str(path))
    except TypeError:  # an OSError subclass with a constructor of its own
        named = OSError(error.errno, error.strerror or str(error), str(path))
    named.__cause__ = error
    return named


def stage_of(error: BaseException) -> tuple[str, str] | None:
    """(stage, function) where `error` was raised, from its traceback: the outermost frame in a stage's package
    (tasks/ingest -> "ingest", tasks/model -> "train", ...), else the innermost flow module's (flows/<name>.py,
    less the command line); None when neither is in it."""
    import traceback
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    flow_frame = None
    for frame in traceback.extract_tb(error.__traceback__):
        try:
            parts = Path(frame.filename).resolve().relative_to(root).parts
        except ValueError:
            continue
        if len(parts) >= 3 and parts[0] == "tasks" and parts[1] in STAGE_NAMES:
            return STAGE_NAMES[parts[1]], frame.name
        if len(parts) == 2 and parts[0] == "flows" and parts[1].endswith(".py"):
            flow_frame = (parts[1].removesuffix(".py").replace("_", "-"), frame.name)
    return flow_frame


def os_error_line(error: OSError, command: str = "") -> str:
    """One line for an OSError that reached the command line: the stage it happened in, what the system said and
    the path, e.g. "ingest stage (normalize_imdb): No space left on device: data/processed/.versions/...". Where
    no path is known, it says so rather than guessing."""
    stage, function = stage_of(error) or (command or "seqconv", "")
    paths = [p for p in (getattr(error, "filename", None), getattr(error, "filename2", None)) if p]
    where = " -> ".join(str(p) for p in paths) or "no path reported by the system"
    what = error.strerror or str(error) or type(error).__name__
    return f"{stage} stage{f' ({function})' if function else ''}: {what}: {where}"
