"""One source per figure and plain English (issue 20, items 5 and 6): source labels, the trend sentence
that names its source, the caveats and glossary cut to the run, the summary's change words, and the
maps inlined only when they refer to nothing outside themselves."""

from __future__ import annotations

import re

import duckdb
import pytest

from pipeline import seeds
from pipeline.narrative import analyses
from pipeline.report import plain_text, provenance, summary_page, theme_maps

SNAKE_OR_KEY = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\b[a-z]+\.[a-z_]+\b")   # a column name or a config key


def test_each_source_has_one_reader_name_and_a_label():
    assert [provenance.source_name(k) for k in ("record_extract", "mps_counts", "police_uk")] == \
        ["record extract", "MPS files", "data.police.uk"]
    assert provenance.source_note("mps_counts") == "Source: the MPS files."
    assert provenance.source_note("police_uk") == "Source: data.police.uk."
    assert provenance.sources_in([{"source": "mps_counts"}, {"source": "record_extract"}, {"source": None}]) == \
        ["record_extract", "mps_counts"]


def _trend(con, rows):
    con.execute("create table trend (theme varchar, source varchar, area_role varchar, year_offset int, "
                "period_label varchar, count int, years_in_series int, trend_years int, trend_start_label varchar, "
                "trend_start_count int, trend_pct_change double, trend_direction varchar)")
    con.executemany("insert into trend values (?, ?, 'area', 0, '2023', ?, ?, ?, ?, ?, ?, ?)", rows)


def test_the_trend_sentence_uses_the_source_of_the_count_beside_it_and_names_it():
    con = duckdb.connect()
    # the MPS files have the longer series, but the count quoted beside the sentence is the extract's
    _trend(con, [("vwi", "mps_counts", 1421, 5, 5, "2019", 1100, 29.2, "rising"),
                 ("vwi", "record_extract", 1253, 3, 3, "2021", 1000, 25.3, "rising")])
    sentence = analyses.trend_sentence(con, "vwi", "VWI", "record_extract")
    assert sentence.startswith("In the record extract, over the three years 2021 to 2023")
    assert "1,253" in sentence and "1,421" not in sentence          # no MPS figure in an extract sentence
    # with no preferred source: the longest series, and it says so
    assert analyses.trend_sentence(con, "vwi", "VWI").startswith("In the MPS files, over the five years 2019")


def test_a_count_only_run_is_told_only_the_caveats_that_apply():
    traits = {"all", "restricted", "mps_counts", "ward_hotspots"}
    topics = {c["topic"] for c in plain_text.caveats(traits)}
    assert {"Recording basis", "Ward totals", "Comparator"} <= topics
    assert not topics & {"Knife flag", "Domestic abuse flag", "School terms", "Aoristic times",
                         "data.police.uk limited mode", "Repeat victims", "Population outlook"}
    every = {c["topic"] for c in seeds.read_seed("caveats")}
    extract_run = {c["topic"] for c in plain_text.caveats({"all", "record_extract", "temporal_profile"})}
    assert {"Knife flag", "School terms", "Aoristic times"} <= extract_run < every


def test_the_glossary_follows_the_run_and_the_tier():
    restricted = {g["term"] for g in plain_text.glossary({"all", "restricted", "mps_counts"})}
    public = {g["term"] for g in plain_text.glossary({"all", "public", "mps_counts"})}
    assert "MPS files" in restricted and "Record extract" not in restricted
    assert "[c]" in public and "[c]" not in restricted


def test_reader_text_has_no_column_names_or_config_keys():
    texts = [c["caveat"] for c in seeds.read_seed("caveats")] + [g["meaning"] for g in seeds.read_seed("glossary")]
    found = {m for t in texts for m in SNAKE_OR_KEY.findall(t) if m != "data.police"}
    assert not found, found


@pytest.mark.parametrize("count, previous, pct, flag, arrow, change", [
    (120, 100, 20.0, "significant_increase", "▲", "up 20% on 2022"),
    (90, 100, -10.0, "no_significant_change", "▽", "down 10% on 2022"),
    (4, 2, 100.0, "too_few_to_test", "△", "4 against 2 in 2022"),          # no % on a base under 10
    (100, 100, 0.0, "no_significant_change", "▷", "similar to 2022"),
])
def test_the_summary_change_words_and_arrow(count, previous, pct, flag, arrow, change):
    words = summary_page.trend_words({"count": count, "previous_count": previous, "pct_change": pct,
                                      "change_flag": flag}, "2022")
    assert (words["arrow"], words["change"]) == (arrow, change)


def test_a_map_is_inlined_only_when_it_refers_to_nothing_outside(tmp_path):
    good = ('<svg xmlns="http://www.w3.org/2000/svg" role="img"><title>VWI: rate</title>'
            '<defs><pattern id="p1"/></defs><path fill="url(#p1)"/><use href="#p1"/></svg>')
    (tmp_path / "ward_vwi.svg").write_text(good)
    (tmp_path / "gi_star_vwi.svg").write_text(good.replace('href="#p1"', 'href="https://example.org/x.svg"'))
    (tmp_path / "hotspot_change_vwi.svg").write_text(good.replace("<path", "<script>alert(1)</script><path"))
    (tmp_path / "funnel_wards_vwi.svg").write_text('<?xml version="1.0"?>\n' + good)
    figures, left = theme_maps.theme_maps(tmp_path, "vwi", "VWI", "mps_counts")
    assert [f["kind"] for f in figures] == ["rate map", "funnel plot"]
    assert sorted(left) == ["gi_star_vwi.svg", "hotspot_change_vwi.svg"]
    assert str(figures[0]["figure"]).startswith('<svg class="svna-map ward"')
    funnel = str(figures[1]["figure"])       # ids made its own, so two charts' ids never meet in one page
    assert funnel.startswith('<svg class="svna-map funnel" role="img"') and "<title>VWI: funnel plot" in funnel
    assert 'id="funnel_wards_vwi-p1"' in funnel and 'url(#funnel_wards_vwi-p1)' in funnel
    assert 'href="#funnel_wards_vwi-p1"' in funnel and "<?xml" not in funnel
    assert all(f["source"] == "Source: the MPS files." for f in figures)


def test_every_glossary_and_caveat_row_names_something_a_run_can_have():
    from pipeline.publish.catalog import MARTS
    from pipeline.sources import registry

    known = {"all", "public", "restricted"} | set(registry.kinds()) | set(MARTS)
    for name in ("glossary", "caveats"):
        for row in seeds.read_seed(name):
            assert None not in row and all(row.values()), (name, row)      # no stray comma in a cell
            assert row["applies_to"] in known, (name, row["applies_to"])
