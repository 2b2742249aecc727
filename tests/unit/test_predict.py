"""Predictions on new data (tasks/serve/, tasks/publish/plots.py): the text recipe's edge cases, readers and writers,
and Jena forecasts from tiny synthetic station files, each error naming the file and the time."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from tasks.serve import common, series, stations
from tasks.core.sources import JENA_FEATURES, JENA_SENTINEL
from tasks.core.errors import DataFormatError, PredictInputError, SettingsError
from tasks.core.tables import format_table
from tasks.serve.common import write_predictions
from tasks.serve.series import load_normalization
from tasks.serve.stations import load_station_frames
from tasks.serve.text import predict_reviews, read_reviews_csv, read_reviews_file
from tasks.serve.tokens import text_to_ranks, tokenize

pytestmark = pytest.mark.unit

WORD_INDEX = {"the": 1, "movie": 2, "don't": 3, "br": 4, "great": 5, "École": 6, "rare": 9_997}


# ---------------------------------------------------------------------------------------------------------------
# IMDB: the recipe
# ---------------------------------------------------------------------------------------------------------------
def test_tokenize_lowercases_ascii_and_splits_at_the_recipes_punctuation() -> None:
    assert tokenize("The MOVIE was great!!!") == ["the", "movie", "was", "great"]
    letters = 'a,b.c;d:e?f(g)h[i]j{k}l"m#n$o%p&q*r+s-t/u<v=w>x@y\\z^_`|~end'
    assert tokenize(letters) == list("abcdefghijklmnopqrstuvwxyz") + ["end"]


def test_tokenize_keeps_apostrophes_in_and_around_words() -> None:
    assert tokenize("Don't say 'never'") == ["don't", "say", "'never'"]


def test_tokenize_turns_html_line_breaks_into_the_word_br() -> None:
    assert tokenize("Great.<br /><br />The end") == ["great", "br", "br", "the", "end"]


def test_tokenize_leaves_letters_outside_a_to_z_as_they_are() -> None:
    assert tokenize("ÉCOLE École naïve ÄRGER") == ["École", "École", "naïve", "Ärger"]


def test_tokenize_splits_at_tabs_and_newlines_but_not_other_whitespace() -> None:
    assert tokenize("one\ttwo\nthree  four") == ["one", "two", "three", "four"]
    assert tokenize("a\rb c\u00a0d") == ["a\rb", "c\u00a0d"]  # the recipe replaces tab and newline only


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "!!! ... --- <> \t"])
def test_tokenize_of_text_without_words_is_empty(text: str) -> None:
    assert tokenize(text) == []


def test_text_to_ranks_drops_unknown_words_and_counts_both() -> None:
    encoded = text_to_ranks(["The movie, the MOVIE!", "zzz qqq", "", "Don't<br />École"], WORD_INDEX)
    assert [r.tolist() for r in encoded.ranks] == [[1, 2, 1, 2], [], [], [3, 4, 6]]
    assert encoded.words.tolist() == [4, 2, 0, 3]
    assert encoded.known.tolist() == [4, 0, 0, 3]
    assert all(r.dtype == np.int32 for r in encoded.ranks)


class FakeModel:
    """Returns fixed probabilities and keeps what it was given."""

    def __init__(self, probabilities: list[float]) -> None:
        self.probabilities = np.asarray(probabilities, dtype=np.float32).reshape(-1, 1)
        self.seen: np.ndarray | None = None

    def predict(self, x, batch_size=None, verbose=0):
        if not isinstance(x, np.ndarray):  # a tf.data dataset of batches: what it holds, in order
            x = np.concatenate([batch.numpy() for batch in x])
        self.seen = x
        return self.probabilities[: len(x)]


def test_predict_reviews_feeds_the_training_encoding_and_keeps_input_order() -> None:
    from tasks.model.encoding import encode_reviews

    texts = ["the great movie", "rare", "", "qqq zzz", "great " * 600]
    model = FakeModel([0.9, 0.5, 0.2, 0.50001, 0.1])
    rows = predict_reviews(model, texts, WORD_INDEX)
    expected = encode_reviews(text_to_ranks(texts, WORD_INDEX).ranks, 10_000, 500)
    np.testing.assert_array_equal(model.seen, expected)
    assert [r["row"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["label"] for r in rows] == ["positive", "negative", "negative", "positive", "negative"]  # p > 0.5
    assert [r["known_words"] for r in rows] == [3, 1, 0, 0, 600]
    assert [r["vocab_words"] for r in rows] == [3, 0, 0, 0, 600]  # rank 9997 is id 10000: outside the vocabulary
    assert [r["flag"] for r in rows] == ["", "no words in the model's vocabulary", "empty review", "no known words",
                                         "read the last 500 of 600 words"]
    assert rows[0]["probability"] == pytest.approx(0.9) and rows[0]["excerpt"] == "the great movie"


def test_predict_reviews_refuses_a_model_of_another_input_length() -> None:
    from tasks.model.imdb_conv import build_imdb_conv

    with pytest.raises(SettingsError, match=r"the model reads inputs of shape \(None, 100\); expected \(batch, 500\)"):
        predict_reviews(build_imdb_conv(max_features=50, maxlen=100, embedding_dim=4), ["good"], WORD_INDEX)


def test_load_model_reads_a_saved_model_and_names_a_bad_file(tmp_path) -> None:
    from tasks.model.jena_conv import build_jena_conv

    build_jena_conv().save(tmp_path / "model.keras")
    assert common.load_model(tmp_path / "model.keras").input_shape == (None, None, 14)
    with pytest.raises(PredictInputError, match="nothere.keras: no such model file"):
        common.load_model(tmp_path / "nothere.keras")
    (tmp_path / "bad.keras").write_text("not a zip")
    with pytest.raises(PredictInputError, match="bad.keras: not a Keras model file"):
        common.load_model(tmp_path / "bad.keras")


def test_predict_reviews_of_nothing_is_no_rows() -> None:
    assert predict_reviews(FakeModel([]), [], WORD_INDEX) == []


# ---------------------------------------------------------------------------------------------------------------
# IMDB: readers
# ---------------------------------------------------------------------------------------------------------------
def test_read_reviews_file_one_per_line_keeping_blank_lines(tmp_path) -> None:
    path = tmp_path / "reviews.txt"
    path.write_bytes("\ufeffGreat film\r\n\r\nÉpouvantable\x85 film\r\n".encode("utf-8"))
    assert read_reviews_file(path) == ["Great film", "", "Épouvantable\x85 film"]


def test_read_reviews_file_names_the_line_and_byte_of_bad_utf8(tmp_path) -> None:
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"fine\nalso fine\nlatin-1 caf\xe9 here\n")
    with pytest.raises(PredictInputError, match=r"reviews\.txt: line 3, column 12 \(byte offset 26\).*not UTF-8"):
        read_reviews_file(path)


def test_read_reviews_file_refuses_an_empty_or_missing_file(tmp_path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(PredictInputError, match="empty.txt: empty file"):
        read_reviews_file(tmp_path / "empty.txt")
    with pytest.raises(PredictInputError, match="nothere.txt: no such file"):
        read_reviews_file(tmp_path / "nothere.txt")


def test_predict_input_error_is_a_data_format_error() -> None:
    assert issubclass(PredictInputError, DataFormatError)


def test_read_reviews_csv_reads_one_column_with_quoted_newlines(tmp_path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text('id,review,stars\n1,"Good, really.\nSecond line",5\n2,,1\n3,Bad,1\n', encoding="utf-8")
    assert read_reviews_csv(path, "review") == ["Good, really.\nSecond line", "", "Bad"]


def test_read_reviews_csv_reads_a_review_longer_than_the_csv_module_s_field_limit(tmp_path, csv_field_limit) -> None:
    path = tmp_path / "reviews.csv"
    long = "word " * 60_000  # 300 KB in one field
    path.write_text(f'review\nshort\n"{long}"\n', encoding="utf-8")
    assert read_reviews_csv(path, "review") == ["short", long]


def test_read_reviews_csv_missing_column_lists_the_columns(tmp_path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("id,text\n1,Good\n", encoding="utf-8")
    with pytest.raises(PredictInputError, match=r"reviews\.csv: no column 'review'; the header has \['id', 'text'\]"):
        read_reviews_csv(path, "review")


def test_read_reviews_csv_names_a_row_without_the_column(tmp_path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("id,review\n1,Good\n2\n", encoding="utf-8")
    with pytest.raises(PredictInputError, match=r"reviews\.csv: line 3: 1 field\(s\), no value for column 'review'"):
        read_reviews_csv(path, "review")


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------
ROWS = [{"row": 1, "label": "positive", "probability": 0.75, "flag": ""},
        {"row": 2, "label": "negative", "probability": 0.125, "flag": "no known words, \"really\""}]


def test_write_predictions_as_csv(tmp_path) -> None:
    out = write_predictions(ROWS, tmp_path / "out" / "p.csv")
    with out.open(newline="", encoding="utf-8") as f:
        back = list(csv.DictReader(f))
    assert back == [{k: str(v) for k, v in row.items()} for row in ROWS]
    assert [p.name for p in out.parent.iterdir()] == ["p.csv"]  # no temporary file left


def test_write_predictions_as_json_lines_replacing_an_old_file(tmp_path) -> None:
    out = tmp_path / "p.jsonl"
    out.write_text("old\n")
    write_predictions(ROWS, out)
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == ROWS


@pytest.mark.parametrize("name", ["p.txt", "p.json", "p"])
def test_write_predictions_refuses_other_extensions(tmp_path, name: str) -> None:
    with pytest.raises(SettingsError, match=r"expected one of \['.csv', '.jsonl'\]"):
        write_predictions(ROWS, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_format_table_shows_the_first_rows_and_counts_the_rest() -> None:
    table = format_table(ROWS * 3, limit=2, columns=["row", "label", "probability"])
    lines = table.splitlines()
    assert lines[0].split() == ["row", "label", "probability"]
    assert lines[2].split() == ["1", "positive", "0.750"]
    assert lines[-1] == "... 4 more row(s)" and len(lines) == 5
    assert format_table([]) == "(no rows)"


# ---------------------------------------------------------------------------------------------------------------
# Jena: tiny station files. lookback 288 rows (2 days) step 6 (48 timesteps, >= 22 for the models), delay 144.
# ---------------------------------------------------------------------------------------------------------------
LOOKBACK, STEP, DELAY = 288, 6, 144
SPAN = LOOKBACK - STEP + 1  # rows one window covers
START = "2024-06-01 00:10:00"
TEN_MINUTES = 600


def station_frame(rows: int = 600) -> pd.DataFrame:
    from tests.support.fixtures import synthetic_weather

    return synthetic_weather(START, rows, seed=3)


def write_station(tmp_path, frame: pd.DataFrame, name: str = "mpi_roof_2024b.csv"):
    from tests.support.fixtures import write_station_file

    return write_station_file(tmp_path, name, START, len(frame), quoted_header=False, padded=False, crlf=True,
                              frame=frame)


def model_normalization() -> dict:
    """A model's statistics, deliberately not the new data's: mean 0 / std 1 except temperature (10 ± 2 °C)."""
    mean, std = [0.0] * 14, [1.0] * 14
    mean[1], std[1] = 10.0, 2.0
    return {"features": list(JENA_FEATURES), "mean": mean, "std": std, "target": "T (degC)", "target_col": 1,
            "lookback": LOOKBACK, "step": STEP, "delay": DELAY}


def windows_of(tmp_path, frame: pd.DataFrame, normalization: dict | None = None):
    data = load_station_frames([write_station(tmp_path, frame)])
    return data, series.forecast_windows(data.seconds, data.features,
                                              normalization or model_normalization(), data.source,
                                              columns=data.columns, notes=data.notes)


def test_load_station_frames_sorts_drops_repeated_times_and_keeps_sentinels(tmp_path) -> None:
    frame = station_frame(50)
    frame.loc[7, "wv (m/s)"] = JENA_SENTINEL
    shuffled = pd.concat([frame.iloc[20:], frame.iloc[:20], frame.iloc[[5]]])  # out of order, row 5 twice
    data = load_station_frames([write_station(tmp_path, shuffled)])
    assert len(data.seconds) == 50 and np.all(np.diff(data.seconds) == TEN_MINUTES)
    assert data.columns == JENA_FEATURES and data.features.shape == (50, 14)
    assert data.features[7, JENA_FEATURES.index("wv (m/s)")] == JENA_SENTINEL  # not interpolated
    assert data.notes == ("1 repeated time(s) dropped, the first row of each kept (first: 01.06.2024 01:00:00)",)
    assert data.source == "mpi_roof_2024b.csv"


def test_load_station_frames_reads_a_published_parquet(tmp_path) -> None:
    import pyarrow.parquet as pq

    from tasks.ingest.jena_weather import jena_arrow, normalize_jena, read_jena_csv

    path = write_station(tmp_path, station_frame(40))
    table, _ = normalize_jena([(path.name, read_jena_csv(path))])
    pq.write_table(jena_arrow(table), tmp_path / "jena.parquet")
    from_csv = load_station_frames([path])
    from_parquet = load_station_frames([tmp_path])  # a dataset folder holding jena.parquet
    np.testing.assert_array_equal(from_parquet.seconds, from_csv.seconds)
    np.testing.assert_allclose(from_parquet.features, from_csv.features, rtol=1e-6)  # float32 in the Parquet


def test_load_station_frames_reads_a_zipped_station_file(tmp_path) -> None:
    from tests.support.fixtures import write_station_file

    path = write_station_file(tmp_path, "mpi_roof_2024a.zip", START, 30, quoted_header=True, padded=True,
                              crlf=False, seed=3)
    data = load_station_frames([path])
    assert data.features.shape == (30, 14) and data.source == "mpi_roof_2024a.zip"


def test_load_station_frames_names_a_missing_feature_column(tmp_path) -> None:
    path = write_station(tmp_path, station_frame(30).drop(columns=["rh (%)"]))
    with pytest.raises(PredictInputError, match=r"mpi_roof_2024b\.csv: no column\(s\) \['rh \(%\)'\]"):
        load_station_frames([path])


def test_forecast_windows_reads_the_last_day_with_the_models_statistics(tmp_path) -> None:
    data, w = windows_of(tmp_path, station_frame(600))
    assert w.windows.shape == (DELAY, LOOKBACK // STEP, 14) and w.windows.dtype == np.float32
    np.testing.assert_array_equal(w.reading_seconds, data.seconds[-DELAY:])  # every reading of the last 24 h
    np.testing.assert_array_equal(w.target_seconds, w.reading_seconds + (STEP + DELAY) * TEN_MINUTES)
    # The newest window: rows last - lookback + step .. last, every step-th, normalized with the model's mean/std.
    last = len(data.seconds) - 1
    raw = data.features[last - LOOKBACK + STEP: last + 1: STEP]
    np.testing.assert_allclose(w.windows[-1, :, 1], (raw[:, 1] - 10.0) / 2.0, rtol=1e-6)
    np.testing.assert_allclose(w.windows[-1, :, 0], raw[:, 0], rtol=1e-6)
    assert (w.target_mean, w.target_std) == (10.0, 2.0) and w.notes == ()


def test_forecast_windows_match_the_training_windows_and_persistence(tmp_path) -> None:
    """The same rows as tasks.model.windows gathers for anchor r = reading + step, persistence as tasks.judge.baselines'."""
    import tensorflow as tf

    from tasks.judge.baselines import persistence_predictions
    from tasks.model.normalizer import Normalizer, normalize
    from tasks.model.windows import window_gather

    data, w = windows_of(tmp_path, station_frame(600))
    series = normalize(data.features, Normalizer.from_json(model_normalization()))
    padded = np.concatenate([series, np.zeros((STEP + DELAY, 14), np.float32)])  # room for targets past the end
    anchors = (np.searchsorted(data.seconds, w.reading_seconds) + STEP).astype(np.int64)
    gather = window_gather(padded, lookback=LOOKBACK, step=STEP, delay=DELAY, target_col=1)
    training_windows, _ = gather(tf.constant(anchors))
    np.testing.assert_array_equal(w.windows, training_windows.numpy())
    persistence = persistence_predictions(padded, anchors, STEP, 1) * 2.0 + 10.0
    np.testing.assert_allclose(w.persistence_c, persistence, rtol=1e-5)


def test_forecast_windows_need_one_whole_window(tmp_path) -> None:
    with pytest.raises(PredictInputError, match=r"mpi_roof_2024b\.csv: 200 reading\(s\) \(from 01\.06\.2024 "
                                                r"00:10:00 to 02\.06\.2024 09:20:00\); .* needs 283 consecutive"):
        windows_of(tmp_path, station_frame(200))


def test_forecast_windows_name_a_gap_inside_the_newest_window(tmp_path) -> None:
    frame = station_frame(600).drop(index=range(500, 503))  # 30 minutes missing, 97 readings before the end
    with pytest.raises(PredictInputError, match=r"mpi_roof_2024b\.csv: gap in the 10-minute grid after "
                                                r"04\.06\.2024 11:20:00: next reading 04\.06\.2024 12:00:00 "
                                                r"\(3 reading\(s\) missing\)"):
        windows_of(tmp_path, frame)


def test_forecast_windows_name_a_sentinel_inside_the_newest_window(tmp_path) -> None:
    frame = station_frame(600)
    frame.loc[599 - 12, "wv (m/s)"] = JENA_SENTINEL  # a row the newest window reads (599 - 2 x step)
    with pytest.raises(PredictInputError, match=r"column 'wv \(m/s\)' has no reading \(-9999\) at "
                                                r"05\.06\.2024 02:00:00, inside the newest window"):
        windows_of(tmp_path, frame)


def test_forecast_windows_ignore_a_sentinel_in_a_row_no_window_reads(tmp_path) -> None:
    frame = station_frame(600)
    frame.loc[599 - 13, "wv (m/s)"] = JENA_SENTINEL  # between two rows the newest window reads
    _, w = windows_of(tmp_path, frame)
    assert len(w.reading_seconds) == DELAY - 3 and len(w.notes) == 1  # the windows ending at 586, 592, 598 read it
    assert "3 reading(s) of the last 24 h" in w.notes[0] and "-9999" in w.notes[0]


def test_forecast_windows_skip_earlier_windows_across_a_gap_with_a_note(tmp_path) -> None:
    frame = station_frame(700).drop(index=range(300, 306))  # a gap the newest window (283 rows) does not reach
    data, w = windows_of(tmp_path, frame)
    usable = len(data.seconds) - 300 - (SPAN - 1)  # readings at least SPAN - 1 rows after the gap
    assert len(w.reading_seconds) == usable and w.reading_seconds[-1] == data.seconds[-1]
    assert w.notes == (f"{DELAY - usable} reading(s) of the last 24 h ({stations.station_time(data.seconds[-DELAY])} to "
                       f"{stations.station_time(data.seconds[-usable - 1])}) have no forecast: their window crosses a gap "
                       "in the 10-minute grid",)


def test_forecast_windows_name_a_feature_the_model_needs(tmp_path) -> None:
    data = load_station_frames([write_station(tmp_path, station_frame(300))], features=JENA_FEATURES[:13])
    with pytest.raises(PredictInputError, match=r"mpi_roof_2024b\.csv: no column\(s\) \['wd \(deg\)'\]; the model"):
        series.forecast_windows(data.seconds, data.features, model_normalization(), data.source,
                                     columns=data.columns)


def test_load_normalization_names_a_missing_key(tmp_path) -> None:
    path = tmp_path / "normalization.json"
    path.write_text(json.dumps({k: v for k, v in model_normalization().items() if k != "step"}))
    with pytest.raises(PredictInputError, match=r"normalization\.json: no key\(s\) \['step'\]"):
        load_normalization(path)
    path.write_text(json.dumps(model_normalization()))
    assert load_normalization(path)["lookback"] == LOOKBACK


def test_forecast_batches_every_window_through_a_small_model(tmp_path) -> None:
    import keras

    from tasks.model.jena_conv import build_jena_conv

    keras.utils.set_random_seed(0)
    model = build_jena_conv()
    data, w = windows_of(tmp_path, station_frame(600))
    result = series.forecast(model, w)
    expected = model.predict(w.windows, verbose=0).reshape(-1) * 2.0 + 10.0
    np.testing.assert_allclose(result.forecast_c, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(result.persistence_c, data.features[-DELAY:, 1])
    assert len(result.rows) == DELAY
    assert result.headline == result.rows[-1]
    assert result.headline["reading_time"] == "2024-06-05 04:00:00"
    assert result.headline["target_time"] == "2024-06-06 05:00:00" and result.headline["horizon_hours"] == 25.0
    assert json.loads(json.dumps(result.to_json()))["headline"] == result.headline


def test_forecast_refuses_windows_of_another_width(tmp_path) -> None:
    from tasks.model.jena_conv import build_jena_conv

    _, w = windows_of(tmp_path, station_frame(600))
    with pytest.raises(PredictInputError, match="windows of 14 features; the model reads 3"):
        series.forecast(build_jena_conv(n_features=3), w)


def test_plot_forecast_writes_a_png(tmp_path) -> None:
    from tasks.publish.stage_plots import plot_forecast

    seconds = 1_717_200_600 + TEN_MINUTES * np.arange(600)
    temps = 10 + np.sin(np.arange(600) / 20)
    temps[10] = np.nan
    out = plot_forecast(seconds, temps, seconds[-144:] + 90_000, temps[-144:] + 1, temps[-144:],
                        tmp_path / "plots" / "forecast.png", title="jena_conv: 24 h forecast", model_name="jena_conv")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="expected matching, non-zero counts"):
        plot_forecast(seconds, temps, seconds[:0], temps[:0], temps[:0], tmp_path / "x.png", title="t")
