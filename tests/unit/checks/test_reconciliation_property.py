"""Property: however rows of an extract are corrupted, no row is lost or invented.

Hypothesis corrupts random rows of a small clean extract (offences, victims, MPS counts): blanked
or garbled fields, extra or missing fields, impossible dates, ages and counts, duplicated rows and
crime references, undecodable bytes, blank lines, stray quotes. Then either the run stops with an
InputError (a batch failure: nothing is published) or, for every file:

    rows the reader counted = rows in the database = loaded + superseded + quarantined

and, where no quote can join lines, rows in = the non-blank data lines written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.bad_inputs import CORPUS, build_core, write_corpus_config

OFFENCE_HEADER = ["CrimeRef", "Recorded", "HOClass", "DA", "Knife", "Status", "Easting", "Northing", "Street", "Notes",
                  "Extracted"]
VICTIM_HEADER = ["CrimeRef", "VictimID", "VictimName", "Age", "Sex", "Address"]
COUNT_HEADER = ["MajorText", "MinorText", "LookUp_BoroughName", "202301", "202302", "202303"]


def clean_rows() -> dict[str, list[list[str]]]:
    offences = [[f"Q-{i}", f"{1 + i % 28:02d}/{1 + i % 12:02d}/2023", ["8N", "34B", "5D", "19C", "49"][i % 5],
                 "YN"[i % 2], "N", "Confirmed", str(528000 + i), str(168000 + i), f"{i} Road", "text", "2024-01-15"]
                for i in range(8)]
    victims = [[f"Q-{i}", f"V{i}", f"Name {i}", str(18 + i), "MF"[i % 2], f"{i} Street"] for i in range(6)]
    counts = [["Violence Against the Person", "Violence with Injury", "Tinytown", "3", "4", "5"],
              ["Robbery", "Robbery of Personal Property", "Tinytown", "1", "0", "2"],
              ["Theft", "Other Theft", "Tinytown", "7", "7", "8"]]
    return {"offences": offences, "victims": victims, "counts": counts}


GARBAGE = st.one_of(st.text(alphabet="abcXYZ019 ;-/.éß£", max_size=12),
                    st.sampled_from(["N/K", "Unknown", "-1", "150", "31/02/2023", "2.5", "ZZ9", "Maybe", ""]))
OPS = st.sampled_from(["blank", "garble", "extra_field", "drop_field", "duplicate", "copy_ref", "bad_byte",
                       "blank_line", "stray_quote", "bad_date", "bad_number"])
CORRUPTION = st.tuples(st.sampled_from(["offences", "victims", "counts"]), OPS, st.integers(0, 50), st.integers(0, 50),
                       GARBAGE)


def corrupt(rows: dict[str, list[list[str]]], corruptions) -> tuple[dict[str, list], set[str]]:
    """Apply corruptions; returns the lines per file (list of str or bytes) and files that may contain quotes."""
    lines: dict[str, list] = {name: [",".join(r) for r in table] for name, table in rows.items()}
    quoted: set[str] = set()
    for name, op, row_pick, col_pick, text in corruptions:
        table = lines[name]
        if not table:
            continue
        i = row_pick % len(table)
        line = table[i]
        if isinstance(line, bytes):
            continue
        cells = line.split(",")
        j = col_pick % len(cells)
        if op == "blank":
            cells[j] = ""
        elif op == "garble":
            cells[j] = text
        elif op == "extra_field":
            cells.insert(j, text or "x")
        elif op == "drop_field":
            del cells[j]
        elif op == "duplicate":
            table.insert(i, line)
            continue
        elif op == "copy_ref":
            cells[0] = table[(i + 1) % len(table)].split(",")[0] if not isinstance(table[(i + 1) % len(table)], bytes) else cells[0]
        elif op == "bad_byte":
            table[i] = line.encode("utf-8") + b"\xa3"
            continue
        elif op == "blank_line":
            table.insert(i, "")
            continue
        elif op == "stray_quote":
            cells[j] = '"' + cells[j]
            quoted.add(name)
        elif op == "bad_date":
            cells[j] = "31/02/2023"
        elif op == "bad_number":
            cells[j] = "-7"
        table[i] = ",".join(cells)
    return lines, quoted


def write(folder: Path, lines: dict[str, list]) -> dict[str, Path]:
    headers = {"offences": OFFENCE_HEADER, "victims": VICTIM_HEADER, "counts": COUNT_HEADER}
    paths = {}
    for name, table in lines.items():
        body = [",".join(headers[name]).encode()] + [l if isinstance(l, bytes) else l.encode("utf-8") for l in table]
        paths[name] = folder / f"{name}.csv"
        paths[name].write_bytes(b"\n".join(body) + b"\n")
    return paths


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("property")
    con = db.connect()
    paths = write(folder, {k: [",".join(r) for r in v] for k, v in clean_rows().items()})
    cfg = load_config(_config(folder, paths))
    assessment.ingest(con, cfg)
    build_core(con, cfg)  # loads seeds, macros and reference tables once
    yield folder, con
    con.close()


def _config(folder: Path, paths: dict[str, Path]) -> Path:
    return write_corpus_config(folder, [
        {"kind": "record_extract", "profile": str(CORPUS / "profiles" / "corpus.yaml"),
         "offences": str(paths["offences"]), "victims": str(paths["victims"])},
        {"kind": "mps_counts", "paths": [str(paths["counts"])]},
    ], quarantine_threshold_pct=100)


def _reset(con) -> None:
    for table in ("raw_offences", "raw_victims", "raw_suspects", "raw_mps_counts", "raw_rejects", "extract_periods"):
        con.execute(f"delete from {table}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruptions=st.lists(CORRUPTION, min_size=1, max_size=8))
def test_rows_in_equal_loaded_plus_superseded_plus_quarantined(workspace, corruptions):
    folder, con = workspace
    example = folder / "example"
    shutil.rmtree(example, ignore_errors=True)
    example.mkdir()
    lines, quoted = corrupt(clean_rows(), corruptions)
    paths = write(example, lines)
    _reset(con)
    try:
        cfg = load_config(_config(example, paths))
        assessment.ingest(con, cfg)
        build_core(con, cfg, reference=False)
    except InputError as exc:  # a batch failure: the run stops, one paragraph, nothing published
        assert "\n" not in exc.message
        return
    summary = con.execute("select source_file, input_table, rows_read, rows_in, rows_loaded, rows_superseded, "
                          "rows_quarantined, reconciled from quarantine_summary").fetchall()
    assert summary
    for file, table, read, rows_in, loaded, superseded, quarantined, reconciled in summary:
        assert rows_in == loaded + superseded + quarantined, (file, table)
        assert superseded >= 0 and reconciled
        if read is not None:
            assert read == rows_in
    unknown = con.execute("select distinct rule from quarantine where rule not in (select rule from seed_quarantine_rules)").fetchall()
    assert not unknown
    for name, path in paths.items():
        if name in quoted:
            continue
        data_lines = sum(1 for line in lines[name] if line.strip())
        got = con.execute("select sum(rows_in) from quarantine_summary where source_file = ?", [str(path)]).fetchone()[0]
        written = data_lines * (3 if name == "counts" else 1)
        if name == "counts":  # a malformed count line is one row in; a good one is three month cells
            malformed = con.execute("select count(*) from raw_rejects where source_file = ?", [str(path)]).fetchone()[0]
            written = (data_lines - malformed) * 3 + malformed
        assert got == written, name
