"""Quarantine rules, each declared once: one row of sql/seeds/quarantine_rules.csv.

A row gives the rule id, the checked model it applies to, its stage, the failing column (a name, or
an SQL expression such as the month cell of a wide file), the SQL condition a failing row meets, the
SQL value the quarantine shows, and the reason. Everything else is generated from it:

- the checked models (`sql/intermediate/int_*_checked.sql`) prepare their rows in a CTE and end with
  ``{{ checked_rows('CTE') }}``: the shared tail that gives each row ``failed_rules`` (every rule it
  fails, in seed order) and ``quarantine_rule`` (the first; null when the row is kept);
- the quarantine mart (`sql/marts/quarantine.sql`) writes ``{{ quarantined_rows }}``: the rows every
  checked model the seed names holds back, in one shape (each checked model gives its rows'
  ``input_table``, ``source_month`` and ``crime_ref``), with the failing column and value of the rule;
- ``{{ fails_row_rules }}``: the model's row rules joined by ``or``, for a checked model that gives
  verdicts only to the rows that can fail (int_police_uk_checked, millions of rows);
- the Great Expectations row specs (pipeline.checks.validation) check one flag per rule.

Stages: ``row`` rules are tried in seed order and the first a row fails is its quarantine rule;
``copy`` rules (later copies of a key, usually a window over the rows that passed) apply only to rows
that passed every row rule, and see that as ``row_rule is null``; ``read`` rules are found by the CSV
reader (its reject table, model ``raw_rejects``) and have no condition here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings.config import SEEDS_DIR

SEED_NAME = "quarantine_rules.csv"
STAGES = ("row", "copy", "read")
COLUMNS = ("rule", "model", "stage", "column", "condition", "value", "reason")
PERSON_COLUMNS = {"person_ref"}  # never shown in the quarantine or a message, pseudonymised or not
_RULE_ID = re.compile(r"[a-z][a-z0-9_]*")
# a failing column written as a plain name (letters, digits, spaces, '/', '_') is shown as it is
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ /]*")
_PLACEHOLDER = re.compile(r"\{\{\s*(checked_rows|quarantined_rows|fails_row_rules)\s*(?:\(\s*'([a-z0-9_]+)'\s*\))?\s*\}\}")


class RuleError(ValueError):
    """The rule seed is malformed (the message names the seed, the line and what is wrong)."""


@dataclass(frozen=True)
class Rule:
    rule: str
    model: str
    stage: str
    column: str
    condition: str
    value: str
    reason: str

    @property
    def column_sql(self) -> str:
        """The failing column as an SQL expression: a plain name becomes a string literal."""
        if _COLUMN_NAME.fullmatch(self.column):
            return "'" + self.column.replace("'", "''") + "'"
        return f"({self.column})"

    @property
    def column_is_name(self) -> bool:
        return bool(_COLUMN_NAME.fullmatch(self.column))

    @property
    def value_sql(self) -> str:
        return f"cast(({self.value}) as varchar)" if self.value else "cast(null as varchar)"


def seed_path(sql_dir: Path | None = None) -> Path:
    return (sql_dir / "seeds" if sql_dir else SEEDS_DIR) / SEED_NAME


def load_rules(path: Path | None = None) -> list[Rule]:
    """Every rule in seed order (the order is each model's precedence)."""
    path = path or seed_path()
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise RuleError(f"{path}: the header must be {','.join(COLUMNS)}; found {','.join(reader.fieldnames or [])}")
        rules = [Rule(**{k: (v or "").strip() for k, v in row.items()}) for row in reader]
    seen = set()
    for line, rule in enumerate(rules, start=2):
        where = f"{path}, line {line} (rule {rule.rule!r})"
        if not _RULE_ID.fullmatch(rule.rule):
            raise RuleError(f"{where}: a rule id is lower-case letters, digits and _")
        if rule.stage not in STAGES:
            raise RuleError(f"{where}: stage must be one of {', '.join(STAGES)}")
        if (rule.stage == "read") != (not rule.condition):
            raise RuleError(f"{where}: a row or copy rule needs a condition; a read rule has none")
        if not rule.reason:
            raise RuleError(f"{where}: every rule needs a reason")
        if PERSON_COLUMNS & set(re.findall(r"[a-z_][a-z0-9_]*", rule.value.lower())):
            raise RuleError(f"{where}: the value shown may not name a person column ({', '.join(sorted(PERSON_COLUMNS))})")
        if (rule.rule, rule.model) in seen:
            raise RuleError(f"{where}: the rule is declared twice for {rule.model}")
        seen.add((rule.rule, rule.model))
    return rules


def rules_from_table(con) -> list[Rule]:
    """The rules as loaded on a connection (table seed_quarantine_rules, db.load_seeds), in seed order."""
    cursor = con.execute("select " + ", ".join(f'"{c}"' for c in COLUMNS) + " from seed_quarantine_rules")
    return [Rule(*[(v or "").strip() for v in row]) for row in cursor.fetchall()]


def model_rules(rules: list[Rule], model: str, stage: str | None = None) -> list[Rule]:
    return [r for r in rules if r.model == model and (stage is None or r.stage == stage)]


def failed_rules_sql(rules: list[Rule]) -> str:
    """The rules a row fails, in precedence order, as a varchar list (empty when it passes)."""
    if not rules:
        return "cast([] as varchar[])"
    cases = ",\n        ".join(f"case when ({r.condition}) then '{r.rule}' end" for r in rules)
    return f"list_filter([\n        {cases}\n    ], lambda failed: failed is not null)"


def fails_row_rules_sql(rules: list[Rule], model: str) -> str:
    """True when a row fails any of the model's row rules: a filter a checked model may apply before its
    tail, to give verdicts only to the rows that can fail (a null condition is no failure, as in the tail)."""
    conditions = [f"coalesce(({r.condition}), false)" for r in model_rules(rules, model, "row")]
    return " or ".join(conditions) if conditions else "false"


def checked_rows_sql(rules: list[Rule], model: str, relation: str) -> str:
    """The checked models' shared tail: every row of `relation` with `failed_rules` and `quarantine_rule`.

    Row rules are tried first; copy rules (windows over the rows kept so far) see `row_rule is null`
    only on rows that passed every row rule, so a copy is never counted against a row already held."""
    copies = model_rules(rules, model, "copy")
    copy_rules = (f"case when row_rule is null then {failed_rules_sql(copies)} else cast([] as varchar[]) end"
                  if copies else "cast([] as varchar[])")
    return f"""select *, failed_rules[1] as quarantine_rule
    from (
        select * exclude (failed_row_rules, row_rule), failed_row_rules || {copy_rules} as failed_rules
        from (
            select *, failed_row_rules[1] as row_rule
            from (select *, {failed_rules_sql(model_rules(rules, model, "row"))} as failed_row_rules from {relation})
        )
    )"""


def _by_rule(rules: list[Rule], expression: str) -> str:
    if not rules:
        return "cast(null as varchar)"
    whens = "\n".join(f"        when '{r.rule}' then {getattr(r, expression)}" for r in rules)
    return f"case quarantine_rule\n{whens}\n    end"


def quarantined_rows_sql(rules: list[Rule]) -> str:
    """The rows held back by every checked model the seed names, in seed order, as one union."""
    models = list(dict.fromkeys(r.model for r in rules if r.stage != "read"))
    if not models:
        raise RuleError("the rule seed names no checked model")
    selects = []
    for model in models:
        checked = [r for r in model_rules(rules, model) if r.stage != "read"]
        if not _RULE_ID.fullmatch(model):
            raise RuleError(f"rule {checked[0].rule}: the model {model!r} is not a model name")
        selects.append(f"""select source_file, source_row, source_month, input_table, quarantine_rule as rule, crime_ref,
        {_by_rule(checked, "column_sql")} as failing_column,
        {_by_rule(checked, "value_sql")} as failing_value,
        '{model}' as checked_model
    from {model}
    where quarantine_rule is not null""")
    return "\n    union all\n    ".join(selects)


def render(model: str, sql: str, rules: list[Rule] | None = None, sql_dir: Path | None = None) -> str:
    """`sql` with its rule placeholders expanded (unchanged when it has none)."""
    if "{{" not in sql:
        return sql
    rules = load_rules(seed_path(sql_dir)) if rules is None else rules

    def expand(match: re.Match) -> str:
        name, target = match.group(1), match.group(2)
        if name == "checked_rows":
            if target is None:
                raise RuleError(f"model {model}: checked_rows names the CTE it checks, e.g. checked_rows('prepared')")
            return checked_rows_sql(rules, model, target)
        if name == "fails_row_rules":
            return fails_row_rules_sql(rules, model)
        return quarantined_rows_sql(rules)

    return _PLACEHOLDER.sub(expand, sql)
