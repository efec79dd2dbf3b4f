"""The report's "Priorities and recommendations" section (issue 20): themes and wards ranked by the priority
score (sql/marts/priorities.sql), whether harm weighting changes the top wards, drafted tasking options
(pipeline.narrative.tasking, from sql/seeds/tasking_rules.csv) and the intelligence requirements, each
answered from the marts or listed as a gap.

Read from the tier's tables only. The priorities mart is not published in the public tier (catalog.py), so
there the section says where to find it and shows no figure.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from pipeline import seeds
from pipeline.narrative import analyses, tasking
from pipeline.report.report_tables import Tables

COMPARED_WARDS = 5          # top wards by count and by harm, side by side
HARM_TABLES = 3             # at most this many themes' comparisons


def _settings() -> dict[str, float]:
    return {r["setting"]: float(r["value"]) for r in seeds.read_seed("priority_settings")}


def method(settings: dict[str, float]) -> list[str]:
    """How the score is made, in plain words, with the weights in use."""
    parts = ("volume", "harm", "trend", "concentration")
    weights = ", ".join(f"{part} {settings['weight_' + part]:g}" for part in parts)
    return [
        ("Each theme, and each ward within a theme, gets a priority score from 0 to 100 made of four parts: "
         "volume (crimes this period), harm (crimes weighted by the severity of their offence, using the ONS "
         "Crime Severity Score weights unless the run sets its own), trend (how far this period's count is above "
         "or below the previous period's, as a Poisson Z score) and concentration (how much more of the theme "
         "happens there than its share of residents; for a theme, in its busiest fifth of wards)."),
        ("Each part is scored by its place in the order: 0 for the lowest, 1 for the highest, themes against "
         "themes and a theme's wards against each other. The score is the weighted average of the parts, "
         f"times 100 (weights: {weights})."),
        (f"Harm is scored only where at least {settings['harm_min_coverage_pct']:g}% of the theme's crimes have a "
         "severity weight, and never from count files, which carry no offence codes; a part the inputs cannot give "
         "is left out of the average, and the table says which parts were used."),
    ]


def _guarded(fn, *args) -> str:
    try:
        return fn(*args)
    except (duckdb.CatalogException, duckdb.BinderException, TypeError):
        return ""


def harm_comparison(wards: list[dict], label: str) -> dict | None:
    """The top wards by count and by harm side by side, and whether harm weighting changes them."""
    if not any(w["harm_rank"] is not None for w in wards):
        return None
    by_count = sorted(wards, key=lambda w: (w["count_rank"], str(w["ward_name"] or w["ward_code"])))[:COMPARED_WARDS]
    by_harm = sorted((w for w in wards if w["harm_rank"] is not None),
                     key=lambda w: (w["harm_rank"], str(w["ward_name"] or w["ward_code"])))[:COMPARED_WARDS]
    count_names = [w["ward_name"] or w["ward_code"] for w in by_count]
    harm_names = [w["ward_name"] or w["ward_code"] for w in by_harm]
    entering = [n for n in harm_names if n not in count_names]
    leaving = [n for n in count_names if n not in harm_names]
    if entering or leaving:
        moves = [f"{', '.join(names)} {verb if len(names) == 1 else verb[:-1]}"
                 for names, verb in ((entering, "enters"), (leaving, "leaves")) if names]
        verdict = f"Harm weighting changes the top {len(count_names)} wards for {label}: {' and '.join(moves)}."
    elif count_names != harm_names:
        verdict = f"Harm weighting keeps the same top {len(harm_names)} wards for {label}, in a different order."
    else:
        verdict = f"Harm weighting does not change the top {len(harm_names)} wards for {label}."
    return {"label": label, "by_count": by_count, "by_harm": by_harm, "verdict": verdict}


def requirements(con: duckdb.DuckDBPyConnection, themes: list[dict], period: str,
                 to_text: Callable[[str], str]) -> list[dict]:
    """The plan's intelligence requirements: repeat victims (the themes whose repeat_victims policy is true),
    the neighbours (the priority themes) and the outlook, each answered from the marts or listed as a gap."""
    found = []
    for policy in seeds.themes():
        if policy["repeat_victims"] == "true":
            text = _guarded(analyses.repeat_sentence, con, policy["theme"], policy["short_label"], period)
            found.append({"topic": f"Repeat victims: {policy['label']}", "answered": bool(text),
                          "text": to_text(text) if text else
                          "Not available from these inputs: needs a record extract with victim references and "
                          "at least 10 identified victims."})
    compared = (_guarded(analyses.area_comparison_sentence, con, row["theme"], row["short_label"]) for row in themes)
    answers = [to_text(text) for text in compared if text]
    found.append({"topic": "Neighbouring areas", "answered": bool(answers),
                  "text": " ".join(answers) if answers else
                  "Not available from these inputs: needs count files covering the neighbouring areas."})
    text = _guarded(analyses.outlook_sentence, con)
    found.append({"topic": "Outlook: victims under 25", "answered": bool(text),
                  "text": to_text(text) if text else
                  "Not available from these inputs: needs a population projection and victims' ages."})
    return found


def context(t: Tables, periods: dict, to_text: Callable[[str], str]) -> dict:
    """The section's figures and drafts from the tier's tables (`to_text`: a drafted sentence as plain text)."""
    if not t.has("priorities"):
        return {"available": False}
    settings = _settings()
    labels = {r["theme"]: r for r in seeds.themes()}
    themes = t.rows("priorities", "level = 'theme' and priority_rank is not null",
                    order="order by priority_rank, theme")
    wards = t.rows("priorities", "level = 'ward' and priority_rank is not null",
                   order="order by theme, priority_rank, ward_code")
    for row in themes + wards:
        row["label"] = labels.get(row["theme"], {}).get("label", row["theme"])
        row["short_label"] = labels.get(row["theme"], {}).get("short_label", row["theme"])
    rule_set = tasking.rules()
    chosen = themes[:int(settings["priority_themes"])]
    priorities = []
    for row in chosen:
        top = [w for w in wards if w["theme"] == row["theme"] and w["top_ward"]]
        priorities.append({"row": row, "wards": top, "options": tasking.options(row, rule_set),
                           "ward_options": ward_options(top, rule_set)})
    comparisons = [c for c in (harm_comparison([w for w in wards if w["theme"] == r["theme"]], r["label"])
                               for r in themes) if c][:HARM_TABLES]
    return {"available": True, "method": method(settings), "themes": themes, "ranked_wards": len(wards),
            "priorities": priorities,
            "comparisons": comparisons,
            "requirements": requirements(t.con, chosen, periods.get("current", ""), to_text)}


def ward_options(wards: list[dict], rule_set: list[tasking.Rule]) -> list[dict]:
    """Each drafted option once, with the wards it was drafted for (in the wards' order)."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for ward in wards:
        for option in tasking.options(ward, rule_set):
            key = (option["option_type"], option["text"], option["because"])
            grouped.setdefault(key, []).append(ward["ward_name"] or ward["ward_code"])
    return [{"option_type": kind, "text": text, "because": because, "wards": names}
            for (kind, text, because), names in grouped.items()]
