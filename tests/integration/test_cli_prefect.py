"""The CLI and Prefect's API: a startup timeout that holds on a busy machine, and a plain message when
Prefect cannot be reached (issue 7 item 10)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from pipeline.settings.config import PROJECT_ROOT, configure_runtime
from tests.helpers.tiny_inputs import write_tiny_inputs

pytestmark = pytest.mark.integration


def _svna(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    clean.update(PREFECT_HOME=str(tmp_path / ".prefect"), DO_NOT_TRACK="1", **env)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=PROJECT_ROOT, env=clean,
                          capture_output=True, text=True, timeout=300)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_ephemeral_server_gets_a_startup_timeout_that_holds_under_load(monkeypatch):
    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    configure_runtime()
    assert int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]) >= 120   # Prefect's own is 20


def test_a_server_that_does_not_start_gets_advice_not_a_traceback(tmp_path):
    config = write_tiny_inputs(tmp_path)
    result = _svna(["annual", "--config", str(config)], tmp_path, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")
    assert result.returncode == 1
    assert "temporary server did not start in time" in result.stderr
    assert "prefect server start" in result.stderr and "PREFECT_API_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_prefect_api_url_without_a_server_is_named(tmp_path):
    config = write_tiny_inputs(tmp_path)
    url = f"http://127.0.0.1:{_closed_port()}/api"
    result = _svna(["annual", "--config", str(config)], tmp_path, PREFECT_API_URL=url)
    assert result.returncode == 2
    assert f"no answer from {url}" in result.stderr and "prefect server start" in result.stderr
    assert not (tmp_path / "out").exists()
