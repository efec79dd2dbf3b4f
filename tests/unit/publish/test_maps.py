"""Maps that cannot mislead (issue 12 item 4): whole-number classes on small counts, and the
hotspot-change map. Each map is one SVG whose texts are <text> elements, so titles and legends are read back."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from pipeline.publish import maps


def test_small_counts_get_whole_number_classes_with_zero_on_its_own():
    assert maps.count_classes(np.array([0, 0, 1, 1, 2, np.nan])) == [(0, 0), (1, 1), (2, 2)]
    assert maps.count_classes(np.array([1, 1, 1])) == [(1, 1)]
    classes = maps.count_classes(np.arange(0, 15))
    assert classes[0] == (0, 0) and len(classes) == 4 and classes[-1][1] == 14
    lows, highs = [lo for lo, _ in classes[1:]], [hi for _, hi in classes[1:]]
    assert lows[0] == 1 and all(lo == hi + 1 for lo, hi in zip(lows[1:], highs))   # no gaps, no overlaps
    assert maps.count_classes(np.array([np.nan])) == []


def test_a_lone_class_is_not_painted_in_the_darkest_colour():
    assert maps._palette(1, zero=False) != [maps.CLASS_COLOURS[-1]]
    assert maps._palette(3, zero=True)[0] == maps.CLASS_COLOURS[0]


def _layers(counts: list[int], grid_changes: list[str] | None = None) -> dict:
    wards = gpd.GeoDataFrame({"ward_code": [f"W{i}" for i in range(len(counts))],
                              "ward_name": [f"Ward {i}" for i in range(len(counts))]},
                             geometry=[box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(len(counts))], crs=27700)
    hotspots = wards.assign(theme="homicide", count=pd.array(counts, dtype="Int64"), rate_per_1000=[c / 5 for c in counts],
                            period_label="2022", source="mps_counts")
    layers = {"wards": wards, "area": wards.dissolve(), "ward_hotspots": hotspots, "themes": {"homicide": "Homicide"},
              "cell_m": 500.0, "fdr_alpha": 0.05}
    if grid_changes is not None:
        cells = [box(i * 500, 0, (i + 1) * 500, 500) for i in range(len(grid_changes))]
        layers["grid_hotspots"] = gpd.GeoDataFrame({"theme": "homicide", "period_role": "current", "period_label": "2022",
                                                    "hotspot_change": grid_changes}, geometry=cells, crs=27700)
    return layers


def test_a_theme_with_no_offences_says_so_instead_of_a_shaded_map(tmp_path):
    written = maps.ward_choropleth(_layers([0, 0, 0]), "homicide", tmp_path, "test")
    svg = (tmp_path / "ward_homicide.svg").read_text()
    assert tmp_path / "ward_homicide.svg" in written
    assert "No offences recorded" in svg and "no offences recorded, 2022" in svg
    assert "0.0 to 0.0" not in svg and "rate per 1,000" not in svg


def test_few_homicides_are_mapped_as_counts_in_whole_numbers(tmp_path):
    maps.ward_choropleth(_layers([0, 1, 2]), "homicide", tmp_path, "test")
    svg = (tmp_path / "ward_homicide.svg").read_text()
    assert "Homicide: crimes, 2022" in svg and "rate per 1,000" not in svg
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    legend = texts[texts.index("crimes"):]                              # the legend's title, then its classes
    assert legend[1:4] == ["0", "1", "2"]                               # one whole-number class per count


def test_hotspot_change_map_shows_new_persistent_and_former_hot_spots(tmp_path):
    layers = _layers([5, 5], ["new_hot", "persistent_hot", "persistent_hot", "former_hot"])
    written = maps.hotspot_change_map(layers, "homicide", tmp_path, "test")
    assert [p.name for p in written] == ["hotspot_change_homicide.svg"]
    svg = written[0].read_text()
    assert "new hot spot (hot now, not before): 1 cells" in svg
    assert "persistent hot spot (hot in both periods): 2 cells" in svg
    assert "former hot spot (hot before, not now): 1 cells" in svg


def test_no_hotspot_change_map_when_no_cell_was_ever_hot(tmp_path):
    layers = _layers([5, 5], ["no_hotspot", "not_computed", "new_cold", "no_hotspot"])
    assert maps.hotspot_change_map(layers, "homicide", tmp_path, "test") == []
    assert not list(tmp_path.iterdir())


def test_write_maps_draws_each_map_with_something_to_show_once_as_svg(tmp_path):
    layers = _layers([0, 3, 40], ["new_hot", "persistent_hot", "former_hot", "no_hotspot"])
    layers["ward_hotspots"] = pd.concat([layers["ward_hotspots"], layers["ward_hotspots"].assign(theme="rape"),
                                         layers["ward_hotspots"].assign(theme="robbery", count=0)])
    layers["grid_hotspots"] = pd.concat([layers["grid_hotspots"], layers["grid_hotspots"].assign(theme="rape")])
    layers["grid_hotspots"]["hotspot_class"] = "hot"
    layers["themes"] = {"homicide": "Homicide", "rape": "Rape", "robbery": "Robbery", "arson": "Arson"}
    written = maps.write_maps(layers, tmp_path / "one", "test")
    # no Gi* or change map of a theme without grid cells, nothing for a theme with no ward rows
    assert [p.name for p in written] == [f"{kind}_{theme}.svg" for theme in ("homicide", "rape")
                                         for kind in ("ward", "gi_star", "hotspot_change")] + ["ward_robbery.svg"]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(p.name for p in written)
    again = maps.write_maps(layers, tmp_path / "two", "test")
    for a, b in zip(written, again):                                     # same inputs, same bytes
        assert a.read_bytes() == b.read_bytes(), a.name
    svg = written[0].read_text()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<title>Homicide: rate per 1,000 residents, 2022</title>" in svg
    assert "href" not in svg and "<image" not in svg                   # self-contained: nothing linked or embedded
    assert [re.findall(r"<text[^>]*>(.*?)</text>", svg).count(f"Ward {i}") for i in range(3)] == [1, 1, 1]
