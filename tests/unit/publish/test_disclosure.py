"""Disclosure control (issue 12 item 2) on hand-made tables small enough to check by eye: primary and
sensitive thresholds, zeros, derived columns, the secondary rule, base-under-10 percentages, rounding,
mirrors, unclassified columns and the log. The attack on a whole demo run is in
tests/integration/test_public_tier.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.publish import disclosure
from pipeline.publish.disclosure_rules import Pct, TableRule, row_keys
from pipeline.publish.disclosure_suppression import suppress_frames
from pipeline.settings.config import DisclosureSettings as Settings

WARD_RULE = TableRule(
    counts=("count", "previous_count"),
    derived={"count": ("change", "pct_change", "share_pct"), "previous_count": ("change", "pct_change")},
    groups=(("count", ("theme",)), ("previous_count", ("theme",))),
    small_area=True)


def wards(theme: str, counts: list[int], previous: list[int] | None = None) -> pd.DataFrame:
    previous = previous or [20] * len(counts)
    return pd.DataFrame({
        "ward_code": [f"W{i}" for i in range(len(counts))],
        "theme": theme,
        "count": counts,
        "previous_count": previous,
        "change": [c - p for c, p in zip(counts, previous)],
        "pct_change": [round((c - p) / p * 100, 1) for c, p in zip(counts, previous)],
        "share_pct": [round(c / sum(counts) * 100, 1) for c in counts],
    })


DEFAULT_SETTINGS = Settings()


def run(frame: pd.DataFrame, rule: TableRule = WARD_RULE, settings: Settings = DEFAULT_SETTINGS, name: str = "t",
        key=("ward_code", "theme")):
    public, log = suppress_frames({name: frame}, {name: key}, settings, rules={name: rule}, mirrors=())
    return public[name], log


def by_ward(public: pd.DataFrame, column: str) -> dict:
    return dict(zip(public["ward_code"], public[column]))


def test_counts_of_1_to_4_are_suppressed_and_zero_and_5_are_shown():
    rule = TableRule(counts=("count",))
    frame = pd.DataFrame({"ward_code": [f"W{i}" for i in range(7)], "theme": "vwi", "count": [0, 1, 2, 3, 4, 5, 6]})
    public, log = run(frame, rule)
    assert by_ward(public, "count") == {"W0": 0, "W1": None, "W2": None, "W3": None, "W4": None, "W5": 5, "W6": 6}
    assert set(log["rule"]) == {"primary_small_count"} and len(log) == 4


def test_sensitive_themes_at_ward_level_need_10_but_other_themes_and_area_tables_need_5():
    frame = pd.concat([wards("rape", [7, 30, 40]), wards("vwi", [7, 30, 40])], ignore_index=True)
    public, log = run(frame)
    rape, vwi = public[public.theme == "rape"], public[public.theme == "vwi"]
    assert rape["count"].tolist()[0] is None and vwi["count"].tolist() == [7, 30, 40]
    assert log.loc[(log.column_name == "count") & log.row_key.eq("W0 | rape"), "rule"].tolist() == \
        ["primary_sensitive_small_count"]
    area_level = TableRule(counts=("count",))   # not small_area: the borough's rape count of 7 is shown
    public, _ = run(wards("rape", [7, 30, 40]), area_level)
    assert public["count"].tolist() == [7, 30, 40]
    public, _ = run(wards("rape", [7, 30, 40]), settings=Settings(sensitive_min_count=7))
    assert public["count"].tolist()[0] == 7          # the threshold is the config's


def test_a_lone_suppressed_ward_gets_a_partner_so_the_total_cannot_give_it_back():
    public, log = run(wards("vwi", [3, 12, 8, 20]))
    counts = by_ward(public, "count")
    assert counts == {"W0": None, "W1": 12, "W2": None, "W3": 20}     # 8: the smallest other cell
    assert log.set_index(["row_key", "column_name"]).loc[("W2 | vwi", "count"), "rule"] == "secondary"
    # 43 (the total) - 12 - 20 = 11 = W0 + W2: neither can be told


def test_the_secondary_cell_is_the_smallest_non_zero_one_zeros_stay_shown():
    public, _ = run(wards("vwi", [3, 0, 15, 9]))
    assert by_ward(public, "count") == {"W0": None, "W1": 0, "W2": 15, "W3": None}


def test_a_zero_is_suppressed_only_when_no_other_cell_is_left():
    public, _ = run(wards("vwi", [3, 0]))
    assert by_ward(public, "count") == {"W0": None, "W1": None}


def test_two_suppressed_cells_need_no_third():
    public, _ = run(wards("vwi", [3, 2, 15, 9]))
    assert by_ward(public, "count") == {"W0": None, "W1": None, "W2": 15, "W3": 9}


def test_columns_derived_from_a_suppressed_count_are_suppressed_too():
    public, _ = run(wards("vwi", [3, 12, 8, 20]))
    row = public.set_index("ward_code").loc["W0"]
    # count = previous_count + change, and count = previous_count x (1 + pct_change / 100): both gone
    assert row["change"] is None and row["pct_change"] is None and row["share_pct"] is None
    assert row["previous_count"] == 20                                  # the previous count is not small
    assert public.set_index("ward_code").loc["W1", "change"] == -8      # untouched rows keep every column


def test_a_small_previous_count_takes_the_change_with_it():
    public, _ = run(wards("vwi", [30, 31, 40], previous=[2, 30, 30]))
    row = public.set_index("ward_code").loc["W0"]
    assert row["previous_count"] is None and row["change"] is None and row["pct_change"] is None
    assert row["count"] == 30


def test_no_percentage_on_a_base_under_10():
    rule = TableRule(counts=("victims", "victims_u25"), pcts={"victims_u25_pct": Pct("victims_u25", "victims")})
    frame = pd.DataFrame({"ward_code": ["A", "B", "C"], "theme": "vwi", "victims": [8, 10, 40],
                          "victims_u25": [6, 6, 3], "victims_u25_pct": [75.0, 60.0, 7.5]})
    public, log = run(frame, rule)
    assert public["victims_u25_pct"].tolist() == [None, 60.0, None]    # A: base 8; C: numerator 3 suppressed
    rules = log.set_index(["row_key", "column_name"])["rule"]
    assert rules[("A | vwi", "victims_u25_pct")] == "base_under_10"
    assert rules[("C | vwi", "victims_u25_pct")] == "secondary"


def test_a_share_of_a_small_group_total_is_not_shown():
    rule = TableRule(counts=("count",), pcts={"pct_of_role": Pct("count", "group_sum:count")},
                     groups=(("count", ("theme",)),))
    frame = pd.DataFrame({"ward_code": ["F", "M", "X"], "theme": ["rape", "rape", "vwi"], "count": [5, 3, 12],
                          "pct_of_role": [62.5, 37.5, 100.0]})
    public, _ = run(frame, rule)
    assert public["pct_of_role"].tolist() == [None, None, 100.0]       # rape's base is 8


def test_rounding_to_5_keeps_the_change_identity():
    public, log = run(wards("vwi", [12, 13, 17, 40], previous=[22, 20, 30, 41]), settings=Settings(round_to=5))
    assert public["count"].tolist() == [10, 15, 15, 40]
    assert public["previous_count"].tolist() == [20, 20, 30, 40]
    assert public["change"].tolist() == [-10, -5, -15, 0]
    assert {("*", "count", "rounded"), ("*", "change", "rounded")} <= set(
        zip(log.row_key, log.column_name, log["rule"]))


def test_suppressed_cells_stay_suppressed_when_rounding():
    public, _ = run(wards("vwi", [3, 12, 8, 20]), settings=Settings(round_to=5))
    assert public["count"].tolist() == [None, 10, None, 20]


def test_a_cell_suppressed_in_one_table_is_suppressed_where_it_is_published_again():
    a = wards("vwi", [3, 12, 8, 20])
    b = a[["ward_code", "theme", "count"]].copy()
    rule_b = TableRule(counts=("count",))   # no group in b: only the mirror can protect its cells
    public, _ = suppress_frames({"a": a, "b": b}, {"a": ("ward_code", "theme"), "b": ("ward_code", "theme")},
                                Settings(), rules={"a": WARD_RULE, "b": rule_b},
                                mirrors=(("a", "b", ("ward_code", "theme"), ("count",)),))
    assert public["b"]["count"].tolist() == [None, 12, None, 20]       # W2's 8 would undo a's secondary


def test_a_numeric_column_no_rule_names_is_withheld():
    frame = wards("vwi", [30, 40]).assign(new_measure=[1.5, 2.5])
    public, log = run(frame)
    assert public["new_measure"].tolist() == [None, None]
    assert set(log.loc[log.column_name == "new_measure", "rule"]) == {"unclassified_column"}


def test_the_log_has_one_row_per_suppressed_cell_keyed_by_the_unique_key():
    public, log = run(wards("vwi", [3, 12, 8, 20]))
    nulls = int(public[["count", "previous_count", "change", "pct_change", "share_pct"]].isna().sum().sum())
    assert len(log) == nulls == 8      # two rows: count, change, pct_change and share_pct each
    assert set(log.row_key) == {"W0 | vwi", "W2 | vwi"}
    assert list(log.columns) == ["table_name", "row_key", "column_name", "rule"]


def test_a_row_key_writes_dates_as_days_and_nulls_as_blanks_in_key_order():
    frame = pd.DataFrame({"area": ["A", None, "C"], "month": pd.to_datetime(["2024-01-01", "2024-02-01", None]),
                          "year": [2023.0, None, 2024.0], "rank": pd.array([1, None, 3], dtype="Int64")})
    assert row_keys(frame, ["area", "month", "year", "rank"]).tolist() == [
        "A | 2024-01-01 | 2023.0 | 1", " | 2024-02-01 |  | ", "C |  | 2024.0 | 3"]
    assert row_keys(frame, []).tolist() == ["", "", ""]


def _settings(raw: dict):
    from pipeline.settings.config_sections import parse_disclosure, parse_tiers

    return parse_disclosure(Path("run.yaml"), raw), parse_tiers(Path("run.yaml"), raw)


def test_settings_and_tiers_come_from_the_config_with_defaults_and_are_checked():
    assert _settings({}) == (Settings(5, 10, None), ("restricted",))
    assert _settings({"disclosure": {"round_to": 5}})[0].round_to == 5
    assert _settings({"tiers": ["public", "restricted"]})[1] == ("restricted", "public")
    with pytest.raises(InputError, match="disclosure.min_count"):
        _settings({"disclosure": {"min_count": 0}})
    with pytest.raises(InputError, match="sensitive_min_count"):
        _settings({"disclosure": {"min_count": 10, "sensitive_min_count": 5}})
    with pytest.raises(InputError, match="tiers"):
        _settings({"tiers": ["open"]})


def test_no_point_or_record_level_table_is_published():
    from pipeline.publish import catalog

    not_public = {name for name, mart in catalog.MARTS.items() if not mart.public}
    assert {"grid_hotspots", "quarantine", "input_files"} <= not_public


def test_a_group_whose_suppressed_cells_are_all_ones_gets_a_zero_suppressed_too():
    # two 1s in a group of 40: the total minus the published cells is 2, so both would be 1s
    frame = pd.DataFrame({"ward_code": [f"W{i}" for i in range(5)], "theme": "vwi", "count": [1, 0, 1, 20, 18]})
    public, log = run(frame, TableRule(counts=("count",), groups=(("count", ("theme",)),)))
    # the zero hides which of three hold the 2; the audit adds 18 (else each cell is at most 2, never 5)
    assert public["count"].tolist() == [None, None, None, 20, None]
    assert log.set_index("row_key").loc["W1 | vwi", "rule"] == "secondary"


def test_the_breakdown_of_a_small_total_is_suppressed_whole_zeros_included():
    frame = pd.DataFrame({"ward_code": [f"M{i:02d}" for i in range(12)], "theme": "homicide",
                          "count": [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0]})      # 4 homicides in the year
    public, log = run(frame, TableRule(counts=("count",), groups=(("count", ("theme",)),)))
    assert public["count"].tolist() == [None] * 12
    assert set(log["rule"]) == {"small_total"}         # no cell is marked primary: which are 1s is hidden


def test_tier_on_the_command_line_replaces_the_configs_tiers(tmp_path):
    from pipeline.cli import _tiers
    from pipeline.settings.config import load_config
    from tests.helpers.tiny_inputs import write_tiny_inputs

    config = write_tiny_inputs(tmp_path)
    assert load_config(config).tiers == ("restricted",)             # private by default
    assert load_config(config, {"tiers": _tiers("public")}).tiers == ("public",)
    assert load_config(config, {"tiers": _tiers("both")}).tiers == ("restricted", "public")
    with pytest.raises(InputError, match="--tier"):
        _tiers("open")


# ---------------------------------------------------------------- issue 17: the public people tables


def _public_people(root: Path, suspects: str) -> pd.DataFrame:
    """The public people_profile of the tiny extract with these suspects."""
    from pipeline.settings.config import load_config
    from pipeline.transform import assessment, db
    from tests.helpers.tiny_inputs import write_tiny_inputs

    config = write_tiny_inputs(root)
    (root / "extract" / "suspects.csv").write_text(suspects)
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "test-run")
        disclosure.build_public_schema(con, Settings())
        return con.execute("select theme, period_role, person_role, dimension, category, count "
                           "from public.people_profile order by all").df()


def test_public_people_tables_list_every_category_whatever_the_data_holds(tmp_path):
    from tests.helpers.tiny_inputs import TINY_SUSPECTS

    assert ",F\n" in TINY_SUSPECTS
    with_a_woman = _public_people(tmp_path / "a", TINY_SUSPECTS)
    all_men = _public_people(tmp_path / "b", TINY_SUSPECTS.replace(",F\n", ",M\n"))
    key = ["theme", "period_role", "person_role", "dimension", "category"]
    assert with_a_woman[key].equals(all_men[key])          # nothing appears or disappears with the data
    suspects = all_men[(all_men.person_role == "suspect") & (all_men.period_role == "current")
                       & (all_men.theme == "all_crime")]
    seed = pd.read_csv(Path(__file__).parents[3] / "sql" / "seeds" / "person_categories.csv", dtype=str)
    for dimension, categories in seed.groupby("dimension")["category"]:
        assert set(suspects[suspects.dimension == dimension].category) == set(categories), dimension
    female = suspects[(suspects.dimension == "sex") & (suspects.category == "female")]["count"]
    assert female.tolist() == [0]                           # shown as a zero, not left out


FORMULAS = ['=HYPERLINK("http://example.invalid","click")', "+44 area", "-1 ward", "@SUM(A1)", "\tTabbed"]


def test_names_in_the_public_log_come_out_as_text_never_as_formulas(tmp_path):
    """Area names that start like a formula reach the log's row keys; both logs are written through the
    tables' safe CSV writer (csv_safe_text in sql/macros.sql), the public one without the rule."""
    import csv

    from pipeline.publish import run_files
    from pipeline.transform import db

    with db.connect() as con:
        db.load_macros(con)
        con.execute("create table area_comparison (area_name varchar, theme varchar, period_label varchar, "
                    "count bigint, previous_count bigint)")
        con.executemany("insert into area_comparison values (?, 'vwi', '2022', 2, 40)", [[n] for n in FORMULAS])
        con.execute("insert into area_comparison values ('Merton', 'vwi', '2022', 100, 90)")
        disclosure.build_public_schema(con, Settings())
        paths = run_files.write_disclosure_logs(con, tmp_path)
        expected = {con.execute("select csv_safe_text(?)", [f"{n} | vwi | 2022"]).fetchone()[0] for n in FORMULAS}
    restricted, public = ([r for r in csv.DictReader(p.open(newline=""))] for p in paths)
    assert paths[1] == tmp_path / "public" / "disclosure_log.csv"
    assert {r["row_key"] for r in public if r["column_name"] == "count"} == expected
    assert all(r["row_key"].startswith("'") for r in public)
    assert list(public[0]) == ["table_name", "row_key", "column_name"]            # never why
    assert {r["rule"] for r in restricted} >= {"primary_small_count"}               # why stays restricted
    assert {r["row_key"] for r in restricted if r["column_name"] == "count"} == expected
