"""A whole run on hostile input text (issue 7, item 2): formula-like values in an offence code, a
status, flags, ethnicity, ward names and codes and an MPS category, HTML and Markdown in a flag and
the comparator name, and an output folder whose name is SQL. Every output keeps them inert."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipeline.runs import annual
from pipeline.settings.config import load_config
from tests.helpers.tiny_inputs import write_tiny_inputs

pytestmark = pytest.mark.integration
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"
FORMULAS = ['=HYPERLINK("http://evil.example/","x")', "=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "-2+3"]
OUTPUT = "out'; drop table theme_summary; --"


def _hostile_inputs(folder: Path) -> Path:
    config = write_tiny_inputs(folder)
    extract = folder / "extract"
    offences = (extract / "offences.csv").read_text()
    offences += (f"C9,06/11/2023,8N,{IMG},N,Confirmed,x,2024-01-10\n"
                 "C10,07/11/2023,\"=cmd|' /C calc'!A0\",N,N,Confirmed,x,2024-01-10\n"
                 'C11,08/11/2023,8N,N,N,"=HYPERLINK(""http://evil.example/"",""x"")",x,2024-01-10\n'
                 "C12,09/11/2023,8N,N,@SUM(1),Confirmed,x,2024-01-10\n")
    (extract / "offences.csv").write_text(offences)
    victims = (extract / "victims.csv").read_text().splitlines()
    victims = [victims[0] + ",Ethnicity"] + [line + (",+1+1" if i % 2 else ",-2+3") for i, line in enumerate(victims[1:])]
    (extract / "victims.csv").write_text("\n".join(victims) + "\n")
    profile = (folder / "tiny.yaml").read_text()
    (folder / "tiny.yaml").write_text(profile.replace("sex: Gender}\n  drop: [Name]",
                                                      "sex: Gender, ethnicity: Ethnicity}\n  drop: [Name]"))
    months = [f"{y}{m:02d}" for y in (2022, 2023) for m in range(1, 13)]
    ones = ",".join("1" for _ in months)
    (folder / "mps_wards.csv").write_text("\n".join([
        "MajorText,MinorText,LookUp_BoroughName,WardName,WardCode," + ",".join(months),
        f'Violence Against the Person,Violence with Injury,Tinytown,"=HYPERLINK(""http://evil.example/"",""w"")",@SUM(1),{ones}',
        f"Violence Against the Person,Violence with Injury,Tinytown,{IMG},E05000001,{ones}",
        f"-2+3,+1+1,Tinytown,{LINK} *bold*,E05000002,{ones}"]) + "\n")
    text = config.read_text().replace("paths: [mps.csv]", "paths: [mps.csv, mps_wards.csv]")
    text = text.replace("comparator: {name: Demo Force}", f"comparator: {{name: '{LINK} *bold* {IMG}'}}")
    text = text.replace("output: out", f'output: "{OUTPUT}"\nquarantine_threshold_pct: 60')
    config.write_text(text)
    return config


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    out = annual.run_annual(load_config(_hostile_inputs(folder)))
    return folder, out


def test_an_output_folder_named_like_sql_publishes_and_runs_no_sql(hostile_run):
    folder, out = hostile_run
    assert out == (folder / OUTPUT).resolve() and (out / "tables" / "theme_summary.csv").exists()
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    assert con.execute("select count(*) from theme_summary").fetchone()[0] > 0      # not dropped
    # the hostile values did reach the tables: the checks below are not vacuous
    failing = {r[0] for r in con.execute("select failing_value from quarantine").fetchall()}
    assert {IMG, "=cmd|' /C calc'!A0", "@SUM(1)"} <= failing
    assert {"+1+1", "-2+3"} <= {r[0] for r in con.execute("select category from people_profile").fetchall()}


def test_excel_pack_has_no_formula_and_no_hyperlink(hostile_run):
    book = openpyxl.load_workbook(hostile_run[1] / "svna_data_pack.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert all(not c.hyperlink or not c.hyperlink.target for c in cells)   # Contents links its sheets only
    texts = {c.value for c in cells if c.data_type == "s"}
    assert {"=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "-2+3", IMG} <= texts
    assert any(t.startswith('=hyperlink("http://evil.example/"') for t in texts)    # status (lower-cased)


def test_csv_text_cells_cannot_start_a_formula(hostile_run):
    for path in (hostile_run[1] / "tables").glob("*.csv"):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        con = duckdb.connect()
        types = dict(con.execute("select column_name, column_type from (describe select * from read_parquet(?))",
                                 [str(path.with_suffix(".parquet"))]).fetchall())
        for row in rows:
            for column, value in row.items():
                if types[column] == "VARCHAR" and value:
                    assert value[0] not in "=+-@\t\r", (path.name, column, value)
    with open(hostile_run[1] / "tables" / "people_profile.csv", newline="") as f:
        assert {"'+1+1", "'-2+3"} <= {r["category"] for r in csv.DictReader(f)}


def test_data_docs_and_headlines_carry_no_markup_from_inputs(hostile_run):
    out = hostile_run[1]
    pages = list((out / "validation").rglob("*.html"))
    assert pages and not [p for p in pages if "<img src=x" in p.read_text()]
    assert any("&lt;img src=x" in p.read_text() or "&amp;lt;img src=x" in p.read_text() for p in pages)  # shown, escaped
    headlines = (out / "headlines.md").read_text()
    assert "<img" not in headlines and "[click](" not in headlines and " *bold* " not in headlines
    assert r"For the \[click\](javascript:alert(1)) \*bold\* &lt;img src=x onerror=alert(1)&gt;" in headlines
    report = (out / "report.html").read_text()                 # pipeline/report/annual_report.py: jinja2 autoescape
    assert "<img" not in report and 'href="javascript' not in report
    assert "For the [click](javascript:alert(1)) *bold* &lt;img src=x onerror=alert(1)&gt; there was" in report
