"""The multi-area fan-out (issue 11 item 3) on synthetic data.police.uk files for three small forces.

The flow fans out by force on a 2-worker local Dask cluster and on Prefect's default runner; both must
give the same tables, row for row in key order, as ONE process that reads all the inputs into one
DuckDB file (each force's tables from that one ingest, the force as the area), and the cross-force
figures (share of the total, rank) must match a pandas computation from those single-process counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.runs import multi_area
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.police_uk_forces import FORCES, write_forces

pytestmark = pytest.mark.integration
# tables whose rows belong to one force's area (input lineage is compared per file below)
AREA_TABLES = ["theme_summary", "theme_detail", "theme_monthly", "ward_hotspots", "temporal_profile",
               "police_uk_crime_types", "police_uk_location_summary"]
# columns about every row read, not the area's: the one process read all forces, each unit its own
WHOLE_INPUT_COLUMNS = {"police_uk_location_summary": ["rows"]}


def _config(folder, data, output, **extra) -> str:
    config = {"area": {"name": "Three forces"}, "period": {"calendar_year": 2023},
              "inputs": [{"kind": "police_uk", "paths": [str(m / "*-street.csv") for m in sorted(data.glob("20*"))]}],
              "reference": {"lsoa_to_ward": str(data / "lsoa_to_ward.csv")},
              "quarantine_threshold_pct": 25,   # the smallest force's March files: 2 bad rows in about 14
              "output": str(output), "fan_out": {"by": "force"}, **extra}
    path = folder / f"{output.name}.yaml"
    path.write_text(json.dumps(config))
    return str(path)


def _table(database, name: str, model: str | None = None) -> pd.DataFrame:
    """A table without run_id, in the combined key order of `model` (default: the table's name)."""
    with duckdb.connect(str(database), read_only=True) as con:
        frame = con.execute(f"select * exclude (run_id) from {name}").df() \
            if "run_id" in _columns(con, name) else con.execute(f"select * from {name}").df()
    key = [c for c in multi_area.combined_unique_key(model or name) if c in frame.columns] or list(frame.columns)
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _columns(con, name):
    return [r[0] for r in con.execute("select column_name from information_schema.columns where table_name = ?",
                                      [name]).fetchall()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_harness):
    from flows.multi_area import multi_area_run

    folder = tmp_path_factory.mktemp("multi_area")
    data = folder / "police_uk"
    write_forces(data, [2022, 2023])
    dask_out = multi_area_run(_config(folder, data, folder / "dask",
                                      engine={"runner": "dask", "n_workers": 2, "threads_per_worker": 1}))
    default_config = _config(folder, data, folder / "default")
    default_out = multi_area_run(default_config)
    # one process over all the inputs: one ingest into one DuckDB file, each force's marts from it
    single = folder / "single"
    single.mkdir()
    cfg = load_config(_config(folder, data, folder / "unused"))
    con = db.connect(single / "all.duckdb")
    assessment.ingest(con, cfg)
    cfg.comparator_name = None
    assessment.prepare(con, cfg, "single")
    for force, _, _ in FORCES:   # the same raw tables, each force as the area in turn
        cfg.area_name = force
        db.set_variables(con, assessment.run_variables(cfg, "single"))
        db.run_models(con)
        for name in AREA_TABLES + ["quarantine", "quarantine_summary"]:
            con.execute(f"create table if not exists single_{name} as select ? as unit, * from {name} limit 0", [force])
            con.execute(f"insert into single_{name} by name select ? as unit, * from {name}", [force])
    con.close()
    yield {"dask": dask_out, "default": default_out, "single": single / "all.duckdb", "data": data,
           "config": default_config}


def test_dask_and_default_runner_write_identical_tables(runs):
    dask_tables = sorted(p.name for p in (Path(runs["dask"]) / "tables").glob("*.parquet"))
    assert dask_tables == sorted(p.name for p in (Path(runs["default"]) / "tables").glob("*.parquet"))
    assert "unit_comparison.parquet" in dask_tables and "theme_summary.parquet" in dask_tables
    for name in dask_tables:
        a = pd.read_parquet(Path(runs["dask"]) / "tables" / name).drop(columns="run_id", errors="ignore")
        b = pd.read_parquet(Path(runs["default"]) / "tables" / name).drop(columns="run_id", errors="ignore")
        pd.testing.assert_frame_equal(a, b, obj=name)


@pytest.mark.parametrize("name", AREA_TABLES)
def test_each_force_matches_one_process_over_all_inputs(runs, name):
    fanned = _table(Path(runs["dask"]) / "svna.duckdb", name)
    single = _table(runs["single"], f"single_{name}", model=name)
    assert set(fanned["unit"]) == {f for f, _, _ in FORCES}
    assert len(fanned) > 0
    whole = WHOLE_INPUT_COLUMNS.get(name, [])
    pd.testing.assert_frame_equal(fanned.drop(columns=whole), single[fanned.columns].drop(columns=whole),
                                  check_dtype=False, obj=name)
    for column in whole:   # the units' rows add up to every row the one process read
        by_unit = fanned.groupby("location_method")[column].sum()
        everything = single.groupby("location_method")[column].first()
        assert by_unit.sort_index().tolist() == everything.sort_index().tolist()


def test_quarantine_and_reconciliation_per_file_match_one_process(runs):
    for name in ("quarantine", "quarantine_summary"):
        fanned = _table(Path(runs["dask"]) / "svna.duckdb", name)
        single = _table(runs["single"], f"single_{name}", model=name)
        # the one process saw every file for every force: keep each force's own files
        single = single[single.apply(lambda r: f"-{_slug(r['unit'])}-street" in r["source_file"], axis=1)]
        single = single.sort_values(list(fanned.columns[:3]), kind="stable").reset_index(drop=True)
        fanned = fanned.sort_values(list(fanned.columns[:3]), kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(fanned, single[fanned.columns], check_dtype=False, obj=name)
    assert len(_table(Path(runs["dask"]) / "svna.duckdb", "quarantine")) == 4 * len(FORCES)


def _slug(force: str) -> str:
    return next(s for f, s, _ in FORCES if f == force)


def test_shares_and_ranks_across_forces_match_pandas(runs):
    counts = _table(runs["single"], "single_theme_summary", model="theme_summary")[["unit", "theme", "count"]].dropna()
    counts["total"] = counts.groupby("theme")["count"].transform("sum")
    counts["share"] = (100 * counts["count"] / counts["total"]).round(1)
    counts["rank"] = counts.groupby("theme")["count"].rank(method="min", ascending=False).astype(int)
    got = _table(Path(runs["dask"]) / "svna.duckdb", "unit_comparison").dropna(subset=["count"])
    merged = got.merge(counts, on=["unit", "theme"], suffixes=("", "_expected"), validate="one_to_one")
    assert len(merged) == len(counts) > 0
    assert (merged["total_count"] == merged["total"]).all()
    assert (merged["share_of_total_pct"] == merged["share"]).all()
    assert (merged["rank_by_count"] == merged["rank"]).all()
    assert set(got.loc[got["theme"] == "all_crime", "rank_by_count"]) == {1, 2, 3}


def test_outputs_are_marked_and_run_json_lists_every_unit(runs):
    out = Path(runs["dask"])
    assert (out / ".svna-output").is_file()
    manifest = json.loads((out / "run.json").read_text())
    assert [u["unit"] for u in manifest["checks"]["units"]] == sorted(f for f, _, _ in FORCES)
    assert len(manifest["inputs"]) == 24 * len(FORCES)
    assert not (out / multi_area.UNITS_DIR).exists()   # the units' raw rows are not kept


def test_a_file_not_named_as_downloaded_is_refused(tmp_path):
    data = tmp_path / "police_uk"
    write_forces(data, [2023], forces=FORCES[:1])
    (data / "2023-01" / "2023-01-avonshire-street.csv").rename(data / "2023-01" / "avonshire.csv")
    config = _config(tmp_path, data, tmp_path / "out")
    raw = json.loads(Path(config).read_text())
    raw["inputs"][0]["paths"] = [str(m / "*.csv") for m in sorted(data.glob("20*"))]
    Path(config).write_text(json.dumps(raw))
    with pytest.raises(InputError, match="YYYY-MM-<force>-street.csv") as error:
        multi_area.load_plan(config)
    assert "avonshire.csv" in error.value.message


def test_year_units_read_only_their_two_years(tmp_path):
    data = tmp_path / "police_uk"
    write_forces(data, [2021, 2022, 2023], forces=FORCES[:1])
    config = _config(tmp_path, data, tmp_path / "out", fan_out={"by": "year", "years": [2023, 2022]})
    raw = json.loads(Path(config).read_text())
    del raw["period"]
    Path(config).write_text(json.dumps(raw))
    plan = multi_area.load_plan(config)
    assert [u.name for u in plan.units] == ["2022", "2023"]
    years = {u.name: sorted({p.parent.name[:4] for p in u.cfg.inputs[0].paths["crimes"]}) for u in plan.units}
    assert years == {"2022": ["2021", "2022"], "2023": ["2022", "2023"]}
    assert plan.units[1].cfg.current.label == "2023" and plan.units[1].cfg.previous.label == "2022"


@pytest.mark.parametrize("engine, column", [({"runner": "spark"}, "engine.runner"),
                                            ({"runner": "dask", "address": "10.0.0.5"}, "engine.address"),
                                            ({"runner": "dask", "n_workers": 0}, "engine.n_workers")])
def test_a_bad_engine_is_refused_naming_the_key(tmp_path, engine, column):
    data = tmp_path / "police_uk"
    write_forces(data, [2023], forces=FORCES[:1])
    with pytest.raises(InputError) as error:
        multi_area.load_plan(_config(tmp_path, data, tmp_path / "out", engine=engine))
    assert error.value.column == column


def test_cli_names_the_key_of_a_config_it_cannot_fan_out(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    data = tmp_path / "police_uk"
    write_forces(data, [2023], forces=FORCES[:1])
    config = _config(tmp_path, data, tmp_path / "out", fan_out={"by": "ward"})
    result = CliRunner().invoke(app, ["multi-area", "--config", config])
    assert result.exit_code == 2
    assert "fan_out.by" in result.output and "Nothing was written" in result.output
    assert not (tmp_path / "out").exists()


def test_the_flow_runs_the_multi_area_step_list_as_its_tasks(runs, task_order):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from pipeline.runs.steps import task_names

    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["multi_area"])))
    assert len(flow_runs) == 2                                         # on Dask and on the default runner
    steps = task_names(multi_area.STEPS)
    for flow_run in flow_runs:
        assert task_order(flow_run.id, steps) == steps
    with get_client(sync_client=True) as client:                       # one task run per force
        units = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_runs[0].id])))
    assert sorted(r.name for r in units if r.name.startswith("run-unit-")) == sorted(
        f"run-unit-{u.key}" for u in multi_area.load_plan(runs["config"]).units)
