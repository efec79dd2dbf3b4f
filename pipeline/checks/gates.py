"""The checks that stop a run, in one order for every run kind (annual, monthly, each multi-area unit):
the inputs cover every month read, every area listed is in the inputs, every row is reconciled."""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.reference import areas
from pipeline.settings.config import RunConfig
from pipeline.transform import assessment


def check_inputs(con: duckdb.DuckDBPyConnection, cfg: RunConfig, start: date | None = None) -> None:
    """Raise the first failing gate's InputError. `start`: the first month the coverage gate checks
    (default the previous period's start; the monthly refresh reads from earlier)."""
    assessment.check_coverage(con, cfg, start=start)
    areas.check_areas(con, cfg)
    assessment.check_reconciliation(con, cfg)


def run_totals(con: duckdb.DuckDBPyConnection) -> dict:
    """What run.json reports of a passed check: the reconciliation totals and the crimes placed by
    each location method (aggregates only)."""
    rows = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_superseded), sum(rows_quarantined) "
                       "from quarantine_summary").fetchone()
    located = con.execute("select location_method, crimes, crimes_pct from location_summary "
                          "where crimes > 0 order by crimes desc").fetchall()
    totals = dict(zip(("rows_in", "rows_loaded", "rows_superseded", "rows_quarantined"), (int(r or 0) for r in rows)))
    return {**totals, "location_methods": [{"method": m, "crimes": int(n), "pct": pct} for m, n, pct in located]}
