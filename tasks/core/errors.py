"""One exception type per kind of failure a user must act on.

Every message names the file, row or field at fault and what was expected, so the CLI can print it as is.
"""


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


class PredictInputError(DataFormatError):
    """New data that cannot be predicted on: a reviews file that is not UTF-8 or lacks its column, station
    readings too short, broken by a gap, missing a column or holding a -9999 where the model must read."""
