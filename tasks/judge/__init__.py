"""Judge: metrics, baselines and the blessing of a saved model on any data version; the champion registry.

The public API of this stage: other stages and the flows import these names from `tasks.judge`, never
from its modules.
"""


from tasks.judge.evaluate import evaluate_model_task, load_arrays
from tasks.judge.metrics import roc_curve
from tasks.judge.new_data import history, judged_already, keep_record, new_data_record
from tasks.judge.registry import champion_model_dir, check_registry, judge_champion, promote_model

__all__ = ["champion_model_dir", "check_registry", "evaluate_model_task", "history", "judge_champion", "judged_already", "keep_record", "load_arrays", "new_data_record", "promote_model", "roc_curve"]
