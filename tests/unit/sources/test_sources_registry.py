"""Issue 18 item 5: every input kind is one registered SourceKind, and a new kind needs nothing else.

The `tally` kind below lives in this test module and its staging model in a temporary folder: the
run config accepts it, ingest reads it into its raw table with lineage, the model runner builds its
staging model, and the coverage gate checks its months, with no change to svna's own code. (Its rows
do not reach quarantine_summary: that mart lists each kind's staging and loaded models in its SQL.)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pytest

from pipeline.checks import gates, validation_suites
from pipeline.errors import InputError
from pipeline.settings.config import load_config
from pipeline.sources import registry
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import InputFile, open_input, repeat_of
from pipeline.transform import assessment, db


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table if not exists raw_tally (source_file varchar, source_row integer, "
                "month varchar, tally varchar)")


def ingest(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    files = []
    for path in spec.paths["tallies"]:
        source = open_input(path, "tally", "tallies")
        if repeat_of(seen, source) is not None:
            continue
        table = read_csv_text(source, header_hint="month", con=con)
        try:
            month, tally = (table.column(table.header.index(c)) for c in ("month", "tally"))
            con.execute(f"insert into raw_tally select $file, source_row, {month}, {tally} from {table.relation}",
                        {"file": str(path)})
        finally:
            table.close()
        files.append(source)
    return files


TALLY = registry.SourceKind(
    name="tally", display_name="a monthly tally (test kind)", rank=9,
    config_keys=("kind", "paths"), file_keys={"paths": "tallies"}, main_role="tallies",
    create_raw_tables=create_raw_tables, ingest=ingest,
    raw_tables=("raw_tally",), staging_models=("stg_tally",), checked_models=(),
    coverage=registry.Coverage("select distinct strftime(month_start, '%Y-%m') from stg_tally", "month"),
    monthly_files="tally files",
)

STAGING = """\
-- stg_tally
-- Grain: one row per tally file line.
-- unique_key: source_file, source_row
select source_file, source_row, cast(strptime(month || '-01', '%Y-%m-%d') as date) as month_start,
       cast(tally as integer) as tally
from raw_tally
"""


@pytest.fixture
def tally_kind():
    registry.register(TALLY)
    try:
        yield TALLY
    finally:
        registry.unregister(TALLY.name)


def _tally_run(tmp_path: Path, months: list[str], extra: str = "") -> Path:
    (tmp_path / "tally").mkdir(parents=True)
    (tmp_path / "tally" / "t1.csv").write_text("month,tally\n" + "".join(f"{m},{i + 3}\n" for i, m in enumerate(months)))
    config = tmp_path / "run.yaml"
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Tinytown}}
        period: {{calendar_year: 2023}}
        inputs:
          - kind: tally
            paths: tally/*.csv
            {extra}
        output: out
        """))
    return config


def _months(*years: int) -> list[str]:
    return [f"{y}-{m:02d}" for y in years for m in range(1, 13)]


def test_the_kinds_are_registered_once_with_their_raw_tables_and_models():
    kinds = registry.kinds()
    assert list(kinds) == ["record_extract", "mps_counts", "police_uk", "fingertips", "partner_table", "indicator_set"]
    assert kinds["police_uk"].limited and not kinds["record_extract"].limited
    assert [k.name for k in kinds.values() if k.suites] == ["record_extract", "mps_counts"]
    staging = {p.stem for p in (db.SQL_DIR / "staging").glob("*.sql")}
    assert {m for k in kinds.values() for m in k.staging_models} == staging
    checked = {p.stem for p in (db.SQL_DIR / "intermediate").glob("int_*_checked.sql")}
    assert set(registry.rule_models()) == checked
    con = duckdb.connect()
    for kind in kinds.values():
        kind.create_raw_tables(con)
    made = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert made == {t for k in kinds.values() for t in k.raw_tables}
    for kind in kinds.values():  # every kind records the file's path (data.police.uk once per file: a path on
        # millions of rows costs memory); staging keys rows by it, data.police.uk by row_id (its file and line are
        # worked out for the rows held back, in int_police_uk_checked)
        assert any("source_file" in {r[0] for r in con.execute(f"describe {t}").fetchall()} for t in kind.raw_tables)
    for model in staging:
        key = (db.SQL_DIR / "staging" / f"{model}.sql").read_text().split("-- unique_key:")[1].split("\n")[0]
        assert ("row_id" if model == "stg_police_uk" else "source_file") in key


def test_a_kind_defined_outside_svna_runs_through_config_ingest_build_and_coverage(tmp_path, tally_kind):
    cfg = load_config(_tally_run(tmp_path, _months(2022, 2023)))
    assert [(i.kind, [p.name for p in i.paths["tallies"]]) for i in cfg.inputs] == [("tally", ["t1.csv"])]
    con = duckdb.connect()
    files = assessment.ingest(con, cfg)
    assert [(f.kind, f.role, f.path.name) for f in files] == [("tally", "tallies", "t1.csv")]
    assert con.execute("select kind, role, rows_read from audit_inputs").fetchall() == [("tally", "tallies", 24)]
    assert con.execute("select count(*), count(distinct source_file) from raw_tally").fetchone() == (24, 1)

    sql_dir = tmp_path / "sql"
    (sql_dir / "staging").mkdir(parents=True)
    (sql_dir / "staging" / "stg_tally.sql").write_text(STAGING)
    assert db.run_models(con, sql_dir=sql_dir) == ["stg_tally"]
    assert con.execute("select min(source_row), max(source_row), sum(tally) from stg_tally").fetchone() == \
        (2, 25, sum(range(3, 27)))
    gates.check_coverage(con, cfg)  # both years covered: passes
    assert validation_suites.build_suites(con, cfg)[-1].name == "reconciliation"  # no suite of its own

    con.execute("delete from stg_tally where month_start = date '2022-06-01'")
    with pytest.raises(InputError) as caught:
        gates.check_coverage(con, cfg)
    assert "the tally inputs must cover every month" in caught.value.message and "2022-06" in caught.value.message


def test_the_config_checks_a_registered_kind_by_its_own_keys(tmp_path, tally_kind):
    with pytest.raises(InputError) as caught:
        load_config(_tally_run(tmp_path, _months(2023), extra="profile: tiny.yaml"))
    assert "inputs[0].profile" in caught.value.message and "expected one of kind, paths" in caught.value.message
    config = _tally_run(tmp_path / "half", _months(2023))
    config.write_text(config.read_text().replace("{calendar_year: 2023}", "{start: 2023-01-15, end: 2023-12-31}"))
    with pytest.raises(InputError) as caught:
        load_config(config)
    assert "tally files are monthly" in caught.value.message


def test_an_unknown_kind_is_refused_naming_the_registered_kinds(tmp_path):
    config = _tally_run(tmp_path, _months(2023))
    with pytest.raises(InputError) as caught:
        load_config(config)
    assert "expected one of record_extract, mps_counts, police_uk" in caught.value.message
