"""Every command's --help: an Examples section whose lines are real commands, no Typer
placeholder noise (issue 10 item 8)."""

from __future__ import annotations

import shlex

import pytest
from typer.main import get_command

from mftrack.cli import app
from mftrack.cli.examples import EXAMPLES
from mftrack.cli.help import shape_help
from tests.helpers import run_cli


def _commands() -> dict[str, object]:
    root = get_command(app)
    shape_help(root)
    found: dict[str, object] = {}

    def walk(command, path):  # type: ignore[no-untyped-def]
        subs = getattr(command, "commands", None)
        if path and (subs is None or (command.callback is not None and command.params)):
            found[" ".join(path)] = command
        for name, sub in (subs or {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return found


COMMANDS = _commands()


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_help_has_examples_and_no_placeholder_noise(path: str) -> None:
    result = run_cli(*path.split(), "--help")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "Example" in text
    after = text.split("Example", 1)[1]
    assert [line for line in after.splitlines()
            if line.lstrip(" :$").startswith(f"mftrack {path}")]
    for noise in ("{", "<str>", "<int", "<list", "<Path>", "<path>"):
        assert noise not in text, (path, noise)


def _example_commands(line: str) -> list[list[str]]:
    """The mftrack invocations in an example line (after env assignments, between pipes)."""
    words = shlex.split(line, comments=True)
    parts: list[list[str]] = [[]]
    for word in words:
        if word in ("|", ">", "<"):
            parts.append([])
        else:
            parts[-1].append(word)
    return [p[p.index("mftrack") + 1:] for p in parts if "mftrack" in p]


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_every_example_names_a_real_command_and_real_options(path: str) -> None:
    if path not in COMMANDS:
        pytest.fail(f"examples for {path!r}, which is not a command")
    if "Example" in (COMMANDS[path].help or ""):  # type: ignore[attr-defined]
        return  # the command's own docstring shows its examples instead
    for line in EXAMPLES[path]:
        for words in _example_commands(line):
            assert " ".join(words).startswith(path), line
            command = COMMANDS[path]
            known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
            used = {w.split("=")[0] for w in words if w.startswith("-") and w != "-"}
            assert used <= known | {"-h", "--help"}, (line, used - known)


def test_amount_help_documents_the_accepted_spellings() -> None:
    text = run_cli("add-sip", "--help").stdout
    assert "10,000" in text and "₹5000" in text
