"""The IMDB text recipe: raw text to the word ranks keras.datasets.imdb stores.

Text is turned into word ranks by the recipe that built the mirror's imdb.npz (shared/datasets/README.md:
lowercase A-Z only; ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~``, tab and newline become spaces; split on single spaces;
words missing from imdb_word_index.json dropped). tasks.serve.text turns the ranks into the model's input, and
tasks.serve.serving_layers writes the same recipe with TensorFlow string ops for the serving model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from tasks.core.vocabulary import IMDB_FILTERS, IMDB_TABLE as _TOKEN_TABLE  # noqa: F401 - the recipe's one definition


def tokenize(text: str) -> list[str]:
    """The words of one review, by the recipe that built imdb.npz.

    Lowercase A-Z only (other letters stay as they are: "É" is not "é"); each of the recipe's punctuation
    characters, tab and newline becomes a space, so "<br />" becomes the word "br" and "don't" stays one word;
    split on single spaces and drop the empty pieces. Other whitespace (carriage return, no-break space) is part
    of a word, as in the recipe.

    Args:
        text: one raw review.

    Returns:
        Its words, in order; [] for a text with none.
    """
    return list(filter(None, text.translate(_TOKEN_TABLE).split(" ")))


class EncodedTexts(NamedTuple):
    """Word ranks of a batch of texts, with what was lost on the way."""

    ranks: list[np.ndarray]  # per text, int32 raw ranks (1 = most frequent word) of the words in the index
    words: np.ndarray  # (texts,) int64: words in the text after tokenizing, known or not
    known: np.ndarray  # (texts,) int64: words found in the index (the length of each ranks array)


def text_to_ranks(texts: Sequence[str], word_index: Mapping[str, int]) -> EncodedTexts:
    """Raw texts to raw word ranks as stored in imdb.npz: tokenize, look each word up, drop unknown words.

    Args:
        texts: raw reviews.
        word_index: word -> rank (imdb_word_index.json, tasks.ingest.normalize.load_word_index).

    Returns:
        ranks (one int32 array per text, unknown words dropped), words per text and known words per text.
    """
    get = word_index.get
    ranks: list[np.ndarray] = []
    words = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = text.translate(_TOKEN_TABLE).split(" ")  # tokenize(), inlined: this loop is the hot path
        found = [r for r in map(get, tokens) if r is not None]  # "" is not in the index, so empties drop too
        ranks.append(np.array(found, dtype=np.int32))
        words[i] = len(tokens) - tokens.count("")
    known = np.fromiter(map(len, ranks), dtype=np.int64, count=len(ranks))
    return EncodedTexts(ranks, words, known)
