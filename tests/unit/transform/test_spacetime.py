"""Emerging hot spots (ArcGIS's classes on Gi* per month and a Mann-Kendall trend) and the Knox test
for near repeats: hand-built series and points whose answers are known, PySAL pointpats' Knox on the
same points, the sentence rules, the map, and both marts built from a planted record extract."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline.narrative import analyses
from pipeline.publish import maps
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db, spacetime
from tests.helpers.borough import write_borough

SIGNIFICANT_UP, SIGNIFICANT_DOWN, FLAT = (0.8, 0.001), (-0.8, 0.001), (0.05, 0.6)


def series(text: str) -> list[str]:
    """'..h.c' -> one Gi* class per month, oldest first: h hot, c cold, . neither."""
    return [{"h": "hot", "c": "cold", ".": "not_significant"}[ch] for ch in text]


# Each series is built by hand so that exactly one ArcGIS definition fits (12 months; 90% is 11 of them).
HOT_CASES = [
    ("...........h", FLAT, "new_hot_spot"),                 # hot in the last month, never before
    (".........hhh", FLAT, "consecutive_hot_spot"),         # one run of three at the end
    ("..hhhhhhhhhh", FLAT, "consecutive_hot_spot"),         # a run of ten: 83% < 90%, still consecutive
    ("hhhhhhhhhhhh", SIGNIFICANT_UP, "intensifying_hot_spot"),
    (".hhhhhhhhhhh", FLAT, "persistent_hot_spot"),          # 11 of 12 = 92%, no trend
    ("hhhhhhhhhhhh", SIGNIFICANT_DOWN, "diminishing_hot_spot"),
    ("..h..h.....h", FLAT, "sporadic_hot_spot"),            # on and off, never cold
    ("h.......hhhh", FLAT, "sporadic_hot_spot"),            # a final run, but hot before it: not consecutive
    ("c...h......h", FLAT, "oscillating_hot_spot"),         # hot now, a cold spot before
    ("c..........h", FLAT, "oscillating_hot_spot"),         # hot only now, but significant (cold) before: not new
    ("hhhhhhhhhhh.", FLAT, "historical_hot_spot"),          # 92% hot, not in the last month
    ("hhhhhhhhhhh.", SIGNIFICANT_UP, "historical_hot_spot"),
    ("....h.......", FLAT, "no_pattern"),                   # hot once, long ago
    ("hhhhhhhhhh..", FLAT, "no_pattern"),                   # 83% hot and not now: not historical
    ("............", FLAT, "no_pattern"),
]


@pytest.mark.parametrize("text, trend, expected", HOT_CASES)
def test_each_arcgis_hot_spot_class_from_a_hand_built_series(text, trend, expected):
    assert spacetime.emerging_class(series(text), *trend) == expected


@pytest.mark.parametrize("text, trend, expected", HOT_CASES)
def test_cold_spot_classes_mirror_the_hot_ones(text, trend, expected):
    mirrored = text.translate(str.maketrans("hc", "ch"))
    tau, p = trend
    assert spacetime.emerging_class(series(mirrored), -tau, p) == expected.replace("hot_spot", "cold_spot")


def test_fewer_than_ten_months_are_not_classified():
    assert spacetime.emerging_class(series("hhhhhhhhh"), *SIGNIFICANT_UP) == "not_computed"
    assert spacetime.emerging_class(series("hhhhhhhhhh"), *SIGNIFICANT_UP) == "intensifying_hot_spot"


def textbook_mann_kendall(y):
    """Mann (1945), Kendall (1975), no ties: S = sum sign(y_j - y_i), Var S = n(n-1)(2n+5)/18,
    tau = S / (n(n-1)/2), Z = (S - sign S) / sqrt(Var S), two-sided normal p."""
    n = len(y)
    s = sum(np.sign(y[j] - y[i]) for i, j in itertools.combinations(range(n), 2))
    var = n * (n - 1) * (2 * n + 5) / 18
    z = (s - np.sign(s)) / math.sqrt(var)
    return s / (n * (n - 1) / 2), 2 * stats.norm.sf(abs(z))


def test_mann_kendall_matches_the_textbook_test():
    rng = np.random.default_rng(3)
    for trend in (0.0, 0.05, 0.3):
        y = rng.normal(0, 1, 24) + trend * np.arange(24)
        tau, p = spacetime.mann_kendall(y)
        book_tau, book_p = textbook_mann_kendall(y)
        assert tau == pytest.approx(book_tau, abs=1e-12)
        assert p == pytest.approx(book_p, abs=0.01)   # the book's continuity correction moves p a little
        scipy_tau, scipy_p = stats.kendalltau(np.arange(24), y, method="asymptotic")
        assert (tau, p) == pytest.approx((scipy_tau, scipy_p), abs=1e-12)


def test_mann_kendall_with_tied_z_scores_matches_scipy():
    y = np.array([1.0, 2.0, 2.0, 3.0, 1.0, 4.0, 4.0, 4.0, 5.0, 2.0, 6.0, 6.0])
    assert spacetime.mann_kendall(y) == pytest.approx(tuple(stats.kendalltau(np.arange(12), y, method="asymptotic")),
                                                      abs=1e-12)
    assert all(math.isnan(v) for v in spacetime.mann_kendall([2.0] * 12))     # no variation, no trend


def test_the_sql_function_runs_the_trend_on_the_z_scores():
    rising = [2.5 + 0.2 * t for t in range(12)]
    out = spacetime.emerging_udf(rising, series("hhhhhhhhhhhh"), 0.05)
    assert out["trend_tau"] == 1.0 and out["trend_p"] < 0.001 and out["emerging_class"] == "intensifying_hot_spot"
    falling = rising[::-1]
    assert spacetime.emerging_udf(falling, series("hhhhhhhhhhhh"), 0.05)["emerging_class"] == "diminishing_hot_spot"
    steady = [3.0, 3.2] * 6                                 # no trend: tau near 0
    assert spacetime.emerging_udf(steady, series("hhhhhhhhhhhh"), 0.05)["emerging_class"] == "persistent_hot_spot"
    assert spacetime.emerging_udf([1.0, None] * 6, series("h." * 6), 0.05)["emerging_class"] == "not_computed"


# ---------------------------------------------------------------- Knox

def pandas_knox(x, y, days, width=200, bands=5, step=7, steps=5):
    """Every pair counted in pandas: distance band 1 = 0-200 m, k = ((k-1)200, k 200], 6 = further;
    time band 1 = 0-7 days, 2 = 8-14, ..., 6 = more than 35 days."""
    pairs = pd.DataFrame(list(itertools.combinations(range(len(x)), 2)), columns=["i", "j"])
    d = np.hypot(np.asarray(x)[pairs.i] - np.asarray(x)[pairs.j], np.asarray(y)[pairs.i] - np.asarray(y)[pairs.j])
    dt = np.abs(np.asarray(days)[pairs.i] - np.asarray(days)[pairs.j])
    pairs["d_band"] = pd.cut(d, [-1] + [width * k for k in range(1, bands + 1)] + [np.inf], labels=False) + 1
    pairs["t_band"] = pd.cut(dt, [-1] + [step * k for k in range(1, steps + 1)] + [np.inf], labels=False) + 1
    return pairs.groupby(["d_band", "t_band"]).size().unstack(fill_value=0).reindex(
        index=range(1, bands + 2), columns=range(1, steps + 2), fill_value=0).to_numpy()


def test_knox_counts_a_hand_placed_set_of_points():
    # A (0, 0) day 0; B (200, 0) day 3; C (0, 250) day 10; D (5000, 0) day 0; E (0, 0) day 60. The ten pairs:
    # A-B 200 m (band 1: 0-200 inclusive), 3 d -> (1, 1)   A-C 250 m, 10 d -> (2, 2)   A-D 5 km, 0 d -> (6, 1)
    # A-E 0 m, 60 d -> (1, 6)   B-C 320 m, 7 d (band 1: 0-7 inclusive) -> (2, 1)   B-D 4.8 km, 3 d -> (6, 1)
    # B-E 200 m, 57 d -> (1, 6)   C-D 5.0 km, 10 d -> (6, 2)   C-E 250 m, 50 d -> (2, 6)   D-E 5 km, 60 d -> (6, 6)
    x, y, days = [0, 200, 0, 5000, 0], [0, 0, 250, 0, 0], [0, 3, 10, 0, 60]
    hand = np.zeros((6, 6), dtype=int)
    for (d_band, t_band), pairs in {(1, 1): 1, (2, 2): 1, (6, 1): 2, (1, 6): 2, (2, 1): 1, (6, 2): 1, (2, 6): 1,
                                    (6, 6): 1}.items():
        hand[d_band - 1, t_band - 1] = pairs
    observed = spacetime.knox_table(x, y, days, 200, 5, 7, 5, permutations=0, seed=1)["observed"]
    assert (observed == hand).all()
    assert (pandas_knox(x, y, days) == hand).all()           # the recount used by the other tests agrees


def test_knox_counts_expected_and_p_values_against_a_pandas_recount():
    rng = np.random.default_rng(11)
    x, y = rng.uniform(0, 3000, 150), rng.uniform(0, 3000, 150)
    days = rng.integers(0, 365, 150)
    out = spacetime.knox_table(x, y, days, 200, 5, 7, 5, permutations=99, seed=4)
    counted = pandas_knox(x, y, days)
    assert (out["observed"] == counted).all()
    expected = np.outer(counted.sum(axis=1), counted.sum(axis=0)) / counted.sum()
    assert np.allclose(out["expected"], expected)
    assert ((out["p_value"] >= 1 / 100) & (out["p_value"] <= 1)).all()
    again = spacetime.knox_table(x, y, days, 200, 5, 7, 5, permutations=99, seed=4)
    assert (again["p_value"] == out["p_value"]).all()        # seeded: a re-run gives the same p


def planted_near_repeats(seed=5, n=200, repeats=40):
    """n points spread over 4 km x 4 km and a year, plus `repeats` follow-ups each within 100 m and 5 days
    of an earlier point (the near-repeat pattern)."""
    rng = np.random.default_rng(seed)
    x, y, t = rng.uniform(0, 4000, n), rng.uniform(0, 4000, n), rng.integers(0, 365, n).astype(float)
    source = rng.integers(0, n, repeats)
    angle = rng.uniform(0, 2 * np.pi, repeats)
    x = np.concatenate([x, x[source] + 80 * np.cos(angle)])
    y = np.concatenate([y, y[source] + 80 * np.sin(angle)])
    t = np.concatenate([t, t[source] + rng.integers(1, 6, repeats)])
    return x, y, t


def test_knox_agrees_with_pysal_pointpats():
    from pointpats.spacetime import Knox

    for x, y, t, near in ((*planted_near_repeats(), True),
                          (*[np.random.default_rng(8).uniform(0, 4000, 240) for _ in range(2)],
                           np.random.default_rng(9).integers(0, 365, 240).astype(float), False)):
        ours = spacetime.knox_table(x, y, t, 200, 5, 7, 5, permutations=199, seed=2)
        np.random.seed(2)
        theirs = Knox(np.column_stack([x, y]), t.reshape(-1, 1), delta=200, tau=7, permutations=199)
        # pointpats' close pairs (d <= delta and dt <= tau) are our first band: 0-200 m and 0-7 days
        assert ours["observed"][0, 0] == theirs.statistic_ == theirs.observed[0, 0]
        assert ours["expected"][0, 0] == pytest.approx(theirs.expected[0, 0])
        if near:
            assert ours["p_value"][0, 0] <= 0.01 and theirs.p_sim <= 0.01
            assert ours["observed"][0, 0] / ours["expected"][0, 0] > 2
        else:
            assert ours["p_value"][0, 0] > 0.05 and theirs.p_sim > 0.05


# ---------------------------------------------------------------- the sentence

def knox_row(**values):
    row = {"distance_label": "0-200 m", "time_label": "0-7 days", "observed_pairs": 31, "expected_pairs": 17.2,
           "knox_ratio": 1.8023, "knox_p_value": 0.003, "permutations": 999}
    return row | values


def test_sentence_claims_a_raised_risk_only_when_significant_on_enough_pairs():
    text = analyses.near_repeat_words(knox_row(), "personal robbery")
    assert text.startswith("After a personal robbery offence, the risk of another within 200 m in the next 7 days "
                           "is 1.8 times what chance gives (31 pairs")
    assert "17.2 expected" in text and "p = 0.003" in text
    chance = analyses.near_repeat_words(knox_row(knox_p_value=0.066, knox_ratio=1.41), "knife or sharp instrument")
    assert chance.startswith("Near repeats of knife or sharp instrument offences were no more than chance")
    assert "times" not in chance
    fewer = analyses.near_repeat_words(knox_row(knox_p_value=0.001, knox_ratio=0.5), "personal robbery")
    assert "no more than chance" in fewer                    # significantly fewer pairs is not a raised risk
    tiny = analyses.near_repeat_words(knox_row(observed_pairs=4, expected_pairs=0.8, knox_ratio=5.0,
                                               knox_p_value=0.001), "personal robbery")
    assert tiny.startswith("Too few pairs") and "times" not in tiny and "p =" not in tiny


# ---------------------------------------------------------------- the map

def test_emerging_map_names_each_class_drawn_and_draws_nothing_without_one(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    wards = gpd.GeoDataFrame({"ward_code": ["W1"], "ward_name": ["Alpha"]}, geometry=[box(0, 0, 1000, 1000)],
                             crs="EPSG:27700")
    classes = ["new_hot_spot", "persistent_hot_spot", "persistent_hot_spot", "sporadic_cold_spot", "no_pattern"]
    cells = gpd.GeoDataFrame({"theme": "vwi", "emerging_class": classes,
                              "first_month": pd.Timestamp("2022-01-01"), "last_month": pd.Timestamp("2023-12-01")},
                             geometry=[box(200 * i, 0, 200 * (i + 1), 200) for i in range(5)], crs="EPSG:27700")
    layers = {"wards": wards, "area": None, "themes": {"vwi": "Violence with Injury"}, "cell_m": 200.0,
              "fdr_alpha": 0.05, "emerging_hotspots": cells}
    [path] = maps.emerging_map(layers, "vwi", tmp_path, "boundaries")
    svg = path.read_text()
    assert "Violence with Injury: emerging hot spots, Jan 2022 to Dec 2023" in svg
    assert "new hot spot: hot in the last month, never before (1 cells)" in svg
    assert "persistent hot spot: hot 90% of months, no trend (2 cells)" in svg
    assert "sporadic cold spot" in svg and "intensifying" not in svg        # only the classes drawn
    layers["emerging_hotspots"] = cells.assign(emerging_class="no_pattern")
    assert maps.emerging_map(layers, "vwi", tmp_path / "none", "boundaries") == []


# ---------------------------------------------------------------- both marts, built from a planted extract

@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    """The two-ward borough of test_geography (2 km x 1 km, 50 m cells: 800), 24 months of VWI: 40 points a
    month spread at random, 12 a month in cell A (every month: a persistent hot spot) and 15 in cell B in
    December 2023 only (a new hot spot); and 2023's personal robberies with planted near repeats."""
    root = tmp_path_factory.mktemp("spacetime")
    config = write_borough(root, grid_cell_m=50, gi_min_crimes=20)
    rng = np.random.default_rng(21)
    rows = []
    for year, month in itertools.product((2022, 2023), range(1, 13)):
        xs, ys = list(rng.uniform(530_050, 531_950, 40)), list(rng.uniform(180_050, 180_950, 40))
        xs += list(rng.uniform(530_210, 530_240, 12))     # cell A: col 10604, row 3604
        ys += list(rng.uniform(180_210, 180_240, 12))
        if (year, month) == (2023, 12):
            xs += list(rng.uniform(531_710, 531_740, 15))  # cell B: col 10634, row 3614
            ys += list(rng.uniform(180_710, 180_740, 15))
        rows += [f"V{year}{month:02d}{i:03d},{1 + i % 28:02d}/{month:02d}/{year},8N,{x:.1f},{y:.1f},,,,"
                 for i, (x, y) in enumerate(zip(xs, ys))]
    x, y, t = planted_near_repeats(seed=6, n=60, repeats=15)
    x, y = 530_000 + 50 + x * 1900 / 4100, 180_000 + 50 + y * 900 / 4100
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.minimum(t, 364), unit="D")
    rows += [f"R{i:03d},{d:%d/%m/%Y},34B,{a:.1f},{b:.1f},,,," for i, (a, b, d) in enumerate(zip(x, y, dates))]
    with open(root / "offences.csv", "a") as f:
        f.write("".join(r + ",2024-01-10\n" for r in rows))
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    yield con
    con.close()


def test_planted_cells_get_their_emerging_class(planted_run):
    con = planted_run
    cells = con.execute("select * from emerging_hotspots where theme = 'vwi'").df().set_index(["grid_col", "grid_row"])
    assert (cells.months == 24).all() and (cells.months_computed == 24).all()
    a, b = cells.loc[(10604, 3604)], cells.loc[(10634, 3614)]
    assert a.hot_months == 24 and a.emerging_class == "persistent_hot_spot", a.to_dict()
    assert b.hot_months == 1 and b.last_month_class == "hot" and b.emerging_class == "new_hot_spot"
    assert str(cells.first_month.iloc[0])[:7] == "2022-01" and str(cells.last_month.iloc[0])[:7] == "2023-12"
    # a theme without 20 located crimes in every month gets no classes
    assert set(con.execute("select distinct emerging_class from emerging_hotspots where theme = 'personal_robbery'")
               .fetchall()) == {("not_computed",)}


def test_near_repeats_mart_counts_every_pair_once_as_pandas_does(planted_run):
    con = planted_run
    table = con.execute("select * from near_repeats order by distance_band, time_band").df()
    assert set(table.theme) == {"personal_robbery"}               # the flagged themes with points (no knife crime here)
    points = con.execute("""
        select x_bng, y_bng, event_date from int_offences_classified
        where theme = 'personal_robbery' and year(event_date) = 2023
          and location_method in ('point_in_polygon', 'point_snapped')""").df()
    days = (pd.to_datetime(points.event_date) - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
    counted = pandas_knox(points.x_bng.to_numpy(), points.y_bng.to_numpy(), days)
    assert (table.observed_pairs.to_numpy().reshape(6, 6) == counted).all()
    assert table.observed_pairs.sum() == len(points) * (len(points) - 1) // 2
    first = table.iloc[0]
    assert (first.distance_label, first.time_label) == ("0-200 m", "0-7 days")
    assert table.distance_label.iloc[-1] == "more than 1,000 m" and table.time_label.iloc[-1] == "more than 35 days"
    assert first.knox_ratio > 1 and first.knox_p_value <= 0.05 and first.permutations == 999
    sentence = analyses.near_repeat_sentence(con, "personal_robbery", "personal robbery")
    assert sentence.startswith("After a personal robbery offence, the risk of another within 200 m in the next 7 days")


def test_the_public_tier_gets_no_near_repeat_sentence(planted_run):
    """near_repeats is not public: drafted in the public schema, where the table is absent, no sentence
    (DuckDB would otherwise find main's restricted table under the same name)."""
    con = planted_run
    con.execute("create schema if not exists public_test")
    con.execute("set search_path = 'public_test'")
    try:
        assert analyses.near_repeat_sentence(con, "personal_robbery", "personal robbery") == ""
    finally:
        con.execute("set search_path = 'main'")
    assert analyses.near_repeat_sentence(con, "personal_robbery", "personal robbery")
