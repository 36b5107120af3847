"""What `--help` shows beyond each command's own text: examples, and plain placeholders.

Typer 0.29 writes a required argument as `{scheme}` in the usage line and every value as
`<str>`, `<int>` or `<list[Path]>`. Our help says `SCHEME`, `FILE...`, `--from DATE`,
`--limit N`, as gh, git and httpie do. Applied to the command tree before it runs
(`ErrorReportingGroup.main`) and by scripts/cli_reference.py for docs/cli.md.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument

from mftrack.cli.examples import epilog


class _PlainArgument(TyperArgument):
    """An argument shown as `SCHEME` (or `[SCHEME]`, `FILE...`) in the usage line."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return self.display_name_raw + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name says it: SCHEME, FILE...


def _option_metavar(param: Any) -> str | None:
    if param.is_flag or param.metavar is not None or param.count:
        return param.metavar
    descriptor = param.type_descriptor
    if descriptor.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in descriptor.choices) + "]"
    if "YYYY-MM-DD" in (param.help or "") or param.name in ("as_of", "since", "on"):
        return "DATE"
    if descriptor.annotation is int:
        return "N"
    if descriptor.is_path or "FILE" in (param.help or ""):
        return "FILE"
    return param.name.upper().replace("_", "-")


def shape_help(command: Any, path: tuple[str, ...] = (), *, deep: bool = True) -> None:
    """Examples and plain placeholders for `command` and its subcommands (idempotent)."""
    text = epilog(" ".join(path))
    if text and not command.epilog and "Example" not in (command.help or ""):
        command.epilog = text  # (a docstring with its own examples keeps them)
    for param in command.params:
        if param.param_type_name == "argument" and hasattr(param, "type_descriptor"):
            if param.metavar is None:
                singular = param.name.removesuffix("s") if param.nargs != 1 else param.name
                param.metavar = singular.upper().replace("_", "-")
            param.__class__ = _PlainArgument
        elif param.param_type_name == "option" and hasattr(param, "type_descriptor"):
            param.metavar = _option_metavar(param)
    for name, sub in getattr(command, "commands", {}).items() if deep else ():
        shape_help(sub, (*path, name))
