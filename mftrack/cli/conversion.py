"""Converting command-line values with the stdlib instead of pydantic.

Typer 0.29 converts every value that is not already a bool through a pydantic `TypeAdapter`
it builds on first use (`typer/_coercion.py`, `build_runtime_param`): importing pydantic and
building the adapters cost ~70 ms of a 260 ms `mftrack summary`. Typer keeps the converter of
each parameter in `_TyperParameter._runtime_param` and builds one only while that is None, so
filling it in before parsing replaces the conversion and nothing else: help, positional
arguments, envvars, callbacks and error reporting stay Typer's. Our parameters are str, int
(with min/max), bool, Enum/Literal choices, Path and lists of those; any other annotation keeps
Typer's own converter. See docs/dependencies.md; the `typer<0.30` pin guards the private name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam
from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
from typer._typing import is_literal_type, literal_values

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a yes/no value (use 1 or 0, true or false)")


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text):  # int() would also take "1_0" and "١٢"
        raise ValueError(f"{value!r} is not a whole number")
    return int(text)


def _leaf_converter(annotation: Any, param_info: Any) -> Any | None:
    """A function str -> value for one leaf annotation, or None when we do not handle it."""
    if param_info.parser is not None:
        return None
    if annotation is str:
        return str
    if annotation is bool:
        return _to_bool
    if annotation is int:
        low, high = param_info.min, param_info.max
        if param_info.clamp:
            return None

        def ranged(value: Any) -> int:
            number = _to_int(value)
            if (low is not None and number < low) or (high is not None and number > high):
                if low is not None and high is not None:
                    raise ValueError(f"{number} is not between {low} and {high}")
                bound = f"at least {low}" if low is not None else f"at most {high}"
                raise ValueError(f"{number} must be {bound}")
            return number

        return ranged
    choices: tuple[Any, ...] | None = None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        choices = tuple(annotation)
    elif is_literal_type(annotation):
        choices = tuple(literal_values(annotation))
    if choices is not None:
        case_sensitive = param_info.case_sensitive

        def choice(value: Any) -> Any:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive)

        return choice
    if routes_to_path(annotation, param_info):
        path_type = param_info.path_type or (
            annotation if isinstance(annotation, type) and issubclass(annotation, Path) else None
        )

        def path(value: Any, *, param: Any = None, ctx: Any = None) -> Any:
            if path_type is not None and not isinstance(value, path_type):
                value = path_type(os.fsdecode(value))
            return coerce_cli_path(value, param_info, path_type=path_type, param=param, ctx=ctx)

        path.takes_context = True  # type: ignore[attr-defined]
        return path
    return None


@dataclass(frozen=True)
class StdlibRuntimeParam(RuntimeParam):
    """Typer's runtime-conversion contract, fulfilled by a plain function (or a list of it)."""

    convert: Any
    is_list: bool

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            if self.is_list:
                items = value if isinstance(value, (list, tuple)) else [value]
                return [self._one(item, param, ctx) for item in items]
            return self._one(value, param, ctx)
        except ValueError as exc:
            raise BadParameter(str(exc).rstrip(".") + ".", ctx=ctx, param=param) from None

    def _one(self, value: Any, param: Any, ctx: Any) -> Any:
        if getattr(self.convert, "takes_context", False):
            return self.convert(value, param=param, ctx=ctx)
        return self.convert(value)


def _runtime_param_for(param: Any) -> StdlibRuntimeParam | None:
    descriptor = param.type_descriptor
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if descriptor.file_annotation is not None or descriptor.is_tuple:
        return None
    is_list = get_origin(annotation) is list
    if is_list:
        (annotation,) = get_args(annotation)
    convert = _leaf_converter(annotation, info)
    if convert is None:
        return None
    return StdlibRuntimeParam(
        parameter_info=info, annotation=descriptor.annotation, convert=convert, is_list=is_list
    )


def install(command: Any, help_names: list[str] | None = None, *, deep: bool = True) -> None:
    """Give every parameter of `command` and its subcommands a stdlib converter (idempotent)."""
    from typer._click import Context

    names = command.context_settings.get("help_option_names", help_names or ["--help"])
    # The help option is made on first use and cached (`get_help_option`); make it now so it
    # is converted here too. Its names are the ones the real context will have.
    help_option = command.get_help_option(Context(command, help_option_names=names))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "_runtime_param", "absent") is None:
            fast = _runtime_param_for(param)
            if fast is not None:
                param._runtime_param = fast
    for sub in getattr(command, "commands", {}).values() if deep else ():
        install(sub, names)


def _quiet(ctx: Any, _param: Any, value: bool) -> None:
    if value and ctx.obj is not None:
        ctx.obj.quiet = True


def add_quiet_option(command: Any, *, deep: bool = True) -> None:
    """`-q/--quiet` after any command (`mftrack summary -q`), as well as before it."""
    from typer._coercion import bool_flag_type_descriptor
    from typer.core import TyperOption

    commands = getattr(command, "commands", None)
    # A command, or a group that runs by itself (`mftrack logs`), takes -q.
    runs = commands is None or getattr(command, "invoke_without_command", False)
    if runs and not any("--quiet" in p.opts for p in command.params):
        command.params.append(TyperOption(
            param_decls=["--quiet", "-q"], is_flag=True, default=False, expose_value=False,
            callback=_quiet, help="Only errors and data, no progress.",
            type_descriptor=bool_flag_type_descriptor(),
        ))
    for sub in (commands or {}).values() if deep else ():
        add_quiet_option(sub)


def prepare(root: Any, args: list[str]) -> None:
    """`-q`, help shaping and stdlib conversion for the commands `args` name, root first.

    Only that path: preparing all fifty commands would cost more than running most of them.
    """
    from mftrack.cli.help import shape_help

    names = root.context_settings.get("help_option_names")
    command: Any = root
    chain: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    for token in args:
        subs = getattr(command, "commands", None)
        if subs is None:
            break
        if token in subs:
            command = subs[token]
            chain.append((command, (*chain[-1][1], token)))
    for command, path in chain:
        add_quiet_option(command, deep=False)
        shape_help(command, path, deep=False)
        install(command, names, deep=False)
