"""Docs that cannot drift: the exit-code table and the CLI reference."""

from __future__ import annotations

import re

from mftrack.cli.errors import ExitCode
from tests.helpers import REPO


def test_exit_code_table_matches_the_enum() -> None:
    text = (REPO / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    documented = {
        int(code): name
        for code, name in re.findall(r"^\|\s*(\d+)\s*\|\s*`(\w+)`", text, flags=re.MULTILINE)
    }
    assert documented == {member.value: member.name for member in ExitCode}


def test_every_command_has_help_and_a_reference_entry() -> None:
    from typer.main import get_command

    from mftrack.cli import app

    reference = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    root = get_command(app)
    names: list[str] = []

    def walk(command, prefix: str) -> None:  # type: ignore[no-untyped-def]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            names.append(prefix)
            assert command.help, f"`mftrack {prefix}` has no help text"

    walk(root, "")
    missing = [name for name in names if f"mftrack {name}" not in reference]
    assert not missing, f"not in docs/cli.md: {missing}"


def test_cli_reference_is_generated_from_the_current_help() -> None:
    import importlib.util

    script = REPO / "scripts" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == module.render(), "run: python scripts/cli_reference.py"


def test_configuration_page_lists_every_setting() -> None:
    from mftrack.config import SETTINGS

    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for spec in SETTINGS:
        assert f"`{spec.key}`" in text, spec.key
        assert spec.env in text, spec.env


def test_xirr_docs_date_the_value_where_the_code_does() -> None:
    # The code dates a value flow on the NAV it used, and the total on the freshest NAV date
    # (tests/test_domain_portfolio.py checks the numbers); the descriptions must say so.
    import mftrack.domain.portfolio as portfolio

    text = " ".join((REPO / "docs" / "returns-and-xirr.md").read_text(encoding="utf-8").split())
    section = text[text.index("## 6. XIRR"):text.index("## 7.")]
    assert "dated on the **date of the NAV it was valued at**" in section
    assert "dated on the **freshest** NAV date among the schemes" in section
    assert "the value on the valuation date is **positive**" not in section
    doc = " ".join((portfolio.__doc__ or "").split())
    assert "the value on `as_of`" not in doc and "the freshest of the schemes' NAV dates" in doc
