"""The portfolio summary: SIPs from the store, NAVs from the store, valued by the pure core.

`summary_as_dict` is the one serialisation of a summary: `summary --json` prints it, and the
charts and the PNG report read the same numbers, so they can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from mftrack.domain.navs import NavSeries
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.portfolio import (
    InstalmentStatus,
    PortfolioSummary,
    scheme_lots,
    summarise,
)
from mftrack.domain.pricing import nav_rules
from mftrack.services.gc_pause import no_cycle_collection

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.config import Settings
    from mftrack.domain.lots import SchemeLots
    from mftrack.domain.portfolio import PortfolioTotal, SchemeSummary
    from mftrack.domain.sips import Sip
    from mftrack.domain.transactions import Transaction

ROUNDING_MODES = {"down": ROUND_DOWN, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def valuation_options(settings: Settings) -> ValuationOptions:
    """The settings that change a valuation (the one place that reads them)."""
    return ValuationOptions(
        unit_places=settings.units_places,
        unit_rounding=ROUNDING_MODES[settings.units_rounding],
        stale_after_days=settings.nav_stale_after_days,
    )


def load_navs(
    store: LocalStore, sips: list[Sip], as_of: date, transactions: Iterable[Transaction] = ()
) -> dict[int, NavSeries]:
    """NAV series of every scheme the SIPs and transactions are in, up to `as_of`.

    From the first SIP start or trade date on. Each series also carries the scheme's last NAV
    before that day: it is the NAV a holding is valued at when no later one exists (a scheme
    closed before the SIP began).
    """
    live = [s for s in sips if not s.deleted]
    trades = [t for t in transactions if not t.deleted]
    if not live and not trades:
        return {}
    first = min([s.start_date for s in live] + [t.trade_date for t in trades])
    codes = {s.scheme_code for s in live} | {t.scheme_code for t in trades}
    columns = store.nav_columns(codes, start=min(first, as_of), end=as_of)
    return {code: NavSeries.from_columns(*cols) for code, cols in columns.items()}


def load_transactions(
    store: LocalStore, as_of: date, scheme_codes: set[int] | None = None
) -> list[Transaction]:
    """The live transactions dated up to `as_of`, by trade date (of `scheme_codes` only)."""
    return store.list_transactions(scheme_codes=scheme_codes, end=as_of)


def portfolio_summary(
    *,
    store: LocalStore,
    as_of: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    scheme_codes: set[int] | None = None,
) -> tuple[PortfolioSummary, dict[int, NavSeries]]:
    """Value the user's SIPs on `as_of` (instalments and NAVs up to that date only)."""
    with no_cycle_collection():
        return _portfolio_summary(store, as_of, options, scheme_codes)


def _portfolio_summary(
    store: LocalStore, as_of: date, options: ValuationOptions, scheme_codes: set[int] | None
) -> tuple[PortfolioSummary, dict[int, NavSeries]]:
    sips = store.list_sips()
    if scheme_codes is not None:
        sips = [s for s in sips if s.scheme_code in scheme_codes]
    txns = load_transactions(store, as_of, scheme_codes)
    navs = load_navs(store, sips, as_of, txns)
    codes = {s.scheme_code for s in sips} | {t.scheme_code for t in txns}
    schemes = store.get_schemes(codes)
    names = {code: scheme.display_name for code, scheme in schemes.items()}
    for code in codes:
        names.setdefault(code, f"scheme {code} (not in the scheme list)")
    rules = nav_rules({code: scheme.info.category for code, scheme in schemes.items()})
    summary = summarise(sips, navs, names, as_of, options, rules, txns)
    return summary, navs


def portfolio_lots(
    store: LocalStore, as_of: date, options: ValuationOptions = DEFAULT_OPTIONS
) -> dict[int, SchemeLots]:
    """Every scheme's open lots (oldest first) and realised matches on `as_of` (FIFO, F6/F9).

    The same valuation as `summary`: SIP instalments not replaced by a statement row are
    estimated lots (`Lot.estimated`). Capital gains work from this.
    """
    summary, _ = portfolio_summary(store=store, as_of=as_of, options=options)
    return {s.scheme_code: scheme_lots(s) for s in summary.schemes}


def instalment_counts(
    store: LocalStore, sip: Sip, as_of: date, options: ValuationOptions = DEFAULT_OPTIONS
) -> dict[str, int]:
    """How many of the SIP's instalments due by `as_of` are confirmed by a transaction,
    estimated from the plan, missed (a failed debit), pending or in a NAV gap."""
    counts = dict.fromkeys(("confirmed", "estimated", "missed", "pending", "nav_gaps"), 0)
    if sip.deleted:
        return counts
    summary, _ = portfolio_summary(
        store=store, as_of=as_of, options=options, scheme_codes={sip.scheme_code}
    )
    key = {
        InstalmentStatus.CONFIRMED: "confirmed", InstalmentStatus.ALLOTTED: "estimated",
        InstalmentStatus.MISSED: "missed", InstalmentStatus.PENDING: "pending",
        InstalmentStatus.NAV_GAP: "nav_gaps",
    }  # fmt: skip
    for scheme in summary.schemes:
        for lot in scheme.lots:
            if lot.sip_id == sip.id:
                counts[key[lot.status]] += 1
    return counts


def _dec(value: Any, places: int = 0) -> str | None:
    """Plain decimal text with at least `places` decimals: a sum that stayed at zero is "0.00",
    like every other amount, not "0" (padding only; nothing is ever rounded here)."""
    if value is None:
        return None
    if -value.as_tuple().exponent < places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return format(value, "f")


def _money(value: Any) -> str | None:
    return _dec(value, 2)


def _rate(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def summary_as_dict(summary: PortfolioSummary, *, redeemed: bool = False) -> dict[str, Any]:
    """The `summary --json` object: decimals as strings, rates as fractions, dates ISO.

    Fully redeemed schemes are left out of `schemes` unless `redeemed` (`summary --all`);
    the total always counts them (their realised gains, what was paid in and withdrawn).
    """
    schemes = []
    for s in summary.schemes:
        if s.redeemed and not redeemed:
            continue
        schemes.append(
            {
                "scheme_code": s.scheme_code,
                "scheme_name": s.scheme_name,
                "instalments": s.instalments,
                "pending": s.pending,
                "nav_gaps": s.nav_gaps,
                "invested": _money(s.invested),
                "stamp_duty": _money(s.stamp_duty),
                "units": _dec(s.units, 3),
                "average_cost": _dec(s.average_cost),
                "nav": _dec(s.nav),
                "nav_date": s.nav_date.isoformat() if s.nav_date else None,
                "value": _money(s.value),
                "gain": _money(s.gain),
                "xirr": _rate(s.xirr),
                "absolute_return": _rate(s.absolute_return),
                "first_allotment": s.first_allotment.isoformat() if s.first_allotment else None,
                "stale": s.stale,
                **_ledger_keys(s),
                "redeemed": s.redeemed,
            }
        )
    t = summary.total
    return {
        "as_of": summary.as_of.isoformat(),
        "schemes": schemes,
        "total": {
            "instalments": t.instalments,
            "pending": t.pending,
            "invested": _money(t.invested),
            "stamp_duty": _money(t.stamp_duty),
            "value": _money(t.value),
            "gain": _money(t.gain),
            "xirr": _rate(t.xirr),
            "absolute_return": _rate(t.absolute_return),
            "first_allotment": t.first_allotment.isoformat() if t.first_allotment else None,
            **_ledger_keys(t),
        },
        "warnings": list(summary.warnings),
    }


def _ledger_keys(s: SchemeSummary | PortfolioTotal) -> dict[str, Any]:
    """What the ledger adds to a scheme and to the total (docs/returns-and-xirr.md)."""
    return {
        "paid_in": _money(s.paid_in),
        "withdrawn": _money(s.withdrawn),
        "realised_gain": _money(s.realised_gain),
        "idcw": _money(s.idcw),
        "confirmed": s.confirmed,
        "estimated": s.estimated,
        "missed": s.missed,
    }
