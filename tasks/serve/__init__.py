"""Serve: predictions on new data, raw review text or the latest station readings.

The public API of this stage: other stages and the flows import these names from `tasks.serve`, never
from its modules.
"""


from tasks.serve.predict import OUTPUT_SUFFIXES, choose_model, gather_reviews, predict_task

__all__ = ["OUTPUT_SUFFIXES", "choose_model", "gather_reviews", "predict_task"]
