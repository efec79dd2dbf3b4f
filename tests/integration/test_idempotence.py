"""Whole runs: the same inputs twice give the same tables; a crash or a second writer leaves the last
good outputs intact; every row carries the run id; run.json records the lineage; and no output file
holds personal data (names, addresses, free text, raw person references)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.publish import output_folders
from pipeline.runs import annual
from pipeline.settings.config import load_config
from tests.helpers.outputs import assert_written_in_stated_order
from tests.helpers.tiny_inputs import write_tiny_inputs

SECRETS = ["Zelda Quartermain", "221B Baker Street", "Yannick Oberholzer", "VICTIM-SECRET-"]


def _personalise(folder: Path) -> None:
    """The tiny extract with distinctive personal data in its dropped columns and person references."""
    extract = folder / "extract"
    offences = (extract / "offences.csv").read_text().replace("free text", "Zelda Quartermain 221B Baker Street")
    (extract / "offences.csv").write_text(offences)
    victims = (extract / "victims.csv").read_text().replace("A Person", "Yannick Oberholzer")
    victims = "\n".join(line.replace(",V", ",VICTIM-SECRET-V", 1) if i else line
                        for i, line in enumerate(victims.splitlines())) + "\n"
    (extract / "victims.csv").write_text(victims)


def _without_run_id(rows: list[list]) -> list[list]:
    """Rows (header first) minus the run_id column: the one value that differs between runs."""
    name = next((n for n in ("run_id", "Run id") if rows and n in rows[0]), None)  # Run id: the pack's heading
    if name is None:
        return rows
    at = rows[0].index(name)
    return [row[:at] + row[at + 1:] for row in rows]


def _tables(out: Path) -> dict[str, list]:
    """Every published table as written, in file order: each CSV's lines, each Parquet file's rows,
    and each sheet of the Excel pack (values below the marking line), all without run_id."""
    import openpyxl

    tables = {}
    for path in sorted((out / "tables").glob("*.csv")):
        with path.open(newline="") as f:
            tables[path.name] = _without_run_id(list(csv.reader(f)))
    for path in sorted((out / "tables").glob("*.parquet")):
        frame = pd.read_parquet(path)
        tables[path.name] = _without_run_id([list(frame.columns)] + frame.astype(str).to_numpy().tolist())
    book = openpyxl.load_workbook(out / "svna_data_pack.xlsx", read_only=True)
    for sheet in book.worksheets:
        tables[f"xlsx:{sheet.title}"] = _without_run_id([list(r) for r in sheet.iter_rows(min_row=2, values_only=True)])
    book.close()
    return tables


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idem")
    cfg = load_config(write_tiny_inputs(folder))
    _personalise(folder)
    first = _tables(annual.run_annual(cfg, run_id="run-one"))
    manifest = json.loads((cfg.output / "run.json").read_text())
    second = _tables(annual.run_annual(cfg, run_id="run-two"))
    return cfg, first, second, manifest


def test_the_same_inputs_twice_give_identical_tables(runs):
    """Row for row, in the same order, apart from run_id (CSV, Parquet and every sheet of the pack)."""
    _, first, second, _ = runs
    assert first.keys() == second.keys()
    assert {"theme_summary.csv", "theme_detail.csv", "quarantine.parquet", "xlsx:Theme detail"} <= set(first)
    for name in first:
        assert first[name] == second[name], name


def test_every_table_is_written_in_its_stated_order(runs):
    assert_written_in_stated_order(runs[0].output)


def test_every_published_row_carries_the_run_id(runs):
    cfg = runs[0]
    con = duckdb.connect()
    missing = []
    for path in sorted((cfg.output / "tables").glob("*.parquet")):
        columns = con.read_parquet(str(path)).columns
        if "run_id" not in columns:
            missing.append(path.stem)
            continue
        ids = {r[0] for r in con.execute(f"select distinct run_id from read_parquet('{path}')").fetchall()}
        assert ids <= {"run-two"}, path.stem
    assert not missing, missing


def test_run_json_records_the_lineage(runs):
    cfg, _, _, manifest = runs
    assert manifest["run_id"] == "run-one" and manifest["outcome"] == "success"
    assert manifest["config_hash"] == cfg.config_hash and manifest["code_version"].startswith("svna")
    assert manifest["started"] <= manifest["finished"]
    inputs = {Path(i["path"]).name: i for i in manifest["inputs"]}
    offences = inputs["offences.csv"]
    path = Path(offences["path"])
    assert offences["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert offences["size"] == path.stat().st_size and offences["rows_read"] == 12


def test_reconciliation_and_quarantine_are_in_the_data_pack_and_the_validation_report_is_written(runs):
    import openpyxl

    cfg = runs[0]
    book = openpyxl.load_workbook(cfg.output / "svna_data_pack.xlsx", read_only=True)
    from pipeline.publish.excel_pack import sheet_title

    assert {sheet_title("quarantine"), sheet_title("quarantine_summary")} <= set(book.sheetnames)
    book.close()
    assert (cfg.output / "validation" / "index.html").exists(), \
        "the publish step must call pipeline.checks.validation.validate(con, cfg, work) (Data Docs in <output>/validation)"


def test_a_crash_mid_run_leaves_the_previous_outputs_intact(runs, monkeypatch):
    cfg = runs[0]
    before = _digest(cfg.output)

    def crash(run):
        (run.work / "tables").mkdir(exist_ok=True)
        (run.work / "tables" / "half_written.parquet").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(annual, "STEPS", tuple(dataclasses.replace(step, function=crash) if step.name == "publish"
                                               else step for step in annual.STEPS))
    with pytest.raises(OSError, match="disk full"):
        annual.run_annual(cfg, run_id="run-crash")
    assert _digest(cfg.output) == before
    assert not cfg.output.with_name(cfg.output.name + ".partial").exists()
    assert not cfg.output.with_name(cfg.output.name + ".lock").exists()


def test_a_bad_input_leaves_the_previous_outputs_intact(runs, tmp_path):
    cfg = runs[0]
    before = _digest(cfg.output)
    offences = cfg.inputs[0].paths["offences"][0]
    original = offences.read_bytes()
    try:
        offences.write_text("Crime No,Class\nC1,8N\n")
        with pytest.raises(InputError, match="Date Rec"):
            annual.run_annual(load_config(cfg.config_path), run_id="run-bad")
    finally:
        offences.write_bytes(original)
    assert _digest(cfg.output) == before


def test_a_lock_stops_a_second_run_writing_the_same_output(runs):
    cfg = runs[0]
    before = _digest(cfg.output)
    with output_folders.output_lock(cfg.output), pytest.raises(InputError, match="another run is writing this output"):
        annual.run_annual(cfg, run_id="run-concurrent")
    assert _digest(cfg.output) == before
    assert not cfg.output.with_name(cfg.output.name + ".lock").exists()


def _texts(path: Path):
    """Every text a published file holds: tables' values, workbook XML, or the file's text."""
    if path.suffix == ".parquet":
        yield str(duckdb.connect().execute(f"select * from read_parquet('{path}')").fetchall())
    elif path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
            yield str(con.execute(f'select * from "{table}"').fetchall())
        con.close()
    elif path.suffix in (".xlsx", ".zip"):
        with zipfile.ZipFile(path) as book:
            for name in book.namelist():
                yield book.read(name).decode("utf-8", errors="replace")
    else:
        yield path.read_bytes().decode("utf-8", errors="replace")


def test_no_personal_data_in_any_output_file(runs):
    cfg = runs[0]
    leaks = [(p.name, s) for p in sorted(cfg.output.rglob("*")) if p.is_file()
             for text in _texts(p) for s in SECRETS if s in text]
    assert not leaks
