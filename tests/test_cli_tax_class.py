"""`mftrack scheme set-tax-class` through the real CLI (schema 0004, docs/gains.md)."""

from __future__ import annotations

import json

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.adapters.sqlite.tax_classes import tax_class_overrides
from mftrack.config import resolve_paths
from tests.helpers import NAVALL, run_cli


def overrides() -> dict[int, str]:
    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    return tax_class_overrides(store, [120716, 120503])


def test_set_and_undo_a_tax_class() -> None:
    assert run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-10.txt")).exit_code == 0
    result = run_cli("scheme", "set-tax-class", "120716", "Equity")
    assert result.exit_code == 0, result.stderr
    assert "(120716) is taxed as equity (set with `mftrack scheme set-tax-class`)" in result.stderr
    assert result.stdout == "" and overrides() == {120716: "equity"}
    undo = run_cli("scheme", "set-tax-class", "120716", "auto")
    assert undo.exit_code == 0 and overrides() == {}
    assert "does not settle it" in undo.stderr  # an index fund: the category is a guess
    shown = json.loads(run_cli("scheme", "show", "120716", "--json").stdout)
    assert (shown["tax_class"], shown["tax_class_source"]) == ("equity", "guess")
    run_cli("scheme", "set-tax-class", "120716", "debt")
    text = run_cli("scheme", "show", "120716").stdout
    assert "Tax class     debt (set with `mftrack scheme set-tax-class`)" in text


def test_bad_input_is_one_line_and_changes_nothing() -> None:
    assert run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-10.txt")).exit_code == 0
    run_cli("scheme", "set-tax-class", "120503", "equity")
    bad = run_cli("scheme", "set-tax-class", "120503", "gold")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.splitlines()[0] == "Error: 'gold' is not a tax class"
    missing = run_cli("scheme", "set-tax-class", "999999", "debt")
    assert missing.exit_code == 3
    assert overrides() == {120503: "equity"}
