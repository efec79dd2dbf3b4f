"""The one error type a user sees: it names the file, the column and the rule."""

from __future__ import annotations


class InputError(Exception):
    """Bad input that stops a run before anything is written.

    `message` is one paragraph an analyst can act on: which file, which column, which rule, what was
    expected versus found, and a few example values (a crime reference and the failing value, never
    whole records). Only the `summary` (the same without the examples) is the exception's text, so
    what Prefect records of a failed run (state messages, logged tracebacks, events and the pickled
    exception in its result storage) names the rule, the file, the column and the counts, never a
    row's values. The examples stay on this object, in the process that raised it, for the terminal.
    """

    def __init__(self, file: str, column: str, rule: str, found: str, examples: list[str] | None = None):
        self.file, self.column, self.rule, self.found = file, column, rule, found
        self.examples = [str(e) for e in (examples or [])][:5]
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        text = f"Input error in {self.file}, column '{self.column}': {self.rule}"
        return text + (f"; found {self.found}." if self.found else ".")  # no `found` when the rule says it all

    @property
    def message(self) -> str:
        if not self.examples:
            return self.summary
        return self.summary + " Examples: " + ", ".join(repr(e) for e in self.examples) + "."

    def __reduce__(self):
        # Prefect pickles a failed run's exception into its result storage: the copy has no examples
        return InputError, (self.file, self.column, self.rule, self.found)
