"""The one Keras layer a serving model needs that Keras does not have: raw review text to the IMDB model's input.

`ReviewEncoder` is the IMDB text path (tasks.serve.tokens.text_to_ranks, then tasks.model.encode_reviews) written
with TensorFlow string ops, so that it runs inside the model and travels with it: lowercase A-Z only, each of
the recipe's filter characters (tab and newline among them) to a space, split on single spaces, drop the empty
pieces and the words missing from the index; then keras.datasets.imdb's ids (start 1, out of vocabulary 2, rank
+ 3) and pad_sequences' defaults (keep the last `maxlen`, pad at the front with 0). The word lookup is Keras'
StringLookup over the run's own word index.

The series serving model needs no layer of its own (tasks.serve.series builds it from Keras' Normalization,
Reshape and Cropping2D). This module imports Keras at the top: tasks.serve.text imports it only when it
builds a serving model, so importing the serve stage stays cheap. Loading a serving `model.keras` with
Keras needs this module imported (it registers the layer as "seqconv>ReviewEncoder"); the exported SavedModel
needs TensorFlow alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tasks.core.sources import INDEX_FROM, OOV_CHAR, PAD_CHAR, START_CHAR
from tasks.serve.tokens import IMDB_FILTERS, tokenize

NOT_IN_INDEX = -1  # the id of a word missing from the index: dropped before the ids are padded


def filter_pattern(characters: str = IMDB_FILTERS) -> str:
    """An RE2 character class matching any of `characters` (the recipe's filters), each escaped where RE2 needs it."""
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in characters)
    return "[" + escaped.replace("\t", "\\t").replace("\n", "\\n") + "]"


@keras.saving.register_keras_serializable(package="seqconv")
class ReviewEncoder(keras.layers.Layer):
    """(batch,) raw review strings -> (batch, maxlen) int32 ids, as the training data was encoded.

    Args:
        words: the word index's words; a word the recipe could never produce (capitals A-Z, a filter character,
            a space, or empty) is left out of the lookup, which changes nothing a review can match.
        ranks: each word's rank (1 = most frequent), as in imdb_word_index.json.
        num_words: the model's vocabulary: ids from num_words up become OOV_CHAR.
        maxlen: ids per review: the last ones, padded at the front.
    """

    def __init__(self, words: Sequence[str], ranks: Sequence[int], num_words: int, maxlen: int, **kwargs: Any):
        super().__init__(**kwargs)
        if len(words) != len(ranks):
            raise ValueError(f"{len(words)} words and {len(ranks)} ranks; expected one rank per word")
        # Only what the recipe can produce: no other word can ever be matched, and leaving them out keeps
        # StringLookup's own OOV token ("[UNK]") out of its vocabulary.
        kept = [(str(w), int(r)) for w, r in zip(words, ranks) if tokenize(str(w)) == [str(w)]]
        if not kept:
            raise ValueError(f"none of the {len(words)} words of the index is a word the recipe can produce")
        self.words = [w for w, _ in kept]
        self.ranks = [r for _, r in kept]
        self.num_words = int(num_words)
        self.maxlen = int(maxlen)
        self.pattern = filter_pattern()
        ids = np.asarray(self.ranks, dtype=np.int64) + INDEX_FROM
        ids = np.where(ids < self.num_words, ids, OOV_CHAR)
        # StringLookup gives 0 for a word it does not hold and i + 1 for words[i]: this turns either into an id.
        self.ids = np.concatenate([[NOT_IN_INDEX], ids]).astype(np.int32)  # (words + 1,)
        self.lookup = keras.layers.StringLookup(vocabulary=self.words, num_oov_indices=1, mask_token=None,
                                                output_mode="int", name="word_index")
        self._convert_input_args = False  # strings: nothing to cast
        self._allow_non_tensor_positional_args = True

    def build(self, input_shape=None) -> None:
        self.built = True  # nothing to make: the lookup holds its vocabulary from the start

    def call(self, texts):
        texts = tf.reshape(tf.convert_to_tensor(texts, dtype=tf.string), [-1])  # (batch,): (batch, 1) accepted
        standard = tf.strings.regex_replace(tf.strings.lower(texts), self.pattern, " ")  # lower: ASCII only
        tokens = tf.strings.split(standard, sep=" ")  # (batch, None): single spaces, so "" between two of them
        index = tokens.with_flat_values(self.lookup(tokens.flat_values))  # (batch, None) int64, 0 = not held
        ids = tf.gather(tf.constant(self.ids), index)  # (batch, None) int32
        ids = tf.ragged.boolean_mask(ids, ids != NOT_IN_INDEX)  # unknown words (and "") dropped
        start = tf.fill([tf.shape(texts)[0], 1], tf.constant(START_CHAR, tf.int32))
        ids = tf.concat([start, ids], axis=1)  # (batch, known + 1)
        return pad_front(ids, self.maxlen)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], self.maxlen), dtype="int32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "words": self.words, "ranks": self.ranks, "num_words": self.num_words,
                "maxlen": self.maxlen}


def pad_front(ids: tf.RaggedTensor, maxlen: int) -> tf.Tensor:
    """pad_sequences' defaults on ragged rows: keep each row's last `maxlen` ids, pad at the front with PAD_CHAR.

    Args:
        ids: (batch, None) int32.
        maxlen: the width.

    Returns:
        (batch, maxlen) int32.
    """
    ids = ids[:, -maxlen:]  # the last maxlen of each row
    lengths = tf.cast(ids.row_lengths(), tf.int32)  # (batch,)
    left = ids.to_tensor(default_value=PAD_CHAR, shape=[None, maxlen])  # (batch, maxlen), padded at the end
    source = tf.range(maxlen)[None, :] - (maxlen - lengths)[:, None]  # column of `left` each output column takes
    taken = tf.gather(left, tf.maximum(source, 0), batch_dims=1)
    return tf.where(source >= 0, taken, tf.constant(PAD_CHAR, tf.int32))


@keras.saving.register_keras_serializable(package="seqconv")
class VocabularyEncoder(keras.layers.Layer):
    """(batch,) raw text strings -> (batch, maxlen) int32 ids by a dataset's vocabulary (tasks.core.vocabulary),
    as its training data was encoded: the recipe in TensorFlow string ops, split, each word's id (1 when not
    held, or from num_words up), the last `maxlen` ids padded at the front.

    Args:
        tokens: the vocabulary's tokens by id (0 padding, 1 OOV, then the words).
        standardize: its recipe (a key of tasks.core.vocabulary.RECIPES).
        num_words: ids from num_words up become the OOV id.
        maxlen: ids per text.
    """

    def __init__(self, tokens: Sequence[str], standardize: str, num_words: int, maxlen: int, **kwargs: Any):
        super().__init__(**kwargs)
        from tasks.core.vocabulary import RECIPES

        if standardize not in RECIPES:
            raise ValueError(f"standardize={standardize!r}; expected one of {', '.join(RECIPES)}")
        self.tokens, self.standardize = [str(t) for t in tokens], standardize
        self.num_words, self.maxlen = int(num_words), int(maxlen)
        self.lookup = keras.layers.StringLookup(vocabulary=self.tokens[2:], num_oov_indices=1, mask_token=None,
                                                output_mode="int", name="vocabulary")
        self._convert_input_args = False  # strings: nothing to cast
        self._allow_non_tensor_positional_args = True

    def build(self, input_shape=None) -> None:
        self.built = True

    def words(self, texts):
        """(batch, None) words by the recipe, as tasks.core.vocabulary.words splits them."""
        from tasks.core.vocabulary import IMDB_FILTERS, KERAS_STRIP

        if self.standardize == "keras_imdb":
            standard = tf.strings.regex_replace(tf.strings.lower(texts), filter_pattern(IMDB_FILTERS), " ")
            tokens = tf.strings.split(standard, sep=" ")
            return tf.ragged.boolean_mask(tokens, tokens != "")
        if self.standardize == "lower_and_strip_punctuation":
            texts = tf.strings.regex_replace(tf.strings.lower(texts), filter_pattern(KERAS_STRIP), "")
        return tf.strings.split(tf.strings.regex_replace(texts, "[ \\t\\n\\r\\f\\v]+", " "), sep=None)

    def call(self, texts):
        texts = tf.reshape(tf.convert_to_tensor(texts, dtype=tf.string), [-1])  # (batch,): (batch, 1) accepted
        words = self.words(texts)
        ids = tf.cast(words.with_flat_values(self.lookup(words.flat_values)), tf.int32) + 1  # 0 (not held) -> OOV 1
        flat = ids.flat_values
        ids = ids.with_flat_values(tf.where(flat < self.num_words, flat, tf.ones_like(flat)))
        return pad_front(ids, self.maxlen)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], self.maxlen), dtype="int32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tokens": self.tokens, "standardize": self.standardize,
                "num_words": self.num_words, "maxlen": self.maxlen}
