"""Fan-out over coarse units (forces or years) when one DuckDB run over all the inputs is too big.

One query over all areas is the rule (DESIGN §2.5): London's 32 boroughs from the MPS files take
seconds. A national data.police.uk history (43 forces x many years, many GB) is split instead into
coarse units, never wards or boroughs:

- `fan_out: {by: force}`: one unit per force, the files named `YYYY-MM-<force>-street.csv` (the
  data.police.uk download), the unit's area is the force (its `Falls within` name);
- `fan_out: {by: year, years: [2022, 2023]}`: one unit per calendar year, compared with the year
  before, reading only those two years' files; the unit's area is the config's area.

Each unit runs the annual steps (ingest -> marts, then the coverage and reconciliation gates) into its
own DuckDB file under `<work>/units/`; `combine` then unions every unit's marts into one DuckDB file
(a `unit` column first) and computes, in one query, what needs all units together (`unit_comparison`:
shares of the total and ranks). flows/multi_area.py runs the units as Prefect tasks, on Prefect's
default runner or a Dask cluster (`engine:`); `run_multi_area` runs the same steps without Prefect.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline import annual, assessment, catalog, db, table_files
from pipeline.config import SQL_DIR, RunConfig, load_config, resolve_periods
from pipeline.config_sections import FAN_OUT_UNITS, EngineSettings, InputSpec
from pipeline.errors import InputError

STREET_FILE = re.compile(r"^(?P<month>\d{4})-(?P<mm>\d{2})-(?P<force>.+)-street\.csv$", re.IGNORECASE)
UNITS_DIR = "units"


@dataclass(frozen=True)
class Unit:
    name: str          # the force (its Falls within name) or the year
    key: str           # folder-safe: the file-name slug or the year
    cfg: RunConfig     # the unit's own run: its files, its area, its period


@dataclass(frozen=True)
class Plan:
    cfg: RunConfig     # the whole run: every input, the output folder
    by: str
    units: list[Unit]
    engine: EngineSettings


def load_plan(config_path: str | Path, output: str | Path | None = None) -> Plan:
    """Read a multi-area config (a run config with `fan_out:` and optional `engine:`) and split its
    inputs into units. Stops, naming the key, on a config the fan-out cannot run."""
    path = Path(config_path).resolve()
    cfg = load_config(path, {"output": str(output) if output else None})
    if cfg.fan_out is None:
        raise InputError(str(path), "fan_out.by", f"a multi-area run fans out by one of {', '.join(FAN_OUT_UNITS)} "
                         "(coarse units; areas within a force are one query: `areas:`)", "None")
    by, years = cfg.fan_out.by, list(cfg.fan_out.years)
    other = sorted({i.kind for i in cfg.inputs} - {"police_uk"})
    if other:
        raise InputError(str(path), "inputs", "the multi-area fan-out reads data.police.uk files (kind police_uk); "
                         "MPS count files cover every London borough in one query (`areas:` with svna annual)",
                         f"input kind(s) {', '.join(other)}")
    units = _force_units(cfg) if by == "force" else _year_units(cfg, years)
    return Plan(cfg=cfg, by=by, units=units, engine=cfg.engine)


def _street_file(path: Path) -> re.Match:
    match = STREET_FILE.match(path.name)
    if not match:
        raise InputError(str(path), "-", "a fan-out splits data.police.uk files by their names, as downloaded: "
                         "YYYY-MM-<force>-street.csv", f"the name {path.name!r}")
    return match


def _falls_within(files: list[Path]) -> str | None:
    """The force a unit's files are for: `Falls within` of the first data row (the header and its
    layout are checked again, with a full error, when the unit is ingested)."""
    for path in files:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
            rows = csv.reader(handle)
            header = next(rows, [])
            column = next((i for i, c in enumerate(header) if c.strip().lower() == "falls within"), None)
            if column is None:
                continue
            for row in rows:
                if len(row) > column and row[column].strip():
                    return row[column].strip()
    return None


def _unit_config(cfg: RunConfig, key: str, files: list[Path], **changes) -> RunConfig:
    """The unit's run: only its files; no comparator (a comparator force is in another unit's files:
    comparisons across units are made after the combine, in unit_comparison)."""
    spec = InputSpec(kind="police_uk", paths={"crimes": files})
    return dataclasses.replace(cfg, inputs=[spec], comparator_name=None, reports=None,
                               output=cfg.output.parent / f"{cfg.output.name}.unit-{key}", **changes)


def _all_files(cfg: RunConfig) -> list[Path]:
    return list(dict.fromkeys(p for spec in cfg.inputs for p in spec.paths["crimes"]))


def _force_units(cfg: RunConfig) -> list[Unit]:
    by_force: dict[str, list[Path]] = {}
    for path in _all_files(cfg):
        by_force.setdefault(_street_file(path).group("force").lower(), []).append(path)
    units = []
    for key, files in sorted(by_force.items()):
        name = _falls_within(files) or key
        units.append(Unit(name=name, key=key, cfg=_unit_config(cfg, key, files, area_name=name, area_code="")))
    names = [u.name.lower() for u in units]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InputError(", ".join(twice), "Falls within", "each force's files have one name in the file names "
                         "(YYYY-MM-<force>-street.csv)", "a force under two file-name slugs", examples=twice)
    return units


def _year_units(cfg: RunConfig, years: list[int]) -> list[Unit]:
    files = _all_files(cfg)
    units = []
    for year in years:
        current, previous = resolve_periods({"calendar_year": year})
        chosen = [p for p in files if int(_street_file(p).group("month")) in (year - 1, year)]
        if not chosen:
            raise InputError(str(cfg.config_path), "fan_out.years", "every year listed needs data.police.uk files "
                             "for it and the year before", f"no files for {year - 1} or {year}")
        units.append(Unit(name=str(year), key=str(year),
                          cfg=_unit_config(cfg, str(year), chosen, current=current, previous=previous)))
    return units


# ---------------------------------------------------------------- one unit

def unit_db(work: Path, unit: Unit) -> Path:
    return work / UNITS_DIR / unit.key / assessment.DB_NAME


def run_unit(unit: Unit, work: Path, run_id: str) -> dict:
    """Ingest -> marts and the batch gates for one unit, into its own DuckDB file. Returns aggregates
    only (files, reconciliation totals, seconds): what run.json and the flow's log carry."""
    started = time.perf_counter()
    folder = unit_db(work, unit).parent
    if folder.exists():
        shutil.rmtree(folder)   # a retried unit starts again from nothing
    folder.mkdir(parents=True)
    files = annual.ingest_step(unit.cfg, folder)
    annual.build_step(unit.cfg, folder, run_id)
    checks = annual.check_step(unit.cfg, folder)
    (folder / annual.TIMINGS).unlink(missing_ok=True)
    return {"unit": unit.name, "key": unit.key, "db": str(unit_db(work, unit)), "files": files, "checks": checks,
            "seconds": round(time.perf_counter() - started, 3)}


# ---------------------------------------------------------------- combine

def combined_unique_key(name: str) -> tuple[str, ...]:
    """A combined table's key: the unit, then the mart's own key."""
    model = db.load_models(("marts",)).get(name) or _combined_models().get(name)
    return ("unit",) + (tuple(model.unique_key) if model else ())


def _combined_models() -> dict:
    return db.load_models(("multi_area",), sql_dir=SQL_DIR)


def combine(results: list[dict], work: Path, cfg: RunConfig, run_id: str, by: str) -> list[str]:
    """Union every unit's marts into `<work>/svna.duckdb` (a `unit` column first, units in order),
    then build the models that need all units at once (sql/multi_area). Returns the table names."""
    database = work / assessment.DB_NAME
    with db.connect(database, settings=cfg.duckdb) as con:
        db.load_seeds(con)
        db.load_macros(con)
        db.set_variables(con, {"run_id": run_id, "fan_out_by": by, "area_name": cfg.area_name})
        aliases = []
        for i, result in enumerate(results):
            alias = f"unit_{i}"
            con.execute(f"attach {db.sql_literal(result['db'])} as {alias} (read_only)")
            aliases.append(alias)
        names = catalog.mart_names()
        for name in names:
            table = db.sql_identifier(name)
            selects = " union all by name ".join(f"select ? as unit, * from {alias}.{table}" for alias in aliases)
            con.execute(f"create or replace table {table} as {selects}", [r["unit"] for r in results])
        for alias in aliases:
            con.execute(f"detach {alias}")
        built = db.run_models(con, layers=("multi_area",), sql_dir=SQL_DIR)
        for name in names + built:
            _check_combined_key(con, name)
    return names + built


def _check_combined_key(con, name: str) -> None:
    key = combined_unique_key(name)
    if len(key) < 2:
        return
    columns = ", ".join(f'"{c}"' for c in key)
    dupes = con.execute(f"select count(*) from (select {columns} from {db.sql_identifier(name)} "
                        f"group by all having count(*) > 1)").fetchone()[0]
    if dupes:
        raise RuntimeError(f"combined table {name}: {dupes} key(s) ({', '.join(key)}) occur in more than one row "
                           "(two units hold the same rows?). Nothing was published.")


def write_combined_tables(work: Path, tables: list[str]) -> list[Path]:
    """Parquet + CSV of every combined table under <work>/tables, ordered by unit and key so that
    re-runs and runners write identical files."""
    out = work / "tables"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with db.connect(work / assessment.DB_NAME) as con:
        for name in tables:
            table = db.sql_identifier(name)
            order = ", ".join(f'"{c}"' for c in combined_unique_key(name))
            for fmt, select, options in (("parquet", "*", "(format parquet)"),
                                         ("csv", table_files.csv_columns(con, table), "(format csv, header true)")):
                path = out / f"{table}.{fmt}"
                con.execute(f"copy (select {select} from {table} order by {order}) to ? {options}", [str(path)])
                written.append(path)
    return written + [work / assessment.DB_NAME]


def finish(run: annual.Run, results: list[dict], tables: list[str], combine_seconds: float) -> None:
    """What run.json records for a fan-out: every unit's files and checks, the tables, the timings;
    the units' own DuckDB files (raw rows) are removed once combined."""
    run.files = [f for r in results for f in r["files"]]
    run.checks = {"units": [{"unit": r["unit"], **r["checks"]} for r in results]}
    run.outputs = write_combined_tables(run.work, tables)
    timings = {f"unit {r['key']}": r["seconds"] for r in results} | {"combine": combine_seconds}
    (run.work / annual.TIMINGS).write_text(json.dumps(timings))
    shutil.rmtree(run.work / UNITS_DIR, ignore_errors=True)


def run_multi_area(config_path: str | Path, output: str | Path | None = None) -> Path:
    """The fan-out end to end without Prefect, one unit after another in this process (tests,
    scripting): the same steps as flows/multi_area.py."""
    plan = load_plan(config_path, output)
    with annual.output_transaction(plan.cfg) as run:
        results = [run_unit(unit, run.work, run.run_id) for unit in plan.units]
        started = time.perf_counter()
        tables = combine(results, run.work, plan.cfg, run.run_id, plan.by)
        finish(run, results, tables, time.perf_counter() - started)
    return plan.cfg.output

