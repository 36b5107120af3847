"""Write docs/cli.md from the commands' own help (run after changing a command).

    python scripts/cli_reference.py          # rewrite docs/cli.md
    python scripts/cli_reference.py --check  # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "cli.md"


def _walk(command, path):  # type: ignore[no-untyped-def]
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, [*path, name])


def _option_line(param) -> str:  # type: ignore[no-untyped-def]
    if param.param_type_name == "argument":
        name = (param.name or "").upper()
        help_text = getattr(param, "help", "") or ""
        required = " (required)" if param.required else ""
        return f"- `{name}`{required}: {help_text}".rstrip(": ")
    flags = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    text = (param.help or "").strip()
    default = param.default
    if default not in (None, False, "", ()) and not param.is_flag and not callable(default):
        text += f" Default: `{default}`."
    return f"- {flags}: {text}".rstrip()


def render() -> str:
    from typer.main import get_command

    from mftrack.cli import app
    from mftrack.cli.help import shape_help

    root = get_command(app)
    shape_help(root)
    out = [
        "# Command reference",
        "",
        "Generated from the commands' own help by `python scripts/cli_reference.py`; "
        "`tests/test_docs.py` fails when it is out of date. Every command also answers `--help`.",
        "",
    ]
    for path, command in _walk(root, []):
        title = "mftrack" + "".join(f" {p}" for p in path)
        out.append(f"## `{title}`")
        out.append("")
        help_text = (command.help or "").strip()
        if help_text:
            out.append(help_text.replace("\b\n", ""))
            out.append("")
        skip = ("help", "install_completion", "show_completion")
        params = [p for p in command.params if p.name not in skip and not p.hidden]
        if params:
            out.extend(_option_line(p) for p in params)
            out.append("")
        if command.epilog:
            examples = [line.strip() for line in command.epilog.splitlines()
                        if line.strip().startswith("$ ")]
            out.extend(["Examples:", "", "```", *examples, "```", ""])
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            sys.stderr.write("docs/cli.md is out of date: run python scripts/cli_reference.py\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
