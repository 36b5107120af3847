"""Commands built when they are first needed, so `mftrack --help` and `mftrack sips` start fast.

Importing all thirteen command modules and letting Typer build ~45 commands from their
signatures cost ~25 ms of every start-up (issue 10). The root group instead holds a static
table, name -> (module under mftrack.cli, one-line help): the root `--help` is printed from the
table alone, and a command's module is imported and that one command built (exactly as Typer's
`add_typer` would build it) when it is looked up. tests/test_architecture.py fails when the
table and the modules' real commands drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import Any, ClassVar

from typer._click import HelpFormatter
from typer._click.utils import make_default_short_help
from typer.main import TyperInfo, get_command_from_info, get_command_name, get_group_from_info

from mftrack.cli.errors import ErrorReportingGroup

# name -> (module in mftrack.cli, the command's one-line help as Click shortens it)
Table = dict[str, tuple[str, str]]


def build_command(module_name: str, name: str) -> Any:
    """The click command `name` of `mftrack.cli.<module_name>`, or None if it has none."""
    sub_app = import_module(f"mftrack.cli.{module_name}").app
    options = {"pretty_exceptions_short": sub_app.pretty_exceptions_short,
               "rich_markup_mode": None}
    if sub_app.info.name:  # a named Typer is one command group (`mftrack nav ...`)
        group = get_group_from_info(TyperInfo(sub_app), suggest_commands=True, **options)
        return group if group.name == name else None
    for info in sub_app.registered_commands:  # only the command asked for is built
        if (info.name or get_command_name(info.callback.__name__)) == name:
            return get_command_from_info(info, **options)
    for info in sub_app.registered_groups:
        group = get_group_from_info(info, suggest_commands=True, **options)
        if group.name == name:
            return group
    return None


class LazyCommands(MutableMapping[str, Any]):
    """The root's `commands`: names come from the table, commands are built on first access."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._table:
                raise KeyError(name)
            command = build_command(self._table[name][0], name)
            if command is None:
                raise LookupError(f"mftrack.cli.{self._table[name][0]} has no command {name!r}")
            self._built[name] = command
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("the root's commands come from its table")

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._built

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._built if name not in self._table)

    def __len__(self) -> int:
        return len(set(self._table) | set(self._built))


class LazyGroup(ErrorReportingGroup):
    """The root group: commands from `table`, loaded on demand. Subclasses set `table`."""

    table: ClassVar[Table] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.table)

    def format_commands(self, ctx: Any, formatter: HelpFormatter) -> None:
        # Click's own listing builds every command for its short help; the table has it.
        limit = formatter.width - 6 - max(len(name) for name in self.table)
        rows = [(name, make_default_short_help(text, limit))
                for name, (_module, text) in self.table.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
