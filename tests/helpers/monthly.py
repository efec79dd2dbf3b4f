"""Run configs for the monthly refresh that more than one test file writes."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pipeline.settings.config import CONFIG_DIR
from tests.helpers.tiny_inputs import TEST_KEY_FILE


def riverford_config(path: Path, extract: str, mps: str) -> Path:
    """The demo borough (Riverford) delivered as files: its record extract in the folder `extract` and
    the MPS counts `mps` (paths or globs, relative to the config's folder or absolute), with the demo's
    reference files generated in raw/ beside the config and the test session's key."""
    path.write_text(textwrap.dedent(f"""\
        area: {{name: Riverford, code: E09000099}}
        comparator: {{name: Metropolitan Police Service (demo force)}}
        inputs:
          - kind: record_extract
            profile: {CONFIG_DIR / 'profiles' / 'example_force.yaml'}
            offences: {extract}/offences_*.csv
            victims: {extract}/victims_*.csv
            suspects: {extract}/suspects_*.csv
          - kind: mps_counts
            paths: [{mps}]
        reference:
          wards: raw/reference/wards.geojson
          lsoas: raw/reference/lsoas.gpkg
          lsoa_to_ward: raw/reference/lsoa_to_ward.csv
          population: raw/reference/population.csv
        privacy: {{key_file: {TEST_KEY_FILE}}}
        output: out
        """))
    return path
