"""Readers and profiles: encodings, title rows, true line numbers, malformed lines, profile errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import openpyxl
import pytest

from pipeline.errors import InputError
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import detect_encoding, open_input
from pipeline.sources.profiles import load_profile, parse_period
from pipeline.sources.record_extract import pseudonymise, to_canonical
from pipeline.sources.xlsx_reader import read_xlsx
from tests.helpers.bad_inputs import CORPUS

HEADER = "Ref,Date,Code\n"


def _write(tmp_path: Path, data: bytes | str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _read(path: Path, **kwargs):
    source = open_input(path, "record_extract", "offences")
    return source, read_csv_text(source, **kwargs)


# ------------------------------------------------------------------------------------------ encodings

@pytest.mark.parametrize("data, encoding, text", [
    ("Ref,Note\nA,café\n".encode(), "utf-8", "café"),
    (codecs.BOM_UTF8 + "Ref,Note\nA,café\n".encode(), "utf-8-sig", "café"),
    ("Ref,Note\nA,café £5\n".encode("cp1252"), "cp1252", "café £5"),
    ("Ref,Note\nA,café\n".encode("utf-16"), "utf-16", "café"),
    (b"Ref,Note\nA,plain\n", "utf-8", "plain"),
])
def test_encodings_are_detected(tmp_path, data, encoding, text):
    source, table = _read(_write(tmp_path, data))
    assert source.encoding == encoding and table.rows == [["A", text]] and table.header == ["Ref", "Note"]


def test_declared_encoding_wins_and_bad_bytes_are_kept_for_quarantine(tmp_path):
    path = _write(tmp_path, "Ref,Note\nA,café\n".encode())
    source, table = _read(path, encoding="cp1252")
    assert (source.encoding, table.rows) == ("cp1252", [["A", "cafÃ©"]])
    path = _write(tmp_path, b"Ref,Note\nA,ok\nB,\xa3\n", "mixed.csv")
    source, table = _read(path, encoding="utf-8")
    assert [r[0] for r in table.rows] == ["A"] and source.malformed == [(3, "invalid_encoding", "bytes that are not valid utf-8")]
    assert source.rows_read == 2


def test_an_unknown_declared_encoding_is_a_profile_error(tmp_path):
    with pytest.raises(InputError, match="column 'encoding'"):
        detect_encoding(_write(tmp_path, HEADER + "A,1,2\n"), "klingon")


@pytest.mark.parametrize("data, fragment", [
    (b"PK\x03\x04rest-of-a-zip", "probably an Excel workbook"),
    (b"R\x00e\x00f\x00", "NUL bytes"),
])
def test_binary_files_are_refused(tmp_path, data, fragment):
    with pytest.raises(InputError, match=fragment):
        detect_encoding(_write(tmp_path, data))


# ------------------------------------------------------------------------------------------ CSV structure

def test_line_numbers_are_true_across_title_rows_blank_lines_and_multiline_fields(tmp_path):
    text = ('Police extract\n\nRef,Date,Note\nA,01/01/2023,"two\nlines"\n\nB,02/01/2023,x\n'
            'C,03/01/2023,x,extra\nD,04/01/2023\nE,05/01/2023,x,,\n')
    source, table = _read(_write(tmp_path, text), header_hint="Ref")
    assert table.header == ["Ref", "Date", "Note"] and table.header_line == 3
    assert [r[0] for r in table.rows] == ["A", "B", "E"] and table.lines == [4, 7, 10]
    assert source.malformed == [(8, "too_many_columns", "4 fields; the header has 3"),
                                (9, "too_few_columns", "2 fields; the header has 3")]
    assert source.rows_read == 5


def test_an_unclosed_quote_stops_the_run(tmp_path):
    text = HEADER + 'A,"01/01/2023,8N\nB,02/01/2023,8N\nC,03/01/2023,8N\n'
    with pytest.raises(InputError, match="a quote opened at line 2 runs to line 4"):
        _read(_write(tmp_path, text))


@pytest.mark.parametrize("text, fragment", [("", "must not be empty"), (HEADER, "a header only"),
                                            ("\n\n", "must have a header row and data")])
def test_empty_inputs_stop_the_run(tmp_path, text, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=fragment):
        _read(path)


def test_semicolons_and_header_search(tmp_path):
    _, table = _read(_write(tmp_path, "banner;;\nRef;Date\nA;1\n"), header_hint="ref", delimiter=";")
    assert table.header == ["Ref", "Date"] and table.rows == [["A", "1"]] and table.lines == [3]


# ------------------------------------------------------------------------------------------ XLSX

def _book(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def test_xlsx_sheet_and_header_row(tmp_path):
    path = _book(tmp_path / "x.xlsx", {"Cover": [["hello"]],
                                       "Data": [["Title"], [], ["Ref", "Date"], ["A", 45000], [], ["B", "x", "extra"]]})
    source = open_input(path, "record_extract", "offences")
    table = read_xlsx(source, "Data", 3)
    assert table.rows == [["A", "45000"]] and table.lines == [4]
    assert source.malformed == [(6, "too_many_columns", "3 fields; the header has 2")] and source.rows_read == 2
    auto = read_xlsx(open_input(path, "record_extract", "offences"), "Data", None, "ref")
    assert auto.header_line == 3 and auto.rows == table.rows
    with pytest.raises(InputError, match="the profile names sheet 'Crimes'; found sheets Cover, Data"):
        read_xlsx(open_input(path, "record_extract", "offences"), "Crimes")


# ------------------------------------------------------------------------------------------ profiles

def test_example_profile_loads():
    profile = load_profile(Path(__file__).resolve().parents[3] / "config" / "profiles" / "example_force.yaml")
    assert profile.tables["offences"]["crime_ref"] == "CRIS_Ref" and "MO_Text" in profile.drop["offences"]


PERIOD_BACKWARDS = ("extract_period: {start: 2023-02-01, end: 2023-01-01}\n"
                    "offences: {columns: {crime_ref: A, recorded_date: B, ho_code: C}}")


@pytest.mark.parametrize("text, fragment", [
    ("offences: {columns: {crime_ref: A, recorded_date: B}}", "no mapping for ho_code"),
    ("offences: {columns: {crime_ref: A, recorded_date: B, ho_code: C, shoe_size: D}}", "found shoe_size"),
    ("layout: wide\noffences: {columns: {crime_ref: A, recorded_date: B, ho_code: C}}", "expected 'linked' or 'single'"),
    ("offences: {columns: {crime_ref: A, recorded_date: B, ho_code: C}, drop: [C]}", "must never be mapped"),
    ("delimiter: '||'\noffences: {columns: {crime_ref: A, recorded_date: B, ho_code: C}}", "expected one character"),
    (PERIOD_BACKWARDS, "end must not be before the start"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    ("offences: {columns: [", "must be valid YAML"),
])
def test_profile_errors(tmp_path, text, fragment):
    path = _write(tmp_path, text, "p.yaml")
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        load_profile(path)


def test_extract_period_parses():
    assert parse_period("x", {"start": "2023-01-01", "end": "2023-12-31"})["end"].isoformat() == "2023-12-31"
    assert parse_period("x", None) == {}


def test_columns_match_ignoring_case_and_spaces_and_values_are_mapped(tmp_path):
    profile = load_profile(CORPUS / "profiles" / "corpus.yaml")
    path = _write(tmp_path, "crimeref,RECORDED,hoclass,da,knife,status,easting,northing,extracted,notes\n"
                            "C1,01/01/2023,8N,Y,n,Confirmed,1,2,2024-01-01,secret\n")
    source, table = _read(path, header_hint="CrimeRef")
    frame = to_canonical(source, table, profile, "offences", b"k" * 32).df()
    row = frame.iloc[0].to_dict()
    assert row["crime_ref"] == "C1" and row["domestic_abuse"] == "true" and row["knife"] == "false"
    assert row["status"] == "recorded" and row["source_row"] == 2 and row["extract_date"] == "2024-01-01"
    assert "secret" not in frame.astype(str).to_string()


def test_pseudonymise_is_keyed_and_stable():
    import pandas as pd

    refs = pd.Series(["V1", "V1", "V2", ""])
    a, b = pseudonymise(refs, b"key-one-0123456789"), pseudonymise(refs, b"key-two-0123456789")
    assert a[0] == a[1] != a[2] and a[3] is None and a[0] != b[0] and "V1" not in a[0] and len(a[0]) == 20
