"""The monthly-refresh deployment on a real local Prefect server: `svna serve` registers it with
prefect.yaml's cron and timezone, `prefect deployment run` triggers runs, and they finish.

The server and the serve process run in their own process groups with PREFECT_HOME in a temporary
folder, and are stopped in teardown whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from pipeline.config import PROJECT_ROOT

pytestmark = pytest.mark.integration
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEPLOYMENT = "monthly_refresh/monthly-refresh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synthetic_counts(path: Path) -> None:
    """Three boroughs x two categories x 36 months (2021-2023), enough for rolling windows and baselines."""
    months = [f"{y}{m:02d}" for y in (2021, 2022, 2023) for m in range(1, 13)]
    lines = ["MajorText,MinorText,LookUp_BoroughName," + ",".join(months)]
    for b, borough in enumerate(("Tinytown", "Otherton", "Elsewhere")):
        for minor, base in (("Violence with Injury", 40), ("Robbery of Personal Property", 12)):
            major = "Violence Against the Person" if minor.startswith("Violence") else "Robbery"
            lines.append(f"{major},{minor},{borough}," + ",".join(str(base + b + (i % 5)) for i in range(36)))
    path.write_text("\n".join(lines) + "\n")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("schedule")
    synthetic_counts(root / "counts.csv")
    config = root / "tiny.yaml"
    config.write_text(textwrap.dedent("""\
        area: {name: Tinytown, code: E09000999}
        comparator: {name: Demo Force}
        inputs: [{kind: mps_counts, paths: [counts.csv]}]
        output: out
        """))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(root / ".prefect"), "PREFECT_API_URL": api, "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_UI_ENABLED": "false", "PYTHONPATH": str(PROJECT_ROOT)}
    logs = root / "logs"
    logs.mkdir()
    processes = []
    with open(logs / "server.log", "w") as server_log, open(logs / "serve.log", "w") as serve_log:
        try:
            yield from _start(root, config, env, api, port, logs, server_log, serve_log, processes)
        finally:
            for process in reversed(processes):
                stop(process)


def _start(root, config, env, api, port, logs, server_log, serve_log, processes):
    """Start the server, wait for /api/health, start `svna serve`, wait for the deployment; yield."""
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env={k: v for k, v in env.items() if k != "PREFECT_API_URL"}, cwd=root,
                              stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    processes.append(server)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert server.poll() is None, (logs / "server.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "the Prefect server did not answer /api/health in 120 s"
        time.sleep(1)
    serve = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--config", str(config)], env=env,
                             cwd=PROJECT_ROOT, stdout=serve_log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    processes.append(serve)
    deadline = time.monotonic() + 120
    while subprocess.run([PREFECT, "deployment", "inspect", DEPLOYMENT], env=env, capture_output=True,
                         timeout=60, check=False).returncode != 0:
        assert serve.poll() is None, (logs / "serve.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "svna serve did not register the deployment in 120 s"
        time.sleep(2)
    yield root, env, api


def test_serve_registers_prefect_yaml_schedule(served):
    *_, api = served
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


def run_deployment(env, *params: str) -> subprocess.CompletedProcess:
    args = [PREFECT, "deployment", "run", DEPLOYMENT, "--watch", "--watch-timeout", "300"]
    for param in params:
        args += ["--param", param]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=360, check=False)


def test_a_triggered_run_completes_and_publishes(served):
    root, env, _ = served
    done = run_deployment(env, "month=2023-06")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "finished successfully in 'Completed'" in " ".join(done.stdout.split())
    folder = root / "out" / "monthly" / "2023-06"
    assert (folder / "headlines.md").exists() and (folder / "tables" / "rolling_summary.csv").exists()


def test_a_scheduled_month_without_files_ends_waiting_for_data(served):
    root, env, _ = served
    done = run_deployment(env)                                   # month: due = the month before today
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "finished successfully in 'Waiting for data'" in " ".join(done.stdout.split())
    assert sorted(p.name for p in (root / "out" / "monthly").iterdir() if not p.name.startswith(".")) == ["2023-06"]
