"""Rich tables that stay readable in an 80-column terminal, and whole when piped.

On a terminal (`width` given), fixed columns (codes, dates, amounts) keep their full width; only
the flexible column (a scheme name) shrinks, with an ellipsis, and the columns with the highest
`drop_order` go first when even that is not enough. Into a pipe or a file (`width=None`) every
column and every whole name is printed, as hledger and gh do. Columns that are empty in every
row are left out either way. Only this package builds Rich tables (tests/test_architecture.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.table import Table

Justify = Literal["left", "right", "center"]


@dataclass(frozen=True, slots=True)
class Col:
    header: str
    justify: Justify = "left"
    flexible: bool = False
    keep_if_empty: bool = False
    style: str | None = None
    drop_order: int = 0  # 0: always shown; higher numbers are dropped first when space is short


def fit_table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    footer: Sequence[str] | None = None,
    width: int | None = 80,
) -> Table:
    keep = [
        i
        for i, col in enumerate(columns)
        if col.keep_if_empty or any(row[i] for row in rows) or (footer and footer[i])
    ]
    table = Table(box=None, pad_edge=False, title=title, title_justify="left",
                  show_footer=bool(footer))
    widest = {}
    for i in keep:
        cells = [row[i] for row in rows] + [columns[i].header] + ([footer[i]] if footer else [])
        widest[i] = max((len(cell) for cell in cells), default=1)

    def needed() -> int:
        return sum(
            min(widest[i], 24) if columns[i].flexible else widest[i] for i in keep
        ) + 2 * (len(keep) - 1)

    droppable = sorted(
        (i for i in keep if columns[i].drop_order), key=lambda i: -columns[i].drop_order
    )
    while width is not None and needed() > width and droppable:
        keep.remove(droppable.pop(0))
    fixed = sum(widest[i] for i in keep if not columns[i].flexible)
    flexible = [i for i in keep if columns[i].flexible]
    padding = 2 * (len(keep) - 1)
    room = (max(12, (width - fixed - padding) // max(1, len(flexible))) if width is not None
            else max(widest.values(), default=1))
    for i in keep:
        col = columns[i]
        table.add_column(
            col.header,
            justify=col.justify,
            no_wrap=True,
            overflow="ellipsis",
            width=min(room, widest[i]) if col.flexible else widest[i],
            style=col.style,
            footer=footer[i] if footer else "",
        )
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def scheme_hits_table(hits: Sequence[tuple[int, str, float]], width: int | None) -> Table:
    """`scheme search`: code, name and match score of each hit."""
    return fit_table(
        [Col("code", "right"), Col("scheme", flexible=True),
         Col("score", "right", style="dim", drop_order=1)],
        [(str(code), name, f"{score:.0f}") for code, name, score in hits],
        width=width,
    )


def settings_table(title: str, rows: Sequence[tuple[str, str, str, str]]) -> Table:
    """`config show`: key, value, where it came from, and its variable. Long values fold on a
    terminal (a URL or path is worth reading whole); into a pipe the console is wide enough
    that nothing folds."""
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    table.add_column("variable", style="dim", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table
