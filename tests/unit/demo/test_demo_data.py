"""The synthetic demo borough: deterministic, realistic in the ways the assessment relies on, and
carrying exactly the documented bad rows. Counts are re-derived here from the written files, not
from the generator's internals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from pipeline.demo import riverford

PROJECT = Path(__file__).resolve().parents[3]
SEEDS = PROJECT / "sql" / "seeds"
MERTON_POPULATION = (PROJECT.parent / "shared" / "data" / "population"
                     / "census2021_usual_residents_lsoa21_age6_Merton.csv")


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    return riverford.generate_demo_data(tmp_path_factory.mktemp("demo"))


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def offences(paths) -> pd.DataFrame:
    return _read(paths["offences"])


@pytest.fixture(scope="module")
def victims(paths) -> pd.DataFrame:
    return _read(paths["victims"])


@pytest.fixture(scope="module")
def suspects(paths) -> pd.DataFrame:
    return _read(paths["suspects"])


@pytest.fixture(scope="module")
def theme_codes() -> dict[str, set[str]]:
    themes = pd.read_csv(SEEDS / "ho_code_themes.csv", dtype=str)
    return {t: set(g["ho_code"]) for t, g in themes.groupby("theme")}


@pytest.fixture(scope="module")
def ho_seed() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "ho_offence_codes.csv", dtype=str)


@pytest.fixture(scope="module")
def valid(offences, ho_seed) -> pd.DataFrame:
    """Offences a loader should count: parseable date, known code, unique non-blank reference (first
    occurrence kept), status Confirmed."""
    recorded = pd.to_datetime(offences["Recorded_Date"], format="%d/%m/%Y", errors="coerce")
    ok = (recorded.notna() & offences["HO_Class"].isin(ho_seed["ho_code"])
          & (offences["CRIS_Ref"] != "") & ~offences["CRIS_Ref"].duplicated(keep="first")
          & (offences["Crime_Status"] == "Confirmed"))
    return offences[ok].assign(recorded=recorded[ok], year=recorded[ok].dt.year)


def _share(mask: pd.Series) -> float:
    return 100 * mask.sum() / len(mask)


def _ages(frame: pd.DataFrame, column: str, refs) -> pd.Series:
    return pd.to_numeric(frame.loc[frame["CRIS_Ref"].isin(refs), column], errors="coerce")


# ------------------------------------------------------------------------------ files and determinism
def test_same_seed_gives_byte_identical_files(tmp_path):
    def digests(root: Path) -> dict[str, str]:
        written = riverford.generate_demo_data(root)
        return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in written.items()}

    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first == second
    assert set(first) == set(riverford.RELATIVE_PATHS)
    other = riverford.generate_demo_data(tmp_path / "c", seed=7)
    assert hashlib.sha256(other["offences"].read_bytes()).hexdigest() != first["offences"]


def test_demo_config_points_at_the_generated_files(paths):
    cfg = yaml.safe_load((PROJECT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    assert cfg["area"] == riverford.DEMO_AREA
    root = PROJECT / "config" / "../data/raw/demo"
    for key, rel in cfg["reference"].items():
        assert (PROJECT / "config" / rel).resolve() == (root / riverford.RELATIVE_PATHS[key]).resolve()
    extract = next(i for i in cfg["inputs"] if i["kind"] == "record_extract")
    assert (PROJECT / "config" / extract["profile"]).exists()
    for role in ("offences", "victims", "suspects"):
        assert Path(extract[role]).match("*/extract/" + role + "_*.csv")
        assert paths[role].match(role + "_*.csv")


def test_extract_has_every_profile_column(offences, victims, suspects):
    profile = yaml.safe_load((PROJECT / "config" / "profiles" / "example_force.yaml").read_text())
    for name, frame in [("offences", offences), ("victims", victims), ("suspects", suspects)]:
        expected = set(profile[name]["columns"].values()) | set(profile[name]["drop"]) | {"Extract_Date"}
        assert expected <= set(frame.columns), name
        assert (frame["Extract_Date"] == riverford.EXTRACT_DATE).all()
    # Free text, names and addresses are obviously fake.
    assert offences["MO_Text"].str.startswith("Demo free text").all()
    assert offences["Location_Street"].str.startswith("Demo Street").all()
    assert victims["Victim_Name"].str.startswith("Demo victim").all()
    assert suspects["Suspect_Name"].str.startswith("Demo suspect").all()


# ------------------------------------------------------------------------------ the documented bad rows
def test_exactly_the_documented_bad_rows(offences, victims, ho_seed):
    recorded = pd.to_datetime(offences["Recorded_Date"], format="%d/%m/%Y", errors="coerce")
    assert offences.loc[recorded.isna(), "Recorded_Date"].tolist() == ["31/02/2023"]
    assert offences.loc[recorded.isna(), "CRIS_Ref"].tolist() == [riverford.BAD_DATE_REF]
    unknown = ~offences["HO_Class"].isin(ho_seed["ho_code"])
    assert offences.loc[unknown, "HO_Class"].tolist() == ["ZZ9"]
    assert offences.loc[unknown, "CRIS_Ref"].tolist() == [riverford.BAD_CODE_REF]
    assert (offences["CRIS_Ref"] == "").sum() == 1
    refs = offences.loc[offences["CRIS_Ref"] != "", "CRIS_Ref"]
    assert refs[refs.duplicated(keep=False)].tolist() == [riverford.DUPLICATED_REF] * 2
    pair = offences[offences["CRIS_Ref"] == riverford.DUPLICATED_REF]
    assert pair.iloc[0]["HO_Class"] != pair.iloc[1]["HO_Class"]  # a conflicting copy, not an echo
    assert len(offences) == offences["CRIS_Ref"].nunique() + 1  # every reference unique but the copy
    # Victims: exactly two impossible ages; every other age is 0-110, blank or "Unknown".
    age = victims["Victim_Age"]
    assert (age == riverford.BAD_VICTIM_AGE).sum() == 2
    numeric = pd.to_numeric(age, errors="coerce")
    assert numeric[(age != riverford.BAD_VICTIM_AGE) & numeric.notna()].between(0, 110).all()
    assert set(age[numeric.isna()]) == {"", "Unknown"}


def test_everything_else_is_well_formed(offences, ho_seed):
    good = offences[~offences["CRIS_Ref"].isin([riverford.BAD_DATE_REF, riverford.BAD_CODE_REF, ""])]
    assert good["CRIS_Ref"].str.fullmatch(r"RF/2[23]/\d{6}").all()
    recorded = pd.to_datetime(good["Recorded_Date"], format="%d/%m/%Y")
    assert recorded.min() >= pd.Timestamp("2022-01-01") and recorded.max() <= pd.Timestamp("2023-12-31")
    description = dict(zip(ho_seed["ho_code"], ho_seed["offence_description"]))
    assert (good["Offence_Description"] == good["HO_Class"].map(description)).all()
    assert set(good["DA_Flag"]) == {"Y", "N", ""} and (good["DA_Flag"] == "").sum() < 0.01 * len(good)
    assert set(good["Knife_Flag"]) == {"Y", "N"}
    status = good["Crime_Status"].value_counts(normalize=True)
    assert status["Confirmed"] > 0.98 and 0.002 < status["Cancelled"] < 0.01 and 0.001 < status["Transferred"] < 0.006


def test_committed_times_precede_recording(offences):
    good = offences[offences["CRIS_Ref"] != riverford.BAD_DATE_REF]
    recorded = pd.to_datetime(good["Recorded_Date"], format="%d/%m/%Y")
    start = pd.to_datetime(good["Committed_From"], format="%d/%m/%Y %H:%M")
    end = pd.to_datetime(good["Committed_To"], format="%d/%m/%Y %H:%M")
    lag_days = (recorded - start.dt.normalize()).dt.days
    assert lag_days.between(0, 3).all()
    exact = end.isna() | (end == start)
    assert 0.62 < exact.mean() < 0.78
    window_h = (end - start)[~exact].dt.total_seconds() / 3600
    assert (window_h > 0).all() and (window_h <= 48).all()
    assert (end[~exact] < recorded[~exact] + pd.Timedelta(days=1)).all()


# ------------------------------------------------------------------------------ offence mix
def test_theme_shares_are_realistic(valid, theme_codes):
    code = valid["HO_Class"]
    assert 8 <= _share(code.isin(theme_codes["vwi"])) <= 12
    assert 12 <= _share(valid["DA_Flag"] == "Y") <= 16
    assert 2 <= _share(code == "34B") <= 4
    assert 2 <= _share(code.isin(theme_codes["sexual_offences"])) <= 4
    rape = code.isin(theme_codes["rape"]).sum() / code.isin(theme_codes["sexual_offences"]).sum()
    assert 0.25 < rape < 0.42
    per_year = valid.groupby("year").size()
    assert per_year.between(12_000, 14_500).all()
    homicides = valid[code.isin(theme_codes["homicide"])].groupby("year").size()
    assert homicides.between(2, 4).all() and "4/1" in set(code)
    vwi = valid[code.isin(theme_codes["vwi"])].groupby("year").size()
    assert 1.05 < vwi[2023] / vwi[2022] < 1.11


def test_knife_flags_sit_on_the_right_offences(valid, theme_codes):
    knife = valid["Knife_Flag"] == "Y"
    code = valid["HO_Class"]
    assert 5 < 100 * knife[code.isin(theme_codes["vwi"])].mean() < 11
    assert 18 < 100 * knife[code == "34B"].mean() < 32
    selected = (theme_codes["vwi"] | theme_codes["homicide"] | theme_codes["rape"]
                | {"34A", "34B", "3B"})
    assert not knife[~code.isin(selected)].any()


def test_violence_peaks_at_night_weekends_and_summer(valid, theme_codes):
    vwi = valid[valid["HO_Class"].isin(theme_codes["vwi"])]
    start = pd.to_datetime(vwi["Committed_From"], format="%d/%m/%Y %H:%M")
    hours = start.dt.hour.value_counts()
    assert hours.loc[[21, 22, 23, 0]].mean() > 2.5 * hours.loc[[5, 6, 7]].mean()
    weekday = start.dt.day_of_week.value_counts()
    assert weekday.loc[[5, 6]].min() > weekday.loc[[0, 1, 2, 3]].max()
    month = vwi["recorded"].dt.month.value_counts()
    assert month.loc[[6, 7, 8]].mean() > month.loc[[12, 1, 2]].mean()


# ------------------------------------------------------------------------------ people
def test_victim_profiles(valid, victims, theme_codes):
    assert victims["CRIS_Ref"].isin(valid["CRIS_Ref"]).mean() > 0.98  # links to real crimes
    robbery = _ages(victims, "Victim_Age", valid.loc[valid["HO_Class"] == "34B", "CRIS_Ref"]).dropna()
    assert (robbery < 25).mean() > 0.5
    vwi = _ages(victims, "Victim_Age", valid.loc[valid["HO_Class"].isin(theme_codes["vwi"]), "CRIS_Ref"])
    assert 0.2 < (vwi.dropna() < 25).mean() < 0.36
    rape = _ages(victims, "Victim_Age", valid.loc[valid["HO_Class"].isin(theme_codes["rape"]), "CRIS_Ref"])
    assert (rape.dropna() < 18).any()
    unknown = ~victims["Victim_Age"].str.isdigit()
    assert 0.02 < unknown.mean() < 0.07
    assert set(victims["Victim_Sex"]) == {"M", "F", "U"}
    assert set(victims["Victim_Ethnicity"]) == {"White", "Black", "Asian", "Mixed", "Other", ""}
    # Person crimes have a victim; some have two.
    person_codes = theme_codes["vap"] | theme_codes["sexual_offences"] | {"34B"}
    person = valid.loc[valid["HO_Class"].isin(person_codes), "CRIS_Ref"]
    per_crime = victims.loc[victims["CRIS_Ref"].isin(person), "CRIS_Ref"].value_counts()
    assert person.isin(per_crime.index).mean() > 0.99 and 0.02 < (per_crime >= 2).mean() < 0.08
    # Repeat victims (~8% of people), concentrated in domestic abuse.
    crimes_per_person = victims["Victim_ID"].value_counts()
    assert 0.05 < (crimes_per_person >= 2).mean() < 0.11
    repeat_rows = victims[victims["Victim_ID"].isin(crimes_per_person.index[crimes_per_person >= 2])]
    da_refs = set(valid.loc[valid["DA_Flag"] == "Y", "CRIS_Ref"])
    assert repeat_rows["CRIS_Ref"].isin(da_refs).mean() > 0.4
    assert victims["Victim_ID"].str.fullmatch(r"V\d{7}").all()


def test_suspect_profiles(valid, suspects, theme_codes):
    refs = valid["CRIS_Ref"]
    no_suspect = ~refs.isin(suspects["CRIS_Ref"])
    assert 0.22 < no_suspect.mean() < 0.38
    theft = valid["HO_Class"].isin({"49", "46", "39", "44", "40"})
    da = valid["DA_Flag"] == "Y"
    assert no_suspect[theft].mean() > 1.4 * no_suspect.mean() and no_suspect[da].mean() < 0.1
    unknown_age = ~suspects["Suspect_Age"].str.isdigit()
    assert 0.18 < unknown_age.mean() < 0.32
    assert set(suspects.loc[unknown_age, "Suspect_Age"]) == {"", "N/K"}
    vwi = _ages(suspects, "Suspect_Age", refs[valid["HO_Class"].isin(theme_codes["vwi"])]).dropna()
    assert 0.5 < (vwi < 25).mean() < 0.7


# ------------------------------------------------------------------------------ geography
def test_wards_and_lsoas_tile_the_borough(paths):
    wards = gpd.read_file(paths["wards"])
    lsoas = gpd.read_file(paths["lsoas"])
    lookup = _read(paths["lsoa_to_ward"])
    assert wards.crs.to_epsg() == 27700 and lsoas.crs.to_epsg() == 27700
    assert len(wards) == 20 and wards["WD22CD"].is_unique and (wards["LAD22CD"] == riverford.DEMO_AREA["code"]).all()
    assert 100 <= len(lsoas) <= 140 and list(lookup.columns) == ["lsoa21cd", "ward22cd", "ward22nm"]
    assert set(lookup["lsoa21cd"]) == set(lsoas["lsoa21cd"])
    assert lookup.groupby("ward22cd").size().between(4, 8).all()
    assert shapely.coverage_is_valid(wards.geometry.values)  # no overlaps, shared edges match
    assert shapely.coverage_is_valid(lsoas.geometry.values)
    borough = shapely.union_all(wards.geometry.values)
    assert borough.geom_type == "Polygon" and not list(borough.interiors)  # no gaps
    assert 35e6 < borough.area < 45e6
    assert abs(borough.area - wards.area.sum()) < 1
    # Each LSOA lies inside its ward.
    ward_geom = wards.set_index("WD22CD").geometry
    merged = lsoas.merge(lookup, on="lsoa21cd")
    inside = shapely.area(shapely.intersection(merged.geometry.values,
                                               ward_geom.loc[merged["ward22cd"]].values))
    assert np.allclose(inside, merged.area, rtol=1e-9)
    sub = _read(paths["sub_areas"])
    assert set(sub["ward_code"]) == set(wards["WD22CD"]) and set(sub["sub_area"]) == {"East", "West"}


def test_population_layout_and_totals(paths):
    pop = pd.read_csv(paths["population"])
    assert list(pop.columns) == ["lsoa21_code", "lsoa21_name", "age_group", "usual_residents"]
    assert 190_000 <= pop["usual_residents"].sum() <= 210_000
    per_lsoa = pop.groupby("lsoa21_code")["usual_residents"].sum()
    assert per_lsoa.between(1_500, 2_000).all()
    assert set(pop["lsoa21_code"]) == set(_read(paths["lsoa_to_ward"])["lsoa21cd"])
    if MERTON_POPULATION.exists():  # the same six band labels as the real Census file
        assert set(pop["age_group"]) == set(pd.read_csv(MERTON_POPULATION)["age_group"])
    assert pop.groupby("lsoa21_code").size().eq(6).all()
    # The east is younger.
    lookup = _read(paths["lsoa_to_ward"]).merge(_read(paths["sub_areas"]), left_on="ward22cd", right_on="ward_code")
    pop = pop.merge(lookup, left_on="lsoa21_code", right_on="lsoa21cd")
    young = pop["age_group"].isin(riverford.AGE_GROUPS[:2])
    share = pop[young].groupby("sub_area")["usual_residents"].sum() / pop.groupby("sub_area")["usual_residents"].sum()
    assert share["East"] > share["West"]


def test_points_lie_inside_their_stated_ward_and_lsoa(offences, paths):
    wards = gpd.read_file(paths["wards"]).set_index("WD22CD").geometry
    lsoas = gpd.read_file(paths["lsoas"]).set_index("lsoa21cd").geometry
    lookup = _read(paths["lsoa_to_ward"]).set_index("lsoa21cd")["ward22cd"]
    assert offences["Ward_Code"].isin(wards.index).all() and offences["LSOA_Code"].isin(lsoas.index).all()
    assert (offences["LSOA_Code"].map(lookup) == offences["Ward_Code"]).all()
    has_xy = offences["Easting"] != ""
    assert 0.95 < has_xy.mean() < 0.99
    located = offences[has_xy]
    x, y = located["Easting"].astype(int).to_numpy(), located["Northing"].astype(int).to_numpy()
    assert shapely.contains_xy(wards.loc[located["Ward_Code"]].values, x, y).all()
    assert shapely.contains_xy(lsoas.loc[located["LSOA_Code"]].values, x, y).all()


def test_robbery_is_more_concentrated_than_burglary(valid):
    def top_lsoa_share(codes: set[str]) -> float:
        counts = valid.loc[valid["HO_Class"].isin(codes), "LSOA_Code"].value_counts()
        return counts.head(10).sum() / counts.sum()

    assert top_lsoa_share({"34B"}) > top_lsoa_share({"28E"}) + 0.1


# ------------------------------------------------------------------------------ comparator
def test_comparator_matches_the_extract(paths, valid, theme_codes):
    counts = pd.read_csv(paths["mps_counts"])
    months = [f"{y}{m:02d}" for y in (2022, 2023) for m in range(1, 13)]
    assert list(counts.columns) == ["MajorText", "MinorText", "LookUp_BoroughName", *months]
    assert counts["LookUp_BoroughName"].nunique() == 12
    seed = pd.read_csv(SEEDS / "mps_category_themes.csv")
    known = set(zip(seed["major_text"].str.upper(), seed["minor_text"].str.upper()))
    assert set(zip(counts["MajorText"].str.upper(), counts["MinorText"].str.upper())) <= known
    assert (counts[months] >= 0).all().all()

    own = counts[counts["LookUp_BoroughName"] == riverford.DEMO_AREA["name"]].set_index("MinorText")
    vwi = valid[valid["HO_Class"].isin(theme_codes["vwi"])]
    by_month = vwi["recorded"].dt.strftime("%Y%m").value_counts().reindex(months, fill_value=0)
    assert own.loc["Violence with Injury", months].astype(int).tolist() == by_month.tolist()
    # And in total: every valid offence is counted once, in some category.
    assert own[months].to_numpy().sum() == len(valid)
    robbery = (valid["HO_Class"] == "34B").groupby(valid["recorded"].dt.strftime("%Y%m")).sum()
    assert own.loc["Robbery of Personal Property", months].astype(int).tolist() == robbery.reindex(months).tolist()

    # Force-wide VWI growth around +6%.
    force = counts[counts["MinorText"] == "Violence with Injury"][months].sum()
    growth = force[months[12:]].sum() / force[months[:12]].sum() - 1
    assert 0.04 < growth < 0.08
