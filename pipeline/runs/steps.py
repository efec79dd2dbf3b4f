"""A run kind's steps, listed once (annual.STEPS, monthly.STEPS, multi_area.STEPS).

The Prefect flows (flows/) make one task of each step and execute the list with `run_steps`, passing
their tasks as `call`; without Prefect (tests, benchmarks, scripting) `run_steps` calls the step
functions here, in the same order. So a new step or gate is added once, to the list.

A step function takes the run (the run kind's dataclass: its config, work folder, run id and what the
earlier steps returned) and returns its result; it never changes the run (under Dask it runs on a
copy in another process): `run_steps` keeps the result on the run, as the step's `keep` says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.runs import run_record


@dataclass(frozen=True)
class Step:
    name: str                     # in timings, run.json and the supervisor's "crashed in the X step"
    task_name: str                # the Prefect task's name
    function: Callable[..., Any]  # function(run) -> result; function(run, item) for each item of `each`
    keep: str | tuple[str, ...] | Callable[[Any, Any], None] | None = None
    # the run attribute that takes the result, several for a tuple result, or keep(run, result)
    retry_on_io_error: bool = False   # a locked or still-copying file may succeed later; bad input never does
    stop: Callable[[Any], bool] | None = None          # after the step: does the run end here?
    each: Callable[[Any], Sequence[Any]] | None = None  # the items the step runs once for (in parallel under Prefect)
    summary: Callable[[Any, Any], str] | None = None   # summary(run, result): the flow's log line (aggregates only)
    task_run_name: str | None = None                   # Prefect's name of each task run, from the arguments


def call_here(step: Step, run: Any) -> Any:
    """Run one step in this process: once, or once per item of `each`, one after another."""
    if step.each is None:
        return step.function(run)
    return [step.function(run, item) for item in step.each(run)]


def run_steps(steps: Sequence[Step], run: Any, call: Callable[[Step, Any], Any] = call_here) -> None:
    """Execute `steps` in order: note each step's start (pipeline.runs.run_record), time it into
    `run.timings`, keep its result on `run`, and end after a step whose `stop` holds."""
    for step in steps:
        run_record.step(step.name)
        started = time.perf_counter()
        result = call(step, run)
        run.timings[step.name] = round(time.perf_counter() - started, 3)
        keep(step, run, result)
        if step.stop is not None and step.stop(run):
            return


def keep(step: Step, run: Any, result: Any) -> None:
    if callable(step.keep):
        step.keep(run, result)
    elif isinstance(step.keep, tuple):
        for name, value in zip(step.keep, result, strict=True):
            setattr(run, name, value)
    elif step.keep is not None:
        setattr(run, step.keep, result)


def task_names(steps: Sequence[Step]) -> list[str]:
    return [step.task_name for step in steps]
