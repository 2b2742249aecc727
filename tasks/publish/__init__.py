"""Publish: figures, markdown reports, Prefect artifacts and the summaries printed in the terminal.

The public API of this stage: other stages and the flows import these names from `tasks.publish`, never
from its modules.
"""


from tasks.publish.artifacts import plot_and_publish, publish_predictions, publish_tune
from tasks.publish.new_data import judge_champions_on_new_data
from tasks.publish.report import write_run_report
from tasks.publish.stage_plots import plot_forecast, plot_tune
from tasks.publish.summaries import evaluation_summary, ingest_summary, prediction_summary
from tasks.publish.validation import report_validation

__all__ = ["evaluation_summary", "judge_champions_on_new_data", "ingest_summary", "plot_and_publish", "plot_forecast", "plot_tune", "prediction_summary", "publish_predictions", "publish_tune", "report_validation", "write_run_report"]
