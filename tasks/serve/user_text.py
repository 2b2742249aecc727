"""A user's texts (a dataset with its own vocabulary, tasks.core.vocabulary) in the serve stage: the run's own
vocabulary checked against its sha256, raw texts to their labels, and the serving model that takes raw strings
(tasks.serve.serving_layers.VocabularyEncoder). tasks.serve.text uses these for a run that keeps a vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core import runs
from tasks.core.config import TrainSettings

PREDICT_BATCH = 512  # texts per model batch: 512 x 500 int32 ids, ~33 MB of activations in the first conv
THRESHOLD = 0.5  # probability above which the second of two labels is given (Keras' binary accuracy: y_pred > 0.5)
EXCERPT_CHARS = 60  # characters of each text shown in the output rows
SIGNATURE_INPUT = "reviews"  # the serving model's input name (tasks.serve.text.SIGNATURE)


def run_vocabulary(model_dir: Path):
    """The vocabulary a run trained with: its own copy, checked against the sha256 recorded at training; None for
    a run without one (an IMDB run reads its word index instead).

    Raises:
        DataFormatError: the copy does not match its recorded sha256 or is missing one.
    """
    import hashlib

    from tasks.core.errors import DataFormatError
    from tasks.core.vocabulary import read_vocabulary
    path = Path(model_dir) / runs.VOCABULARY
    if not path.is_file():
        return None
    sidecar = Path(model_dir) / runs.VOCABULARY_SHA256
    recorded = (sidecar.read_text().split() or [""])[0] if sidecar.is_file() else None
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if recorded != actual:
        raise DataFormatError(f"{path}: sha256 {actual}, but {sidecar} "
                              f"{'is missing' if recorded is None else f'says {recorded}'}: the run's vocabulary is "
                              "not the one it trained with; restore it or train the model again")
    return read_vocabulary(path)


def predict_texts(model: Any, texts: Sequence[str], vocabulary, *, num_words: int, maxlen: int,
                  batch_size: int = PREDICT_BATCH) -> list[dict[str, Any]]:
    """Labels of raw texts by a model trained on a user's texts: one row per text, in input order.

    Returns:
        Per text: row, label (its name: the most probable one; for two labels, the second when its probability
        is above 0.5), probability (of that label), words, known_words (in the vocabulary the model reads), flag,
        excerpt.
    """
    from tasks.model import in_order

    ids = vocabulary.ids(texts, num_words)
    x = vocabulary.encode(texts, maxlen, num_words)
    scores = (np.asarray(model.predict(in_order(x, batch_size=batch_size), verbose=0), dtype=np.float64)
              if len(texts) else np.empty((0, 1)))
    rows = []
    for i, text in enumerate(texts):
        if scores.shape[1] == 1:
            p1 = float(scores[i, 0])
            label, p = (1, p1) if p1 > THRESHOLD else (0, 1 - p1)
        else:
            label = int(np.argmax(scores[i]))
            p = float(scores[i, label])
        words, known = len(ids[i]), int(np.count_nonzero(ids[i] != 1))
        rows.append({
            "row": i + 1,
            "label": vocabulary.labels[label],
            "probability": p,
            "words": words,
            "known_words": known,
            "flag": text_flag(words, known, maxlen),
            "excerpt": " ".join(text[: EXCERPT_CHARS * 2].split())[:EXCERPT_CHARS],
        })
    return rows


def text_flag(words: int, known: int, maxlen: int) -> str:
    """Why a text's prediction means little, or "" when nothing is amiss."""
    if words == 0:
        return "empty text"
    if known == 0:
        return "no known words"
    if words > maxlen:  # the model reads the last maxlen ids
        return f"read the last {maxlen} of {words} words"
    return ""


def vocabulary_serving(model: Any, model_dir: Path, settings: TrainSettings, vocabulary,
                       name: str) -> tuple[Any, dict[str, Any]]:
    """(batch,) raw strings -> the model's probabilities: VocabularyEncoder over the run's own vocabulary, then
    `model`; and what it was built from (for serving.json)."""
    import hashlib

    import keras

    from tasks.serve.serving_layers import VocabularyEncoder

    texts = keras.Input(shape=(), dtype="string", name=SIGNATURE_INPUT)  # (batch,)
    ids = VocabularyEncoder(vocabulary.tokens, vocabulary.standardize, settings.num_words, settings.maxlen,
                            name="encode_texts")(texts)
    built = keras.Model(texts, model(ids), name=name)  # (batch, 1) or (batch, labels)
    data = (Path(model_dir) / runs.VOCABULARY).read_bytes()
    return built, {"vocabulary": {"file": str(Path(model_dir) / runs.VOCABULARY), "sha256": hashlib.sha256(data)
                                  .hexdigest(), "tokens": vocabulary.size, "standardize": vocabulary.standardize,
                                  "labels": list(vocabulary.labels)},
                   "num_words": settings.num_words, "maxlen": settings.maxlen}
