"""Theme definitions: HO codes and MPS category texts map onto the themes of DESIGN §6.1."""

from __future__ import annotations

import pytest

from pipeline import seeds
from pipeline.transform import db


@pytest.fixture(scope="module")
def con():
    con = db.connect()
    db.load_seeds(con)
    db.load_macros(con)
    yield con
    con.close()


def themes_for_code(con, code: str, **conditions) -> set[str]:
    """Themes a crime with this code belongs to, given which conditions hold."""
    rows = con.execute(
        "select theme, coalesce(condition, '') from seed_ho_code_themes where ho_code = norm_ho_code(?) or ho_code = '*'",
        [code]).fetchall()
    return {theme for theme, condition in rows if condition == "" or conditions.get(condition, False)}


@pytest.mark.parametrize("code, expected", [
    ("8N", {"all_crime", "vap", "vwi"}),
    ("5D", {"all_crime", "vap", "vwi"}),
    ("8T", {"all_crime", "vap", "vwi"}),
    ("3B", {"all_crime", "vap"}),                       # threats to kill: violence without injury
    ("105A", {"all_crime", "vap"}),
    ("4/1", {"all_crime", "vap", "homicide"}),
    ("4.1", {"all_crime", "vap", "homicide"}),          # the ONS file's dot notation
    ("4/4", {"all_crime", "vap"}),                      # death by dangerous driving is not homicide
    ("34B", {"all_crime", "personal_robbery"}),
    ("34A", {"all_crime"}),                             # business robbery is outside the SV definition
    ("19C", {"all_crime", "sexual_offences", "rape", "serious_violence"}),
    ("20A", {"all_crime", "sexual_offences", "serious_violence"}),
    ("88E", {"all_crime", "sexual_offences", "serious_violence"}),
    ("49", {"all_crime"}),
    ("10D", {"all_crime"}),                             # possession of a blade is not "knife crime"
])
def test_ho_code_themes(con, code, expected):
    assert themes_for_code(con, code) == expected


def test_flag_and_age_conditions(con):
    assert "knife_crime" in themes_for_code(con, "8N", knife_flag=True)
    assert "knife_crime" in themes_for_code(con, "34A", knife_flag=True)        # robbery of any kind
    assert "knife_crime" not in themes_for_code(con, "49", knife_flag=True)     # not a selected offence
    assert "domestic_abuse" in themes_for_code(con, "58A", domestic_abuse_flag=True)
    assert "serious_violence" in themes_for_code(con, "8N", person_under_25=True)
    assert "serious_violence" not in themes_for_code(con, "8N")
    assert "serious_violence" in themes_for_code(con, "105A", domestic_abuse_flag=True)   # DA-flagged violence
    assert "serious_violence" not in themes_for_code(con, "105A", person_under_25=True)   # common assault: not SV core


def test_seed_consistency():
    codes = {r["ho_code"]: r for r in seeds.read_seed("ho_offence_codes")}
    rules = seeds.read_seed("ho_code_themes")
    all_crime = {r["ho_code"] for r in rules if r["theme"] == "all_crime"}
    assert all_crime == set(codes)
    assert {r["condition"] for r in rules} <= {"", "domestic_abuse_flag", "knife_flag", "person_under_25"}
    assert {r["ho_code"] for r in rules} - {"*"} <= set(codes)
    vap = {r["ho_code"] for r in rules if r["theme"] == "vap"}
    assert vap == {c for c, r in codes.items() if r["offence_group"] == "Violence against the person"}
    themes = {r["theme"] for r in seeds.themes()}
    assert {r["theme"] for r in rules} == themes


def mps_themes(con, major: str, minor: str) -> set[str]:
    rows = con.execute("select theme from seed_mps_category_themes where norm_text(major_text) = norm_text(?) "
                       "and norm_text(minor_text) = norm_text(?) and theme is not null", [major, minor]).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("major, minor, expected", [
    ("Violence Against the Person", "Violence with Injury", {"all_crime", "vap", "vwi"}),
    ("VIOLENCE AGAINST THE PERSON", "VIOLENCE WITH INJURY", {"all_crime", "vap", "vwi"}),   # 2024+ classification
    ("Violence Against the Person", "Homicide", {"all_crime", "vap", "homicide"}),
    ("Robbery", "Robbery of Personal Property", {"all_crime", "personal_robbery"}),
    ("ROBBERY", "ROBBERY OF BUSINESS PROPERTY", {"all_crime"}),
    ("Sexual Offences", "Rape", {"all_crime", "sexual_offences", "rape"}),
    ("SEXUAL OFFENCES", "OTHER SEXUAL OFFENCES", {"all_crime", "sexual_offences"}),
    ("Theft", "Theft from Person", {"all_crime"}),
    ("THEFT", "THEFT FROM THE PERSON", {"all_crime"}),
    ("BURGLARY", "BURGLARY - RESIDENTIAL", {"all_crime"}),
    ("NFIB FRAUD", "NFIB", set()),                                  # Action Fraud: outside TNO
    ("Miscellaneous Crimes Against Society", "Disclosure,  obstruction, false or misleading state", {"all_crime"}),
])
def test_mps_category_themes(con, major, minor, expected):
    assert mps_themes(con, major, minor) == expected


@pytest.mark.parametrize("text, expected", [
    ("15/03/2023", "2023-03-15 00:00:00"),
    ("15/03/2023 21:30", "2023-03-15 21:30:00"),
    ("2023-03-15", "2023-03-15 00:00:00"),
    ("2023-03-15T21:30:00", "2023-03-15 21:30:00"),
    ("44927", "2023-01-01 00:00:00"),                   # Excel serial day
    ("31/02/2023", None),
    ("soon", None),
    ("15/03/2023 21:3", "2023-03-15 21:03:00"),        # stops before a format's ':' (the 1.5.5 over-read shape)
    ("15/03/2023 21:", None),
    ("15/03/2023   21:30", "2023-03-15 21:30:00"),     # a run of spaces matches the format's space
    ("\t15.03.2023\t", "2023-03-15 00:00:00"),          # trim() keeps tabs; strptime skips them
    ("15-03-2023 21:30", "2023-03-15 21:30:00"),
    ("infinity", None),                                 # DuckDB's special (1.5.5 made it 1900-01-01): unreadable
    ("\t" * 14, None),
])
def test_parse_timestamp(con, text, expected):
    value = con.execute("select cast(parse_timestamp(?) as varchar)", [text]).fetchone()[0]
    assert value == expected


@pytest.mark.parametrize("raw, code", [("8N", "8N"), (" 8n ", "8N"), ("4.10", "4/10"), ("004/01", "4/1"),
                                       ("008N", "8N"), ("", None)])
def test_norm_ho_code(con, raw, code):
    assert con.execute("select norm_ho_code(?)", [raw]).fetchone()[0] == code


def test_formulas(con):
    assert con.execute("select pct_change(1421, 1222)").fetchone()[0] == 16.3
    assert con.execute("select pct_change(5, 0)").fetchone()[0] is None
    assert con.execute("select poisson_z(25, 16)").fetchone()[0] == 2.0        # Wheeler's example: +56% but Z = 2
    assert con.execute("select pct(1, 0)").fetchone()[0] is None


TEXT_COLUMNS = {"theme", "label", "short_label", "sort_order", "record_extract_definition", "mps_counts_definition",
                "none_phrase", "rate_label"}


def test_theme_policy_columns_hold_true_or_false():
    rows = seeds.themes()
    flags = set(rows[0]) - TEXT_COLUMNS
    assert {"sensitive", "in_narrative", "in_funnels"} <= flags
    bad = [(r["theme"], c, r[c]) for r in rows for c in flags if r[c] not in ("true", "false")]
    assert bad == []


def test_theme_policy_is_read_from_the_seed_in_sort_order():
    assert seeds.themes_where("sensitive") == ("sexual_offences", "rape", "domestic_abuse")
    assert seeds.themes_where("overall") == ("all_crime",)
    assert [int(r["sort_order"]) for r in seeds.themes()] == sorted(int(r["sort_order"]) for r in seeds.themes())
    assert seeds.theme_policy("homicide")["none_phrase"] == "homicides"
    assert seeds.theme_policy("not_a_theme") == {}
