"""The report's section on the Serious Violence Duty's core measures and the delivery plan's indicators
(templates/core_measures.html.j2): its context, read from the tier's core_measures and indicator_status.

A suppressed cell (public tier) stays SUPPRESSED and shows as [c]; an indicator whose result the public
tier withheld is counted as withheld in the summary sentence, never guessed.
"""

from __future__ import annotations

from pipeline.report.report_tables import SUPPRESSED, Tables, fmt_number

ARROWS = {"up": "▲", "down": "▼", "same": "►"}
RESULT_WORDS = {"met": "met", "amber": "amber", "red": "red", "not_measured": "not measured",
                "no_data": "no data received"}


def shown(value) -> str:
    """A value as the table shows it: whole numbers without decimals, rates with one; [c] when suppressed."""
    if isinstance(value, float) and value.is_integer():
        return fmt_number(value)
    return fmt_number(value, 1) if isinstance(value, float) else fmt_number(value)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def indicator_summary(rows: list[dict]) -> str:
    """The year-end sentence for the latest quarter's rows: "Of the 13 indicators in the delivery plan's set,
    6 met their target in Q4 2023, 4 did not (1 amber, 3 red), 1 was not measured this period and 2 have
    no data received." Parts with no indicator are left out; '' when there is no indicator."""
    if not rows:
        return ""
    results = [r["result"] for r in rows]
    met = results.count("met")
    amber, red = results.count("amber"), results.count("red")
    not_measured, no_data = results.count("not_measured"), results.count("no_data")
    withheld = sum(1 for r in results if r is SUPPRESSED)
    parts = [f"{met} met {'its' if met == 1 else 'their'} target in {rows[0]['quarter_label']}"]
    if amber or red:
        detail = ", ".join(p for p in (f"{amber} amber" if amber else "", f"{red} red" if red else "") if p)
        parts.append(f"{amber + red} did not ({detail})")
    if not_measured:
        parts.append(f"{not_measured} {'was' if not_measured == 1 else 'were'} not measured this period")
    if no_data:
        parts.append(f"{no_data} {'has' if no_data == 1 else 'have'} no data received")
    if withheld:
        parts.append(f"{withheld} {'is' if withheld == 1 else 'are'} withheld in the public tier (small numbers)")
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Of the {_count(len(rows), 'indicator', 'indicators')} in the delivery plan's set, {listed}."


def _indicators(t: Tables) -> tuple[list[dict], list[str], str]:
    """(one row per indicator with its quarters, the quarter labels, the summary sentence)."""
    rows = t.rows("indicator_status", order="order by sort_order, quarter_start")
    if not rows:
        return [], [], ""
    quarters = list(dict.fromkeys(r["quarter_label"] for r in rows))
    by_id: dict[str, dict] = {}
    for r in rows:
        entry = by_id.setdefault(r["id"], {**{k: r[k] for k in ("id", "indicator", "plan_theme", "owner", "target",
                                                                  "direction", "source_measure")},
                                           "target": shown(r["target"]), "red_at": shown(r["red_at"]), "quarters": {}})
        entry["quarters"][r["quarter_label"]] = {
            "value": None if r["value"] is None else shown(r["value"]),
            "period": r["value_period"] if r["value_period"] != r["quarter_label"] else "",
            "rag": r["rag"], "result": r["result"],
            "word": RESULT_WORDS.get(r["result"], "[c]" if r["result"] is SUPPRESSED else ""),
            "arrow": ARROWS.get(r["trend"], "") if r["trend"] is not SUPPRESSED else "",
            "trend": r["trend"] if isinstance(r["trend"], str) else "",
            "better": r["trend_better"] if isinstance(r["trend_better"], bool) else None}
    latest = [r for r in rows if r["quarter_label"] == quarters[-1]]
    return list(by_id.values()), quarters, indicator_summary(latest)


def core_measures_context(t: Tables) -> dict | None:
    """What core_measures.html.j2 shows; None when the tier has neither table (no section of nothing)."""
    measures = t.rows("core_measures", order="order by sort_order")
    indicators, quarters, summary = _indicators(t)
    if not measures and not indicators:
        return None
    return {"measures": measures, "available": sum(1 for m in measures if m["available"] is True),
            "indicators": indicators, "quarters": quarters, "indicator_summary": summary}
