"""data.police.uk on real files: 13 months of City of London Police street-level crime (8,425 rows).

Every expected figure is recounted here with pandas from the raw files: counts per crime type and month
(each Crime ID once, the first row in file and line order), the LSOA -> ward best-fit placement, and
per-file reconciliation (rows read = loaded + quarantined).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from pipeline.checks import gates
from pipeline.errors import InputError
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = needs_shared_data
FOLDER = SHARED_DATA / "police_uk" / "city_of_london_2021-05_2022-05"
LOOKUP = SHARED_DATA / "lookups" / "lsoa21_ward22_best_fit_EW_from_GLA_rds.csv"


def _raw() -> pd.DataFrame:
    frames = []
    for path in sorted(FOLDER.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["source_file"] = str(path)
        frame["line"] = range(2, len(frame) + 2)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("police_uk")
    config = {"area": {"name": "City of London Police"}, "period": {"rolling_12m_to": "2022-05"},
              "inputs": [{"kind": "police_uk", "paths": [str(FOLDER / "*-street.csv")]}],
              "reference": {"lsoa_to_ward": str(LOOKUP)}, "output": str(folder / "out")}
    (folder / "run.yaml").write_text(yaml.safe_dump(config))
    cfg = load_config(folder / "run.yaml")
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.prepare(con, cfg, "test-run")
    db.run_models(con, select=["theme_summary", "quarantine_summary", "police_uk_crime_types",
                               "police_uk_location_summary", "theme_monthly"], upstream=True)
    yield con, cfg
    con.close()


def test_counts_per_crime_type_and_month_match_a_pandas_recount(city):
    con, _ = city
    raw = _raw()
    assert len(raw) == 8425
    repeated = (raw["Crime ID"] != "") & raw.duplicated("Crime ID", keep="first")  # files and lines in order
    kept = raw[~repeated]
    lookup = pd.read_csv(LOOKUP, dtype=str)
    kept = kept.assign(placed=kept["LSOA code"].isin(set(lookup.lsoa21cd)))
    expected = (kept.groupby(["Crime type", "Month"])
                .agg(count=("Month", "size"), placed=("placed", "sum"),
                     no_location=("Longitude", lambda s: int((s == "").sum())))
                .reset_index())
    got = con.execute("select crime_type, strftime(month_start, '%Y-%m') as month, count, placed_on_ward, no_location "
                      "from police_uk_crime_types order by 1, 2").df()
    assert got.values.tolist() == expected.astype({"placed": int}).values.tolist()
    assert len(got) == 14 * 13


def test_every_file_reconciles_and_only_repeated_crime_ids_are_quarantined(city):
    con, cfg = city
    raw = _raw()
    repeated = raw[(raw["Crime ID"] != "") & raw.duplicated("Crime ID", keep="first")]
    assert len(repeated) == 87                       # 85 Crime IDs published on two or three rows
    rules = con.execute("select rule, count(*) from quarantine group by all").fetchall()
    assert rules == [("duplicate_crime_id", len(repeated))]
    summary = con.execute("select source_file, rows_read, rows_loaded, rows_quarantined, reconciled "
                          "from quarantine_summary order by 1").fetchall()
    per_file = raw.groupby("source_file").size()
    quarantined = repeated.groupby("source_file").size()
    assert [(f, r) for f, r, *_ in summary] == list(per_file.items())
    for source_file, read, loaded, held, reconciled in summary:
        assert reconciled and held == quarantined.get(source_file, 0) and loaded + held == read
    gates.check_reconciliation(con, cfg)


def test_theme_counts_are_the_notifiable_rows_of_the_period(city):
    con, _ = city
    raw = _raw()
    kept = raw[~((raw["Crime ID"] != "") & raw.duplicated("Crime ID", keep="first"))]
    current = kept[(kept.Month >= "2021-06") & (kept.Month <= "2022-05")]
    notifiable = current[current["Crime type"] != "Anti-social behaviour"]
    got = dict(con.execute("select theme, count from theme_summary").fetchall())
    assert got == {"all_crime": len(notifiable),
                   "vap": int((notifiable["Crime type"] == "Violence and sexual offences").sum()),
                   "personal_robbery": int((notifiable["Crime type"] == "Robbery").sum())}
    previous = dict(con.execute("select theme, previous_count from theme_summary").fetchall())
    assert previous["all_crime"] == int(((kept.Month == "2021-05") & (kept["Crime type"] != "Anti-social behaviour")).sum())
    located = dict(con.execute("select location_method, rows from police_uk_location_summary").fetchall())
    assert located["no_location"] == int((kept.Longitude == "").sum()) and located["point_in_polygon"] == 0


def test_a_period_the_files_do_not_cover_is_refused(city):
    con, cfg = city
    with pytest.raises(InputError, match="11 month"):   # the previous 12 months hold only May 2021
        gates.check_coverage(con, cfg)


def test_the_annual_run_publishes_a_police_uk_assessment_in_limited_mode(tmp_path):
    from pipeline.runs.annual import run_annual

    config = {"area": {"name": "City of London Police"}, "period": {"start": "2022-05-01", "end": "2022-05-31"},
              "inputs": [{"kind": "police_uk", "paths": [str(FOLDER / "*-street.csv")]}],
              "reference": {"lsoa_to_ward": str(LOOKUP)}, "output": str(tmp_path / "out")}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    out = run_annual(load_config(tmp_path / "run.yaml"))
    summary = pd.read_csv(out / "tables" / "theme_summary.csv")
    raw = _raw()
    kept = raw[~((raw["Crime ID"] != "") & raw.duplicated("Crime ID", keep="first"))]
    may = kept[(kept.Month == "2022-05") & (kept["Crime type"] != "Anti-social behaviour")]
    assert summary.set_index("theme").loc["all_crime", "count"] == len(may)
    assert summary.definition.str.contains("limited mode").all() and summary.victims_u25_pct.isna().all()
    headlines = (out / "headlines.md").read_text()
    assert "includes robbery of business property" in headlines and "MPS count files carry no" not in headlines
    report = (out / "report.html").read_text()                 # limited mode says so beside every theme
    themes = re.findall(r'<tr data-theme="([a-z_]+)">', report)
    assert themes == list(summary.theme), (themes, list(summary.theme))
    assert report.count("<p class=\"limited\">From data.police.uk street-level files (limited mode)") == len(themes)
    assert f"{len(may):,}" in report.split('data-theme="all_crime"', 1)[1].split("</tr>", 1)[0]
