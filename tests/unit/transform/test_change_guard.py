"""Issue 18 item 7: the change-coverage guard in every mart that shows a change between two periods.

A mart with a change column (change, pct_change, change_flag) reads int_change_coverage, directly or
through a model that does, so 9 months are never compared with 12. The few marts that judge coverage
their own way are listed here with the reason, and the list is checked for stale entries.
"""

from __future__ import annotations

import re

from pipeline.transform import db

GUARD = "int_change_coverage"
CHANGE_COLUMN = re.compile(r"\bas\s+(change|pct_change|change_flag)\b", re.IGNORECASE)
# marts that guard a change with a coverage of their own (and say so in change_note or their series)
OWN_COVERAGE = {
    "ward_hotspots": "ward coverage from int_ward_period_counts, re-based months included; counts null when "
                     "a period is not covered, with change_note",
    "sub_area_summary": "reads ward_hotspots: a change only where both periods' counts exist",
    "trend": "only years the inputs cover in full enter the series (its coverage CTE)",
    "partner_summary": "partner periods, not police months: change_comparable on the months each partner "
                       "table covers in both periods, with change_note",
}


def _code(sql: str) -> str:
    """`sql` without its comments (a header may name a change column it does not show)."""
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)


def _reads(models: dict[str, db.Model], name: str) -> set[str]:
    """Every model `name` reads, directly or not."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for ref in models[todo.pop()].refs - seen:
            seen.add(ref)
            todo.append(ref)
    return seen


def _marts_with_a_change(models: dict[str, db.Model]) -> set[str]:
    return {name for name, m in models.items() if m.layer == "marts" and CHANGE_COLUMN.search(_code(m.sql))}


def test_the_marts_that_show_a_change_are_found():
    found = _marts_with_a_change(db.load_models())
    # the ones issue 12 guarded first and the ones issue 18 added: the parser must see them all
    assert {"theme_summary", "ward_summary", "area_comparison", "domestic_abuse_split",
            "knife_crime_profile"} <= found


def test_every_mart_with_a_change_column_reads_the_change_coverage_guard():
    models = db.load_models()
    unguarded = sorted(name for name in _marts_with_a_change(models) - set(OWN_COVERAGE)
                       if GUARD not in _reads(models, name))
    assert unguarded == [], f"marts showing a change without {GUARD}: {unguarded}"


def test_the_own_coverage_list_has_no_stale_entry():
    models = db.load_models()
    changes = _marts_with_a_change(models)
    stale = sorted(name for name in OWN_COVERAGE if name not in changes or GUARD in _reads(models, name))
    assert stale == [], f"remove from OWN_COVERAGE (no change column, or already reads {GUARD}): {stale}"


def test_a_new_mart_with_a_change_and_no_guard_is_caught(tmp_path):
    sql = tmp_path / "sql"
    for layer in db.LAYERS:
        (sql / layer).mkdir(parents=True)
    (sql / "intermediate" / f"{GUARD}.sql").write_text("select 1 as months_covered")
    (sql / "marts" / "guarded.sql").write_text(f"select 1 - 1 as change from {GUARD}")
    (sql / "marts" / "unguarded.sql").write_text("select 2 as count, 1 as previous_count, 2 - 1 as change")
    models = db.load_models(sql_dir=sql)
    assert _marts_with_a_change(models) == {"guarded", "unguarded"}
    assert [n for n in _marts_with_a_change(models) if GUARD not in _reads(models, n)] == ["unguarded"]


def test_record_extract_marts_show_no_change_when_a_period_is_short(tmp_path):
    from pipeline.settings.config import load_config
    from pipeline.transform import assessment
    from tests.helpers.analysis_inputs import write_analysis_inputs

    marts = ["knife_crime_profile", "domestic_abuse_split"]
    cfg = load_config(write_analysis_inputs(tmp_path))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=marts)
    covered = con.execute("select months_covered, months_in_period, previous_months_covered, previous_months_in_period "
                          "from int_change_coverage where source = 'record_extract' and area_level = 'borough'").fetchone()
    assert covered == (4, 12, 1, 12)   # the fixture's extract: December 2022 to April 2023
    note = ("%; change not shown: current period has 4 of 12 months in the inputs "
            "and previous period has 1 of 12 months in the inputs")
    knife = con.execute("select count(*), count(change), count(pct_change), count(*) filter (where definition like ?) "
                        "from knife_crime_profile where count is not null", [note]).fetchone()
    assert knife[0] > 0 and knife == (knife[0], 0, 0, knife[0])
    split = con.execute("select count(*), count(change), count(pct_change), count(p_value), count(change_flag), "
                        "count(*) filter (where definition like ?) from domestic_abuse_split where count is not null",
                        [note]).fetchone()
    assert split[0] > 0 and split == (split[0], 0, 0, 0, 0, split[0])

    # the same rows, had the extract covered both years in full: the change is shown
    con.execute("update int_period_coverage set months_covered = months_in_period where source = 'record_extract'")
    db.run_models(con, select=["int_change_coverage", *marts])
    for mart in marts:
        shown = con.execute(f"select count(*), count(change), count(*) filter (where change = count - previous_count), "
                            f"count(*) filter (where definition like '%change not shown%') "
                            f"from {mart} where count is not null").fetchone()
        assert shown[0] > 0 and shown == (shown[0], shown[0], shown[0], 0), mart
    con.close()
