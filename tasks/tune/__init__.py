"""Tune: a grid or list of trials, their table and plot, the winner on validation as a profile file.

The public API of this stage: other stages and the flows import these names from `tasks.tune`, never
from its modules.
"""


from tasks.tune.summary import summarize_tune, write_winner_profile
from tasks.tune.trials import parse_grid, parse_seeds, plan_tune, trial_jobs

__all__ = ["parse_grid", "parse_seeds", "plan_tune", "summarize_tune", "trial_jobs", "write_winner_profile"]
