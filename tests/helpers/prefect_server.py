"""A persistent Prefect server for tests, as a user starts one in another terminal (`prefect server
start`): on a free loopback port, in its own process group, and stopped with that whole group when the
test is done, whatever happens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFECT = str(Path(sys.executable).parent / "prefect")
STARTUP_S = 240     # a busy 2-core machine can take minutes to start a server
SUITE_PREFECT_ENV = "SVNA_TEST_PREFECT_API_URL"   # the suite's one Prefect server, set by tests/run_isolated.py
# the server's services that look for work every few seconds (schedules, late or paused runs, workers):
# not needed by a test that only runs flows in its own processes
IDLE_SERVICES = ("SCHEDULER", "LATE_RUNS", "FOREMAN", "PAUSE_EXPIRATIONS", "CANCELLATION_CLEANUP", "REPOSSESSOR")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group, SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_until_healthy(api: str, server: subprocess.Popen, log: Path, startup_s: float = STARTUP_S) -> None:
    deadline = time.monotonic() + startup_s
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert server.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, f"the Prefect server did not answer /api/health in {startup_s:.0f} s"
        time.sleep(0.25)


@contextmanager
def persistent_server(log: Path, env: dict, startup_s: float = STARTUP_S) -> Iterator[str]:
    """Yields the server's API URL once /api/health answers. `env` sets PREFECT_HOME (its database) and
    any server setting; the web UI is not served. The server's output goes to `log`."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    with open(log, "w") as out:
        server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env={"PREFECT_SERVER_UI_ENABLED": "false", **env}, cwd=log.parent, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_healthy(api, server, log, startup_s)
            yield api
        finally:
            stop(server)
