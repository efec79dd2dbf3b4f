"""`svna serve` needs a persistent Prefect server: schedules live in the server, whose scheduler
creates the runs; the temporary server Prefect starts when PREFECT_API_URL is not set stops with the
process that started it, so a schedule registered there could never fire."""

from __future__ import annotations

import urllib.request

NO_PERSISTENT_SERVER = (
    "svna serve needs a persistent Prefect server: {problem}, and on the temporary server Prefect starts "
    "without one the schedule could never fire. Start one in its own terminal with `.venv/bin/prefect server "
    "start`, then here `export PREFECT_API_URL=http://127.0.0.1:4200/api` and run svna serve again.")


class NoPersistentServer(Exception):
    """`svna serve` was started without a Prefect server that outlives it."""


def persistent_api_url() -> str:
    """PREFECT_API_URL (environment or Prefect profile) when a Prefect server answers there, else
    NoPersistentServer: schedules live in that server, whose scheduler creates the runs."""
    from prefect.settings import PREFECT_API_URL

    url = (PREFECT_API_URL.value() or "").rstrip("/")
    if not url:
        raise NoPersistentServer(NO_PERSISTENT_SERVER.format(problem="PREFECT_API_URL is not set"))
    try:
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            if response.status == 200:
                return url
    except OSError:
        pass
    raise NoPersistentServer(NO_PERSISTENT_SERVER.format(problem=f"no Prefect server answers at {url}"))
