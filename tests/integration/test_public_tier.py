"""The public tier of a whole demo run (issue 12 items 2 and 3): an attacker who holds every public
table and knows every total tries to recover each suppressed cell by differencing rows, columns and
totals, and must fail; the same attack on a primary-only suppression succeeds (so it can fail). Then
the two data packs, read back with openpyxl, as a reader would see them."""

from __future__ import annotations

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.publish import catalog, excel_pack
from pipeline.publish.disclosure_rules import SENSITIVE_THEMES, row_keys
from pipeline.transform import db


@pytest.fixture(scope="module")
def demo(shared_demo_run):
    root, out, _ = shared_demo_run        # the suite's one demo run (tests/integration/conftest.py)
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield root, out, con
    con.close()


def _tables(con, schema: str) -> dict[str, pd.DataFrame]:
    """Each public table, restricted or public version, in unique-key order (rows line up)."""
    models = db.load_models(("marts",))
    names = [n for (n,) in con.execute("select table_name from information_schema.tables where table_schema = "
                                       "'public' and table_name <> 'disclosure_log'").fetchall()]
    return {n: con.execute(f"select * from {schema}.{n} order by {', '.join(models[n].unique_key)}").df()
            for n in names}


# The attacker's knowledge, written here from the tables' meaning (not from the catalog's disclosure rules):
# rows that add up to a total someone can find (another table, the area's figure, the sum of a view).
ADDITIVE = [
    ("ward_summary", "count", ["area_code", "theme", "period_label"]),
    ("ward_summary", "previous_count", ["area_code", "theme", "period_label"]),
    ("ward_hotspots", "count", ["area_code", "theme", "period_label"]),
    ("ward_hotspots", "previous_count", ["area_code", "theme", "period_label"]),
    ("ward_hotspots", "count", ["area_code", "sub_area", "theme", "period_label"]),
    ("ward_hotspots", "previous_count", ["area_code", "sub_area", "theme", "period_label"]),
    ("sub_area_summary", "count", ["area_code", "theme", "period_label"]),
    ("domestic_abuse_split", "count", ["area_code", "theme", "period_label"]),
    ("domestic_abuse_split", "previous_count", ["area_code", "theme", "period_label"]),
    ("people_profile", "count", ["area_code", "theme", "period_role", "person_role", "dimension"]),
    ("victim_rates", "victims", ["area_code", "theme", "period_label", "dimension"]),
    ("deprivation_profile", "count", ["area_code", "theme", "period_label"]),
    ("deprivation_profile", "previous_count", ["area_code", "theme", "period_label"]),
    ("temporal_profile", "crimes", ["area_code", "theme", "period_label", "view"]),
    ("temporal_profile", "weighted_count", ["area_code", "theme", "period_label", "view"]),
]
# a suppressed count and the published columns that give it back: count = f(the others)
RECOVER = [
    ("count", ["previous_count", "change"]),
    ("previous_count", ["count", "change"]),
    ("count", ["previous_count", "pct_change"]),
    ("count", ["population", "rate_per_1000"]),
    ("count", ["area_count", "share_of_area_pct"]),
    ("previous_count", ["population", "previous_rate_per_1000"]),
    ("victims", ["rest_victims"]),                        # with the group's total victims
    ("rest_victims", ["victims"]),
    ("victims", ["population", "rate_per_1000"]),
    ("victims_u25", ["victims_known_age", "victims_u25_pct"]),
    ("victims_u18", ["victims_known_age", "victims_u18_pct"]),
    ("da_offences", ["count", "da_share_pct"]),
    ("repeat_victims", ["victims", "repeat_victims_pct"]),
    ("crimes", ["share_pct"]),                            # with the view's total
    ("weighted_count", ["share_pct"]),
]
# the same figure in two tables (joined on these columns)
SAME_CELL = [
    ("ward_summary", "ward_hotspots", ["area_code", "ward_code", "theme", "period_label"], "count"),
    ("ward_summary", "ward_hotspots", ["area_code", "ward_code", "theme", "period_label"], "previous_count"),
    ("theme_summary", "theme_detail", ["area_code", "theme", "period_label"], "count"),
]


def attack(restricted: dict[str, pd.DataFrame], public: dict[str, pd.DataFrame],
           log: pd.DataFrame | None = None) -> list[tuple]:
    """Every suppressed cell (public null, restricted not) the attacker can recover. The attacker knows
    a group's total when it is at least 5 (published somewhere: smaller totals are suppressed too), and
    from the log which hidden cells are primary (so at least 1)."""
    found = []
    primary = set() if log is None else set(
        log.loc[log["rule"].str.startswith("primary"), ["table_name", "row_key", "column_name"]].itertuples(index=False))
    models = db.load_models(("marts",))

    def hidden(name, column):
        return public[name][column].isna() & restricted[name][column].notna()

    for name, column, group in ADDITIVE:
        if name not in public or not len(public[name]):
            continue
        frame = restricted[name]
        lost = hidden(name, column)
        by = [frame[g] for g in group]
        per_group = lost.groupby(by, dropna=False).transform("sum")
        total = pd.to_numeric(frame[column], errors="coerce").groupby(by, dropna=False).transform("sum")
        for i in frame.index[lost & (per_group == 1) & (total >= 5)]:
            found.append((name, i, column, "total minus the rest of its group"))
        # k hidden cells, each at least 1 (the log says primary), adding up to k (a known total says so,
        # or k is 4 and the total is under 5): every one is a 1
        keys = row_keys(frame, list(models[name].unique_key))
        is_primary = pd.Series([(name, k, column) in primary for k in keys], index=frame.index)
        ones = ((frame[column].where(lost) == 1) & is_primary).groupby(by, dropna=False).transform("sum")
        for i in frame.index[lost & (per_group > 1) & (ones == per_group) & ((total >= 5) | (per_group >= 4))]:
            found.append((name, i, column, "all the hidden cells of its group are 1s"))
    for name, frame in public.items():
        for target, using in RECOVER:
            if target in frame and all(u in frame for u in using):
                known = pd.concat([frame[u].notna() for u in using], axis=1).all(axis=1)
                for i in frame.index[hidden(name, target) & known]:
                    found.append((name, i, target, f"from {', '.join(using)}"))
    for left, right, on, column in SAME_CELL:
        a = restricted[left][on].assign(_hidden=hidden(left, column).to_numpy())
        b = public[right][on].assign(_shown=public[right][column].notna().to_numpy())
        both = a.merge(b, on=on)
        found += [(left, None, column, f"published in {right}") for _ in range(int((both._hidden & both._shown).sum()))]
    # the theme's count for the year, again in trend (same area, same theme, same value)
    ts, tr = restricted["theme_summary"], public["trend"]
    for i in ts.index[hidden("theme_summary", "count")]:
        same = tr[(tr.area_role == "area") & (tr.theme == ts.at[i, "theme"]) & (tr.period_label == ts.at[i, "period_label"])]
        if (same["count"] == ts.at[i, "count"]).any():
            found.append(("theme_summary", i, "count", "published in trend"))
    return found


def test_no_suppressed_public_cell_can_be_recovered_by_differencing(demo):
    _, _, con = demo
    restricted, public = _tables(con, "main"), _tables(con, "public")
    suppressed = sum(int((public[n].isna() & restricted[n].notna()).sum().sum()) for n in public)
    assert suppressed > 1000                                              # the attack has targets
    for name in ("ward_hotspots", "people_profile", "domestic_abuse_split", "theme_monthly"):
        assert public[name]["count"].isna().sum() > restricted[name]["count"].isna().sum(), name
    # the attacker is given the restricted log's rules too (the public log says which cells, never why)
    log = pd.read_csv(demo[1] / "disclosure_log.csv", dtype=str, keep_default_na=False)
    assert attack(restricted, public, log) == []


def test_the_attack_recovers_cells_when_only_small_counts_are_blanked(demo):
    _, _, con = demo
    restricted = _tables(con, "main")
    naive = {}
    for name, frame in restricted.items():
        frame = frame.copy()
        for column in catalog.MARTS[name].disclosure.counts:
            small = pd.to_numeric(frame[column], errors="coerce").between(1, 4)
            frame[column] = frame[column].astype(object).where(~small, None)
        naive[name] = frame
    ways = {how.split(" in ")[0] for *_, how in attack(restricted, naive)}
    assert {"total minus the rest of its group", "from previous_count, change"} <= ways


def test_the_log_lists_every_suppressed_cell_once_with_its_rule(demo):
    _, out, con = demo
    restricted, public = _tables(con, "main"), _tables(con, "public")
    log = pd.read_csv(out / "disclosure_log.csv", dtype=str, keep_default_na=False)     # restricted: with the rule
    public_log = pd.read_csv(out / "public" / "disclosure_log.csv", dtype=str, keep_default_na=False)
    assert list(public_log.columns) == ["table_name", "row_key", "column_name"]      # which cells, never why
    assert public_log.equals(log.loc[log.rule != "rounded", list(public_log.columns)].reset_index(drop=True))
    assert not log.duplicated(["table_name", "row_key", "column_name"]).any()
    suppressed = sum(int((public[n].isna() & restricted[n].notna()).sum().sum()) for n in public)
    assert len(log[log["rule"] != "rounded"]) >= suppressed
    assert {"primary_small_count", "primary_sensitive_small_count", "secondary", "base_under_10",
            "small_total"} <= set(log["rule"])
    # a row key is the table's unique key, joined with " | "
    row = log[(log.table_name == "ward_hotspots") & (log.rule == "primary_sensitive_small_count")].iloc[0]
    area, ward, theme, period = row.row_key.split(" | ")
    assert theme in SENSITIVE_THEMES
    value = con.execute("select count from ward_hotspots where area_code = ? and ward_code = ? and theme = ? "
                        "and period_label = ?", [area, ward, theme, period]).fetchone()[0] \
        if row.column_name == "count" else None
    assert value is None or 1 <= value < 10


def test_the_public_folder_holds_no_point_or_record_level_table(demo):
    _, out, con = demo
    public = out / "public"
    names = {p.stem for p in (public / "tables").glob("*.csv")}
    assert "theme_summary" in names and not names & {n for n, mart in catalog.MARTS.items() if not mart.public}
    assert (public / "disclosure_log.csv").exists() and (public / excel_pack.PUBLIC_EXCEL_NAME).exists()
    assert not list(public.rglob("*.gpkg")) and not (public / "maps").exists()
    text = (public / "tables" / "ward_hotspots.csv").read_text()
    assert "OFFICIAL-SENSITIVE" not in (public / "headlines.md").read_text()
    assert text.count("\n") == con.execute("select count(*) + 1 from public.ward_hotspots").fetchone()[0]


def test_every_published_column_has_a_heading_and_a_definition(demo):
    _, _, con = demo
    labels = catalog.column_labels()
    columns = {c for (c,) in con.execute("select column_name from information_schema.columns where table_schema = "
                                         "'main' and table_name in (select unnest(?))", [catalog.mart_names()]).fetchall()}
    missing = sorted(c for c in columns if c not in labels or not labels[c][1])
    assert not missing, f"add these columns to sql/seeds/column_labels.csv: {missing}"


@pytest.fixture(scope="module")
def packs(demo):
    _, out, _ = demo
    return (openpyxl.load_workbook(out / excel_pack.EXCEL_NAME),
            openpyxl.load_workbook(out / "public" / excel_pack.PUBLIC_EXCEL_NAME))


def test_the_pack_opens_on_contents_with_headlines_and_links_then_reads_in_order(packs):
    for book in packs:
        assert book.sheetnames[0] == "Contents" and book.sheetnames[1] == excel_pack.sheet_title("theme_summary")
        assert book.sheetnames[-2:] == ["Definitions", "Caveats"]
        assert book.sheetnames.index(excel_pack.sheet_title("quarantine_summary")) > book.sheetnames.index(
            excel_pack.sheet_title("population_outlook"))
        contents = book["Contents"]
        texts = [c.value for row in contents.iter_rows() for c in row if isinstance(c.value, str)]
        assert "Headlines" in texts and any(t.startswith("There were") for t in texts)
        links = {c.hyperlink.location for row in contents.iter_rows() for c in row if c.hyperlink}
        assert {f"'{s}'!A1" for s in book.sheetnames[1:]} <= links
        assert all(not c.hyperlink or not c.hyperlink.target                           # internal links only
                   for ws in book.worksheets for row in ws.iter_rows() for c in row)
    restricted, public = packs
    grid = excel_pack.sheet_title("grid_hotspots")
    assert grid in restricted.sheetnames and grid not in public.sheetnames


def test_headings_are_human_and_percentages_are_fractions_with_a_percent_format(demo, packs):
    _, _, con = demo
    ws = packs[0][excel_pack.sheet_title("theme_summary")]
    headings = [c.value for c in ws[2]]
    assert "Count" in headings and "Change %" in headings and "pct_change" not in headings
    at = headings.index("Change %") + 1
    row = con.execute("select pct_change from theme_summary where theme = 'all_crime'").fetchone()[0]
    theme_at = headings.index("Theme")
    cell = next(r[at - 1] for r in ws.iter_rows(min_row=3) if r[theme_at].value == "all_crime")
    assert cell.value == pytest.approx(row / 100) and "%" in cell.number_format
    p_cell = ws.cell(3, headings.index("p-value") + 1)
    assert isinstance(p_cell.value, float) and "0.000" in p_cell.number_format and "<0.001" in p_cell.number_format
    definitions = packs[0]["Definitions"]
    pairs = {(r[0], r[1]) for r in definitions.iter_rows(min_row=3, values_only=True)}
    assert ("Change %", "pct_change") in pairs


def test_year_and_ward_by_theme_sheets_have_native_charts(packs):
    for book in packs:
        for sheet in ("year_by_theme", "ward_by_theme"):
            ws = book[excel_pack.sheet_title(sheet)]
            # one line chart of the years; a top-wards bar chart per charted theme
            assert len(ws._charts) == 1 if sheet == "year_by_theme" else len(ws._charts) >= 5, sheet
            assert ws.cell(2, 1).value in ("Year", "Ward") and ws.max_row > 3


def test_every_sheet_is_landscape_fit_to_width_and_marked_in_header_and_footer(packs):
    for book, marking in zip(packs, (catalog.MARKING, catalog.PUBLIC_MARKING)):
        for ws in book.worksheets:
            assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0   # 1 wide (the default), any tall
            assert marking in ws.oddHeader.left.text and marking in ws.oddFooter.left.text, ws.title
            assert ws.cell(1, 1).value == marking


def test_an_empty_sheet_says_why(packs):
    ws = packs[0][excel_pack.sheet_title("police_uk_crime_types")]     # the demo has no data.police.uk input
    assert ws.cell(3, 1).value.startswith("This sheet is empty: No data.police.uk input")


def test_public_pack_shows_suppressed_cells_as_c_in_an_otherwise_numeric_column(demo, packs):
    _, out, con = demo
    ws = packs[1][excel_pack.sheet_title("ward_hotspots")]
    headings = [c.value for c in ws[2]]
    counts = [r[headings.index("Count")].value for r in ws.iter_rows(min_row=3)]
    nulls = con.execute("select count(*) from public.ward_hotspots where count is null").fetchone()[0]
    logged = con.execute("select count(*) from public.disclosure_log where table_name = 'ward_hotspots' "
                         "and column_name = 'count'").fetchone()[0]
    assert nulls > 0 and counts.count("[c]") == logged == nulls                      # GSS marker, one per log row
    assert all(isinstance(v, int) and (v == 0 or v >= 5) for v in counts if v != "[c]")
    # CSV and Parquet keep the column numeric: the suppressed cell is empty
    csv = pd.read_csv(out / "public" / "tables" / "ward_hotspots.csv")
    assert pd.api.types.is_numeric_dtype(csv["count"]) and csv["count"].isna().sum() == nulls
    parquet = pd.read_parquet(out / "public" / "tables" / "ward_hotspots.parquet")
    assert pd.api.types.is_numeric_dtype(parquet["count"]) and parquet["count"].isna().sum() == nulls
