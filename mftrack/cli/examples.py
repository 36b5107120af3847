"""The examples at the end of every command's --help (and of docs/cli.md), as gh and httpie do.

One table, keyed by the command's path; `tests/test_cli_help.py` fails for a command without
examples, so a new command is added here too.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "config show": (
        "mftrack config show", "mftrack config show --json | jq '.\"nav.stale_after_days\"'"
    ),
    "config paths": ("mftrack config paths", "MFTRACK_HOME=~/mf mftrack config paths"),
    "nav pull": ("mftrack nav pull", "mftrack nav pull -q   # from cron: only errors"),
    "nav update": ("mftrack nav update", "mftrack nav update -q   # from cron: only errors"),
    "nav history": (
        "mftrack nav history 120503",
        "mftrack nav history 120503 --from 2021-04-01 --to 2021-12-31 --source mfapi",
    ),
    "nav import": (
        "mftrack nav import NAVAll.txt",
        "mftrack nav import mfapi_120503.json history-report.txt --json",
        "curl -s https://api.mfapi.in/mf/120503 | mftrack nav import -",
    ),
    "scheme search": (
        "mftrack scheme search parag parikh flexi", "mftrack scheme search INF879O01027 --json"
    ),
    "scheme show": ("mftrack scheme show 122639", "mftrack scheme show 'axis elss direct growth'"),
    "scheme set-tax-class": (
        "mftrack scheme set-tax-class 120716 equity", "mftrack scheme set-tax-class 120716 auto"
    ),
    "gains": (
        "mftrack gains",
        "mftrack gains --fy 2024-25 --detail",
        "mftrack gains --fy 2024-25 --schedule-112a 112a.csv",
        "mftrack gains --csv --detail > gains.csv",
    ),
    "lots": ("mftrack lots", "mftrack lots 120503 --json"),
    "harvest": ("mftrack harvest", "mftrack harvest --fy 2025-26 --json"),
    "add-sip": (
        "mftrack add-sip 120503 --amount 5000 --start 2021-04-05",
        "mftrack add-sip 'parag parikh flexi direct' -a 10,000 -s 2024-01-10 --step-up 10%",
        "mftrack add-sip INF846K01EW2 -a ₹2500 -s 2023-06-01 --day 15 --end 2028-05-31",
    ),
    "sips": ("mftrack sips", "mftrack sips --all --csv > sips.csv"),
    "sip show": ("mftrack sip show 3f2a9c1e", "mftrack sip show 3f2a --next 12 --json"),
    "sip paid": (
        "mftrack sip paid 3f2a9c1e --on 2025-06-05 --units 51.273 --nav 97.5122",
        "mftrack sip paid 3f2a9c1e --on 2025-07-07 --units 50.112 --nav 99.7701 -a 5000",
    ),
    "sip missed": ("mftrack sip missed 3f2a9c1e --on 2025-08-05",),
    "edit-sip": (
        "mftrack edit-sip 3f2a9c1e --amount 7500 --from 2025-01-05",
        "mftrack edit-sip 3f2a9c1e --step-up 500",
        "mftrack edit-sip 3f2a9c1e --remove-pause 2024-06-01",
    ),
    "pause-sip": ("mftrack pause-sip 3f2a9c1e --from 2025-06-01 --to 2025-08-31",),
    "resume-sip": ("mftrack resume-sip 3f2a9c1e --from 2025-07-01",),
    "stop-sip": ("mftrack stop-sip 3f2a9c1e --on 2025-12-31",),
    "rm-sip": ("mftrack rm-sip 3f2a9c1e", "mftrack rm-sip 3f2a9c1e --yes   # in a script"),
    "restore-sip": ("mftrack restore-sip 3f2a9c1e",),
    "buy": (
        "mftrack buy 120503 --amount 50000 --on 2024-03-12",
        "mftrack buy INF846K01EW2 -a 50000 --on 2024-03-12 --units 548.289 --nav 91.1882 "
        "--folio 91012345678",
    ),
    "redeem": (
        "mftrack redeem 120503 --units 100 --on 2025-06-02",
        "mftrack redeem 120503 --amount 25000 --on 2025-06-02",
        "mftrack redeem 120503 --all --on 2025-06-02",
    ),
    "switch": (
        "mftrack switch 120503 122639 --all --on 2025-06-02",
        "mftrack switch 120503 122639 --amount 10000 --on 2025-06-02",
    ),
    "dividend": (
        "mftrack dividend 119551 --amount 1250 --on 2024-03-28 --payout",
        "mftrack dividend 119551 -a 1250 --on 2024-03-28 --reinvest",
    ),
    "txns": (
        "mftrack txns",
        "mftrack txns 120503 --from 2024-04-01 --to 2025-03-31",
        "mftrack txns --csv > ledger.csv",
    ),
    "txn edit": (
        "mftrack txn edit 5e1c2a90 --units 548.289 --nav 91.1882",
        "mftrack txn edit 5e1c2a90 --note 'bonus from work'",
    ),
    "txn rm": ("mftrack txn rm 5e1c2a90", "mftrack txn rm 5e1c2a90 --yes   # in a script"),
    "txn restore": ("mftrack txn restore 5e1c2a90",),
    "import cas": (
        "mftrack import cas CAS_2024.pdf",
        "printf '%s\\n' \"$PAN\" | mftrack import cas CAS_2024.pdf --password-stdin --dry-run",
        "mftrack import cas cas.json --json | jq .reconciliation",
    ),
    "import csv": ("mftrack import csv ledger.csv --dry-run", "mftrack import csv ledger.csv"),
    "summary": (
        "mftrack summary",
        "mftrack summary --as-of 2025-03-31",
        "mftrack summary --csv > portfolio.csv",
        "mftrack summary --json | jq .total",
        "mftrack summary --all   # with the schemes you fully redeemed",
    ),
    "demo": ("mftrack demo", "mftrack demo --home /tmp/mf-demo --json"),
    "chart value": (
        "mftrack chart value", "mftrack chart value --scheme 120503 --since 2023-01-01"
    ),
    "chart nav": ("mftrack chart nav 122639 --since 2024-01-01",),
    "chart ohlc": ("mftrack chart ohlc 120503", "mftrack chart ohlc 120503 --weekly"),
    "chart allocation": ("mftrack chart allocation", "mftrack chart allocation --by category"),
    "report": (
        "mftrack report --png family.png",
        "mftrack report --pdf report.pdf --as-of 2025-03-31",
        "mftrack report --html dashboard.html",
    ),
    "daemon run": ("mftrack daemon run", "mftrack daemon run --verbose"),
    "daemon status": ("mftrack daemon status", "mftrack daemon status --json"),
    "logs": ("mftrack logs --level WARNING", "mftrack logs --since 2025-12-01", "mftrack logs -f"),
    "logs clean": ("mftrack logs clean --dry-run", "mftrack logs clean"),
    "login": (
        "mftrack login --email you@example.com",
        "mftrack login --otp --email you@example.com",
        "printf '%s\\n' \"$PW\" | mftrack login -e you@example.com --password-stdin",
    ),
    "signup": ("mftrack signup --email you@example.com",),
    "whoami": ("mftrack whoami", "mftrack whoami --offline --json"),
    "logout": ("mftrack logout",),
    "sync": ("mftrack sync", "mftrack sync --dry-run", "mftrack sync -q   # from cron"),
    "sync status": ("mftrack sync status", "mftrack sync status --json"),
    "serve": ("mftrack serve --open", "mftrack serve --port 8765"),
}


def epilog(path: str) -> str | None:
    """The `Examples:` section for a command; `\\b` keeps Click from re-wrapping the lines."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  $ {line}" for line in lines)
