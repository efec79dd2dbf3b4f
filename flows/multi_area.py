"""Prefect flow `multi_area`: the fan-out over coarse units (forces or years) of pipeline/multi_area.py.

Each unit (ingest -> marts for one force or year, into its own DuckDB file) is a task, mapped over
the units on the task runner the config's `engine:` names: Prefect's default runner (threads in this
process), or prefect-dask's DaskTaskRunner on a temporary LocalCluster of `n_workers` processes or on
the Dask scheduler at `address`. The combine runs in the flow's own process. Tasks pass paths and
aggregates, never DuckDB connections; logs carry aggregates only.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task, unmapped

from pipeline import annual, multi_area
from pipeline.config_sections import EngineSettings
from pipeline.multi_area import Unit


def _io_error(task, task_run, state) -> bool:
    """Retry only on I/O errors (a file on a network share may answer later), never on bad input."""
    return isinstance(state.data, OSError)


@task(name="run-unit", retries=2, retry_delay_seconds=2, retry_condition_fn=_io_error,
      task_run_name="run-unit-{unit.key}")
def run_unit(unit: Unit, work: str, run_id: str) -> dict:
    result = multi_area.run_unit(unit, Path(work), run_id)
    checks = result["checks"]
    print(f"{unit.name}: {len(result['files'])} file(s), {checks['rows_in']:,} rows in = {checks['rows_loaded']:,} "
          f"loaded + {checks['rows_quarantined']:,} quarantined ({result['seconds']:.1f} s)")
    return result


@task(name="combine-units")
def combine_units(results: list[dict], work: str, plan: multi_area.Plan, run_id: str) -> list[str]:
    tables = multi_area.combine(results, Path(work), plan.cfg, run_id, plan.by)
    print(f"Combined {len(results)} unit(s) into {len(tables)} tables")
    return tables


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
    with annual.output_transaction(plan.cfg) as run:     # builds in <output>.partial, swaps in on success
        futures = run_unit.map(plan.units, unmapped(str(run.work)), unmapped(run.run_id))
        results = [future.result() for future in futures]
        started = time.perf_counter()
        tables = combine_units(results, str(run.work), plan, run.run_id)
        multi_area.finish(run, results, tables, time.perf_counter() - started)
    print(f"Outputs written to {plan.cfg.output}")
    return str(plan.cfg.output)


def multi_area_run(config_path: str, output: str | None = None) -> str:
    """Run the flow on the task runner the config's `engine:` names."""
    plan = multi_area.load_plan(config_path, output)
    runner = task_runner(plan.engine)
    chosen = multi_area_flow if runner is None else multi_area_flow.with_options(task_runner=runner)
    return chosen(config_path, output)
