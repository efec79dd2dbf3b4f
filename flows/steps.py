"""Prefect tasks made from a run kind's step list (pipeline/runs/steps.py): the flows run the list with
`pipeline.runs.steps.run_steps`, calling each step as its task, so their tasks are the list, in its order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE

from pipeline.runs.steps import Step


def io_error(task, task_run, state) -> bool:
    """Retry only on I/O errors (a locked, syncing or still-copying file may succeed later), never on bad input."""
    return isinstance(state.data, OSError)


def as_tasks(steps: Sequence[Step]) -> Callable[[Step, Any], Any]:
    """`call` for run_steps: each step as its Prefect task, a step with `each` as one task run per item
    (on the flow's task runner, e.g. Dask), its summary printed to the flow's log."""
    # never cached: a step writes into the run's work folder, whatever its arguments
    tasks = {step.name: task(step.function, name=step.task_name, cache_policy=NO_CACHE,
                             task_run_name=step.task_run_name,
                             **({"retries": 2, "retry_delay_seconds": 2, "retry_condition_fn": io_error}
                                if step.retry_on_io_error else {}))
             for step in steps}

    def call(step: Step, run: Any) -> Any:
        if step.each is None:
            result = tasks[step.name](run)
        else:
            futures = tasks[step.name].map(unmapped(run), step.each(run))
            result = [future.result() for future in futures]
        if step.summary is not None:
            print(step.summary(run, result))
        return result

    return call
