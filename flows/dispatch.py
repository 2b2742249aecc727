"""Where a training run happens: in this process, or on a train-model deployment's workers.

Shared by the flows that train several runs (train-all: one run per model; tune: one run per trial). With
`train_on="gpu-pool"` (process workers, `train-model/gpu`) or "docker-pool" (containers, `train-model/docker-gpu`)
every run is dispatched at once, so each idle GPU worker picks one up; with "local" they run here, one after
another, as `train-model` subflows.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import tags as prefect_tags
from prefect import task
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from flows.lost_runs import wait_for_flow_run
from flows.train import train_model_flow
from tasks.core import runs
from tasks.core.config import TRAIN_ON
from tasks.core.errors import SeqconvError

GPU_DEPLOYMENT = TRAIN_ON["gpu-pool"]


@task(task_run_name="train {model} on the gpu pool", retries=2, retry_delay_seconds=10)
def train_on_gpu_pool(model: str, profile: str, data_dir: str, artifacts_dir: str, run_id: str,
                      overrides: dict[str, str], force: bool, tags: list[str] | None = None,
                      deployment: str = GPU_DEPLOYMENT) -> str:
    """Run `deployment` (train-model/gpu, or its container pool's twin) for one model and wait for it. A run that crashed with its worker, or whose host was
    lost (no heartbeats: flows.lost_runs), is retried with the same run id, so it resumes from its last finished
    epoch (tasks.model.checkpoint)."""
    flow_run = run_deployment(
        deployment,
        parameters=dict(model=model, profile=profile, data_dir=data_dir, artifacts_dir=artifacts_dir,
                        run_id=run_id, overrides=overrides, force=force),
        flow_run_name=f"{model}-{run_id}",
        timeout=0,  # created, not awaited: wait_for_flow_run waits, and gives up on a run that stopped beating
        tags=tags,
    )
    with get_client(sync_client=True) as client:
        # Training takes as long as it takes, and a run may queue for a busy GPU: only silence ends the wait.
        flow_run = wait_for_flow_run(client, flow_run.id)
    if not flow_run.state or not flow_run.state.is_completed():
        state = flow_run.state
        # the state's message carries the run's own error (e.g. a GPU pool's refusal to train on a CPU)
        raise SeqconvError(f"{deployment} run {flow_run.name} for {model} ended "
                           f"{state.name if state else 'without a state'}"
                           + (f": {state.message}" if state and state.message else ""))
    # The worker's return value stays on its host; the shared artifacts folder says where the run landed.
    return str(runs.resolve_run_dir(runs.run_dir(artifacts_dir, run_id, model)))


def train_runs(jobs: Sequence[tuple[str, str, dict[str, str]]], profile: str, data_dir: str, artifacts_dir: str,
               train_on: str, force: bool, tags: list[str] | None = None) -> list[str]:
    """Train every (model, run_id, overrides) job, on a pool's deployment concurrently or here in turn; returns each
    job's run folder (the earlier run's where the model was reused), in the jobs' order."""
    if TRAIN_ON[train_on]:
        futures = [train_on_gpu_pool.submit(model, profile, data_dir, artifacts_dir, run_id, overrides or {}, force,
                                            tags, TRAIN_ON[train_on])
                   for model, run_id, overrides in jobs]
        return [future.result() for future in futures]
    with prefect_tags(*(tags or [])):
        return [train_model_flow(model, profile, data_dir, artifacts_dir, run_id, overrides or None, force)
                for model, run_id, overrides in jobs]
