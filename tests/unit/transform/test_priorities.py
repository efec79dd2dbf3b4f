"""The priorities mart (sql/marts/priorities.sql) on the hand-worked extract of tests/helpers/analysis_inputs.py,
with its two wards (North E05000001: the T* crimes and R01-R12; South E05000002: R13-R22 and P1), 1,500
residents each.

Calendar 2023. Themes with a crime in 2023 (homicide, sexual offences and rape have none and are not ranked):
  domestic abuse 1 (R13), VAP 5 and VWI 5 (T1-T5), knife 9 (R01-R09), serious violence 14 (T1, T3: a
  victim aged 16; R01-R12: victims aged 20), personal robbery 22 (R01-R22).
Severity weights (sql/seeds/crime_severity_weights.csv): 8N 203.07, 34B 993.55, so harm =
  VWI 5 x 203.07 = 1,015.35; robbery 22 x 993.55 = 21,858.1; knife 9 x 993.55 = 8,941.95;
  serious violence 2 x 203.07 + 12 x 993.55 = 12,328.74; DA 993.55 (rounded to 0.1, half away from zero).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.settings.config import SEEDS_DIR, load_config
from pipeline.transform import assessment, db
from tests.helpers.analysis_inputs import write_analysis_inputs, write_deprivation_reference


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("priorities")
    config = write_analysis_inputs(root)
    write_deprivation_reference(root, config)    # the LSOA -> ward lookup: North and South
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=["priorities"])
    yield con
    con.close()


def frame(con, level: str) -> pd.DataFrame:
    return con.execute("select * from priorities where level = ?", [level]).df()


def test_harm_is_the_sum_of_severity_weights(con):
    harm = frame(con, "theme").set_index("theme")["harm_weighted_count"]
    assert harm["vwi"] == 1015.4 and harm["personal_robbery"] == 21858.1 and harm["knife_crime"] == 8942.0
    assert harm["serious_violence"] == 12328.7 and harm["domestic_abuse"] == 993.6


def test_theme_scores_by_hand(con):
    t = frame(con, "theme").set_index("theme")
    # volume and harm put the six ranked themes in the same order: DA 0, VAP = VWI 1/5, knife 3/5, SV 4/5,
    # robbery 1 (percent rank: (rank - 1) / (6 - 1)). Trend: no theme Z (the extract does not cover 2022 in
    # full). Concentration (the busier of the two wards): robbery 12/22 / (1500/3000) = 1.09, the others 2.00
    # (all their crimes in one ward): robbery 0, the others 1/5.
    expected = {"domestic_abuse": (0 + 0 + 0.2) / 3, "vap": 0.6 / 3, "vwi": 0.6 / 3,
                "knife_crime": (0.6 + 0.6 + 0.2) / 3, "serious_violence": (0.8 + 0.8 + 0.2) / 3,
                "personal_robbery": (1 + 1 + 0) / 3}
    for theme, mean in expected.items():
        assert t.loc[theme, "priority_score"] == round(100 * mean, 1), theme
        assert t.loc[theme, "components_used"] == "volume, harm, concentration"
    assert t.loc["personal_robbery", "concentration_ratio"] == 1.09
    ranks = t["priority_rank"].dropna().astype(int).to_dict()
    assert ranks == {"personal_robbery": 1, "serious_violence": 2, "knife_crime": 3, "vap": 4, "vwi": 4,
                     "domestic_abuse": 6}
    # no crime this period: kept, not ranked
    assert t.loc[["homicide", "sexual_offences", "rape"], "priority_score"].isna().all()


def test_ward_scores_match_a_pandas_recount_of_ward_hotspots(con):
    hot = con.execute("select * from ward_hotspots where count > 0 and theme <> 'all_crime'").df()
    hot["harm"] = hot["harm_weighted_count"]
    residents = hot.groupby("theme")["population"].transform("sum")
    hot["conc"] = ((hot["count"] / hot["area_count"]) / (hot["population"] / residents)).round(2)
    parts = []
    for column in ("count", "harm", "poisson_z", "conc"):
        ranks = hot.groupby("theme")[column].rank(method="min")
        size = hot.groupby("theme")[column].transform("count")
        parts.append(((ranks - 1) / (size - 1)).where(size > 1, 1.0))     # one ward alone scores 1
    hot["score"] = (sum(parts) / 4 * 100).round(1)
    got = frame(con, "ward").dropna(subset=["priority_score"]).set_index(["theme", "ward_code"])["priority_score"]
    expected = hot.set_index(["theme", "ward_code"])["score"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    # robbery: North has more crimes (12 v 10), a higher Z (2 sqrt 12 v 2 sqrt 10) and concentration (1.09 v 0.91)
    assert got[("personal_robbery", "E05000001")] == 100.0 and got[("personal_robbery", "E05000002")] == 0.0


def test_facts_come_from_the_marts(con):
    t = frame(con, "theme").set_index("theme")
    # victim_rates: robbery victims under 25 12 per 500 residents against 10 per 2,500 (ratio 6, interval above 1)
    assert t.loc["personal_robbery", "u25_over_represented"] == True  # noqa: E712 (a pandas boolean)
    # repeat_victimisation: 22 identified robbery victims, none twice (0% < 10%); VWI has 3 victims, too few
    assert t.loc["personal_robbery", "repeat_victims_high"] == False  # noqa: E712
    assert pd.isna(t.loc["vwi", "repeat_victims_high"])
    # no points, so no Gi* hot spots: unknown, not false
    assert t["persistent_hotspot"].isna().all()
    # the extract does not cover 2022 in full, so no theme change: rising is unknown, not 5 against 1
    assert pd.isna(t.loc["vwi", "count_rising"]) and t.loc["vwi", "previous_count"] == 1
    w = frame(con, "ward").set_index(["theme", "ward_code"])
    assert w.loc[("personal_robbery", "E05000001"), "count_rising"] == True  # noqa: E712 (12 v 0)
    assert w.loc[("vwi", "E05000002"), "top_ward"] is pd.NA or pd.isna(w.loc[("vwi", "E05000002"), "top_ward"])


def test_harm_below_the_coverage_threshold_is_not_scored(con, tmp_path):
    # the same extract with the threshold above 100%: no harm part, no harm rank, the score from the rest
    settings = tmp_path / "seeds"
    settings.mkdir()
    for seed in SEEDS_DIR.glob("*.csv"):
        text = seed.read_text(encoding="utf-8")
        if seed.name == "priority_settings.csv":
            text = text.replace("harm_min_coverage_pct,80,", "harm_min_coverage_pct,101,")
        (settings / seed.name).write_text(text, encoding="utf-8")
    db.load_seeds(con, settings)
    try:
        db.run_models(con, select=["priorities"])
        t = frame(con, "theme").set_index("theme")
        assert t["harm_score"].isna().all() and t["harm_rank"].isna().all()
        assert t.loc["personal_robbery", "components_used"] == "volume, concentration"
        assert t.loc["personal_robbery", "priority_score"] == round(100 * (1 + 0) / 2, 1)
    finally:
        db.load_seeds(con)
        db.run_models(con, select=["priorities"])
