"""The background imports a run waits for: a count-only run (count files, no reference data) never
imports geopandas or esda (issue 19: its build waited seconds for them); a run with geography does."""

from __future__ import annotations

import subprocess
import sys

from pipeline.settings.config import PROJECT_ROOT

CHILD = """
import sys
from types import SimpleNamespace as Spec
from pipeline.runs import annual
cfg = Spec(reference=sys.argv[2] or None, inputs=[Spec(kind=sys.argv[1])])
annual.warm_run_imports(cfg)
annual.await_build_imports(cfg)
print("geopandas" in sys.modules, "scipy.stats" in sys.modules)
"""


def _imported(kind: str, reference: str = "") -> str:
    done = subprocess.run([sys.executable, "-c", CHILD, kind, reference], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, check=True, timeout=300)
    return done.stdout.strip()


def test_a_count_only_run_never_imports_geopandas():
    assert _imported("mps_counts") == "False True"


def test_a_run_that_places_rows_on_the_map_imports_geopandas_before_its_build():
    assert _imported("police_uk") == "True True"
    assert _imported("mps_counts", "wards.geojson") == "True True"
