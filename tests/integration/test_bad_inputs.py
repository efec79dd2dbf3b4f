"""The bad-input corpus (tests/data/bad_inputs/manifest.yaml): every file gives its stated outcome.

Batch failures run one by one and must stop with a one-paragraph InputError containing the
manifest's fragments. Every other case runs in ONE combined run (ingest, build, reconcile, then
the Great Expectations gate once): per file, rows in = loaded + superseded + quarantined, with the
stated rule counts; the GX suites must agree with the SQL quarantine on every row.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from pipeline.checks import gates, validation, validation_suites
from pipeline.errors import InputError
from pipeline.settings.config import RunConfig, load_config
from pipeline.transform import assessment, db
from tests.helpers.bad_inputs import CORPUS, MANIFEST, build_core, write_corpus_config

CASES = MANIFEST["cases"]
ERROR_CASES = [c for c in CASES if "error" in c["expect"]]
ROW_CASES = [c for c in CASES if "files" in c["expect"]]


# ------------------------------------------------------------------------------------------ helpers

def run_steps(cfg: RunConfig, steps: list[str], out_dir: Path, con: duckdb.DuckDBPyConnection | None = None):
    con = con or db.connect()
    for step in steps:
        if step == "ingest":
            assessment.ingest(con, cfg)
        elif step == "build":
            build_core(con, cfg)
        elif step == "reconcile":
            gates.check_reconciliation(con, cfg)
        elif step == "coverage":
            gates.check_coverage(con, cfg)
        elif step == "validate":
            validation.validate(con, cfg, out_dir)
    return con


def personal_strings() -> list[str]:
    return [s for c in CASES for s in c.get("never_stored", [])] + ["Alice Example", "Bob Example", "Low Road"]


def assert_one_paragraph(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    examples = message.split(" Examples: ", 1)[1] if " Examples: " in message else ""
    assert examples.count("', '") + 1 <= 5 if examples else True
    for text in personal_strings():
        assert text not in message


# ------------------------------------------------------------------------------------------ the corpus itself

def test_corpus_has_25_files_each_with_an_expected_outcome():
    files = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
                   if p.is_file() and p.name != "manifest.yaml" and "profiles" not in p.parts)
    listed = set()
    for case in CASES:
        for item in case["inputs"]:
            for key in ("offences", "victims", "suspects", "paths"):
                value = item.get(key)
                listed.update([value] if isinstance(value, str) else value or [])
    unlisted = [f for f in files if f not in listed]
    assert len(files) >= 25
    assert not unlisted, f"corpus files with no case in manifest.yaml: {unlisted}"
    assert all(("error" in c["expect"]) != ("files" in c["expect"]) for c in CASES)
    covered = {item for case in CASES for item in case["covers"]}
    assert covered >= {1, 2, 3, 4, 6, 7, 9}, covered


# ------------------------------------------------------------------------------------------ batch failures

RAW_TABLES = ("raw_offences", "raw_victims", "raw_suspects", "raw_mps_counts", "raw_rejects", "extract_periods")


def reset(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the raw tables so a connection (and its loaded reference data) serves another run."""
    for table in RAW_TABLES:
        con.execute(f"delete from {table}")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A connection with seeds and reference tables loaded once; each use starts from empty raw tables."""
    folder = tmp_path_factory.mktemp("fresh")
    con = db.connect()
    cfg = load_config(write_corpus_config(folder, [{"kind": "record_extract", "profile": "profiles/corpus.yaml",
                                              "offences": "good/offences.csv"}]))
    run_steps(cfg, ["ingest", "build"], folder, con)

    def use() -> duckdb.DuckDBPyConnection:
        reset(con)
        return con
    yield use
    con.close()


def run_case(cfg: RunConfig, steps: list[str], out_dir: Path, con: duckdb.DuckDBPyConnection) -> None:
    for step in steps:
        if step == "build":
            build_core(con, cfg, reference=False)
        else:
            run_steps(cfg, [step], out_dir, con)


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["id"] for c in ERROR_CASES])
def test_batch_failure_stops_with_a_clear_message(case, tmp_path, monkeypatch, fresh):
    monkeypatch.delenv("SVNA_PSEUDONYMISATION_KEY", raising=False)
    config = write_corpus_config(tmp_path, case["inputs"], **case.get("config", {}))
    steps = case.get("steps", ["ingest", "build", "reconcile"])
    with pytest.raises(InputError) as caught:
        run_case(load_config(config), steps, tmp_path / "work", fresh())
    message = caught.value.message
    for fragment in case["expect"]["error"]:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert_one_paragraph(message)
    assert not (tmp_path / "out").exists()
    at = case["expect"]["at"]  # the step that raises it: every earlier step passes
    if at != "ingest":
        run_case(load_config(config), steps[: steps.index(at)], tmp_path / "work2", fresh())


# ------------------------------------------------------------------------------------------ one combined run

@pytest.fixture(scope="module")
def combined(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    inputs = [item for case in ROW_CASES for item in case["inputs"]]
    cfg = load_config(write_corpus_config(folder, inputs, quarantine_threshold_pct=100))
    con = run_steps(cfg, ["ingest", "build", "reconcile"], folder)
    summary = validation.validate(con, cfg, folder / "out.partial")
    yield con, cfg, summary, folder
    con.close()


def _case_file(case: dict, name: str) -> str:
    for item in case["inputs"]:
        for key in ("offences", "victims", "suspects", "paths"):
            value = item.get(key) or []
            for rel in [value] if isinstance(value, str) else value:
                if Path(rel).name == name:
                    return str(CORPUS / rel)
    raise AssertionError(f"{name} not in case {case['id']}")


@pytest.mark.parametrize("case", ROW_CASES, ids=[c["id"] for c in ROW_CASES])
def test_rows_reconcile_with_the_stated_quarantine(case, combined):
    con = combined[0]
    for name, want in case["expect"]["files"].items():
        path = _case_file(case, name)
        got = con.execute("select coalesce(sum(rows_in), 0), coalesce(sum(rows_loaded), 0), "
                          "coalesce(sum(rows_superseded), 0), coalesce(sum(rows_quarantined), 0), bool_and(reconciled) "
                          "from quarantine_summary where source_file = ?", [path]).fetchone()
        rules = dict(con.execute("select rule, count(*) from quarantine where source_file = ? group by rule",
                                 [path]).fetchall())
        assert rules == want["quarantined"], name
        assert got[:3] == (want["rows_in"], want["loaded"], want["superseded"]), name
        assert got[0] == got[1] + got[2] + got[3], name
        assert got[4] in (True, None)
        for encoding in [case["expect"].get("encoding", {}).get(name)]:
            if encoding:
                assert con.execute("select encoding from audit_inputs where path = ?", [path]).fetchone()[0] == encoding
        if name in case["expect"].get("source_rows", {}):
            rows = [r[0] for r in con.execute("select source_row from stg_offences where source_file = ? order by 1",
                                              [path]).fetchall()]
            assert rows == case["expect"]["source_rows"][name]


def test_quarantine_rows_name_file_line_rule_reason_and_value(combined):
    con = combined[0]
    rows = con.execute("select source_row, rule, crime_ref, failing_column, failing_value, reason, run_id from quarantine "
                       "where source_file = ? order by source_row", [str(CORPUS / "r02_offence_codes/offences.csv")]).fetchall()
    assert rows == [
        (5, "unknown_offence_code", "R02-4", "ho_code", "ZZ9",
         "The Home Office offence code is not in sql/seeds/ho_offence_codes.csv", "test-run"),
        (6, "missing_ho_code", "R02-5", "ho_code", None, "The Home Office offence code is blank", "test-run"),
    ]
    assert con.execute("select count(*) from quarantine where reason is null").fetchone()[0] == 0
    malformed = con.execute("select source_row, rule, failing_value from quarantine where source_file = ? order by 1",
                            [str(CORPUS / "r07_field_counts/offences.csv")]).fetchall()
    assert malformed == [(3, "too_many_columns", "12 fields; the header has 11"),
                         (4, "too_few_columns", "7 fields; the header has 11")]


def test_dates_and_ages_in_every_form_are_read(combined):
    con = combined[0]
    dates = dict(con.execute("select crime_ref, strftime(recorded_date, '%Y-%m-%d') from stg_offences "
                             "where crime_ref like 'R01-%' or crime_ref like 'F04-%' or crime_ref like 'F05-%'").fetchall())
    assert dates == {"R01-1": "2023-03-15", "R01-2": "2023-03-16", "R01-3": "2023-03-17", "R01-4": None,
                     "R01-5": None, "R01-6": "2023-04-01", "F04-1": "2023-03-15", "F04-2": "2023-03-17",
                     "F04-3": "2023-03-16", "F04-4": "2023-04-01", "F05-1": "2023-05-01", "F05-2": "2023-05-04"}
    ages = con.execute("select age from int_people_current where crime_ref like 'R09-%' order by crime_ref").fetchall()
    assert [a[0] for a in ages] == [25, None, None, None, 17]
    codes = dict(con.execute("select crime_ref, ho_code from int_offences_current where crime_ref like 'R02-%'").fetchall())
    assert codes == {"R02-1": "8N", "R02-2": "4/1", "R02-3": "34B"}


def test_a_later_extract_supersedes_and_history_is_kept(combined):
    con = combined[0]
    current = con.execute("select ho_code, strftime(extract_date, '%Y-%m-%d') from int_offences_current "
                          "where crime_ref = 'V01-1'").fetchall()
    assert current == [("34B", "2024-02-15")]
    history = con.execute("select ho_code from int_offences_checked where crime_ref = 'V01-1' order by extract_date").fetchall()
    assert history == [("8N",), ("34B",)]


def test_an_identical_copy_is_recorded_but_loaded_once(combined):
    con = combined[0]
    a, b = (str(CORPUS / f"v02_identical_copy/offences_{x}.csv") for x in "ab")
    assert con.execute("select duplicate_of from audit_inputs where path = ?", [b]).fetchone()[0] == a
    assert con.execute("select count(*) from int_offences_current where crime_ref like 'V02-%'").fetchone()[0] == 2
    assert "identical to" in con.execute("select note from quarantine_summary where source_file = ?", [b]).fetchone()[0]


def test_no_personal_data_is_stored(combined):
    con = combined[0]
    secrets = personal_strings()
    for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
        columns = [r[0] for r in con.execute("select column_name from information_schema.columns where table_name = ? "
                                             "and data_type = 'VARCHAR'", [table]).fetchall()]
        for column in columns:
            hits = con.execute(f'select count(*) from "{table}" where ' + " or ".join(
                f'contains("{column}", ?)' for _ in secrets), secrets).fetchone()[0]
            assert hits == 0, f"personal data in {table}.{column}"
    refs = [r[0] for r in con.execute("select person_ref from stg_people where crime_ref like 'P01-%'").fetchall()]
    assert len(refs) == 2 and all(re.fullmatch(r"[0-9a-f]{20}", r) for r in refs)


# ------------------------------------------------------------------------------------------ the GX gate on the corpus

def test_the_suites_agree_with_the_sql_quarantine_on_every_corpus_row(combined):
    summary = combined[2]
    assert summary["success"] is True
    assert set(summary["suites"]) == {"offences", "victims", "suspects", "mps_counts", "reconciliation"}
    assert all(s["success"] and s["evaluated"] >= 6 for s in summary["suites"].values())


def test_a_row_the_suite_rejects_is_never_published(combined):
    """If a SQL rule let a bad row through, Great Expectations stops the run before publishing."""
    con, cfg, _, folder = combined
    con.execute("begin")
    try:
        con.execute("update int_offences_checked set quarantine_rule = null where crime_ref = 'R02-4'")
        with pytest.raises(InputError) as caught:
            validation.validate(con, cfg, folder / "tampered")
    finally:
        con.execute("rollback")
    message = caught.value.message
    assert "r02_offence_codes/offences.csv" in message and "column 'ho_code'" in message
    assert "1 row(s) fail it but were not quarantined by rule 'unknown_offence_code'" in message
    assert "'R02-4: ZZ9'" in message
    assert_one_paragraph(message)


def test_every_sql_rule_has_an_expectation_and_suites_are_versioned(combined):
    con, cfg = combined[0], combined[1]
    suites = validation_suites.build_suites(con, cfg)
    mirrored = {spec.quarantine_rule for suite in suites for spec in suite.specs if spec.quarantine_rule}
    rules = {r[0] for r in con.execute("select rule from seed_quarantine_rules").fetchall()}
    assert rules - mirrored == validation_suites.not_mirrored() & rules, "a SQL quarantine rule has no GX expectation"
    assert mirrored <= rules
    assert all(spec.gate in validation_suites.GATES for suite in suites for spec in suite.specs)
    assert re.fullmatch(r"\d+\.\d+\.\d+", validation.SUITE_VERSION)
    assert validation_suites.suite_fingerprint(suites[0]) == validation_suites.suite_fingerprint(
        validation_suites.build_suites(con, cfg)[0])


def test_data_docs_are_written(combined):
    summary, folder = combined[2], combined[3]
    docs = folder / "out.partial" / "validation"      # built in the staging folder ...
    assert (docs / "index.html").exists()
    assert Path(summary["data_docs"]) == folder / "out" / "validation" / "index.html"   # ... reported where it lands
    for suite in summary["suites"]:
        assert list((docs / "validations" / suite).rglob("*.html")), suite
        assert (docs / "expectations" / f"{suite}.html").exists()
    page = next((docs / "validations" / "offences").rglob("*.html")).read_text()
    assert "test-run" in page  # the GX run name is the svna run id
    text = (docs / "summary.json").read_text()
    assert f'"suite_version": "{validation.SUITE_VERSION}"' in text and "R02-4" not in text  # aggregates only
