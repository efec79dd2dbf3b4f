"""data.police.uk street files (limited mode) on a hand-made fixture, every line counted by hand.

tests/data/police_uk/2023-01-tinyshire-street.csv, by line:
  2 c1 Burglary, LSOA E01000001 (ward Alpha), point in the Alpha box      loaded
  3 c2 month 2023-13                                                      invalid_month
  4 c3 blank crime type                                                   missing_crime_type
  5 c4 longitude 'abc'                                                    invalid_coordinates
  6 c5 five fields                                                        too_few_columns (malformed)
  7 (blank line: not a record)
  8 anti-social behaviour, no Crime ID, Alpha                             loaded, in no theme
  9 c6 Violence and sexual offences, no location                          loaded (no_location)
 10 c1 again                                                              duplicate_crime_id
 11 c7 Robbery, 2023-02, LSOA E01000002 (ward Beta), point in the Beta box loaded
 12 c8 Drugs, Otherton Police, LSOA not in the lookup, point in no ward   loaded (outside_wards)
 13 c9 crime type 'Shopliftng'                                            unknown_crime_type
 14 c10 thirteen fields                                                   too_many_columns (malformed)
12 data lines = 5 loaded + 7 quarantined.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.checks import gates
from pipeline.errors import InputError
from pipeline.settings.config import load_config
from pipeline.sources.police_uk import LAYOUT, create_raw_tables, ingest_police_uk
from pipeline.transform import assessment, db

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "police_uk"
STREET = FIXTURE / "2023-01-tinyshire-street.csv"
MARTS = ["theme_summary", "ward_hotspots", "quarantine_summary", "quarantine", "police_uk_location_summary",
         "police_uk_crime_types", "theme_monthly"]


def _config(tmp_path: Path, area: str, reference: dict) -> Path:
    config = {"area": {"name": area}, "comparator": {"name": "Otherton Police"}, "period": {"calendar_year": 2023},
              "inputs": [{"kind": "police_uk", "paths": [str(FIXTURE / "*-street.csv")]}],
              "reference": {k: str(FIXTURE / v) for k, v in reference.items()}, "output": str(tmp_path / "out")}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _build(tmp_path: Path, area: str, reference: dict):
    cfg = load_config(_config(tmp_path, area, reference))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.prepare(con, cfg, "test-run")
    db.run_models(con, select=MARTS, upstream=True)
    return con, cfg


@pytest.fixture
def by_force(tmp_path):
    """Area = the force 'Tinyshire Police'; wards from the LSOA lookup only (no polygons)."""
    con, cfg = _build(tmp_path, "Tinyshire Police", {"lsoa_to_ward": "lsoa_to_ward.csv"})
    yield con, cfg
    con.close()


def test_every_line_is_loaded_or_quarantined_with_its_line_number(by_force):
    con, cfg = by_force
    quarantined = con.execute("select source_row, rule from quarantine order by source_row").fetchall()
    assert quarantined == [(3, "invalid_month"), (4, "missing_crime_type"), (5, "invalid_coordinates"),
                           (6, "too_few_columns"), (10, "duplicate_crime_id"), (13, "unknown_crime_type"),
                           (14, "too_many_columns")]
    # loaded rows are keyed by their place in the read (row_id): the first record of the file is line 2
    loaded = con.execute("select stg.row_id, stg.crime_ref from int_police_uk_located join stg_police_uk as stg "
                         "using (row_id) order by row_id").fetchall()
    assert loaded == [(0, "c1"), (4, None), (5, "c6"), (7, "c7"), (8, "c8")]   # lines 2, 8, 9, 11, 12
    summary = con.execute("select input_table, rows_read, rows_in, rows_loaded, rows_superseded, rows_quarantined, "
                          "reconciled from quarantine_summary").fetchall()
    assert summary == [("crimes", 12, 12, 5, 0, 7, True)]
    gates.check_reconciliation(con, cfg.__class__(**{**cfg.__dict__, "quarantine_threshold_pct": 100.0}))


def test_free_text_is_never_loaded(by_force):
    con, _ = by_force
    columns = {r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 'raw_police_uk'")
               .fetchall()}
    assert not {"location", "context", "Location", "Context"} & columns
    dump = " ".join(str(v) for t in ("raw_police_uk", "stg_police_uk", "quarantine", "raw_rejects")
                    for row in con.execute(f"select * from {t}").fetchall() for v in row)
    assert "Secret Street" not in dump and "private, context" not in dump and "Hidden Lane" not in dump
    assert not con.execute("select count(*) from duckdb_tables() where table_name like 'police_uk_reject%'").fetchone()[0]


def test_force_area_counts_notifiable_crimes_once_and_limited_mode_is_said(by_force):
    con, _ = by_force
    rows = {r[0]: r[1:] for r in con.execute(
        "select theme, count, previous_count, comparator_pct_change, victims_u25_pct, suspects_u25_pct, definition "
        "from theme_summary").fetchall()}
    # c1 burglary, c6 violence and sexual offences, c7 robbery; ASB and Otherton's c8 are not the area's crimes
    assert set(rows) == {"all_crime", "vap", "personal_robbery"}
    assert rows["all_crime"][:5] == (3, 0, None, None, None)
    assert rows["vap"][0] == 1 and rows["personal_robbery"][0] == 1
    for theme, (*_, definition) in rows.items():
        assert "source: police_uk" in definition and "limited mode" in definition, theme
        assert "data.police.uk files carry no ages" in definition
    assert "includes robbery of business property" in rows["personal_robbery"][-1]
    assert "cannot be split" in rows["vap"][-1]
    assert "Anti-social behaviour (not notifiable)" in rows["all_crime"][-1]
    # the comparator force: c8 in 2023-02, nothing in 2022
    assert con.execute("select count from theme_monthly where source = 'police_uk' and area_role = 'comparator' "
                       "and theme = 'all_crime'").fetchall() == [(1,)]


def test_rows_without_a_location_are_counted_and_reported(by_force):
    con, _ = by_force
    got = {r[0]: r[1:] for r in con.execute(
        "select location_method, rows, area_rows, area_crimes from police_uk_location_summary").fetchall()}
    assert got == {"point_in_polygon": (0, 0, 0), "lsoa_best_fit": (3, 3, 2), "outside_wards": (1, 0, 0),
                   "no_location": (1, 1, 1)}
    wards = dict(con.execute("select ward_code, count from int_ward_period_counts where source = 'police_uk' "
                             "and theme = 'all_crime' and period_role = 'current'").fetchall())
    assert wards == {"E05000001": 1, "E05000002": 1, None: 1}   # c6 has no location: in the area, in no ward
    # two months of files for a calendar year: ward counts are null, never a partial year passed off as whole
    assert set(con.execute("select count, count_basis from ward_hotspots where theme = 'all_crime'").fetchall()) == {
        (None, "not covered: inputs hold 2 of 12 months on these wards")}
    types = con.execute("select crime_type, strftime(month_start, '%Y-%m'), count, no_location, themes "
                        "from police_uk_crime_types order by 1, 2").fetchall()
    assert types == [("Anti-social behaviour", "2023-01", 1, 0, None), ("Burglary", "2023-01", 1, 0, "all_crime"),
                     ("Robbery", "2023-02", 1, 0, "all_crime, personal_robbery"),
                     ("Violence and sexual offences", "2023-01", 1, 1, "all_crime, vap")]


def test_ward_area_places_points_in_polygons_before_lsoas(tmp_path):
    """Area 'Alphaborough' is no force: it is the rows placed on its wards (polygons, then LSOA lookup)."""
    con, _ = _build(tmp_path, "Alphaborough", {"wards": "wards.geojson", "lsoa_to_ward": "lsoa_to_ward.csv"})
    methods = dict(con.execute("select crime_ref, location_method from int_police_uk_located "
                               "join stg_police_uk using (row_id) where crime_ref is not null").fetchall())
    assert methods == {"c1": "point_in_polygon", "c6": "no_location", "c7": "point_in_polygon", "c8": "outside_wards"}
    counts = dict(con.execute("select theme, count from theme_summary").fetchall())
    assert counts["all_crime"] == 2       # c1 and c7 on the wards; c6 (no location) and c8 (elsewhere) are not
    assert "area: wards" in con.execute("select definition from theme_summary where theme = 'all_crime'").fetchone()[0]
    con.close()


def test_a_file_with_another_layout_is_refused_naming_the_column(tmp_path):
    bad = tmp_path / "2023-01-x-street.csv"
    bad.write_text(",".join(c if c != "Crime type" else "Offence" for c in LAYOUT) + "\nc1" + "," * 11 + "\n")
    with pytest.raises(InputError, match="Crime type") as err:
        ingest_police_uk(db.connect(), [bad])
    assert "'Offence'" in str(err.value)


def test_an_unclosed_quote_stops_the_run_rather_than_losing_lines(tmp_path):
    unclosed = '"On or near C'
    rows = [",".join(LAYOUT)] + [f"q{i},2023-01,T,T,-0.19,51.41,{unclosed if i == 2 else 'On or near A'},"
                                 "E01000001,X,Burglary,Under investigation," for i in range(1, 5)]
    bad = tmp_path / "2023-01-q-street.csv"
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match="4 data lines but [0-3] records read"):
        ingest_police_uk(db.connect(), [bad])


def test_the_same_file_listed_twice_is_read_once(tmp_path):
    copy = tmp_path / "copy-street.csv"
    copy.write_bytes(STREET.read_bytes())
    con = db.connect()
    files = ingest_police_uk(con, [STREET, copy])
    assert [f.duplicate_of for f in files] == [None, str(STREET)]
    assert con.execute("select count(distinct file_id), count(*) from raw_police_uk").fetchone() == (1, 10)


def test_a_month_is_read_exactly_when_it_is_a_real_yyyy_mm():
    """Staging reads a month without a regular expression; it must accept the same strings as the rule's
    pattern (19|20)[0-9]{2}-(0[1-9]|1[0-2]), spaces at either end aside."""
    months = ["2023-01", "2023-12", "1999-07", " 2023-02 ", "2023-13", "2023-00", "2023-1", "02023-1", "2023/01",
              "20-3-01", "1899-12", "2100-01", "2023-1x", "20a3-01", "2023-01-01", "", "2023- 1", "+023-01",
              "2023-+1", "-023-01", "2023-1 ", "19 9-01", "2023-0a", "١٩٩٩-01", "1999-9-", "2023-3/", "2023-1-",
              None]
    con = db.connect()
    create_raw_tables(con)
    db.load_macros(con)
    con.executemany("insert into raw_police_uk (file_id, month) values (0, ?)", [(m,) for m in months])
    got = con.execute(f"select month_start, month_raw from ({db.load_models()['stg_police_uk'].sql}) "
                      "order by row_id").fetchall()
    expected = con.execute("""
        select case when regexp_full_match(trim(month), '(19|20)[0-9]{2}-(0[1-9]|1[0-2])')
                    then cast(strptime(trim(month) || '-01', '%Y-%m-%d') as date) end
        from raw_police_uk order by rowid""").fetchall()
    assert [start for start, _ in got] == [start for (start,) in expected]
    assert sum(start is not None for start, _ in got) == 4
    assert [raw for start, raw in got if start is None] == months[4:-1] + [None]
