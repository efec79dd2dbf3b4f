"""Fan-out over coarse units (forces or years) when one DuckDB run over all the inputs is too big.

One query over all areas is the rule (DESIGN §2.5): London's 32 boroughs from the MPS files take
seconds. A national data.police.uk history (43 forces x many years, many GB) is split instead into
coarse units, never wards or boroughs:

- `fan_out: {by: force}`: one unit per force, the files named `YYYY-MM-<force>-street.csv` (the
  data.police.uk download), the unit's area is the force (its `Falls within` name);
- `fan_out: {by: year, years: [2022, 2023]}`: one unit per calendar year, compared with the year
  before, reading only those two years' files; the unit's area is the config's area.

The run's steps (STEPS): each unit runs the annual build steps (annual.BUILD_STEPS: ingest -> marts,
then the gates) into its own DuckDB file under `<work>/units/`; the combine unions every unit's marts
into one DuckDB file (a `unit` column first) and computes, in one query, what needs all units together
(`unit_comparison`: shares of the total and ranks); the combined tables are written. flows/multi_area.py
runs the steps as Prefect tasks, the units on Prefect's default runner or a Dask cluster (`engine:`);
`run_multi_area` runs the same list without Prefect.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError
from pipeline.publish import catalog, table_files
from pipeline.runs import annual
from pipeline.runs.steps import Step, run_steps
from pipeline.settings.config import SQL_DIR, RunConfig, load_config, resolve_periods
from pipeline.settings.config_sections import FAN_OUT_UNITS, EngineSettings, InputSpec
from pipeline.transform import assessment, db

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


@dataclass
class FanOutRun(annual.Run):
    """A multi-area run in progress: its plan, and what each unit and the combine returned."""

    plan: Plan | None = None
    units: list[dict] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)


def run_unit(run: FanOutRun, unit: Unit) -> dict:
    """The annual run's build steps (ingest -> marts, then the gates) for one unit, into its own DuckDB
    file. Returns aggregates only (files, reconciliation totals, seconds): what run.json and the
    flow's log carry."""
    started = time.perf_counter()
    folder = unit_db(run.work, unit).parent
    if folder.exists():
        shutil.rmtree(folder)   # a retried unit starts again from nothing
    folder.mkdir(parents=True)
    unit_run = annual.Run(unit.cfg, run.run_id, folder)
    run_steps(annual.BUILD_STEPS, unit_run)
    return {"unit": unit.name, "key": unit.key, "db": str(unit_run.database), "files": unit_run.files,
            "checks": unit_run.checks, "seconds": round(time.perf_counter() - started, 3)}


def keep_units(run: FanOutRun, results: list[dict]) -> None:
    """run.json lists every unit's files, checks and time."""
    run.units = results
    run.files = [f for r in results for f in r["files"]]
    run.checks = {"units": [{"unit": r["unit"], **r["checks"]} for r in results]}
    run.timings.update({f"unit {r['key']}": r["seconds"] for r in results})


def _unit_summary(result: dict) -> str:
    checks = result["checks"]
    return (f"{result['unit']}: {len(result['files'])} file(s), {checks['rows_in']:,} rows in = "
            f"{checks['rows_loaded']:,} loaded + {checks['rows_quarantined']:,} quarantined ({result['seconds']:.1f} s)")


# ---------------------------------------------------------------- combine

def combined_unique_key(name: str) -> tuple[str, ...]:
    """A combined table's key: the unit, then the mart's own key."""
    model = db.load_models(("marts",)).get(name) or _combined_models().get(name)
    return ("unit",) + (tuple(model.unique_key) if model else ())


def _combined_models() -> dict:
    return db.load_models(("multi_area",), sql_dir=SQL_DIR)


def combine_step(run: FanOutRun) -> list[str]:
    """Union every unit's marts into `<work>/svna.duckdb` (a `unit` column first, units in order),
    then build the models that need all units at once (sql/multi_area). Returns the table names."""
    results, cfg = run.units, run.cfg
    with db.connect(run.database, settings=cfg.duckdb) as con:
        db.load_seeds(con)
        db.load_macros(con)
        db.set_variables(con, {"run_id": run.run_id, "fan_out_by": run.plan.by, "area_name": cfg.area_name})
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


def publish_step(run: FanOutRun) -> list[Path]:
    """Parquet + CSV of every combined table under <work>/tables, ordered by unit and key so that
    re-runs and runners write identical files; the units' own DuckDB files (raw rows) are removed."""
    out = run.work / "tables"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with db.connect(run.database) as con:
        for name in run.tables:
            table = db.sql_identifier(name)
            order = ", ".join(f'"{c}"' for c in combined_unique_key(name))
            for fmt, select, options in (("parquet", "*", "(format parquet)"),
                                         ("csv", table_files.csv_columns(con, table), "(format csv, header true)")):
                path = out / f"{table}.{fmt}"
                con.execute(f"copy (select {select} from {table} order by {order}) to ? {options}", [str(path)])
                written.append(path)
    shutil.rmtree(run.work / UNITS_DIR, ignore_errors=True)
    return written + [run.database]


STEPS = (
    Step("units", "run-unit", run_unit, keep=keep_units, retry_on_io_error=True, each=lambda run: run.plan.units,
         summary=lambda run, results: "\n".join(map(_unit_summary, results)), task_run_name="run-unit-{unit.key}"),
    Step("combine", "combine-units", combine_step, keep="tables",
         summary=lambda run, tables: f"Combined the units into {len(tables)} tables"),
    Step("publish", "write-tables", publish_step, keep="outputs",
         summary=lambda run, outputs: f"Wrote {len(outputs)} output files"),
)


def run_multi_area(config_path: str | Path, output: str | Path | None = None) -> Path:
    """The fan-out end to end without Prefect, one unit after another in this process (tests,
    benchmarks, scripting): STEPS, as flows/multi_area.py runs them."""
    plan = load_plan(config_path, output)
    with annual.output_transaction(plan.cfg, kind=FanOutRun, plan=plan) as run:
        run_steps(STEPS, run)
    return plan.cfg.output
