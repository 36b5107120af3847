"""Rich tables that stay readable in an 80-column terminal, and whole when piped.

On a terminal (`width` given), fixed columns (codes, dates, amounts) keep their full width; only
the flexible column (a scheme name) shrinks, with an ellipsis, and the columns with the highest
`drop_order` go first when even that is not enough. Into a pipe or a file (`width=None`) every
column and every whole name is printed, as hledger and gh do. Columns that are empty in every
row are left out either way. Only this package builds Rich tables (tests/test_architecture.py).

`fit_table` returns a `FittedTable`: Rich draws it on a terminal (`to_rich`), and into a pipe
it is printed as plain columns (`plain`) without importing Rich, whose table machinery costs
~20 ms of a ~120 ms `mftrack sips` (docs/benchmarks.md). tests/test_render_tables.py checks
that the plain text is what Rich prints into a pipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
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


@dataclass(frozen=True, slots=True)
class FittedTable:
    """Columns chosen and sized for one width (`fit_table`), not yet drawn."""

    columns: tuple[tuple[Col, int], ...]  # each kept column with its width
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None
    footer: tuple[str, ...] | None = None

    def to_rich(self) -> Table:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, title=self.title, title_justify="left",
                      show_footer=self.footer is not None)
        for i, (col, width) in enumerate(self.columns):
            table.add_column(col.header, justify=col.justify, no_wrap=True, overflow="ellipsis",
                             width=width, style=col.style,
                             footer=self.footer[i] if self.footer is not None else "")
        for row in self.rows:
            table.add_row(*row)
        return table

    def plain(self) -> str:
        """The table as Rich prints it into a pipe (no colour, lines without trailing blanks):
        a title line, the header, the rows and the footer, columns two spaces apart."""
        lines = [self.title] if self.title else []
        body = [tuple(col.header for col, _ in self.columns), *self.rows]
        for row in [*body, *([self.footer] if self.footer is not None else [])]:
            cells = [_justify(cell, width, col.justify)
                     for cell, (col, width) in zip(row, self.columns, strict=True)]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


def _justify(cell: str, width: int, how: Justify) -> str:
    if len(cell) > width:  # only on a terminal, where Rich draws the table instead
        return cell[: max(0, width - 1)] + "…"
    room = width - len(cell)
    if how == "right":
        return " " * room + cell
    if how == "center":
        return " " * (room // 2) + cell + " " * (room - room // 2)
    return cell + " " * room


def fit_table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    footer: Sequence[str] | None = None,
    width: int | None = 80,
) -> FittedTable:
    keep = [
        i
        for i, col in enumerate(columns)
        if col.keep_if_empty or any(row[i] for row in rows) or (footer and footer[i])
    ]
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
    return FittedTable(
        columns=tuple((columns[i], min(room, widest[i]) if columns[i].flexible else widest[i])
                      for i in keep),
        rows=tuple(tuple(row[i] for i in keep) for row in rows),
        title=title,
        footer=tuple(footer[i] for i in keep) if footer else None,
    )


def scheme_hits_table(hits: Sequence[tuple[int, str, float]], width: int | None) -> FittedTable:
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
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    table.add_column("variable", style="dim", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table
