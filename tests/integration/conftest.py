import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect backend for every flow test (~8 s once per session)."""
    with prefect_test_harness():
        yield
