"""The DuckDB-native reader: pseudonyms computed in SQL equal Python's HMAC, line numbers stay true
across chunk edges, stray quotes and recovered rows, the encoding is re-checked beyond the byte
sample, and nothing but the profile's columns (and no reject text) is left in the database."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.sources import csv_reader, files
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import open_input
from pipeline.sources.mps_counts import read_mps_file
from pipeline.sources.profiles import load_profile
from pipeline.sources.record_extract import hmac_pads, pseudonym_sql, pseudonymise, read_table, to_canonical
from tests.helpers.bad_inputs import CORPUS


def _read(tmp_path, data: bytes | str, **kwargs):
    path = tmp_path / "f.csv"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    source = open_input(path, "record_extract", "offences")
    return source, read_csv_text(source, **kwargs)


@pytest.mark.parametrize("key", [b"k" * 32, bytes(range(32)), b"a-long-key-" * 10])
def test_sql_pseudonyms_equal_python_hmac(key):
    values = ["V1", "VICTIM-SECRET-001", "café ü", "x" * 300]
    inner, outer = hmac_pads(key)
    con = duckdb.connect()
    con.execute("create table refs (ref varchar)")
    con.executemany("insert into refs values (?)", [[v] for v in values] + [[None]])
    got = [r[0] for r in con.execute(f"select {pseudonym_sql('ref')} from refs order by rowid",
                                     {"hmac_inner": inner, "hmac_outer": outer}).fetchall()]
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:20] for v in values]
    assert got == expected + [None]
    assert got[:-1] == list(pseudonymise(pd.Series(values), key))


TRICKY = ('Police extract\n\nRef,Date,Note\nA,01/01/2023,"two\nlines"\n\nB,02/01/2023,"x ""quoted"", y"\n'
          'C,03/01/2023,x,extra\nD,04/01/2023\nE,05/01/2023,x,,\n , , \nF,06/01/2023,"a\r\n\r\nb"\nG,07/01/2023,z')


@pytest.mark.parametrize("chunk", [3, 7, 1 << 24])
def test_line_numbers_are_true_across_scan_chunk_edges(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(csv_reader, "SCAN_CHUNK_BYTES", chunk)
    source, table = _read(tmp_path, TRICKY, header_hint="Ref")
    assert table.header_line == 3
    assert [r[0] for r in table.rows] == ["A", "B", "E", "F", "G"] and table.lines == [4, 7, 10, 12, 15]
    assert table.rows[1][2] == 'x "quoted", y'
    assert source.malformed == [(8, "too_many_columns", "4 fields; the header has 3"),
                                (9, "too_few_columns", "2 fields; the header has 3")]
    assert source.rows_read == 7


def test_a_stray_quote_inside_an_unquoted_field_keeps_line_numbers(tmp_path):
    """DuckDB, like Python's csv module, reads a quote inside an unquoted field as text; the byte
    scan's quote parity is then wrong and the csv module recounts the lines."""
    source, table = _read(tmp_path, 'Ref,Note\nA,5" tall\nB,"two\nlines"\nC,plain\nD,6" wide\nE,end\n')
    assert [r[0] for r in table.rows] == ["A", "B", "C", "D", "E"] and table.lines == [2, 3, 5, 6, 7]
    assert table.rows[0][1] == '5" tall' and not source.malformed


def test_trailing_blank_cells_still_fit_the_header(tmp_path):
    source, table = _read(tmp_path, "Ref,Date,Note\nA,1,x, ,\t\nB,2,y\nC,3,z, ,w\n")
    assert table.rows == [["A", "1", "x"], ["B", "2", "y"]] and table.lines == [2, 3]
    assert source.malformed == [(4, "too_many_columns", "5 fields; the header has 3")]


def test_windows_1252_beyond_the_byte_sample_is_still_detected(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SAMPLE_BYTES", 64)
    body = "".join(f"R{i},plain text\n" for i in range(20))
    source, table = _read(tmp_path, ("Ref,Note\n" + body + "R99,caf\xe9 \xa35\n").encode("cp1252"))
    assert source.encoding == "cp1252" and table.rows[-1] == ["R99", "café £5"] and not source.malformed
    assert table.lines[-1] == 22


def test_utf8_with_a_bad_byte_beyond_the_sample_quarantines_that_line(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SAMPLE_BYTES", 64)
    body = "".join(f"R{i},caf\u00e9\n" for i in range(20))
    source, table = _read(tmp_path, ("Ref,Note\n" + body).encode() + b"R99,\xa3\nR100,ok\n")
    assert source.encoding == "utf-8" and table.lines[-1] == 23 and len(table.rows) == 21
    assert source.malformed == [(22, "invalid_encoding", "bytes that are not valid utf-8")]


def test_bytes_windows_1252_cannot_read_are_quarantined(tmp_path):
    source, table = _read(tmp_path, b"Ref,Note\nA,\xa3\nB,\x81\nC,ok\n", encoding="cp1252")
    assert table.rows == [["A", "£"], ["C", "ok"]] and table.lines == [2, 4]
    assert source.malformed == [(3, "invalid_encoding", "bytes that are not valid cp1252")]


def test_a_quote_closed_far_below_stops_the_run(tmp_path):
    text = 'Ref,Date,Code\nA,"01/01/2023,8N\nB,02/01/2023,8N\nC,03/01/2023",8N\nD,04/01/2023,8N\n'
    with pytest.raises(InputError, match="a quote opened at line 2 runs to line 4, swallowing 2 row"):
        _read(tmp_path, text)


def test_only_profile_columns_are_stored_and_temporary_tables_are_dropped(tmp_path):
    profile = load_profile(CORPUS / "profiles" / "corpus.yaml")
    path = CORPUS / "p01_personal_data" / "victims.csv"
    source = open_input(path, "record_extract", "victims")
    con = duckdb.connect()
    table = read_table(source, profile, "victims", con)
    stored = con.execute("select table_name, column_name from information_schema.columns "
                         "where table_name like '\\_csv%' escape '\\'").fetchall()
    assert stored and len({c for _, c in stored if c.startswith("c")}) == len(table.kept) < len(table.header)
    frame = to_canonical(source, table, profile, "victims", b"k" * 32).df()
    assert len(frame) == 2 and frame["person_ref"].str.fullmatch(r"[0-9a-f]{20}").all()
    table.close()
    left = con.execute("select table_name from information_schema.tables where table_name like '\\_%' escape '\\'").fetchall()
    assert left == []


def test_mps_months_are_unpivoted_in_sql_keeping_blank_cells(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("MajorText,MinorText,LookUp_BoroughName,202301,202302\n"
                    "Robbery,Robbery of Personal Property,Tinytown,3,\nTheft,Other Theft,Tinytown,1,2,9\n"
                    "Theft,Bicycle Theft,Tinytown,4,5\n")
    source = open_input(path, "mps_counts", "counts")
    con = duckdb.connect()
    sql, params, table = read_mps_file(source, con)
    rows = con.execute(f"select source_row, minor_text, month, count from ({sql}) order by 1, 3", params).fetchall()
    assert rows == [(2, "Robbery of Personal Property", "202301", "3"), (2, "Robbery of Personal Property", "202302", ""),
                    (4, "Bicycle Theft", "202301", "4"), (4, "Bicycle Theft", "202302", "5")]
    assert source.malformed == [(3, "too_many_columns", "6 fields; the header has 5")] and source.rows_read == 5
    table.close()
