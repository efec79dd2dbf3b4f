"""The mart catalog (pipeline/publish/catalog.py): one entry per mart in sql/marts, read by the data pack, the
public tier and the report."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import types
from pathlib import Path

import pytest

from pipeline import seeds
from pipeline.publish import (
    catalog,
    disclosure,
    disclosure_audit,
    disclosure_rules,
    disclosure_suppression,
    excel_pack,
    run_files,
    table_files,
)
from pipeline.publish.disclosure_rules import TableRule
from pipeline.report import annual_report
from pipeline.settings import config
from pipeline.transform import db


def test_every_mart_in_sql_marts_has_an_entry_and_every_entry_a_mart():
    files = set(db.model_files(("marts",)))   # the SQL files, not the catalog's own list
    assert not files - set(catalog.MARTS), "add an entry to pipeline/publish/catalog.py MARTS for each new mart"
    assert not set(catalog.MARTS) - files, "a catalog entry names no sql/marts/<name>.sql"


def test_a_mart_is_public_by_a_rule_or_says_why_it_is_not():
    mart = catalog.MARTS["theme_summary"]
    with pytest.raises(ValueError, match="theme_summary"):
        dataclasses.replace(mart, not_public="both")
    with pytest.raises(ValueError, match="theme_summary"):
        dataclasses.replace(mart, disclosure=None)
    assert set(catalog.disclosure_rules()) == {n for n, m in catalog.MARTS.items() if m.public}
    assert all(isinstance(rule, TableRule) for rule in catalog.disclosure_rules().values())


def test_the_grain_is_read_from_the_sql_header():
    assert catalog.MARTS["areas"].grain == "one row per area the run knows"
    # a bracket's colon and an "e.g." do not end the sentence
    assert catalog.MARTS["sub_area_summary"].grain.startswith("one row per sub-area (ref_sub_areas, e.g. East/West) x theme")
    assert all(mart.grain.startswith("one row per") for mart in catalog.MARTS.values())


def test_sheet_order_follows_the_catalog_pivots_first_quality_last_unknown_tables_between():
    order = catalog.sheet_order(["input_files", "hostile", "trend", "year_by_theme", "theme_summary", "quarantine"])
    assert order == ["theme_summary", "year_by_theme", "trend", "hostile", "quarantine", "input_files"]


def test_each_mart_reaches_its_caveats_and_every_sheet_has_a_description():
    caveats = catalog.MARTS["trend"].caveats()
    assert caveats and {c["applies_to"] for c in caveats} == {"all"}
    assert all(sheet.description for sheet in catalog.sheets().values())


def test_one_marking_per_tier_for_the_data_pack_and_the_report():
    assert catalog.marking("restricted") == catalog.MARKING and "OFFICIAL-SENSITIVE" in catalog.MARKING
    assert catalog.marking("public") == catalog.PUBLIC_MARKING != catalog.MARKING
    assert [annual_report.marking_for(t) for t in ("restricted", "public")] == [catalog.MARKING, catalog.PUBLIC_MARKING]
    with pytest.raises(ValueError, match="open"):
        catalog.marking("open")


def _imports(module) -> set:
    """The svna modules `module` imports (module objects), wherever they sit in the package."""
    found = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline"):
            parent = importlib.import_module(node.module)
            members = [getattr(parent, a.name, None) for a in node.names]
            found |= {m for m in members if isinstance(m, types.ModuleType)} or {parent}
    return found


def test_the_catalog_is_a_leaf_and_report_does_not_import_publish():
    assert _imports(catalog) <= {db, config, disclosure_rules}
    assert _imports(disclosure_rules) <= {seeds}
    for module in (annual_report, excel_pack, table_files, disclosure, disclosure_suppression, disclosure_audit):
        assert run_files not in _imports(module), module.__name__
    assert disclosure not in _imports(disclosure_audit)
