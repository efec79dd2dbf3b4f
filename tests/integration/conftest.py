import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect backend for every flow test (~8 s once per session)."""
    # the 30 s default is often missed on a busy 2-core machine; svna itself allows 180 s
    with prefect_test_harness(server_startup_timeout=180):
        yield
