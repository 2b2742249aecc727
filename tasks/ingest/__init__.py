"""Ingest: download the sources, validate them with Great Expectations, normalize them into Parquet, report drift.

The public API of this stage: other stages and the flows import these names from `tasks.ingest`, never
from its modules.

Where is X:
  transfer        bytes from a URL or mirror folder into a .part file: HTTP resume, retryable errors, progress
  checksums       what the bytes must hash to: pins, a mirror's SHA256SUMS, sidecars
  download        a verified raw file in place, kept only once its run validated it (tasks download_source,
                  keep_downloads)
  unpack          zips extracted safely, the CSV of each source (task unpack_sources)
  source_folder   a local folder as a source: copied safely (no links out, no devices), hashed by its content
  imdb_reviews    the IMDB npz read without unpickling code, reviews as Arrow, published splits read back
  jena_weather    the Jena CSVs parsed and combined with every repair recorded, the published table read back
  provenance      Parquet with provenance in its metadata
  normalize       a new dataset version's content-addressed name
  readers         which reader ingests a dataset (its spec's format): one table
  text_sources    a user's labelled texts read from CSV/TSV/JSONL, folders or line files, decoded as the spec says
  text_files      the user-texts reader's tasks: labels, splits, the vocabulary, published as texts.parquet
  keras_imdb      the IMDB reader's tasks: the Keras npz validated, normalized into a version, validated again
  jena_station    the Jena reader's tasks: the station's CSVs validated, combined into a version, validated again
  imdb_suite      the IMDB expectations
  jena_suite      the Jena expectations, raw and normalized
  suite_runner    running a suite, findings, failure messages, results as JSON
  validate        the JSON the validation tasks keep, their cache keys, a failed version removed
  data_profiles   the small JSON profile of a dataset's rows that drift compares
  drift           drift of a new version against its reference, written as <dataset>.drift.json
  drift_markdown  the drift artifact, and how a report names its reference
  retraining      which models train-all retrains on drift
"""

from tasks.ingest.data_profiles import imdb_training_profile, jena_training_profile, texts_training_profile
from tasks.ingest.download import download_source, keep_downloads
from tasks.ingest.drift import read_drift, report_drift
from tasks.ingest.drift_markdown import describe_reference
from tasks.ingest.imdb_reviews import load_word_index, read_imdb_split
from tasks.ingest.jena_weather import feature_columns, read_jena, read_jena_csv, read_jena_seconds
from tasks.ingest.series_csv import file_rows, read_series_csv
from tasks.ingest.keras_imdb import normalize_imdb, validate_normalized_imdb, validate_raw_imdb
from tasks.ingest.jena_station import normalize_jena_files, validate_normalized_jena, validate_raw_jena
from tasks.ingest.readers import reader_for
from tasks.ingest.provenance import read_provenance
from tasks.ingest.retraining import plan_retraining
from tasks.ingest.unpack import unpack_sources
from tasks.ingest.validate import validate_new_version

__all__ = ["describe_reference", "download_source", "feature_columns", "file_rows", "read_series_csv", "imdb_training_profile", "jena_training_profile", "keep_downloads", "load_word_index", "normalize_imdb", "normalize_jena_files", "plan_retraining", "read_drift", "read_imdb_split", "read_jena", "read_jena_seconds", "read_jena_csv", "read_provenance", "reader_for", "texts_training_profile", "report_drift", "unpack_sources", "validate_new_version", "validate_normalized_imdb", "validate_normalized_jena", "validate_raw_imdb", "validate_raw_jena"]
