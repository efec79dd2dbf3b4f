"""Drafted tasking options (issue 20): the rules of sql/seeds/tasking_rules.csv tested against the facts of a
priorities row (sql/marts/priorities.sql).

A rule says at which level it applies (theme or ward), the facts that must all hold (`when_all`: fact names
joined by " and ", each optionally preceded by "not"), the kind of option (prevention, intelligence,
enforcement) and its text. The facts are computed in SQL from the marts; a fact the inputs cannot give is
null, and a rule that needs it does not fire. The analyst edits the seed, not this module; the options are
drafts for the analyst to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import seeds
from pipeline.errors import InputError
from pipeline.settings.config import SEEDS_DIR

# the priorities mart's true/false columns a rule may test, and how the report words them
FACTS = {"significant_increase": "a significant increase",
         "count_rising": "more crimes than the previous period",
         "persistent_hotspot": "a hot spot in both periods",
         "u25_over_represented": "victims under 25 over-represented",
         "repeat_victims_high": "many repeat victims",
         "top_ward": "a top ward"}
LEVELS = ("theme", "ward")
OPTION_TYPES = ("prevention", "intelligence", "enforcement")
RULES_FILE = SEEDS_DIR / "tasking_rules.csv"


@dataclass(frozen=True)
class Condition:
    fact: str
    negated: bool

    def holds(self, row: dict) -> bool:
        value = row.get(self.fact)
        if value is None or not isinstance(value, bool):   # unknown (or suppressed): the rule cannot fire
            return False
        return value is not self.negated

    def words(self) -> str:
        return ("not " if self.negated else "") + FACTS[self.fact]


@dataclass(frozen=True)
class Rule:
    rule: str
    level: str
    conditions: tuple[Condition, ...]
    option_type: str
    option_text: str

    def fires(self, row: dict) -> bool:
        return row.get("level") == self.level and all(c.holds(row) for c in self.conditions)


def _error(rule: str, column: str, found: str, allowed: tuple[str, ...]) -> InputError:
    return InputError(str(RULES_FILE), column, f"rule {rule!r} must use one of {', '.join(allowed)}", repr(found))


def parse_rules(rows: list[dict[str, str]]) -> list[Rule]:
    """The seed's rows as rules; a clear error (file, column, rule) on an unknown level, fact or kind."""
    rules = []
    for row in rows:
        name = (row.get("rule") or "").strip()
        level = (row.get("level") or "").strip()
        if level not in LEVELS:
            raise _error(name, "level", level, LEVELS)
        option_type = (row.get("option_type") or "").strip()
        if option_type not in OPTION_TYPES:
            raise _error(name, "option_type", option_type, OPTION_TYPES)
        conditions = []
        for part in (row.get("when_all") or "").split(" and "):
            words = part.split()
            negated = bool(words) and words[0] == "not"
            fact = " ".join(words[1:] if negated else words)
            if fact not in FACTS:
                raise _error(name, "when_all", part.strip(), tuple(FACTS))
            conditions.append(Condition(fact, negated))
        text = (row.get("option_text") or "").strip()
        if not text:
            raise InputError(str(RULES_FILE), "option_text", f"rule {name!r} must give the option it drafts", "no text")
        rules.append(Rule(name, level, tuple(conditions), option_type, text))
    return rules


def rules() -> list[Rule]:
    """The rules of sql/seeds/tasking_rules.csv."""
    return parse_rules(seeds.read_seed("tasking_rules"))


def options(row: dict, rule_set: list[Rule]) -> list[dict[str, str]]:
    """The drafted options the rules give for one priorities row: kind, text and why (the facts that held)."""
    return [{"option_type": r.option_type, "text": r.option_text,
             "because": "; ".join(c.words() for c in r.conditions)}
            for r in rule_set if r.fires(row)]
