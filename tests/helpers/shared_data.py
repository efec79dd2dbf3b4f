"""Where the real open data sits (../shared/data beside the repository) and a marker for tests
that need it."""

from __future__ import annotations

import pytest

from pipeline.settings.config import PROJECT_ROOT

SHARED_DATA = (PROJECT_ROOT.parent / "shared" / "data").resolve()  # paths as the pipeline records them


needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.exists(), reason=f"real open data not found at {SHARED_DATA} (present in CI, not in a user's clone)")

