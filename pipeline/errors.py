"""The one error type a user sees: it names the file, the column and the rule."""

from __future__ import annotations


class InputError(Exception):
    """Bad input that stops a run before anything is written.

    The message is one paragraph an analyst can act on: which file, which column, which rule,
    what was expected versus found, and a few example values (never whole personal records).
    """

    def __init__(self, file: str, column: str, rule: str, found: str, examples: list[str] | None = None):
        self.file, self.column, self.rule, self.found = file, column, rule, found
        self.examples = [str(e) for e in (examples or [])][:5]
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"Input error in {self.file}, column '{self.column}': {self.rule}"
        text += f"; found {self.found}." if self.found else "."  # no `found` when the rule says it all
        if self.examples:
            text += " Examples: " + ", ".join(repr(e) for e in self.examples) + "."
        return text
