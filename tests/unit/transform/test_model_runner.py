"""The model runner: references found in code only, layers in order, one model per name, selection with
upstream models, unique keys checked and data tests run on every build."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.transform import db
from pipeline.transform.db import ModelError


def _project(tmp_path: Path, models: dict[str, str], tests: dict[str, str] | None = None) -> Path:
    for relative, sql in {**models, **{f"tests/{k}": v for k, v in (tests or {}).items()}}.items():
        path = tmp_path / f"{relative}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    for layer in db.LAYERS:
        (tmp_path / layer).mkdir(exist_ok=True)
    return tmp_path


BASE = {
    "staging/stg_a": "-- unique_key: id\nselect * from (values (1, 'x'), (2, 'y')) as t(id, label)",
    "intermediate/int_b": "-- unique_key: id\n-- reads stg_a (and this comment names int_c, which it does not read)\n"
                          "select id, 'int_c' as note from stg_a",
    "intermediate/int_c": "-- unique_key: id\nselect id * 10 as id from stg_a",
    "marts/mart_d": "-- unique_key: id\nselect * from int_b",
}


def test_references_ignore_comments_and_string_literals(tmp_path):
    models = db.load_models(sql_dir=_project(tmp_path, BASE))
    assert models["int_b"].refs == {"stg_a"}
    assert models["mart_d"].refs == {"int_b"} and models["mart_d"].unique_key == ("id",)
    assert db.sql_identifiers("select 'from x' /* y */ -- z\n, w from v") == {"select", "w", "from", "v"}


def test_two_models_with_one_name_are_refused(tmp_path):
    root = _project(tmp_path, {**BASE, "marts/int_b": "-- unique_key: id\nselect 1 as id"})
    with pytest.raises(ModelError, match="two models are named int_b"):
        db.load_models(sql_dir=root)


def test_a_model_reading_a_later_layer_is_refused(tmp_path):
    root = _project(tmp_path, {**BASE, "intermediate/int_e": "-- unique_key: id\nselect * from mart_d"})
    with pytest.raises(ModelError, match="intermediate model int_e reads marts model mart_d"):
        db.load_models(sql_dir=root)


def test_select_with_upstream_builds_only_what_the_model_needs(tmp_path):
    root = _project(tmp_path, BASE)
    con = db.connect()
    built = db.run_models(con, select=["mart_d"], upstream=True, sql_dir=root)
    assert built == ["stg_a", "int_b", "mart_d"]
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert tables == {"stg_a", "int_b", "mart_d"}                   # int_c is not needed
    with pytest.raises(ModelError, match="no model named nope"):
        db.run_models(con, select=["nope"], sql_dir=root)


def test_a_unique_key_that_is_not_unique_stops_the_build(tmp_path):
    root = _project(tmp_path, {**BASE, "intermediate/int_c": "-- unique_key: id\nselect 1 as id from stg_a"})
    with pytest.raises(ModelError, match=r"int_c: its unique_key \(id\) has 1 value"):
        db.run_models(db.connect(), sql_dir=root)


def test_data_tests_run_on_every_build_and_fail_on_rows(tmp_path):
    passing = {"ids_positive": "select * from mart_d where id <= 0"}
    root = _project(tmp_path, BASE, passing)
    assert db.run_data_tests(_built(root), {"stg_a", "int_b", "int_c", "mart_d"}, root) == ["ids_positive"]
    failing = _project(tmp_path, BASE, {"no_two": "select id, note from mart_d where id = 2"})
    with pytest.raises(ModelError, match=r"data test no_two .*1 row\(s\) break it, e.g. \[\(2, 'int_c'\)\]"):
        db.run_models(db.connect(), sql_dir=failing)


def _built(root: Path):
    con = db.connect()
    db.run_models(con, sql_dir=root)
    return con


def test_every_project_model_states_its_unique_key():
    missing = [name for name, model in db.load_models().items() if not model.unique_key]
    assert missing == []


def test_models_are_parsed_again_when_a_file_changes(tmp_path):
    root = _project(tmp_path, BASE)
    assert db.load_models(sql_dir=root)["mart_d"].refs == {"int_b"}
    (root / "marts" / "mart_d.sql").write_text("-- unique_key: id\nselect * from int_c")
    assert db.load_models(sql_dir=root)["mart_d"].refs == {"int_c"}


def test_models_reading_only_absent_inputs_are_created_empty_with_their_columns(tmp_path):
    root = _project(tmp_path, {**BASE, "staging/stg_e": "-- unique_key: id\nselect 5 as id, 'e' as label",
                               "marts/mart_f": "-- unique_key: id\nselect id, label || '!' as shout from stg_e",
                               "marts/mart_g": "-- unique_key: id\nselect id from stg_a union all "
                                               "select id from stg_e"})
    con = db.connect()
    db.run_models(con, sql_dir=root, absent={"stg_e"})
    assert con.execute("select count(*) from mart_f").fetchone()[0] == 0        # its query never ran
    columns = [c[:2] for c in con.execute("describe mart_f").fetchall()]
    assert columns == [("id", "INTEGER"), ("shout", "VARCHAR")]
    assert con.execute("select count(*) from mart_g").fetchone()[0] == 2        # built: it reads stg_a too


def _count_only(folder):
    from tests.helpers.tiny_inputs import tiny_mps_file

    (folder / "mps.csv").write_text(tiny_mps_file())
    return {"area": {"name": "Tinytown", "code": "E09000999"}, "comparator": {"name": "Demo Force"},
            "inputs": [{"kind": "mps_counts", "paths": ["mps.csv"]}]}


def _police_uk_with_a_ward_lookup(folder):
    """data.police.uk files alone, with reference data (a ward lookup) the area's models read."""
    from tests.helpers.police_uk_forces import FORCES, write_forces

    files = write_forces(folder / "police_uk", [2023], forces=FORCES[:1])["files"]
    return {"area": {"name": FORCES[0][0]}, "inputs": [{"kind": "police_uk", "paths": [str(f) for f in files]}],
            "reference": {"lsoa_to_ward": str(folder / "police_uk" / "lsoa_to_ward.csv")},
            "quarantine_threshold_pct": 25}


@pytest.mark.parametrize("run", [_count_only, _police_uk_with_a_ward_lookup])
def test_without_an_input_kind_its_models_would_have_been_empty_anyway(tmp_path, run):
    """The runner's skip is safe only if each skipped model, run in full on the same build, has no rows
    and the same columns: checked on a count-only run (no record-level extract, no data.police.uk files)
    and on data.police.uk files with a ward lookup (no extract, no count files: the areas come from the
    reference data and the run's variables, not from the absent count files)."""
    import json

    from pipeline.settings.config import load_config
    from pipeline.sources import registry
    from pipeline.transform import assessment

    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({**run(tmp_path), "period": {"calendar_year": 2023}, "output": "out"}))
    cfg = load_config(config)
    present = {spec.kind for spec in cfg.inputs}
    absent = {m for kind in registry.kinds().values() if kind.name not in present for m in kind.staging_models}
    full, skipping = db.connect(), db.connect()
    for con in (full, skipping):
        assessment.ingest(con, cfg)
        assessment.prepare(con, cfg, "test-run")
    skipped = db.without_input(skipping, db.load_models(), db.model_order(db.load_models()), absent)
    order = db.run_models(full)
    db.run_models(skipping, absent=absent)
    assert absent <= skipped and "theme_summary" not in skipped and "quarantine_summary" not in skipped
    for name in order:
        rows = full.execute(f"select * from {name}").fetchall()
        assert not (name in skipped and rows), f"{name} has rows without its input"
        assert skipping.execute(f"describe {name}").fetchall() == full.execute(f"describe {name}").fetchall()
        assert sorted(map(repr, skipping.execute(f"select * from {name}").fetchall())) == sorted(map(repr, rows)), name
