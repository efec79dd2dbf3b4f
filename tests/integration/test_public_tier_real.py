"""The public tier on every kind of real input (issue 17 items 1 and 4): MPS borough and ward count files
(Merton 2022, the README's run), data.police.uk (City of London) and all London boroughs (`areas: all`)
each write both tiers, and no public file names an input file. A failure in the public tier keeps the
restricted tier and names the table and column."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish import catalog, excel_pack
from pipeline.runs.annual import run_annual
from pipeline.settings.config import load_config
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data
from tests.helpers.tiny_inputs import write_tiny_inputs

pytestmark = [needs_shared_data, pytest.mark.integration]

MPS = SHARED_DATA / "mps_counts"
MERTON = {   # the README's Merton run (section 5): every borough file, both ward files, the Merton geography
    "area": {"name": "Merton", "code": "E09000024"}, "comparator": {"name": "Metropolitan Police Service"},
    "period": {"calendar_year": 2022},
    "inputs": [{"kind": "mps_counts", "paths": [
        str(MPS / "borough" / "MPS_Borough_Level_Crime_*.csv"),
        str(MPS / "ward" / "MPS_Ward_Level_Crime_most_recent_24_months_202104-202303_extract2023-04.csv"),
        str(MPS / "ward" / "MPS_Ward_Level_Crime_most_recent_24_months_202009-202208_extract2022-09.csv")]}],
    "reference": {
        "wards": str(SHARED_DATA / "boundaries" / "merton_wards_2022.geojson"),
        "lsoas": str(SHARED_DATA / "boundaries" / "merton_lsoa_2021" / "Merton.shp"),
        "lsoa_to_ward": str(SHARED_DATA / "lookups" / "lsoa21_ward22_best_fit_Merton.csv"),
        "population": str(SHARED_DATA / "population" / "census2021_usual_residents_lsoa21_age6_Merton.csv"),
        "previous_wards": str(SHARED_DATA / "boundaries" / "london_wards_2018" / "London_Ward_CityMerged.shp")},
    "geography": {"gi_permutations": 0}}
POLICE_UK = {
    # the files hold 13 months: six months against the six before
    "area": {"name": "City of London Police"}, "period": {"start": "2021-12-01", "end": "2022-05-31"},
    "inputs": [{"kind": "police_uk", "paths": [str(SHARED_DATA / "police_uk" / "city_of_london_2021-05_2022-05"
                                                   / "*-street.csv")]}],
    "reference": {"lsoa_to_ward": str(SHARED_DATA / "lookups" / "lsoa21_ward22_best_fit_EW_from_GLA_rds.csv")},
    "geography": {"gi_permutations": 0}}

@pytest.fixture(scope="module", params=["merton_mps_counts", "city_police_uk", "all_london"])
def real_run(request, tmp_path_factory):
    if request.param == "all_london":
        return request.getfixturevalue("shared_london_run")     # also read by test_disclosure_audit_runs
    raw = {"merton_mps_counts": MERTON, "city_police_uk": POLICE_UK}[request.param]
    root = tmp_path_factory.mktemp(request.param)
    (root / "run.yaml").write_text(yaml.safe_dump({**raw, "tiers": ["restricted", "public"], "output": "out"}))
    cfg = load_config(root / "run.yaml")
    return cfg, run_annual(cfg)


def test_both_tiers_are_written(real_run):
    _, out = real_run
    assert json.loads((out / "run.json").read_text())["outcome"] == "success"
    for tier in (out, out / "public"):
        assert (tier / "tables" / "theme_summary.csv").exists() and (tier / "report.html").exists()
    assert (out / "public" / excel_pack.PUBLIC_EXCEL_NAME).exists() and (out / "public" / "disclosure_log.csv").exists()
    public = pd.read_csv(out / "public" / "tables" / "theme_summary.csv")
    restricted = pd.read_csv(out / "tables" / "theme_summary.csv")
    assert len(public) == len(restricted) > 0


def test_the_audit_proves_every_small_cell_protected(real_run):
    _, out = real_run
    audit = json.loads((out / "run.json").read_text())["disclosure_audit"]
    assert audit["cells_checked"] > 0 and audit["not_protected"] == []


def _texts(path):
    """Every piece of text a reader of this public file could see."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        yield from (str(v) for column in frame for v in frame[column].dropna().unique())
        yield from frame.columns
    elif path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            yield from (book.read(name).decode("utf-8", "replace") for name in book.namelist())
    else:
        yield path.read_text(encoding="utf-8", errors="replace")


def test_no_public_file_names_an_input_file_or_its_folder(real_run):
    cfg, out = real_run
    files = [p for spec in cfg.inputs for paths in spec.paths.values() for p in paths] + list(cfg.reference.values())
    # every file's name and folder (a stem such as "Merton" of Merton.shp is also the area's name: names only)
    needles = {str(SHARED_DATA), "shared/data"} | {p.name for p in files} | {str(p.parent) for p in files}
    public = [p for p in (out / "public").rglob("*") if p.suffix in (".csv", ".parquet", ".xlsx", ".html", ".md", ".json")]
    assert len(public) > 10
    found = {(p.name, n) for p in public for text in _texts(p) for n in needles if n in text}
    assert not found
    # data quality in public: at most one line of totals, no per-rule counts
    summary = pd.read_csv(out / "public" / "tables" / "quarantine_summary.csv")
    assert len(summary) == 1 and summary["quarantine_rules"].isna().all()


def test_a_public_tier_failure_keeps_the_restricted_tier_and_names_table_and_column(tmp_path, monkeypatch,
                                                                                   prefect_harness):
    # inject a failure: theme_summary's `definition` (text) declared a count
    mart = catalog.MARTS["theme_summary"]
    rule = dataclasses.replace(mart.disclosure, counts=mart.disclosure.counts + ("definition",))
    monkeypatch.setitem(catalog.MARTS, "theme_summary", dataclasses.replace(mart, disclosure=rule))
    config = write_tiny_inputs(tmp_path)
    result = CliRunner().invoke(app, ["annual", "--config", str(config), "--tier", "both"])
    assert result.exit_code != 0
    assert "theme_summary" in result.output and "definition" in result.output
    assert "restricted tier was written" in result.output
    out = tmp_path / "out"
    assert (out / "tables" / "theme_summary.csv").exists() and (out / "report.html").exists()
    assert (out / excel_pack.EXCEL_NAME).exists() and not (out / "public").exists()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["outcome"].startswith("restricted tier only") and "definition" in manifest["outcome"]
    assert not any(o.startswith("public") for o in manifest["outputs"])
    import duckdb

    with duckdb.connect(str(out / "svna.duckdb"), read_only=True) as con:
        assert not con.execute("select count(*) from information_schema.tables where table_schema = 'public'").fetchone()[0]
