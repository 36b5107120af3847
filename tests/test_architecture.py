"""Layering and start-up rules that keep the CLI fast and the core pure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

HEAVY = ("pandas", "matplotlib", "plotext", "httpx", "sqlalchemy.orm", "supabase",
         "supabase_auth", "postgrest", "numpy", "keyring", "alembic")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO,
        env={"PATH": "", "MFTRACK_HOME": str(REPO / ".no-such-home"), "NO_COLOR": "1"},
    ).stdout
    return set(out.split())


def test_help_imports_no_heavy_module() -> None:
    loaded = _modules_after(
        "from mftrack.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "mftrack.cli" in loaded
    assert not [m for m in HEAVY if m in loaded]
    assert "sqlalchemy" not in loaded  # --help does not even open the database


def test_summary_path_imports_no_network_or_plotting_stack() -> None:
    loaded = _modules_after(
        "import mftrack.services.portfolio, mftrack.adapters.sqlite.store, mftrack.cli.summary"
    )
    assert not [m for m in ("pandas", "matplotlib", "plotext", "httpx", "supabase",
                            "sqlalchemy.orm") if m in loaded]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_is_pure_stdlib() -> None:
    allowed_prefixes = ("mftrack.domain", "mftrack.errors", "mftrack.analytics", "__future__")
    stdlib = set(sys.stdlib_module_names)
    for path in (REPO / "mftrack" / "domain").glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top in stdlib or name.startswith(allowed_prefixes), f"{path.name}: {name}"


def test_only_cli_knows_typer_and_only_adapters_know_sqlalchemy_and_httpx() -> None:
    for path in (REPO / "mftrack").rglob("*.py"):
        rel = path.relative_to(REPO / "mftrack").as_posix()
        names = {n.split(".")[0] for n in _imports(path)}
        if "typer" in names:
            assert rel.startswith("cli/"), rel
        if names & {"sqlalchemy", "alembic"}:
            assert rel.startswith("adapters/sqlite/"), rel
        if "httpx" in names:
            assert rel.startswith("adapters/"), rel


def _calls_to(tree: ast.AST, attr: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == attr]


def _command_modules() -> list[str]:
    """The cli/ modules that define a module-level `app` (a `typer.Typer`)."""
    names = []
    for path in sorted((REPO / "mftrack" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "app" for t in node.targets)
               for node in tree.body) and path.stem != "__init__":
            names.append(path.stem)
    return names


def test_every_command_is_registered_one_way() -> None:
    """Issue 15: one registration style. Each command module has a `typer.Typer` named `app`
    whose commands are decorated functions; the root lists the top-level names in its table
    (`COMMANDS`, loaded on demand) and registers nothing else."""
    cli = REPO / "mftrack" / "cli"
    root = ast.parse((cli / "__init__.py").read_text(encoding="utf-8"))
    assert not _calls_to(root, "command"), "the root lists commands in COMMANDS"
    assert not _calls_to(root, "add_typer"), "the root lists commands in COMMANDS"
    assert not _calls_to(root, "add_command"), "the root lists commands in COMMANDS"
    for path in cli.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # `app.command("x")(function)` is a call of a call; a decorator is not.
        called = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Attribute)
                  and node.func.func.attr == "command"]
        assert not called, f"{path.name}: register commands with @app.command(...)"
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                    and n.name == "register"], f"{path.name}: no register() functions"


def test_the_command_table_matches_the_command_modules() -> None:
    """The root's static table (names, modules, one-line helps for `--help`) is what Typer's
    `add_typer` builds from every command module: a command added, renamed, moved or
    re-described without its table line fails here."""
    from importlib import import_module

    from typer.main import TyperInfo, get_group_from_info

    from mftrack.cli import COMMANDS

    real: dict[str, tuple[str, str]] = {}
    for module_name in _command_modules():
        sub_app = import_module(f"mftrack.cli.{module_name}").app
        group = get_group_from_info(TyperInfo(sub_app), pretty_exceptions_short=True,
                                    suggest_commands=True, rich_markup_mode=None)
        commands = {group.name: group} if group.name else group.commands
        for name, command in commands.items():
            assert name not in real, f"{name!r} is defined twice"
            real[name] = (module_name, command.get_short_help_str(limit=1000))
    assert sorted(real.items()) == sorted(COMMANDS.items())


def test_root_help_is_the_eager_groups_help() -> None:
    """`mftrack --help` printed from the table is what Click prints with every command built."""
    from typer.core import TyperGroup
    from typer.main import get_command

    from mftrack.cli import app

    lazy = get_command(app)
    eager = TyperGroup(name="mftrack", commands=dict(lazy.commands.items()))
    for width in (60, 80, 120):
        texts = []
        for group in (lazy, eager):
            ctx = group.make_context("mftrack", ["x"], resilient_parsing=True)
            formatter = ctx.make_formatter()
            formatter.width = width
            group.format_commands(ctx, formatter)
            texts.append(formatter.getvalue())
        assert texts[0] == texts[1]
        assert "Commands" in texts[0]


def test_help_builds_no_command_module() -> None:
    """The root `--help` imports no command module (each is loaded when its command runs), nor
    the runtime with its settings and paths."""
    loaded = _modules_after(
        "from mftrack.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not [m for m in _command_modules() if f"mftrack.cli.{m}" in loaded]
    assert "mftrack.cli.runtime" not in loaded
    assert "mftrack.config" not in loaded


def test_the_root_registers_every_command_module() -> None:
    """A command module the root forgets would silently vanish from the CLI."""
    from typer.main import get_command

    from mftrack.cli import app

    group = get_command(app)
    cli = REPO / "mftrack" / "cli"
    for path in cli.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls_to(tree, "command"):
            if call.args and isinstance(call.args[0], ast.Constant):
                name = call.args[0].value
                found = [c for c in group.commands.values()
                         if c.name == name or name in getattr(c, "commands", {})]
                assert found, f"{path.name}: command {name!r} is not reachable from `mftrack`"


def test_cli_leaves_the_sip_schedule_to_the_domain() -> None:
    """Pauses, amount changes and step-ups are interpreted only in `mftrack.domain.sips` (is a
    date paused, what is due, the status). cli/ passes SIPs to the domain and to render/; it
    never reads those fields itself (issue 15: `cli/sip.py` once re-implemented pausing)."""
    schedule = {"pauses", "amount_changes", "step_up", "start", "end", "effective"}
    offenders = []
    for path in (REPO / "mftrack" / "cli").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in schedule:
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not offenders, offenders


def test_only_render_builds_rich_tables() -> None:
    """Issue 15: tables are rendering; cli/ passes rows to render/ and prints what it gets."""
    for path in (REPO / "mftrack").rglob("*.py"):
        rel = path.relative_to(REPO / "mftrack").as_posix()
        if "rich.table" in _imports(path):
            assert rel.startswith("render/"), rel


def _cli_modules(home: Path, *args: str) -> set[str]:
    """Run the real CLI in a fresh interpreter; the modules loaded when the command is done."""
    probe = (
        "import sys\nfrom mftrack.cli import main\n"
        f"sys.argv = ['mftrack', *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
        "print('\\n'.join(sorted(sys.modules)))\nprint('exit', code)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO,
        env={"PATH": "", "MFTRACK_HOME": str(home), "NO_COLOR": "1", "MFTRACK_TODAY": "2023-09-01"},
    ).stdout.split("\n")
    assert out[-2] in ("exit 0", "exit None"), out[-2]
    return set(out)


def test_write_commands_do_not_import_sqlalchemy_outside_migrations(tmp_path: Path) -> None:
    from tests.helpers import NAVALL

    home = tmp_path / "home"
    navall = NAVALL / "NAVAll_2023-08-11.txt"
    # The first command creates the database: only then do Alembic and SQLAlchemy run.
    first = _cli_modules(home, "nav", "import", str(navall))
    assert "alembic" in first and "sqlalchemy" in first
    writes = (
        ("nav", "import", str(navall)),
        ("add-sip", "120716", "--amount", "5000", "--start", "2023-01-05"),
        ("sips",),
    )
    for args in writes:
        loaded = _cli_modules(home, *args)
        assert "mftrack.adapters.sqlite.store" in loaded, args
        assert not [m for m in loaded if m.split(".")[0] in ("sqlalchemy", "alembic")], args


def test_every_test_module_has_tests_and_helpers_are_not_named_test() -> None:
    """Issue 15 item 6: pytest collects `test_*.py`; a helper named so is collected for
    nothing and hides what it is."""
    for path in (REPO / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name.startswith("test_")]
        assert tests, f"{path.relative_to(REPO)} has no tests: name it *_support.py"


def test_every_declared_marker_is_used() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    markers = [m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]]
    sources = "".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("*.py"))
    assert [m for m in markers if f"mark.{m}" not in sources] == []
