"""Prefect flow `monthly_refresh`: the unattended monthly update (deployment `monthly-refresh` in
prefect.yaml; `svna serve` runs it on a cron on one machine).

Its tasks are the steps listed in pipeline/runs/monthly.py (STEPS), in that order; they pass the refresh
(its config and work folder), never DuckDB connections. When the month's files have not arrived the
run ends in a Completed state named "Waiting for data" (not a failure: nothing was wrong, nothing was
published). Artifacts carry area-level aggregates only.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed

from flows.steps import as_tasks
from pipeline.runs import monthly
from pipeline.runs.steps import run_steps

WAITING_STATE = "Waiting for data"
TASKS = as_tasks(monthly.STEPS)


def scheduled_day() -> date:
    """The day the run was scheduled for, in London (a late run still reports the month it was due)."""
    from prefect.runtime import flow_run

    when = flow_run.scheduled_start_time
    return when.astimezone(ZoneInfo("Europe/London")).date() if when else date.today()


def report_artifacts(result: monthly.RefreshResult) -> None:
    """Aggregates only: area and comparator counts, exception counts by rule, the run's status."""
    if result.aggregates.get("area_summary"):
        create_table_artifact(key="monthly-rolling-summary", table=result.aggregates["area_summary"],
                              description=f"{result.month}: area counts, rolling 12 months vs previous 12")
    if result.aggregates.get("exceptions"):
        create_table_artifact(key="monthly-exceptions", table=result.aggregates["exceptions"],
                              description=f"{result.month}: control-chart exceptions by level and rule")
    create_markdown_artifact(key="monthly-refresh", markdown=(
        f"**{result.month}**: {result.status.replace('_', ' ')}\n\n{result.message}\n\n"
        f"Warehouse: `{result.warehouse}`" + (f"\n\nOutputs: `{result.output}`" if result.output else "")))


@flow(name="monthly_refresh", log_prints=True)
def monthly_refresh(config_path: str, month: str | None = None, output: str | None = None):
    """Refresh one month (YYYY-MM; default the latest complete month in the inputs; "due" = the month
    a scheduled run should report). Returns the month's output folder, or a "Waiting for data" state."""
    with monthly.refresh_transaction(config_path, month, output, today=scheduled_day()) as refresh:
        run_steps(monthly.STEPS, refresh, call=TASKS)
    result = refresh.result()
    report_artifacts(result)
    if result.status == monthly.WAITING:
        get_run_logger().warning(result.message)
        return Completed(name=WAITING_STATE, message=result.message)
    print(result.message)
    return {"status": result.status, "month": result.month, "message": result.message, "run_id": result.run_id,
            "output": str(result.output) if result.output else None, "warehouse": str(result.warehouse)}


DEPLOYMENT_NAME = "monthly-refresh"


def deployment_spec(deployment_file: Path) -> dict:
    """The `monthly-refresh` entry of prefect.yaml: one place for the schedule and its parameters."""
    import yaml

    spec = yaml.safe_load(deployment_file.read_text(encoding="utf-8")) or {}
    for item in spec.get("deployments") or []:
        if item.get("name") == DEPLOYMENT_NAME:
            return item
    raise ValueError(f"{deployment_file} has no deployment named {DEPLOYMENT_NAME!r}")


def next_scheduled_run(deployment_id) -> datetime | None:
    """The deployment's next run by its schedules as the server holds them (the dates its scheduler
    creates runs for), in the schedule's timezone; None when no schedule is active."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.server.schemas.schedules import CronSchedule

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)
    dates = []
    for item in deployment.schedules:
        if item.active and not deployment.paused and hasattr(item.schedule, "cron"):
            schedule = CronSchedule(cron=item.schedule.cron, timezone=item.schedule.timezone,
                                    day_or=item.schedule.day_or)
            dates += [d.astimezone(ZoneInfo(schedule.timezone)) for d in asyncio.run(schedule.get_dates(n=1))]
    return min(dates, default=None)


def serving_message(api_url: str, when: datetime | None) -> str:
    """What `svna serve` prints once the deployment is registered."""
    if when is None:
        first = "It has no active schedule: runs start only when asked for"
    else:
        first = (f"Next scheduled run: {when:%A} {when.day} {when:%B %Y, %H:%M %Z} ({when.tzinfo}), "
                 f"then on prefect.yaml's cron while this process and the server keep running")
    return (f"Serving {DEPLOYMENT_NAME} on the Prefect server at {api_url}.\n{first}.\n"
            f"A run now: .venv/bin/prefect deployment run {monthly_refresh.name}/{DEPLOYMENT_NAME} --watch\n"
            f"Stop with Ctrl+C (the schedule is then paused until svna serve starts again).")


def serve_monthly(deployment_file: Path, config_path: Path | None = None, month: str | None = None,
                  api_url: str | None = None) -> None:
    """Serve the monthly-refresh deployment from this process with prefect.yaml's cron and timezone,
    on the persistent server at `api_url` (a long-running process: its runs start on schedule, as
    the server's scheduler creates them, or from `prefect deployment run`)."""
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner
    from prefect.schedules import Cron

    spec = deployment_spec(deployment_file)
    parameters = dict(spec.get("parameters") or {})
    config = Path(config_path) if config_path else Path(parameters["config_path"])
    parameters["config_path"] = str(config if config.is_absolute() else (Path.cwd() if config_path else
                                                                           deployment_file.parent) / config)
    if month:
        parameters["month"] = month
    schedules = [Cron(s["cron"], timezone=s.get("timezone", "Europe/London"), active=s.get("active", True))
                 for s in spec.get("schedules") or []]
    # what flow.serve() does, with our message between registering and polling
    runner = Runner(name=DEPLOYMENT_NAME, pause_on_shutdown=True)
    deployment_id = runner.add_flow(monthly_refresh, name=DEPLOYMENT_NAME, schedules=schedules,
                                    parameters=parameters, description=spec.get("description"), tags=spec.get("tags"))
    print(serving_message(api_url or "PREFECT_API_URL", next_scheduled_run(deployment_id)), flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        pass   # Ctrl+C; on SIGTERM the runner exits by itself
    finally:   # the runner pauses the schedule on its way out (pause_on_shutdown), unless a signal cut that short
        if pause_schedule(deployment_id):
            print("Stopped serving; the schedule is paused until svna serve starts again.", flush=True)
        else:
            print("Stopped serving, but the schedule could not be paused: pause the monthly-refresh deployment in "
                  "the Prefect UI or with `prefect deployment pause`, or its runs will wait for a worker.", flush=True)


def pause_schedule(deployment_id) -> bool:
    """Pause the deployment (again: pausing twice is harmless), delete the runs its schedule had created
    and not started (the server's scheduler may have added some while the runner paused it) and say
    whether the server now has it paused with none left."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    waiting = {"deployment_filter": DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
               "flow_run_filter": FlowRunFilter(state=FlowRunFilterState(
                   type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))}
    try:
        with get_client(sync_client=True) as client:
            client.pause_deployment(deployment_id)
            for run in client.read_flow_runs(**waiting):
                if run.auto_scheduled:
                    client.delete_flow_run(run.id)
            return bool(client.read_deployment(deployment_id).paused) and not any(
                run.auto_scheduled for run in client.read_flow_runs(**waiting))
    except Exception:  # the server is gone or unreachable: the caller says the schedule is not paused
        return False
