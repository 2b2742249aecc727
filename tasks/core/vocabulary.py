"""A text dataset's vocabulary, Keras `TextVectorization`'s way: a standardization recipe, whitespace split, the
`max_tokens` most frequent words of the training split (id 0 the padding, id 1 the out-of-vocabulary word), and
texts as padded id sequences.

Built once per dataset version from its training split (tasks.ingest.text_files), published beside it as
`vocabulary.json`, copied into a run's folder and written into `serving/` (tasks.serve), so a text is encoded the
same way when training, judging and serving. Lives in core because all of those stages read it.

Recipes (the spec's `[text.vocabulary] standardize`):
  lower_and_strip_punctuation  Keras' default: ASCII letters lowercased, the punctuation of its DEFAULT_STRIP_REGEX
                               (the apostrophe included) removed, then split on whitespace
  keras_imdb                   the recipe that built imdb.npz (tasks.serve.tokens): A-Z lowercased, its filters
                               (not the apostrophe) become spaces, split on single spaces
  none                         split on whitespace only
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.core.errors import DataFormatError

PAD, OOV = "", "[UNK]"  # ids 0 and 1, as TextVectorization's get_vocabulary() lists them
KERAS_STRIP = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\''  # keras.layers.TextVectorization's DEFAULT_STRIP_REGEX, as a set
_LOWER_ASCII = {chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}
_KERAS_TABLE = str.maketrans({**{c: "" for c in KERAS_STRIP}, **_LOWER_ASCII})
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")  # tf.strings.split's whitespace
# The recipe that built imdb.npz (shared/datasets/README.md): each of these, tab and newline becomes a space (the
# apostrophe is not among them), A-Z lowercased. tasks.serve.tokens and serving_layers use the same.
IMDB_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
IMDB_TABLE = str.maketrans({**{c: " " for c in IMDB_FILTERS}, **_LOWER_ASCII})


def _lower_and_strip_punctuation(text: str) -> list[str]:
    return [t for t in _WHITESPACE.split(text.translate(_KERAS_TABLE)) if t]


def _keras_imdb(text: str) -> list[str]:
    return list(filter(None, text.translate(IMDB_TABLE).split(" ")))


def _none(text: str) -> list[str]:
    return [t for t in _WHITESPACE.split(text) if t]


RECIPES: dict[str, Callable[[str], list[str]]] = {  # the spec's standardize -> text to words
    "lower_and_strip_punctuation": _lower_and_strip_punctuation,
    "keras_imdb": _keras_imdb,
    "none": _none,
}


def words(text: str, standardize: str) -> list[str]:
    """The words of one text by a named recipe."""
    return RECIPES[standardize](text)


@dataclass(frozen=True)
class Vocabulary:
    """Words by id (0 padding, 1 out of vocabulary, then the most frequent first) and how texts become words."""

    standardize: str  # a key of RECIPES
    tokens: tuple[str, ...]  # tokens[id]; tokens[0] = PAD, tokens[1] = OOV
    labels: tuple[str, ...]  # the dataset's labels, by label number
    texts: int = 0  # training texts it was built from

    @property
    def size(self) -> int:
        return len(self.tokens)

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens) if i > 1}

    def encode(self, texts: Sequence[str], maxlen: int, num_words: int | None = None) -> np.ndarray:
        """Texts as (texts, maxlen) int32 ids, padded and truncated at the front (the book's pad_sequences: a long
        text keeps its last words); ids from `num_words` up become OOV (the vocabulary is ordered by frequency, so
        that is the `num_words` most frequent)."""
        ids = self.ids(texts, num_words)
        out = np.zeros((len(ids), maxlen), dtype=np.int32)
        for row, seq in enumerate(ids):
            if len(seq):
                tail = seq[-maxlen:]
                out[row, maxlen - len(tail):] = tail
        return out

    def ids(self, texts: Sequence[str], num_words: int | None = None) -> list[np.ndarray]:
        """Each text's word ids, unpadded (the bag-of-words baseline's input)."""
        index, recipe, limit = self.index(), RECIPES[self.standardize], num_words or self.size
        result = []
        for text in texts:
            seq = np.fromiter((index.get(w, 1) for w in recipe(text)), dtype=np.int32)
            result.append(np.where(seq < limit, seq, 1).astype(np.int32))
        return result

    def to_json(self) -> str:
        return json.dumps({"standardize": self.standardize, "tokens": list(self.tokens), "labels": list(self.labels),
                           "texts": self.texts}, ensure_ascii=False)


def build_vocabulary(texts: Iterable[str], standardize: str, max_tokens: int, labels: Sequence[str]) -> Vocabulary:
    """The `max_tokens` - 2 most frequent words of `texts` (ties: alphabetical, so a version's vocabulary does not
    depend on row order), after padding and OOV, as TextVectorization.adapt counts them."""
    if standardize not in RECIPES:
        raise ValueError(f"standardize={standardize!r}; allowed: {', '.join(RECIPES)}")
    counts: Counter[str] = Counter()
    recipe, n = RECIPES[standardize], 0
    for text in texts:
        counts.update(recipe(text))
        n += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max(max_tokens - 2, 0)]
    return Vocabulary(standardize, (PAD, OOV, *(w for w, _ in ranked)), tuple(labels), n)


def read_vocabulary(path: Path) -> Vocabulary:
    """A published (or a run's) vocabulary.json; one that is not one is a DataFormatError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        vocabulary = Vocabulary(data["standardize"], tuple(data["tokens"]), tuple(data["labels"]), int(data["texts"]))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise DataFormatError(f"{path}: not a vocabulary ({type(error).__name__}: {error})") from None
    if vocabulary.standardize not in RECIPES or vocabulary.tokens[:2] != (PAD, OOV) or len(vocabulary.labels) < 2:
        raise DataFormatError(f"{path}: not a vocabulary (unknown recipe, no padding/OOV ids, or fewer than 2 labels)")
    return vocabulary
