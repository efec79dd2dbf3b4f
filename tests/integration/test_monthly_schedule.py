"""The monthly-refresh deployment on a real local Prefect server, started as the README says: `svna serve`
registers it with prefect.yaml's cron and timezone and prints its next run; the server's scheduler
creates Scheduled runs; one of them, moved to now, runs and publishes; `prefect deployment run`
triggers runs too. Without a persistent server `svna serve` refuses to start.

The server and the serve process run in their own process groups with PREFECT_HOME in a temporary
folder, and are stopped in teardown whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from pipeline.settings.config import PROJECT_ROOT
from tests.helpers.prefect_server import free_port, persistent_server, stop

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
PREFECT, SVNA = str(BIN / "prefect"), str(BIN / "svna")
DEPLOYMENT = "monthly_refresh/monthly-refresh"
LONDON = ZoneInfo("Europe/London")
STARTUP_S = 180     # a busy 2-core machine can take minutes to start a server or import the flows
QUIET = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}


def synthetic_counts(path: Path, last: date) -> None:
    """Three boroughs x two categories, January 2021 to `last`: enough for rolling windows and baselines."""
    months = [f"{y}{m:02d}" for y in range(2021, last.year + 1) for m in range(1, 13) if (y, m) <= (last.year, last.month)]
    lines = ["MajorText,MinorText,LookUp_BoroughName," + ",".join(months)]
    for b, borough in enumerate(("Tinytown", "Otherton", "Elsewhere")):
        for minor, base in (("Violence with Injury", 40), ("Robbery of Personal Property", 12)):
            major = "Violence Against the Person" if minor.startswith("Violence") else "Robbery"
            lines.append(f"{major},{minor},{borough}," + ",".join(str(base + b + (i % 5)) for i in range(len(months))))
    path.write_text("\n".join(lines) + "\n")


def run_config(path: Path, counts: str, output: str) -> None:
    path.write_text(textwrap.dedent(f"""\
        area: {{name: Tinytown, code: E09000999}}
        comparator: {{name: Demo Force}}
        inputs: [{{kind: mps_counts, paths: [{counts}]}}]
        output: {output}
        """))


def without_api_url(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return {**env, **QUIET, "PREFECT_HOME": str(home)}


@pytest.mark.parametrize("api_url", [None, "unanswered"])
def test_serve_refuses_a_temporary_server(tmp_path, api_url):
    env = without_api_url(tmp_path / ".prefect")
    if api_url:
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{free_port()}/api"   # nothing listens there
    done = subprocess.run([SVNA, "serve"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    problem = "PREFECT_API_URL is not set" if api_url is None else f"no Prefect server answers at {env['PREFECT_API_URL']}"
    assert f"svna serve needs a persistent Prefect server: {problem}" in message
    assert "`.venv/bin/prefect server start`" in message
    assert "`export PREFECT_API_URL=http://127.0.0.1:4200/api`" in message
    assert "Serving" not in done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("schedule")
    # the due month of any run the scheduler creates (the month before its day) is at most this month
    synthetic_counts(root / "counts.csv", datetime.now(LONDON).date())
    synthetic_counts(root / "counts_2023.csv", date(2023, 12, 1))
    run_config(root / "tiny.yaml", "counts.csv", "out")
    run_config(root / "stale.yaml", "counts_2023.csv", "out_stale")
    env = without_api_url(root / ".prefect")
    logs = root / "logs"
    logs.mkdir()
    # the server's scheduler looks every 5 s, not 60
    with persistent_server(logs / "server.log", {**env, "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5"},
                           STARTUP_S) as api:
        env = {**env, "PREFECT_API_URL": api, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
        with open(logs / "serve.log", "w") as serve_log:
            serve = subprocess.Popen([SVNA, "serve", "--config", str(root / "tiny.yaml")], env=env, cwd=PROJECT_ROOT,
                                     stdout=serve_log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                deadline = time.monotonic() + STARTUP_S
                while "Next scheduled run:" not in (logs / "serve.log").read_text():
                    assert serve.poll() is None, (logs / "serve.log").read_text()[-2000:]
                    assert time.monotonic() < deadline, f"svna serve did not register the deployment in {STARTUP_S} s"
                    time.sleep(1)
                yield root, env, api, serve
            finally:
                stop(serve)


def test_serve_registers_prefect_yaml_schedule(served):
    _, _, api, _ = served
    spec = next(d for d in yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["deployments"]
                if d["name"] == "monthly-refresh")
    request = urllib.request.Request(f"{api}/deployments/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        deployments = json.load(response)
    deployment = next(d for d in deployments if d["name"] == "monthly-refresh")
    schedule = deployment["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == (spec["schedules"][0]["cron"], "Europe/London")
    assert deployment["parameters"]["month"] == "due"


def scheduler_runs(client, deployment_id) -> list:
    """The Scheduled runs of the deployment that the server's scheduler created, earliest first."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC)
    return [run for run in runs if run.auto_scheduled]


def test_the_scheduler_creates_runs_and_one_of_them_publishes(served):
    """The server's scheduler (not `prefect deployment run`) creates runs on prefect.yaml's cron, the
    first at the time `svna serve` printed; the first, moved to now, runs and publishes its due month."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    root, _, api, _ = served
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        deployment_id = client.read_deployment_by_name(DEPLOYMENT).id
        deadline = time.monotonic() + STARTUP_S
        while not (runs := scheduler_runs(client, deployment_id)):
            assert time.monotonic() < deadline, f"the server's scheduler created no run in {STARTUP_S} s: " + \
                (root / "logs" / "server.log").read_text()[-3000:]
            time.sleep(2)
        starts = [run.expected_start_time.astimezone(LONDON) for run in runs]
        assert all((s.day, s.hour, s.minute) == (15, 7, 0) for s in starts), starts   # "0 7 15 * *", UK time
        assert starts[0] > datetime.now(UTC) and starts[0] - datetime.now(UTC) <= timedelta(days=32)
        printed = re.search(r"Next scheduled run: (.+?) \(Europe/London\)", (root / "logs" / "serve.log").read_text())
        assert printed and printed.group(1) == f"{starts[0]:%A} {starts[0].day} {starts[0]:%B %Y, %H:%M %Z}"

        first = runs[0]
        client.set_flow_run_state(first.id, Scheduled(scheduled_time=datetime.now(UTC)), force=True)
        deadline = time.monotonic() + 300
        while not (state := client.read_flow_run(first.id).state).is_final():
            assert time.monotonic() < deadline, f"the scheduled run is still {state.name} after 300 s"
            time.sleep(2)
    assert state.is_completed() and state.name == "Completed", (state.name, state.message)
    due = starts[0].date().replace(day=1) - timedelta(days=1)   # month: due = the month before the run's day
    folder = root / "out" / "monthly" / f"{due:%Y-%m}"
    assert (folder / "headlines.md").exists() and (folder / "tables" / "rolling_summary.csv").exists()


def run_deployment(env, *params: str) -> subprocess.CompletedProcess:
    args = [PREFECT, "deployment", "run", DEPLOYMENT, "--watch", "--watch-timeout", "300"]
    for param in params:
        args += ["--param", param]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=360, check=False)


def test_a_triggered_run_completes_and_publishes(served):
    root, env, _, _ = served
    done = run_deployment(env, "month=2023-06")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "finished successfully in 'Completed'" in " ".join(done.stdout.split())
    folder = root / "out" / "monthly" / "2023-06"
    assert (folder / "headlines.md").exists() and (folder / "tables" / "rolling_summary.csv").exists()


def test_a_due_month_without_files_ends_waiting_for_data(served):
    root, env, _, _ = served
    done = run_deployment(env, f"config_path={root / 'stale.yaml'}")   # month: due, files only to 2023
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "finished successfully in 'Waiting for data'" in " ".join(done.stdout.split())
    assert not (root / "out_stale" / "monthly").exists() or not any(
        p for p in (root / "out_stale" / "monthly").iterdir() if not p.name.startswith("."))


def test_stopping_serve_pauses_the_schedule(served):
    """Last in this file: it stops `svna serve` (as Ctrl+C or a shutdown would) and checks what the README
    says: the schedule is paused and its runs not yet started are gone."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    root, _, api, serve = served
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        deadline = time.monotonic() + STARTUP_S
        while not scheduler_runs(client, deployment.id):
            assert time.monotonic() < deadline, f"the server's scheduler created no run in {STARTUP_S} s"
            time.sleep(2)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
        assert "the schedule is paused until svna serve starts again" in (root / "logs" / "serve.log").read_text()
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        assert deployment.paused
        assert scheduler_runs(client, deployment.id) == []
