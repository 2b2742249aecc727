"""Model: a published dataset read into arrays, one module per kind of dataset (text: reviews as word ids; series:
splits, normalization and windows), the Keras architectures, training.

The public API of this stage: other stages and the flows import these names from `tasks.model`, never
from its modules.
"""

from tasks.model.dataset import EVAL_SPLITS, data_fingerprint, dataset_path, in_order
from tasks.model.series import jena_dataset, jena_split_facts, prepare_jena, record_file, split_settings
from tasks.model.text import label_names, prepare_imdb, prepare_text
from tasks.model.normalizer import Normalizer, normalize
from tasks.model.splits import season_of
from tasks.model.train import fingerprint_data, train_model_task
from tasks.model.device import NoGpuError, build_lines, refusal, tensorflow_build
from tasks.model.windows import make_window_dataset, window_rows


def __getattr__(name: str):
    """The names that need Keras load it on first use (PEP 562): the orchestrator, which imports this stage to
    dispatch training, never loads Keras or TensorFlow."""
    if name == "build_bag_of_words":
        from tasks.model.bag_of_words import build_bag_of_words

        return build_bag_of_words
    if name == "own_default_seeds":
        from tasks.model.architectures import own_default_seeds

        return own_default_seeds
    if name == "encode_reviews":
        from tasks.model.encoding import encode_reviews

        return encode_reviews
    if name == "multi_hot_batches":
        from tasks.model.encoding import multi_hot_batches

        return multi_hot_batches
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EVAL_SPLITS", "NoGpuError", "Normalizer", "build_bag_of_words", "data_fingerprint", "dataset_path", "encode_reviews", "fingerprint_data", "in_order", "jena_dataset", "jena_split_facts", "label_names", "make_window_dataset", "multi_hot_batches", "normalize", "own_default_seeds", "prepare_imdb", "prepare_text", "prepare_jena", "record_file", "season_of", "split_settings", "train_model_task", "window_rows", "build_lines", "refusal", "tensorflow_build"]
