"""No injection and no personal data in messages (issue 7, items 2 and 3), on small hand-made inputs:
spreadsheet cells stay text, CSV text cells cannot run as formulas, Markdown names stay inert, paths
are never pasted into SQL, and error messages quote no person values. The whole run is checked in
tests/integration/test_safe_outputs.py and tests/integration/test_no_personal_data.py."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import markdown_it
import openpyxl
import pandas as pd
import pytest

from pipeline.checks import validation, validation_suites
from pipeline.errors import InputError
from pipeline.narrative import phrases, sentences
from pipeline.publish import catalog, excel_pack, table_files
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import open_input
from pipeline.sources.mps_counts import read_mps_file
from pipeline.sources.profiles import load_profile
from pipeline.sources.record_extract import read_table, to_canonical
from pipeline.sources.xlsx_reader import read_xlsx
from pipeline.transform import db
from tests.helpers.tiny_inputs import TINY_PROFILE

HOSTILE = ['=HYPERLINK("http://evil.example/","click")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3",
           "http://evil.example/", "\tTAB", "\rCR"]
MARKUP = ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "*bold*"]


@pytest.fixture
def hostile_mart(monkeypatch):
    """A one-table "mart" whose text columns (ward, code, ethnicity, status) hold formula-like values,
    beside numeric columns with negative numbers; seeds for the Definitions and Caveats sheets."""
    con = duckdb.connect()
    db.load_seeds(con)
    db.load_macros(con)
    con.execute("create table hostile (ward_code varchar, ward_name varchar, ho_code varchar, ethnicity varchar, "
                "status varchar, change bigint, pct_change double)")
    con.executemany("insert into hostile values (?, ?, ?, ?, ?, ?, ?)",
                    [[v, v, v, v, v, -3, -12.5] for v in HOSTILE])
    monkeypatch.setattr(catalog, "mart_names", lambda: ["hostile"])
    yield con
    con.close()


def test_excel_pack_stores_every_text_cell_as_text(hostile_mart, tmp_path):
    path = excel_pack.write_excel(hostile_mart, tmp_path)
    book = openpyxl.load_workbook(path)
    ws = book[excel_pack.sheet_title("hostile")]
    labels = catalog.column_labels()  # row 2 holds the human headings
    header = [next((c for c, (heading, _) in labels.items() if heading == h), h) for h in (c.value for c in ws[2])]
    rows = [[c for c in row] for row in ws.iter_rows(min_row=3)]
    assert len(rows) == len(HOSTILE)
    for expected, row in zip(HOSTILE, rows):
        for column in ("ward_code", "ward_name", "ho_code", "ethnicity", "status"):
            cell = row[header.index(column)]
            value = cell.value.replace("_x000D_", "\r")  # how xlsx stores a carriage return (Excel decodes it)
            assert cell.data_type == "s" and value == expected, (column, cell.value, cell.data_type)
        assert row[header.index("change")].value == -3                     # numbers stay numbers
        assert row[header.index("pct_change")].value == -0.125              # a fraction, shown as %
    for sheet in book.worksheets:
        assert all(not c.hyperlink or not c.hyperlink.target                # Contents links sheets only
                   for row in sheet.iter_rows() for c in row)
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_csv_neutralises_formula_like_text_but_parquet_and_numbers_stay_raw(hostile_mart, tmp_path):
    table_files.write_tables(hostile_mart, tmp_path)
    with open(tmp_path / "tables" / "hostile.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["ward_name"] for r in rows] == ["'" + v if v[0] in "=+-@\t\r" else v for v in HOSTILE]
    assert rows[-1]["ethnicity"] == "'\rCR" and rows[4]["ho_code"] == "'-2+3"
    assert rows[5]["status"] == "http://evil.example/"                       # no formula trigger: as is
    assert {r["change"] for r in rows} == {"-3"} and {r["pct_change"] for r in rows} == {"-12.5"}
    raw = duckdb.connect().execute("select ward_name from read_parquet(?)",
                                   [str(tmp_path / "tables" / "hostile.parquet")]).fetchall()
    assert [r[0] for r in raw] == HOSTILE


def test_tables_publish_to_a_folder_whose_name_holds_sql(hostile_mart, tmp_path):
    out = tmp_path / "out'; drop table hostile; --"
    written = table_files.write_tables(hostile_mart, out)
    assert {p.name for p in written} == {"hostile.parquet", "hostile.csv"} and all(p.exists() for p in written)
    assert hostile_mart.execute("select count(*) from hostile").fetchone()[0] == len(HOSTILE)   # no SQL ran


def test_sql_literal_and_identifier():
    con = duckdb.connect()
    tricky = "it's'; drop table x; --"
    assert con.execute(f"select {db.sql_literal(tricky)}").fetchone()[0] == tricky
    assert db.sql_identifier("theme_summary") == "theme_summary"
    for bad in ("x; drop table y", 'a"b', "Upper", "1abc", ""):
        with pytest.raises(ValueError):
            db.sql_identifier(bad)


def test_seeds_load_from_a_folder_with_a_quote_in_its_name(tmp_path, monkeypatch):
    seeds = tmp_path / "o'brien seeds"
    seeds.mkdir()
    (seeds / "themes.csv").write_text("theme,label\nvwi,Violence with Injury\n")
    monkeypatch.setattr(db, "SEEDS_DIR", seeds)
    con = duckdb.connect()
    db.load_seeds(con)
    assert con.execute("select * from seed_themes").fetchall() == [("vwi", "Violence with Injury")]


@pytest.mark.parametrize("name", MARKUP + ["Ravensbury & Cannon Hill", "St. Helier\n# Heading", "a_b_c `x`"])
def test_input_names_render_as_plain_text_in_markdown(name):
    rendered = markdown_it.MarkdownIt("commonmark").render(f"The ward {phrases.md_text(name)} led.")
    text = " ".join(name.split())
    assert "<img" not in rendered and "<a " not in rendered and "<em>" not in rendered and "<h1>" not in rendered
    assert "<code>" not in rendered
    # what a reader sees is the name itself
    assert rendered.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", '"') \
        == f"<p>The ward {text} led.</p>\n"


def test_top_wards_sentence_escapes_ward_names():
    con = duckdb.connect()
    con.execute("create table ward_summary (ward_code varchar, ward_name varchar, theme varchar, count bigint)")
    con.executemany("insert into ward_summary values (?, ?, 'vwi', ?)",
                    [["E1", MARKUP[0], 30], ["E2", MARKUP[1], 20], ["E3", MARKUP[2], 10]])
    sentence = sentences.top_wards_sentence(con, "vwi", "VWI")
    assert sentence.startswith("The wards with the most VWI offences were")
    assert "<img" not in sentence and "[click]" not in sentence and "*bold*" not in sentence
    assert r"&lt;img src=x onerror=alert(1)&gt; (30)" in sentence
    assert r"\[click\](javascript:alert(1)) (20)" in sentence and r"\*bold\* (10)" in sentence


# ------------------------------------------------------------------------------------------ messages

def _profile(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_PROFILE)
    return load_profile(path)


def test_a_file_without_a_header_row_is_described_by_its_width_only(tmp_path):
    path = tmp_path / "victims.csv"
    path.write_text("C1,VICTIM-SECRET-123,150,F,Zebedee Quartermaine\nC2,VB,40,M,A Person\n")
    source = open_input(path, "record_extract", "victims")
    profile = _profile(tmp_path)
    table = read_table(source, profile, "victims")
    with pytest.raises(InputError) as error:
        to_canonical(source, table, profile, "victims", b"k" * 32)
    message = error.value.message
    assert "no header row found (first row has 5 fields)" in message and "column 'Crime No'" in message
    for value in ("C1", "VICTIM-SECRET-123", "150", "Zebedee", "Quartermaine"):
        assert value not in message.replace(str(path), "")


def test_a_header_missing_one_column_still_lists_its_names(tmp_path):
    path = tmp_path / "victims.csv"
    path.write_text("Crime No,Person,Gender,Name\nC1,VICTIM-SECRET-123,F,Zebedee Quartermaine\n")
    source = open_input(path, "record_extract", "victims")
    profile = _profile(tmp_path)
    with pytest.raises(InputError, match="requires this column .*found columns Crime No, Person, Gender, Name") as error:
        to_canonical(source, read_table(source, profile, "victims"), profile, "victims", b"k" * 32)
    assert "VICTIM-SECRET" not in error.value.message and "Zebedee" not in error.value.message


def test_a_header_without_the_crime_reference_column_is_still_a_header(tmp_path):
    """No row names the crime reference column, but the first row holds other profile columns: it is a
    header with a renamed column, and its names help the analyst fix the profile."""
    path = tmp_path / "offences.csv"
    path.write_text("Crime Number,Date Rec,Class,DA,Knife,State,Extracted\nC1,15/03/2023,8N,Y,N,Confirmed,2024-01-10\n")
    source = open_input(path, "record_extract", "offences")
    profile = _profile(tmp_path)
    with pytest.raises(InputError, match="found columns Crime Number, Date Rec, Class"):
        to_canonical(source, read_table(source, profile, "offences"), profile, "offences", b"k" * 32)


def test_an_xlsx_sheet_without_a_header_row_is_described_by_its_width_only(tmp_path):
    path = tmp_path / "victims.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["C1", "VICTIM-SECRET-123", 150, "F", "Zebedee Quartermaine"])
    book.active.append(["C2", "VB", 40, "M", "A Person"])
    book.save(path)
    source = open_input(path, "record_extract", "victims")
    profile = _profile(tmp_path)
    table = read_xlsx(source, header_hint="Crime No")
    assert not table.header_found
    with pytest.raises(InputError, match=r"no header row found \(first row has 5 fields\)") as error:
        to_canonical(source, table, profile, "victims", b"k" * 32)
    assert "VICTIM-SECRET" not in error.value.message and "Zebedee" not in error.value.message


def test_an_mps_file_without_a_header_row_is_described_by_its_width_only(tmp_path):
    path = tmp_path / "mps.csv"
    path.write_text("Violence Against the Person,Violence with Injury,Tinytown,0,0,0,0\n"
                    "Theft,Other Theft,Tinytown,1,2,3,4\n")
    with pytest.raises(InputError, match=r"no header row found \(first row has 7 fields\)") as error:
        read_mps_file(open_input(path, "mps_counts", "counts"))
    assert "Tinytown" not in error.value.message and "Violence with" not in error.value.message


def test_a_header_found_by_its_hint_is_marked(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("Export banner\nRef,Date\nA,1\n")
    source = open_input(path, "record_extract", "offences")
    assert read_csv_text(source, header_hint="Ref").header_found
    assert not read_csv_text(open_input(path, "record_extract", "offences"), header_hint="Crime No").header_found


def test_validation_errors_never_quote_a_person_reference():
    spec = validation_suites.Spec("ExpectCompoundColumnsToBeUnique", {"column_list": ["extract_version", "crime_ref", "person_ref"]},
                                  "published", "a person must be listed once per crime", "duplicate_person")
    suite = validation_suites.Suite("victims", "int_people_checked", "", [spec])
    rows = pd.DataFrame({"row_id": [1, 2], "source_file": ["v.csv", "v.csv"], "crime_ref": ["C1", "C1"],
                         "extract_version": ["2024-01-10", "2024-01-10"],
                         "person_ref": ["9f86d081884c7d659a2f", "9f86d081884c7d659a2f"]})
    message = validation.Failure(suite, spec, "2 rows fail it", rows).error().message
    assert "C1: 2024-01-10" in message and "9f86d081884c7d659a2f" not in message
    age = validation_suites.Spec("ExpectColumnValuesToBeBetween", {"column": "age", "min_value": 0, "max_value": 120},
                                 "row", "ages must be between 0 and 120", "age_out_of_range")
    rows = pd.DataFrame({"row_id": [1], "source_file": ["v.csv"], "crime_ref": ["C1"], "age": [150.0]})
    assert "'C1: 150'" in validation.Failure(suite, age, "1 row", rows).error().message   # the checked value


def test_data_docs_batch_is_escaped_without_changing_verdicts():
    df = pd.DataFrame({"row_id": [1, 2, 3], "crime_ref": ["A&B", "A&amp;B", None],
                       "knife_raw": [MARKUP[0], "Y", None], "age": [1.0, None, 3.0]})
    safe = validation.docs_safe(df)
    assert safe["knife_raw"].tolist()[:2] == ["&lt;img src=x onerror=alert(1)&gt;", "Y"]
    assert safe["crime_ref"].nunique() == 2 and safe["crime_ref"].isna().sum() == 1   # still unique, nulls kept
    assert safe["age"].equals(df["age"])
