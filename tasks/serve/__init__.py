"""Serve: predictions on new data, raw review text or the latest station readings.

Modules: `kinds` (the table: each kind of dataset's module), `text` (the text kind: reading reviews, predicting
them, its serving model) with `tokens` (the IMDB recipe: text to word ranks) and `word_index` (the word index a
run trained with), `series` (the time-series kind: forecast windows, the forecast, its serving model) with
`stations` (the Jena station's files), `common` (which model, loading it, writing predictions), `predict` (the
Prefect task: the dataset's kind over a saved model folder), `serving` (a run's serving model: the trained model
with its preprocessing inside, as Keras and as a SavedModel) and `serving_layers` (the Keras layer that turns raw
review text into the IMDB model's input).

The public API of this stage: other stages and the flows import these names from `tasks.serve`, never
from its modules.
"""


from tasks.serve.common import OUTPUT_SUFFIXES, choose_model
from tasks.serve.predict import predict_task
from tasks.serve.serving import export_serving_task
from tasks.serve.text import gather_reviews

__all__ = ["OUTPUT_SUFFIXES", "choose_model", "export_serving_task", "gather_reviews", "predict_task"]
