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
