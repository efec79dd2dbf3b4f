"""Priorities and recommendations (issue 20 items 2-3) on the synthetic demo borough: the report's section,
its draft marking, top wards by count against top wards by harm recounted from ward_hotspots, and a public
tier that shows none of it."""

from __future__ import annotations

import re

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.publish.excel_pack import sheet_title
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.merton import WARD_FILE_2022, WARD_FILE_PRE_2022, merton_config
from tests.helpers.shared_data import needs_shared_data

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(shared_demo_run):
    _, out, _ = shared_demo_run        # the suite's one demo run (tests/integration/conftest.py)
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield out, con
    con.close()


def section(html: str) -> str:
    start = html.index('<section id="priorities"')
    return html[start:html.index("</section>", start)]


def test_the_report_ranks_priorities_and_marks_every_option_as_a_draft(demo):
    out, con = demo
    html = (out / "report.html").read_text(encoding="utf-8")
    part = section(html)
    # after the themes at a glance, before the first theme's own section
    assert html.index('id="summary"') < html.index('id="priorities"') < html.index('class="theme"')
    assert "How the priority score is made" in part and "Draft for the analyst" in part
    options = re.findall(r"<li>(.*?)</li>", part, flags=re.S)
    assert options and all("[Draft]" in o for o in options)
    top = con.execute("select theme from priorities where level = 'theme' and priority_rank = 1").fetchone()[0]
    assert f'<div class="priority" data-theme="{top}">' in part
    assert "Intelligence requirements" in part


def test_top_wards_by_harm_match_a_recount_of_ward_hotspots(demo):
    out, _ = demo
    part = section((out / "report.html").read_text(encoding="utf-8"))
    hot = pd.read_csv(out / "tables" / "ward_hotspots.csv")
    vwi = hot[(hot.theme == "vwi") & (hot["count"] > 0)]
    # VWI's crimes nearly all have a severity weight (8N and the like), so its wards are weighed
    by_harm = vwi.sort_values(["harm_weighted_count", "ward_name"], ascending=[False, True]).ward_name.head(5).tolist()
    by_count = vwi.sort_values(["count", "ward_name"], ascending=[False, True]).ward_name.head(5).tolist()
    tables = re.findall(r"<caption>Violence with Injury: top wards by (crimes|harm)</caption>(.*?)</table>", part, re.S)
    shown = {kind: re.findall(r'<th scope="row">(.*?)</th>', body) for kind, body in tables}
    assert shown == {"crimes": by_count, "harm": by_harm}
    verdict = ("does not change" if by_harm == by_count else
               "keeps the same" if set(by_harm) == set(by_count) else "changes")
    assert f"Harm weighting {verdict} the top 5 wards for Violence with Injury" in part


def test_rules_fire_on_the_demo_facts(demo):
    out, con = demo
    part = section((out / "report.html").read_text(encoding="utf-8"))
    facts = con.execute("select theme, u25_over_represented from priorities where level = 'theme' "
                        "and priority_rank <= 3").fetchall()
    for theme, young in facts:
        block = part[part.index(f'<div class="priority" data-theme="{theme}">'):]
        block = block[:block.index("</div>")]
        assert ("Schools and youth-service engagement" in block) == bool(young)


def test_the_data_pack_has_the_priorities_sheet(demo):
    out, _ = demo
    assert sheet_title("priorities") in openpyxl.load_workbook(out / "svna_data_pack.xlsx", read_only=True).sheetnames


def test_the_public_tier_shows_no_priority_and_no_draft(demo):
    out, _ = demo
    public = (out / "public" / "report.html").read_text(encoding="utf-8")
    part = section(public)
    assert "restricted tier only" in part and "[Draft]" not in part and "<table" not in part
    assert not (out / "public" / "tables" / "priorities.csv").exists()


@needs_shared_data
def test_count_only_ward_files_rank_wards_without_harm_or_guesses(tmp_path):
    # the real Merton MPS ward files: no offence codes (no harm), no points (no Gi*), no victims' ages
    con = build_merton_priorities(tmp_path)
    wards = con.execute("select * from priorities where level = 'ward'").df()
    ranked = wards.dropna(subset=["priority_score"])
    assert len(ranked) > 0 and ranked["harm_weighted_count"].isna().all() and ranked["harm_rank"].isna().all()
    assert set(ranked["components_used"]) == {"volume, trend, concentration"}
    assert wards["persistent_hotspot"].isna().all()       # unknown: no patrol plan drafted on it
    # the count ranks are ward_hotspots' own (rank_in_area ties by rate; ours by count alone)
    hot = con.execute("select theme, ward_code, count from ward_hotspots where count > 0 and theme <> 'all_crime'").df()
    hot["expected"] = hot.groupby("theme")["count"].rank(method="min", ascending=False).astype(int)
    merged = ranked.merge(hot, on=["theme", "ward_code"], suffixes=("", "_hot"))
    assert len(merged) == len(ranked) and (merged["count_rank"] == merged["expected"]).all()
    con.close()


def build_merton_priorities(root):
    cfg = load_config(merton_config(root, [WARD_FILE_2022, WARD_FILE_PRE_2022], previous_wards=True))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=["priorities"])
    return con
