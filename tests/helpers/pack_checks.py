"""Checks on a written Excel pack shared by the unit and integration tests (issue 20, item 8)."""

from __future__ import annotations

from pipeline.narrative.phrases import MIN_BASE
from pipeline.publish import catalog
from pipeline.publish.excel_pack import CHANGE_BASES


def change_cells_on_small_bases(book) -> list[tuple[str, int, str, float]]:
    """(sheet, row, heading, base) of every % change cell holding a value while its base count in the
    same row is under MIN_BASE. Headings are row 2 of each sheet (the pack's human headings)."""
    labels = catalog.column_labels()
    heading = {column: labels.get(column, (column,))[0] for pair in CHANGE_BASES.items() for column in pair}
    found = []
    for ws in book.worksheets:
        rows = ws.iter_rows(min_row=2, values_only=True)
        header = list(next(rows, []) or [])
        at = {h: i for i, h in enumerate(header) if h is not None}
        pairs = [(at[heading[c]], at[heading[b]], heading[c]) for c, b in CHANGE_BASES.items()
                 if heading[c] in at and heading[b] in at]
        for r, row in enumerate(rows, start=3):
            for c, b, name in pairs:
                base = row[b] if b < len(row) else None
                if isinstance(base, (int, float)) and base < MIN_BASE and isinstance(row[c], (int, float)):
                    found.append((ws.title, r, name, base))
    return found
