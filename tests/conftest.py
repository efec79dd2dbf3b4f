"""Shared fixtures (the builders they use are in tests/helpers/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings.config import configure_runtime
from tests.helpers.tiny_inputs import write_tiny_inputs

configure_runtime()


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    return write_tiny_inputs(tmp_path)


