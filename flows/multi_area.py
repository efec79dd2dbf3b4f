"""Prefect flow `multi_area`: the fan-out over coarse units (forces or years) of pipeline/runs/multi_area.py.

Its tasks are the steps listed in pipeline/runs/multi_area.py (STEPS), in that order. Each unit (ingest ->
marts for one force or year, into its own DuckDB file) is a task run, mapped over the units on the
task runner the config's `engine:` names: Prefect's default runner (threads in this process), or
prefect-dask's DaskTaskRunner on a temporary LocalCluster of `n_workers` processes or on the Dask
scheduler at `address`. The combine runs in the flow's own process. Tasks pass the run (paths, the
plan) and return aggregates, never DuckDB connections; logs carry aggregates only.
"""

from __future__ import annotations

from prefect import flow

from flows.steps import as_tasks
from pipeline.runs import annual, multi_area
from pipeline.runs.steps import run_steps
from pipeline.settings.config_sections import EngineSettings

TASKS = as_tasks(multi_area.STEPS)


def task_runner(engine: EngineSettings):
    """The task runner `engine:` names (None: Prefect's default)."""
    if engine.runner == "default":
        return None
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:  # the optional extra is not installed
        from pipeline.errors import InputError

        raise InputError("engine.runner", "dask", "runner: dask needs prefect-dask: install svna with the dask "
                         "extra (pip install 'svna[dask]')", "prefect_dask not installed") from exc
    if engine.address:   # the workers' own PREFECT_API_URL must reach a Prefect server (README)
        return DaskTaskRunner(address=engine.address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": engine.n_workers,
                                          "threads_per_worker": engine.threads_per_worker,
                                          "processes": True, "dashboard_address": None,
                                          # else each worker process starts a temporary server of its own
                                          "env": {"PREFECT_API_URL": prefect_api_url()}})


def prefect_api_url() -> str:
    """The Prefect API this process reports to: PREFECT_API_URL (or a test harness's), else the
    temporary server, started now (Prefect reuses it for the flow run)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return PREFECT_API_URL.value()
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()   # one per process: the one Prefect's client would start
    server.start()
    return server.api_url


@flow(name="multi_area", log_prints=True)
def multi_area_flow(config_path: str, output: str | None = None) -> str:
    """Fan out over the config's units, combine, publish; returns the output folder."""
    plan = multi_area.load_plan(config_path, output)
    print(f"{len(plan.units)} unit(s) by {plan.by}: {', '.join(u.name for u in plan.units)}")
    # builds in <output>.partial, swaps in on success
    with annual.output_transaction(plan.cfg, kind=multi_area.FanOutRun, plan=plan) as run:
        run_steps(multi_area.STEPS, run, call=TASKS)
    print(f"Outputs written to {plan.cfg.output}")
    return str(plan.cfg.output)


def multi_area_run(config_path: str, output: str | None = None) -> str:
    """Run the flow on the task runner the config's `engine:` names."""
    plan = multi_area.load_plan(config_path, output)
    runner = task_runner(plan.engine)
    chosen = multi_area_flow if runner is None else multi_area_flow.with_options(task_runner=runner)
    return chosen(config_path, output)
