"""Ingest: download the sources, validate them with Great Expectations, normalize them into Parquet, report drift.

The public API of this stage: other stages and the flows import these names from `tasks.ingest`, never
from its modules.
"""


from tasks.ingest.download import download_source, keep_downloads, unpack_sources
from tasks.ingest.drift import describe_reference, imdb_training_profile, jena_training_profile, plan_retraining, read_drift, report_drift
from tasks.ingest.normalize import load_word_index, normalize_imdb, normalize_jena_files, read_imdb_split, read_jena, read_jena_csv, read_provenance
from tasks.ingest.validate import validate_new_version, validate_normalized_imdb, validate_normalized_jena, validate_raw_imdb, validate_raw_jena

__all__ = ["describe_reference", "download_source", "imdb_training_profile", "jena_training_profile", "keep_downloads", "load_word_index", "normalize_imdb", "normalize_jena_files", "plan_retraining", "read_drift", "read_imdb_split", "read_jena", "read_jena_csv", "read_provenance", "report_drift", "unpack_sources", "validate_new_version", "validate_normalized_imdb", "validate_normalized_jena", "validate_raw_imdb", "validate_raw_jena"]
