"""Which expectations a dataset must meet: one Great Expectations suite per dataset and stage.

Each expectation carries `meta["hard"]`: a failed hard expectation fails the flow; a failed soft one is reported
(counts and a few offending values) and left to normalization to repair. The raw suites run on the files as
downloaded, the normalized suites on the Parquet about to be published, where every expectation is hard.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prefect import task

from tasks.core import atomic
from tasks.core.cache import content_key
from tasks.core.sources import (
    IMDB_BALANCE_TOLERANCE,
    IMDB_REVIEWS_PER_SPLIT,
    JENA_FEATURES,
    JENA_SENTINEL,
    JENA_TIMESTAMP,
)
from tasks.core.errors import ValidationFailed
from tasks.ingest.normalize import (
    canonical_sources,
    flatten_reviews,
    load_imdb_npz,
    load_word_index,
    read_imdb_flat,
    read_jena_csv,
)

# Plausible physical ranges at the Jena roof station (155 m above sea level); the classic 2009-2016 file stays well
# inside them once its -9999 sentinels are repaired. Units are in the column names.
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "p (mbar)": (850.0, 1100.0),
    "T (degC)": (-50.0, 50.0),
    "Tpot (K)": (220.0, 330.0),
    "Tdew (degC)": (-60.0, 40.0),
    "rh (%)": (0.0, 100.0),
    "VPmax (mbar)": (0.0, 130.0),
    "VPact (mbar)": (0.0, 130.0),
    "VPdef (mbar)": (0.0, 130.0),
    "sh (g/kg)": (0.0, 80.0),
    "H2OC (mmol/mol)": (0.0, 130.0),
    "rho (g/m**3)": (950.0, 1500.0),
    "wv (m/s)": (0.0, 100.0),
    "max. wv (m/s)": (0.0, 100.0),
    "wd (deg)": (0.0, 360.0),
}
TIMESTAMP_REGEX = r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$"  # dd.mm.yyyy HH:MM:SS
PARSED_TIMESTAMP = "parsed timestamp"  # derived raw column: NaT where `Date Time` does not parse
IMDB_COLUMNS = ("label", "n_words", "min_rank", "max_rank")  # the per-review table the IMDB suites run on
# The fewest rows a Jena table may be published with: the smallest length from which on tasks.model.windows.split_rows
# gives every split (train, val, test, in the book's proportions) room for one window of the default settings,
# lookback + delay + 1 = 1440 + 144 + 1 rows. Val is the tightest split (100,000 / 420,551 of the rows): 1585 rows
# need 6,664, but rounding the split boundaries takes 6,665 back below, so 6,666. A number here because
# tasks.model.windows imports TensorFlow, which ingestion does not need; tests/unit/test_validate.py pins it to
# split_rows and TrainSettings.
JENA_MIN_ROWS = 6_666


@dataclass(frozen=True)
class SuiteResult:
    """What one suite found on one batch, as plain data (kept as JSON and shown as a Prefect artifact)."""

    suite: str  # e.g. "jena.raw"
    batch: str  # which file or split was checked
    rows: int
    failed_hard: list[dict[str, Any]] = field(default_factory=list)
    failed_soft: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0  # how many expectations ran

    @property
    def success(self) -> bool:
        return not self.failed_hard

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "batch": self.batch,
            "rows": self.rows,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed_hard": self.failed_hard,
            "failed_soft": self.failed_soft,
        }


# ---------------------------------------------------------------------------------------------------------------
# Suites
# ---------------------------------------------------------------------------------------------------------------
def _expect(kind: str, hard: bool, why: str, **kwargs: Any):
    import great_expectations.expectations as gxe

    return getattr(gxe, kind)(meta={"hard": hard, "why": why}, **kwargs)


def imdb_suite(stage: str, max_rank: int):
    """The IMDB expectations for one split, on its per-review table (see `imdb_review_table`).

    Args:
        stage: "raw" or "normalized" (the same checks: the normalized copy must keep every review intact).
        max_rank: the largest rank in the word index; every word rank must lie in 1..max_rank.
    """
    import great_expectations as gx

    low, high = 0.5 - IMDB_BALANCE_TOLERANCE, 0.5 + IMDB_BALANCE_TOLERANCE
    return gx.ExpectationSuite(
        name=f"imdb.{stage}",
        expectations=[
            _expect("ExpectTableRowCountToEqual", True, "25,000 reviews per split", value=IMDB_REVIEWS_PER_SPLIT),
            _expect("ExpectColumnValuesToBeInSet", True, "labels are 0/1", column="label", value_set=[0, 1]),
            _expect(
                "ExpectColumnMeanToBeBetween", True, "classes balanced within 1%",
                column="label", min_value=low, max_value=high,
            ),
            _expect("ExpectColumnValuesToBeBetween", True, "no empty review", column="n_words", min_value=1),
            _expect(
                "ExpectColumnValuesToBeBetween", True, "word ranks start at 1",
                column="min_rank", min_value=1,
            ),
            _expect(
                "ExpectColumnValuesToBeBetween", True, "every word rank is in the word index",
                column="max_rank", max_value=max_rank,
            ),
        ],
    )


def jena_raw_suite(dropped_columns: tuple[str, ...] | list[str] = ()):
    """Checks on one raw Jena file: what must hold (hard) and what normalization will repair (soft).

    Args:
        dropped_columns: numeric columns of the file that normalization does not keep (the station files' 7
            newer ones, see `jena_dropped_columns`); their -9999 sentinels are reported (soft), not repaired.
    """
    import great_expectations as gx

    expectations = [
        _expect(
            "ExpectTableColumnsToMatchSet", True, "the 15 classic columns by name",
            column_set=[JENA_TIMESTAMP, *JENA_FEATURES], exact_match=False,
        ),
        _expect(
            "ExpectColumnValuesToMatchRegex", True, "timestamps look like dd.mm.yyyy HH:MM:SS",
            column=JENA_TIMESTAMP, regex=TIMESTAMP_REGEX,
        ),
        _expect(
            "ExpectColumnValuesToNotBeNull", True, "timestamps parse as dd.mm.yyyy HH:MM:SS",
            column=PARSED_TIMESTAMP,
        ),
        _expect("ExpectColumnValuesToBeUnique", False,
                "repeated timestamps (identical rows repaired: one kept; other readings refused by normalization)",
                column=PARSED_TIMESTAMP),
        _expect("ExpectColumnValuesToBeIncreasing", False, "rows in time order (repaired: sorted)",
                column=PARSED_TIMESTAMP),
    ]
    for column in JENA_FEATURES:
        low, high = PHYSICAL_RANGES[column]
        expectations += [
            _expect("ExpectColumnValuesToNotBeNull", True, "every reading present", column=column),
            _expect(
                "ExpectColumnValuesToNotBeInSet", False, "-9999 marks a missing reading (repaired: interpolated)",
                column=column, value_set=[JENA_SENTINEL],
            ),
            _expect(
                "ExpectColumnValuesToBeBetween", False, "physical range (sentinels repaired before the hard check)",
                column=column, min_value=low, max_value=high,
            ),
        ]
    expectations += [
        _expect(
            "ExpectColumnValuesToNotBeInSet", False, "-9999 marks a missing reading (column not kept: dropped)",
            column=column, value_set=[JENA_SENTINEL],
        )
        for column in dropped_columns
    ]
    return gx.ExpectationSuite(name="jena.raw", expectations=expectations)


def jena_normalized_suite(min_rows: int = JENA_MIN_ROWS):
    """Checks on the normalized Jena table: all hard, the dataset is published only if every one holds.

    Args:
        min_rows: the fewest rows allowed (JENA_MIN_ROWS: every split holds a window of the default settings).
    """
    import great_expectations as gx

    expectations = [
        _expect(
            "ExpectTableRowCountToBeBetween", True,
            f"at least {min_rows:,} rows, so that every split holds a window (lookback + delay + 1 rows)",
            min_value=min_rows,
        ),
        _expect(
            "ExpectTableColumnsToMatchOrderedList", True, "timestamp then the 14 features",
            column_list=["timestamp", *JENA_FEATURES],
        ),
        _expect("ExpectColumnValuesToNotBeNull", True, "every timestamp present", column="timestamp"),
        _expect("ExpectColumnValuesToBeUnique", True, "one row per timestamp", column="timestamp"),
        _expect(
            "ExpectColumnValuesToBeIncreasing", True, "sorted by time", column="timestamp", strictly=True,
        ),
    ]
    for column in JENA_FEATURES:
        low, high = PHYSICAL_RANGES[column]
        expectations += [
            _expect("ExpectColumnValuesToNotBeNull", True, "every reading present", column=column),
            _expect(
                "ExpectColumnValuesToBeBetween", True, "physical range", column=column, min_value=low, max_value=high,
            ),
            _expect("ExpectColumnValuesToBeOfType", True, "stored as float32", column=column, type_="float32"),
        ]
    return gx.ExpectationSuite(name="jena.normalized", expectations=expectations)


# ---------------------------------------------------------------------------------------------------------------
# Tables the suites run on
# ---------------------------------------------------------------------------------------------------------------
def imdb_review_table(flat: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per review: label, length, lowest and highest word rank (0 for an empty review).

    Args:
        flat: every word rank of every review, concatenated; lengths: words per review; labels: 0/1.
    """
    min_rank = np.zeros(len(lengths), dtype=np.int64)
    max_rank = np.zeros(len(lengths), dtype=np.int64)
    nonempty = lengths > 0
    starts = (np.cumsum(lengths) - lengths)[nonempty]
    if starts.size:
        min_rank[nonempty] = np.minimum.reduceat(flat, starts)
        max_rank[nonempty] = np.maximum.reduceat(flat, starts)
    return pd.DataFrame(
        {"label": np.asarray(labels, dtype=np.int64), "n_words": lengths, "min_rank": min_rank, "max_rank": max_rank}
    )


def jena_dropped_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """The numeric columns of a raw Jena frame that normalization drops (not the timestamp, not the 14 features)."""
    kept = (JENA_TIMESTAMP, *JENA_FEATURES)
    return tuple(c for c in frame.columns if c not in kept and pd.api.types.is_numeric_dtype(frame[c]))


def jena_raw_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw frame plus the parsed timestamp column the raw suite checks."""
    table = frame.copy(deep=False)
    if JENA_TIMESTAMP in frame.columns:
        table[PARSED_TIMESTAMP] = pd.to_datetime(
            frame[JENA_TIMESTAMP].astype("string").str.strip(), format="%d.%m.%Y %H:%M:%S", errors="coerce"
        )
    return table


# ---------------------------------------------------------------------------------------------------------------
# Running a suite
# ---------------------------------------------------------------------------------------------------------------
def run_suite(frame: pd.DataFrame, suite, batch: str) -> SuiteResult:
    """Validate `frame` against `suite` with an ephemeral Great Expectations context.

    Expectations whose column is missing are skipped (the column-set expectation reports the missing column
    itself) so that one absent column gives one clear failure instead of a cascade of errors.
    """
    import great_expectations as gx

    context = gx_context()
    present = set(frame.columns)
    runnable = gx.ExpectationSuite(
        name=f"{suite.name}.{uuid.uuid4().hex[:8]}",  # one context serves many runs: names must differ
        expectations=[e for e in suite.expectations if getattr(e, "column", None) in (None, *present)],
    )
    runnable = context.suites.add(runnable)
    asset = context.data_sources.add_pandas(f"frames-{uuid.uuid4().hex[:8]}").add_dataframe_asset(batch)
    result = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    ).validate(runnable, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})

    failed_hard, failed_soft = [], []
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        finding = _describe(config.type, config.kwargs, config.meta or {}, r.result or {}, r.exception_info)
        (failed_hard if (config.meta or {}).get("hard", True) else failed_soft).append(finding)
    return SuiteResult(
        suite=suite.name,
        batch=batch,
        rows=len(frame),
        failed_hard=failed_hard,
        failed_soft=failed_soft,
        evaluated=len(result.results),
    )


@functools.cache
def gx_context():
    """One ephemeral Great Expectations context per process (each one makes a temporary docs folder)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _describe(kind: str, kwargs: dict, meta: dict, result: dict, exception_info: Any) -> dict[str, Any]:
    """A failed expectation as plain JSON-able data: what, why, how many, a few offending values."""
    arguments = {k: v for k, v in kwargs.items() if k not in ("batch_id", "result_format")}
    finding: dict[str, Any] = {
        "expectation": kind,
        "why": meta.get("why", ""),
        "column": arguments.pop("column", None),
        "arguments": arguments,
        "unexpected_count": result.get("unexpected_count"),
        "unexpected_percent": result.get("unexpected_percent"),
        "examples": [_plain(v) for v in (result.get("partial_unexpected_list") or [])[:5]],
        "observed": _plain(result.get("observed_value")),
    }
    if result.get("details", {}).get("mismatched"):
        finding["observed"] = _plain(result["details"]["mismatched"])
    error = _exception_message(exception_info)
    if error:
        finding["error"] = error
    return finding


def _exception_message(exception_info: Any) -> str | None:
    if not exception_info:
        return None
    infos = exception_info.values() if isinstance(exception_info, dict) and "raised_exception" not in exception_info \
        else [exception_info]
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message"))
    return None


def _plain(value: Any) -> Any:
    """JSON-able form of numpy/pandas values (timestamps as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def format_failures(results: list[SuiteResult]) -> str:
    """A readable list of every failed hard expectation: file or split, column, counts, examples."""
    lines = []
    for result in results:
        for f in result.failed_hard:
            where = f"{result.batch}: " + (f"column {f['column']!r}: " if f["column"] else "")
            count = f["unexpected_count"]
            detail = f"{count} of {result.rows} rows" if count is not None else f"observed {f['observed']!r}"
            examples = f"; e.g. {f['examples']}" if f["examples"] else ""
            error = f"; error: {f['error']}" if f.get("error") else ""
            lines.append(f"  - {where}{f['expectation']} ({f['why']}): {detail}{examples}{error}")
    return "\n".join(lines)


def raise_on_failure(dataset: str, stage: str, results: list[SuiteResult], report_path: str | None = None) -> None:
    """Raise ValidationFailed listing every failed hard expectation, if there is one."""
    if all(r.success for r in results):
        return
    where = f" (full results: {report_path})" if report_path else ""
    raise ValidationFailed(
        f"{dataset} {stage} data failed validation{where}:\n{format_failures(results)}"
    )


def results_to_json(dataset: str, stage: str, results: list[SuiteResult], extra: dict | None = None) -> str:
    """The results of one dataset and stage as a JSON document."""
    return json.dumps(
        {
            "dataset": dataset,
            "stage": stage,
            "success": all(r.success for r in results),
            "batches": [r.to_dict() for r in results],
            **(extra or {}),
        },
        indent=2,
        default=str,
    )


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------


def _report(dataset: str, stage: str, key: str, results: list[SuiteResult], validation_dir: Path) -> Path:
    """Write the results as the latest for this dataset and stage, and under their content key (what a cached run
    returns); then fail the task if a hard expectation failed."""
    text = results_to_json(dataset, stage, results, {"content_key": key})
    latest = atomic.write_text(Path(validation_dir) / f"{dataset}.{stage}.json", text)
    keyed = atomic.write_text(_keyed_path(validation_dir, dataset, stage, key), text)
    raise_on_failure(dataset, stage, results, str(latest))
    return keyed


def _keyed_path(validation_dir: Path, dataset: str, stage: str, key: str) -> Path:
    return Path(validation_dir) / "by-content" / f"{dataset}.{stage}.{key}.json"


def raw_key(dataset: str, digests: list[str]) -> str:
    """What a raw validation depends on: the sources' sha256 (in any order) and the code."""
    return content_key(f"{dataset}-raw", sorted(digests))


def _raw_cache_key(dataset: str):
    def key_fn(context, parameters: dict) -> str:
        key = raw_key(dataset, [s.sha256 if hasattr(s, "sha256") else s["sha256"] for s in parameters["sources"]])
        # The result is a path in this data folder: another data folder with the same sources has its own.
        return content_key("validate", key, str(Path(parameters["validation_dir"]).resolve()))

    return key_fn


def _normalized_cache_key(dataset: str):
    def key_fn(context, parameters: dict) -> str:
        # A version's name is its content key; its full path tells the data folders apart.
        return content_key(f"{dataset}-normalized", str(Path(parameters["version"]).resolve()))

    return key_fn


NORMALIZED_REPORT = "validation.normalized.json"  # inside a dataset version, beside the raw stage's copy


@task(task_run_name="validate raw imdb", cache_key_fn=_raw_cache_key("imdb"), persist_result=True)
def validate_raw_imdb(sources: list, validation_dir: Path) -> Path:
    """Run the IMDB suite on the downloaded npz and word index, per split; fail on any hard expectation."""
    npz, words = sources  # FetchedFile of imdb.npz and imdb_word_index.json
    arrays = load_imdb_npz(npz.path, npz.sha256)
    max_rank = max(load_word_index(words.path).values())
    results = []
    for split in ("train", "test"):
        flat, lengths = flatten_reviews(arrays[f"x_{split}"], f"{npz.path.name} x_{split}")
        table = imdb_review_table(flat, lengths, arrays[f"y_{split}"])
        results.append(run_suite(table, imdb_suite("raw", max_rank), split))
    return _report("imdb", "raw", raw_key("imdb", [npz.sha256, words.sha256]), results, validation_dir)


@task(task_run_name="validate normalized imdb", cache_key_fn=_normalized_cache_key("imdb"), persist_result=True)
def validate_normalized_imdb(version: Path, validation_dir: Path) -> Path:
    """Run the IMDB suite again on the Parquet about to be published."""
    max_rank = max(load_word_index(Path(version) / "word_index.json").values())
    results = []
    for split in ("train", "test"):
        table = imdb_review_table(*read_imdb_flat(version, split))
        results.append(run_suite(table, imdb_suite("normalized", max_rank), split))
    return _report_normalized("imdb", version, results, validation_dir)


@task(task_run_name="validate raw jena", cache_key_fn=_raw_cache_key("jena"), persist_result=True)
def validate_raw_jena(sources: list[dict], validation_dir: Path) -> Path:
    """Run the raw Jena suite on each file: hard failures stop the flow, sentinels and repeats are reported."""
    results = []
    for source in canonical_sources(sources):  # {"name", "sha256", "csv"} from flows.ingest.unpack_jena
        frame = read_jena_csv(source["csv"])
        suite = jena_raw_suite(jena_dropped_columns(frame))
        results.append(run_suite(jena_raw_table(frame), suite, Path(source["csv"]).name))
    return _report("jena", "raw", raw_key("jena", [s["sha256"] for s in sources]), results, validation_dir)


@task(task_run_name="validate normalized jena", cache_key_fn=_normalized_cache_key("jena"), persist_result=True)
def validate_normalized_jena(version: Path, validation_dir: Path) -> Path:
    """Run the normalized Jena suite, every expectation hard, on the table about to be published."""
    import pyarrow.parquet as pq

    frame = pq.read_table(Path(version) / "jena.parquet").to_pandas()
    results = [_run_suite_on_float32(frame, jena_normalized_suite(), "jena.parquet")]
    return _report_normalized("jena", version, results, validation_dir)


def _report_normalized(dataset: str, version: Path, results: list[SuiteResult], validation_dir: Path) -> Path:
    """Keep the normalized results beside the dataset version too (only when they pass: a failed version goes)."""
    path = _report(dataset, "normalized", Path(version).name, results, validation_dir)
    return atomic.write_bytes(Path(version) / NORMALIZED_REPORT, path.read_bytes())


def _run_suite_on_float32(frame: pd.DataFrame, suite, batch: str) -> SuiteResult:
    """`run_suite` for a frame with float32 columns, four times faster on the classic file (4.8 s -> 1.1 s).

    GX vectorizes a range check only on int64 and float64 columns; on float32 it makes one Python call per value.
    So the dtype expectations run on the frame as stored, every other one on a float64 copy (exact: every float32
    is a float64), and the two results are merged into one.
    """
    import great_expectations as gx

    def part(keep_types: bool):
        kept = [e for e in suite.expectations if (type(e).__name__ == "ExpectColumnValuesToBeOfType") == keep_types]
        return gx.ExpectationSuite(name=suite.name, expectations=kept)

    typed = run_suite(frame, part(True), batch)
    widened = frame.astype({c: "float64" for c in frame.columns if frame[c].dtype == np.float32})
    values = run_suite(widened, part(False), batch)
    return SuiteResult(
        suite=suite.name,
        batch=batch,
        rows=len(frame),
        failed_hard=values.failed_hard + typed.failed_hard,
        failed_soft=values.failed_soft + typed.failed_soft,
        evaluated=values.evaluated + typed.evaluated,
    )


def validate_new_version(version: Path, validate_task, validation_dir: Path, processed_dir: Path, name: str) -> Path:
    """Run a normalized suite (one of the tasks above) on a new dataset version; a version that fails it is
    removed, never published, so the previous one stays as it was."""
    from tasks.core.cache import cached_path

    try:
        cached_path(validate_task, version, validation_dir)
    except BaseException:
        atomic.discard_version(version, Path(processed_dir) / name)
        raise
    return Path(version)
