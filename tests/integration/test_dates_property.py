"""Issue 16 item 7: any recorded date, however extreme or malformed, goes through the whole annual run
(ingest -> build -> check -> validate -> publish, pipeline.runs.annual.run_annual) without a crash.

Each example adds a few rows with random recorded dates to the tiny extract (tests/conftest.py):
real dates from year 1 to 9999 in every accepted format (day-first, ISO, dashes, dots, with times,
Excel serials), known extremes and garbage text. The run either publishes, with every input row
loaded or quarantined with a reason and the counts reconciled, or stops with a clear InputError.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.runs.annual import run_annual
from pipeline.settings.config import load_config
from tests.helpers.tiny_inputs import TINY_OFFENCES, write_tiny_inputs

pytestmark = pytest.mark.integration
TINY_ROWS = len(TINY_OFFENCES.splitlines()) - 1
FORMATS = (  # the formats macros.sql parse_timestamp reads; years zero-padded (strftime does not pad year 1)
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}",
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d} 23:59",
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d} 00:00:01",
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}T12:30:00",
    lambda d: f"{d.day:02d}-{d.month:02d}-{d.year:04d}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}",
    lambda d: str((d - date(1899, 12, 30)).days),                       # Excel serial (5 digits are read)
)
EXTREMES = ("0001-01-01", "01/01/0001", "9999-12-31", "31/12/9999", "0000-01-01", "31/12/1899", "01/01/1900",
            "29/02/2023", "31/04/2023", "00/01/2023", "2023-13-01", "99999", "10000", "1e5", "", " ")

any_date = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
recent_date = st.dates(min_value=date(2015, 1, 1), max_value=date.today() + timedelta(days=400))
formatted = st.builds(lambda d, f: f(d), st.one_of(any_date, recent_date), st.sampled_from(FORMATS))
garbage = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
date_text = st.one_of(formatted, formatted, st.sampled_from(EXTREMES), garbage)


def write_offences(path: Path, dates: list[str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for i, text in enumerate(dates):
        writer.writerow([f"R{i}", text, "8N", "N", "N", "Confirmed", "free text", "2024-01-10"])
    path.write_text(TINY_OFFENCES + out.getvalue(), encoding="utf-8")


def check_published(out: Path, offences: Path, added: int) -> None:
    with duckdb.connect(str(out / "svna.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from quarantine_summary where not reconciled").fetchone()[0] == 0
        rows_in = con.execute("select rows_in from quarantine_summary where source_file = ? and input_table = 'offences'",
                              [str(offences)]).fetchone()[0]
        assert rows_in == TINY_ROWS + added
        loaded = {r[0] for r in con.execute("select source_row from int_offences_checked where source_file = ? "
                                            "and quarantine_rule is null", [str(offences)]).fetchall()}
        quarantined = dict(con.execute("select source_row, reason from quarantine where source_file = ? "
                                       "and input_table = 'offences'", [str(offences)]).fetchall())
        assert not loaded & set(quarantined)                      # each row once
        assert len(loaded) + len(quarantined) == rows_in          # every row accounted for
        assert all(reason and reason.strip() for reason in quarantined.values())
        first, last = con.execute("select min(event_date), max(event_date) from int_offences_current").fetchone()
        assert first >= date(1900, 1, 1) and last <= date.today()


# 4 random examples (each a full run, ~10 s on a quiet machine) plus the crash: one 0001-01-01
# made the extract "cover" every year back to year 1, so the VWI trend rose from a first year of none
# and the narrative failed on abs(None)
@settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(dates=st.lists(date_text, min_size=1, max_size=6))
@example(dates=["0001-01-01"] + [f"{day}/06/2023" for day in range(15, 20)])
def test_any_recorded_date_is_loaded_or_quarantined_never_a_crash(dates):
    with tempfile.TemporaryDirectory(prefix="svna-dates-") as tmp:
        config = write_tiny_inputs(Path(tmp))
        config.write_text(config.read_text() + "quarantine_threshold_pct: 100\n")
        offences = Path(tmp) / "extract" / "offences.csv"
        write_offences(offences, dates)
        try:
            out = run_annual(load_config(config))
        except InputError as error:                               # a clear refusal naming the file
            assert "offences.csv" in error.message or "mps.csv" in error.message
            return
        check_published(out, offences, len(dates))
