"""What an import did, in words (stderr lines) and as JSON (`import cas|csv --json`)."""

from __future__ import annotations

from typing import Any

INFO, WARN = "info", "warn"


def _reconciliation_dict(line: Any) -> dict[str, Any]:
    return {
        "folio": line.folio, "scheme_code": line.scheme_code, "scheme_name": line.scheme_name,
        "as_of": line.as_of.isoformat(), "statement_units": format(line.statement_units, "f"),
        "ledger_units": format(line.ledger_units, "f"),
        "difference": format(line.difference, "f"), "matches": line.matches,
        "cause": line.cause,
    }  # fmt: skip


def report_dict(report: Any) -> dict[str, Any]:
    """`imported` is a `services.ledger_import.ImportReport`; a CAS report adds its period,
    reconciliation and notes."""
    out: dict[str, Any] = {"file": report.file, **report.imported.as_dict()}
    if hasattr(report, "reconciliation"):
        out["statement"] = {
            "from": report.start.isoformat() if report.start else None,
            "to": report.end.isoformat(),
        }
        out["reconciliation"] = [_reconciliation_dict(line) for line in report.reconciliation]
        out["notes"] = list(report.notes)
    return out


def import_lines(report: Any) -> list[tuple[str, str]]:
    """(level, text): the counts, then every rejected row with its reason."""
    imported = report.imported
    head = "Dry run, nothing written: " if imported.dry_run else ""
    lines = [(INFO, f"{head}{report.file}: {imported.summary()}.")]
    lines += [(WARN, f"rejected {row.where}: {row.reason}") for row in imported.rejected]
    return lines


def cas_report_lines(report: Any) -> list[tuple[str, str]]:
    lines = import_lines(report)
    start = f"{report.start:%d %b %Y} to " if report.start else "to "
    lines.insert(0, (INFO, f"Statement {start}{report.end:%d %b %Y}."))
    lines += [(INFO, note) for note in report.notes]
    if not report.reconciliation:
        lines.append((WARN, "nothing to reconcile: no scheme of the statement was imported"))
    elif not report.mismatches:
        count = len(report.reconciliation)
        lines.append((INFO, f"Reconciled {count} folio/scheme balance(s) with the statement: "
                            "the ledger holds exactly the closing units."))  # fmt: skip
    for m in report.mismatches:
        lines.append((WARN, (
            f"folio {m.folio}, {m.scheme_name} ({m.scheme_code}): the statement says "
            f"{m.statement_units} units on {m.as_of:%d %b %Y}, the ledger {m.ledger_units} "
            f"(difference {m.difference:+}): {m.cause}"
        )))  # fmt: skip
    return lines
