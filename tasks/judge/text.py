"""The text kind in the judge stage: a saved model's accuracy and ROC AUC on every validation and test review,
beside the majority and bag-of-words baselines on the same reviews (tasks.judge.evaluate looks this module up for
every dataset of kind "text").
"""

from __future__ import annotations

from pathlib import Path

from tasks.core.config import TrainSettings
from tasks.judge.baselines import bag_of_words_baseline, majority_baseline
from tasks.judge.metrics import label_metrics
from tasks.model import EVAL_SPLITS, in_order, label_names, prepare_text


def evaluate_text(model, s: TrainSettings, path: Path, model_dir: Path, data_sha256: str,
                  artifacts_dir: Path) -> tuple[dict, dict, dict, dict, dict]:
    """Accuracy and ROC AUC (two labels) or accuracy, macro-F1 and the confusion matrix (more) on every validation
    and test text, beside the majority and bag-of-words baselines.

    Returns:
        (results per split, baselines, arrays for the plots, facts about the splits, {"labels": the labels' names
        by label number, as the data names them}: every figure, report and prediction names labels by these).
    """
    data = prepare_text(path, s)
    # 128 reviews a batch: the Embedding's output alone is batch x 500 x 128 float32 (131 MB at 512)
    scores = {split: model.predict(in_order(data.x[split], batch_size=128), verbose=0) for split in EVAL_SPLITS}
    scores = {split: v.ravel() if v.shape[-1] == 1 else v for split, v in scores.items()}  # (n,) or (n, labels)
    results = {split: label_metrics(data.y[split], scores[split]) for split in EVAL_SPLITS}
    baselines = {
        "majority": {split: majority_baseline(data.y["train"], data.y[split], s.labels) for split in EVAL_SPLITS},
        "bag_of_words": bag_of_words_baseline(data, s, data_sha256, artifacts_dir),
    }
    arrays = {f"{split}_{name}": values for split in EVAL_SPLITS
              for name, values in (("scores", scores[split]), ("labels", data.y[split]))}
    splits = {split: {"reviews": int(len(data.y[split]))} for split in ("train", *EVAL_SPLITS)}
    return results, baselines, arrays, splits, {"labels": list(label_names(path, s))}
