"""The ledger path of a valuation: transactions and a SIP's expected instalments → FIFO lots.

A scheme with live transactions is valued here; `mftrack.domain.portfolio` values a scheme
that has SIPs only on a faster path with exactly the same numbers. Rules:

- A SIP's instalments are expected purchases, allotted by the instalment rules (F1-F3, F5) in
  the scheme's `SchemeBook`. A confirmed `sip` row, or any purchase naming the SIP, dated from
  `SIP_MATCH_BEFORE` before to `SIP_MATCH_AFTER` after an instalment's due date replaces that
  instalment's estimate: the registrar's date, NAV, units and stamp duty win (F4, F5). A
  `sip_failed` row in that window marks it MISSED (F4: a failed debit is not retried); a
  purchase of the same instalment is then its reversed debit and adds nothing (ledger-notes:
  "a purchase followed by a REVERSAL ... net zero units").
- A purchase without units is estimated like an instalment due on its trade date (F1-F3, F5),
  with the stamp duty or NAV the row gives, if any; with units, the statement's figures are
  used as given (F5).
- Sales (redemption, switch_out) take units FIFO (`consume_fifo`; F6, F9, ledger-notes "FIFO
  and units"): a sale naming a folio takes that folio's lots and the folio-less ones (SIP
  estimates, rows recorded without one), oldest first; the other lots keep their places. A
  sale of more units than are held is warned about and takes what is held; one without units
  is warned about and left out.
- A merger (`merger_out` and `merger_in` sharing a `link_id`) moves the lots to the new scheme
  with their acquisition dates and cost, units scaled to the in-leg's units; it is not a
  transfer, so no gain is realised (ledger-notes "Mergers and consolidations"). For XIRR alone
  it is a switch at the moved units' value (`_Holding.merged_out`).
- Cash flows (F10): purchases negative on their allotment date, sales and IDCW payouts
  positive on their trade date; an IDCW reinvestment is a lot of its own but no cash flow.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from operator import attrgetter, itemgetter
from typing import NamedTuple

from mftrack.domain.allotment import (
    ROW_CONFIRMED,
    ROW_MISSED,
    ROW_NAV_GAP,
    ROW_PENDING,
    InstalmentStatus,
    SchemeBook,
)
from mftrack.domain.lots import Lot, LotMatch, OversoldError, consume_fifo
from mftrack.domain.money import ZERO, paisa, split_stamp_duty, stamp_duty
from mftrack.domain.navs import NavSeries
from mftrack.domain.transactions import BUYS, SELLS, Transaction, TxnKind

# F3: an instalment due on a holiday is processed on the next business day; the longest run of
# MF non-business days in the bundled AMFI histories is 6 days (1-7 Oct 2014), so a due date
# just before it is allotted 7 days later. F2: the NAV date can differ from the debit and order
# dates, and a statement or a user may date the row on the debit/order day, a day or two
# before the due date a platform presents the mandate on. Monthly instalments are 28+ days
# apart, so these windows never overlap.
SIP_MATCH_BEFORE = timedelta(days=2)
SIP_MATCH_AFTER = timedelta(days=7)

_BY_ACQUIRED = attrgetter("acquired")
# Same-day order: purchases first (a sale may sell them), then a merger's out-leg, its in-leg,
# and sales and payouts last.
_RANK = {TxnKind.MERGER_OUT: 1, TxnKind.MERGER_IN: 2}
_LAST = 3


_Event = tuple[date, int, int, int, "_Buy | Transaction"]  # (date, rank, scheme, seq, what)


class Step(NamedTuple):
    """A change in a scheme's holding on a date (what the value and cost-held lines follow).

    A tuple: one is made per purchase and per sale, and a tuple is built several times faster
    than a frozen dataclass."""

    on: date
    cost: Decimal  # change in the cost of the units held
    units: Decimal  # change in the units held


@dataclass(frozen=True, slots=True)
class SchemeLedger:
    """One scheme's holding after its ledger up to the valuation date."""

    open: tuple[Lot, ...]  # oldest first
    realised: tuple[LotMatch, ...]  # every sale's matches, in sale order (not mergers)
    steps: tuple[Step, ...]  # by date
    flows: Mapping[date, Decimal]  # XIRR flows by date (purchases negative), ascending
    units: Decimal
    invested: Decimal  # FIFO cost of the units held, gross (F1)
    paid_in: Decimal  # every purchase's gross amount (not IDCW reinvested: no cash was paid)
    withdrawn: Decimal  # sales' proceeds and IDCW payouts
    realised_gain: Decimal  # proceeds minus the FIFO cost of the units sold
    idcw: Decimal  # IDCW paid out or reinvested: income, not a capital gain
    stamp_duty: Decimal
    first_allotment: date | None
    confirmed: int  # instalments a transaction replaced
    estimated: int  # instalments valued from the plan
    missed: int  # instalments with a failed debit
    pending: int  # instalments and estimated purchases waiting for their NAV
    nav_gaps: int
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LedgerInput:
    """What the ledger of one scheme starts from."""

    book: SchemeBook  # the SIPs' instalments already allotted (F1-F3, F5)
    navs: NavSeries
    sip_rows: Mapping[str, range]  # each SIP's rows in the book's columns, by due date
    transactions: list[Transaction]  # live, up to as_of, by trade date
    label: str  # "code name", for warnings


@dataclass(slots=True)
class _Buy:
    lot: Lot
    duty: Decimal
    cash: bool  # False for an IDCW reinvestment (no cash flow, F10)


@dataclass(slots=True)
class _Holding:
    """The running state of one scheme while the events are replayed."""

    code: int
    label: str
    navs: NavSeries
    lots: list[Lot] = field(default_factory=list)
    realised: list[LotMatch] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    flows: dict[date, Decimal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    paid_in: Decimal = ZERO
    withdrawn: Decimal = ZERO
    realised_gain: Decimal = ZERO
    idcw: Decimal = ZERO
    stamp: Decimal = ZERO
    first: date | None = None

    def flow(self, on: date, amount: Decimal) -> None:
        self.flows[on] = self.flows.get(on, ZERO) + amount

    def add(self, lot: Lot, on: date) -> None:
        if self.lots and lot.acquired < self.lots[-1].acquired:
            insort(self.lots, lot, key=_BY_ACQUIRED)  # a merged-in lot keeps its old date
        else:
            self.lots.append(lot)
        self.steps.append(Step(on, lot.cost, lot.units))
        if self.first is None or lot.acquired < self.first:
            self.first = lot.acquired

    def buy(self, buy: _Buy, on: date) -> None:
        self.add(buy.lot, on)
        self.stamp += buy.duty
        if buy.cash:
            self.paid_in += buy.lot.cost
            self.flow(on, -buy.lot.cost)
        else:
            self.idcw += buy.lot.cost

    def take(self, t: Transaction, proceeds: Decimal) -> list[LotMatch]:
        """Consume `t.units` FIFO from the lots `t` may sell (its folio's and folio-less ones)."""
        units = t.units or ZERO
        folio = t.folio
        chosen, places = self.lots, None
        if folio is not None and any(lot.folio not in (None, folio) for lot in chosen):
            places = [k for k, lot in enumerate(chosen) if lot.folio in (None, folio)]
            chosen = [chosen[k] for k in places]
        if units <= 0:
            return []
        try:
            left, matches = consume_fifo(
                chosen, units, sold_on=t.trade_date, proceeds=proceeds, sale_id=t.id
            )
        except OversoldError as oversold:
            where = f" in folio {folio}" if folio else ""
            self.warnings.append(
                f"{self.label}: the {t.kind} on {t.trade_date} takes {units} units but only "
                f"{oversold.held} are held{where}; valued what is held (check the ledger: "
                f"`mftrack txns`)"
            )
            if oversold.held <= 0:
                return []
            proceeds = paisa(proceeds * oversold.held / units)
            units = oversold.held
            left, matches = consume_fifo(
                chosen, units, sold_on=t.trade_date, proceeds=proceeds, sale_id=t.id
            )
        if places is None:
            self.lots = left
        else:  # the lots left take the places of the folio's, so FIFO order never changes
            lots: list[Lot | None] = list(self.lots)
            gone = len(chosen) - len(left)  # consume_fifo leaves a tail of `chosen`
            for n, k in enumerate(places):
                lots[k] = left[n - gone] if n >= gone else None
            self.lots = [lot for lot in lots if lot is not None]
        cost = sum((m.lot.cost for m in matches), ZERO)
        self.steps.append(Step(t.trade_date, -cost, -units))
        return matches

    def sell(self, t: Transaction) -> None:
        if not t.units or t.units < 0:  # the contract: a sale always carries its units
            self.warnings.append(
                f"{self.label}: the {t.kind} on {t.trade_date} has no units; left out (add "
                f"them: `mftrack txns`)"
            )
            return
        proceeds = t.amount if t.amount is not None else self.priced(t)
        matches = self.take(t, proceeds)
        received = sum((m.proceeds for m in matches), ZERO)
        self.realised.extend(matches)
        self.realised_gain += sum((m.gain for m in matches), ZERO)
        self.withdrawn += received
        self.flow(t.trade_date, received)

    def payout(self, t: Transaction) -> None:
        amount = t.amount or ZERO
        self.withdrawn += amount
        self.idcw += amount
        self.flow(t.trade_date, amount)

    def priced(self, t: Transaction) -> Decimal:
        """`t.units` at its NAV, or the scheme's NAV of that day (no amount recorded)."""
        nav = t.nav
        if nav is None:
            latest = self.navs.latest_on_or_before(t.trade_date)
            nav = latest[1] if latest is not None else None
        if nav is None or t.units is None:
            self.warnings.append(
                f"{self.label}: the {t.kind} on {t.trade_date} has no amount and no NAV to "
                f"price it at; counted as ₹0 (add the amount: `mftrack txns`)"
            )
            return ZERO
        return paisa(t.units * nav)

    def merged_out(self, t: Transaction, lots: list[Lot], on: date) -> Decimal:
        """XIRR's view of a merger (F10): the lots' value at the scheme's last NAV, received.

        Without it the absorbing scheme's own XIRR would count the merged lots' value against
        none of their purchases (a ₹10,000 purchase beside ₹3 lakh of merged units gave
        220 %). The absorbing scheme pays the same amount on the same date, so the portfolio's
        flows cancel. Nothing is paid in, withdrawn or realised: only the flows change."""
        latest = self.navs.latest_on_or_before(t.trade_date)
        units = sum((lot.units for lot in lots), ZERO)
        amount = paisa(units * latest[1]) if latest is not None and units else ZERO
        if amount:
            self.flow(on, amount)
        return amount

    def merge_in(self, t: Transaction, moved: list[Lot] | None, on: date) -> None:
        if not moved:
            self.warnings.append(
                f"{self.label}: the merger_in on {t.trade_date} has no merger_out with the "
                f"same link; its units are a lot of their own at cost ₹{t.amount or ZERO}"
            )
            if t.units:
                self.add(Lot(self.code, t.trade_date, t.units, t.amount or ZERO, t.folio,
                             t.id), on)  # fmt: skip
            return
        out_units = sum((lot.units for lot in moved), ZERO)
        in_units = t.units if t.units else out_units
        quantum = Decimal(1).scaleb(in_units.as_tuple().exponent)
        left = in_units
        for k, lot in enumerate(moved):
            units = (
                left
                if k == len(moved) - 1
                else (lot.units * in_units / out_units).quantize(quantum, ROUND_DOWN)
            )
            left -= units
            self.add(replace(lot, scheme_code=self.code, units=units,
                             folio=t.folio or lot.folio), on)  # fmt: skip


def instalment_due_near(
    dues: list[date], amounts: list[Decimal], on: date
) -> tuple[date, Decimal] | None:
    """The instalment (due date, amount) a row dated `on` would confirm: the nearest inside
    the match window, as the valuation matches them (`_nearest_row`); None outside it."""
    k = _nearest_row(dues, 0, on, set())
    return None if k is None else (dues[k], amounts[k])


def _nearest_row(dues: list[date], start: int, on: date, claimed: set[int]) -> int | None:
    """The unclaimed row whose due date is nearest `on` inside the match window."""
    lo = bisect_left(dues, on - SIP_MATCH_AFTER)
    hi = bisect_right(dues, on + SIP_MATCH_BEFORE)
    best = None
    for k in range(lo, hi):
        row = start + k
        if row not in claimed and (best is None or abs(on - dues[k]) < abs(on - dues[best])):
            best = k
    return None if best is None else start + best


def _match(data: LedgerInput, txns: list[Transaction], claimed: set[int]) -> dict[str, int]:
    """`{transaction id: instalment row}` for the transactions that meet an instalment."""
    due = data.book.cols.due
    windows = {sip_id: (due[rows.start:rows.stop], rows.start)
               for sip_id, rows in data.sip_rows.items()}  # fmt: skip
    found: dict[str, int] = {}
    for t in txns:
        sips = [t.sip_id] if t.sip_id in windows else (list(windows) if t.sip_id is None else [])
        best: int | None = None
        for sip_id in sips:
            dues, start = windows[sip_id]
            row = _nearest_row(dues, start, t.trade_date, claimed)
            if row is not None and (
                best is None or abs(t.trade_date - due[row]) < abs(t.trade_date - due[best])
            ):
                best = row
        if best is not None:
            claimed.add(best)
            found[t.id] = best
    return found


def _events(code: int, data: LedgerInput, holding: _Holding) -> tuple[list[_Event], dict[str, int]]:
    """Every dated change of one scheme's holding, and its instalment counts."""
    book = data.book
    cols = book.cols
    live = [t for t in data.transactions if not t.deleted]
    # A row with neither units nor an amount buys nothing (warned about below): the estimate
    # it would replace stands.
    sip_buys = [t for t in live if t.kind in BUYS and t.kind is not TxnKind.DIVIDEND_REINVEST
                and (t.kind is TxnKind.SIP or t.sip_id is not None)
                and (t.units is not None or t.amount is not None)]  # fmt: skip
    failed = [t for t in live if t.kind is TxnKind.SIP_FAILED]
    bought_rows = _match(data, sip_buys, set())
    missed_rows = _match(data, failed, set())
    reversed_buys = {tid for tid, row in bought_rows.items() if row in set(missed_rows.values())}
    for row in bought_rows.values():
        cols.index[row] = ROW_CONFIRMED
    for row in missed_rows.values():
        cols.index[row] = ROW_MISSED
    sip_row_count = len(cols.due)
    events: list[_Event] = []
    lag = book.lag
    # The plan's estimates that stand (F1-F3, F5), in due-date order.
    for row in sorted(range(sip_row_count), key=cols.due.__getitem__):
        i = cols.index[row]
        if i >= 0:
            nav_date = book.dates[i]
            amount = cols.amount[row]
            duty, _ = split_stamp_duty(amount, nav_date + lag)  # F1, as in the book
            lot = Lot(
                code,
                nav_date,
                cols.units[row],
                amount,
                None,
                f"sip:{cols.sip_id[row]}:{cols.due[row].isoformat()}",
                estimated=True,
            )
            events.append((nav_date, 0, code, len(events), _Buy(lot, duty, True)))
    waiting = 0  # instalments whose confirming row waits for its NAV: not confirmed yet
    for t in live:
        if t.kind in BUYS:
            if t.id in reversed_buys:
                continue
            buy = _confirmed_buy(code, t, book, holding)
            row = bought_rows.get(t.id)
            if buy is None:
                if row is not None:  # estimated from its amount, its NAV not known (yet)
                    gap = cols.index[-1] == ROW_NAV_GAP  # the row _confirmed_buy just added
                    status = InstalmentStatus.NAV_GAP if gap else InstalmentStatus.PENDING
                    cols.confirmed[row] = (t.amount or cols.amount[row], status)
                    waiting += 1
                continue
            on, item = buy
            if row is not None:
                lot = item.lot
                net = lot.cost - item.duty
                cols.confirmed[row] = (lot.cost, InstalmentStatus.CONFIRMED, lot.acquired,
                                       t.nav, item.duty, net, lot.units)  # fmt: skip
            events.append((on, 0, code, len(events), item))
        elif t.kind in SELLS or t.kind is TxnKind.DIVIDEND_PAYOUT:
            events.append((t.trade_date, _LAST, code, len(events), t))
        elif t.kind in _RANK:
            events.append((t.trade_date, _RANK[t.kind], code, len(events), t))
    index = cols.index
    estimated = sum(1 for i in index[:sip_row_count] if i >= 0)
    counts = {
        "confirmed": len(bought_rows) - len(reversed_buys) - waiting,
        "estimated": estimated,
        "missed": len(missed_rows),
        "pending": index.count(ROW_PENDING),
        "nav_gaps": index.count(ROW_NAV_GAP),
    }
    return events, counts


def _confirmed_buy(
    code: int, t: Transaction, book: SchemeBook, holding: _Holding
) -> tuple[date, _Buy] | None:
    """The lot a purchase adds: the statement's units as given, or estimated (F1-F3, F5)."""
    cash = t.kind is not TxnKind.DIVIDEND_REINVEST
    if t.units is not None:
        cost = t.amount if t.amount is not None else holding.priced(t)
        # F1: the duty inside the amount, computed from the date when the row does not say.
        duty = t.stamp_duty if t.stamp_duty is not None else stamp_duty(cost, t.trade_date)
        return t.trade_date, _Buy(Lot(code, t.trade_date, t.units, cost, t.folio, t.id), duty,
                                  cash)  # fmt: skip
    if t.amount is None:
        holding.warnings.append(
            f"{holding.label}: the {t.kind} on {t.trade_date} has neither units nor an "
            f"amount; left out (add them: `mftrack txns`)"
        )
        return None
    if t.nav is not None and t.nav > 0:
        # The statement's date and NAV without its units (F5: its NAV wins): only the units
        # are estimated, from the amount less the row's duty (F1's when it has none).
        given = _given_duty(t)
        duty = given if given is not None else stamp_duty(t.amount, t.trade_date)
        units = ((t.amount - duty) / t.nav).quantize(book.quantum, book.rounding)
        lot = Lot(code, t.trade_date, units, t.amount, t.folio, t.id, estimated=True)
        return t.trade_date, _Buy(lot, duty, cash)
    # Estimated like an instalment due on the trade date: a row of the book of its own.
    book.add(f"txn:{t.id}", [t.trade_date], [t.amount])
    row = len(book.cols.due) - 1
    i = book.cols.index[row]
    if i < 0:
        return None  # PENDING or NAV_GAP: counted and warned about with the instalments
    nav_date = book.dates[i]
    duty, _ = split_stamp_duty(t.amount, nav_date + book.lag)
    units = book.cols.units[row]
    given = _given_duty(t)
    if given is not None and given != duty:  # the row's duty wins over F1's formula
        duty = given
        units = ((t.amount - duty) / book.navs[i]).quantize(book.quantum, book.rounding)
        book.cols.units[row] = units
    lot = Lot(code, nav_date, units, t.amount, t.folio, t.id, estimated=True)
    return nav_date, _Buy(lot, duty, cash)


def _given_duty(t: Transaction) -> Decimal | None:
    """The stamp duty a purchase row states (F1: its charges, a demat rate of 0.015 %... may
    make it differ from the formula), when it is a part of its amount; else None."""
    duty, amount = t.stamp_duty, t.amount
    return duty if duty is not None and amount is not None and 0 <= duty < amount else None


def run_ledgers(inputs: Mapping[int, LedgerInput]) -> dict[int, SchemeLedger]:
    """Replay every scheme's events in date order (a merger moves lots between schemes)."""
    holdings = {code: _Holding(code, data.label, data.navs) for code, data in inputs.items()}
    events: list[_Event] = []
    counts: dict[int, dict[str, int]] = {}
    for code, data in inputs.items():
        found, counts[code] = _events(code, data, holdings[code])
        events.extend(found)
    # A merger's in-leg is replayed after its out-leg, whatever dates the two rows carry.
    out_dates = {
        item.link_id: on
        for on, rank, _, _, item in events
        if rank == _RANK[TxnKind.MERGER_OUT] and isinstance(item, Transaction)
    }
    in_links = set()
    if out_dates:
        merging_in = _RANK[TxnKind.MERGER_IN]
        in_links = {item.link_id for _, rank, _, _, item in events
                    if rank == merging_in and isinstance(item, Transaction)}  # fmt: skip
        events = [
            (max(on, out_dates.get(item.link_id, on)), rank, code, seq, item)
            if rank == merging_in and isinstance(item, Transaction)
            else (on, rank, code, seq, item)
            for on, rank, code, seq, item in events
        ]
    events.sort(key=itemgetter(0, 1, 2, 3))  # never compares the items
    moved: dict[str | None, list[Lot]] = {}
    worth: dict[str | None, tuple[date, Decimal]] = {}  # a merger's value, for XIRR only
    for on, _, code, _, item in events:
        h = holdings[code]
        if isinstance(item, _Buy):
            h.buy(item, on)
        elif item.kind is TxnKind.DIVIDEND_PAYOUT:
            h.payout(item)
        elif item.kind is TxnKind.MERGER_OUT:
            # Not a sale: the lots leave with their dates and cost, no gain (ledger-notes).
            lots = [m.lot for m in h.take(item, ZERO)]
            moved.setdefault(item.link_id, []).extend(lots)
            if item.link_id in in_links:
                merged_on, before = worth.get(item.link_id, (item.trade_date, ZERO))
                worth[item.link_id] = (merged_on, before + h.merged_out(item, lots, merged_on))
        elif item.kind is TxnKind.MERGER_IN:
            lots = moved.pop(item.link_id, None)
            h.merge_in(item, lots, on)
            merged_on, amount = worth.pop(item.link_id, (on, ZERO))
            if lots and amount:
                h.flow(merged_on, -amount)
        else:
            h.sell(item)
    return {code: _ledger(h, counts[code]) for code, h in holdings.items()}


def _ledger(h: _Holding, counts: dict[str, int]) -> SchemeLedger:
    return SchemeLedger(
        open=tuple(h.lots),
        realised=tuple(h.realised),
        steps=tuple(h.steps),
        flows=dict(sorted(h.flows.items())),
        units=sum((lot.units for lot in h.lots), ZERO),
        invested=sum((lot.cost for lot in h.lots), ZERO),
        paid_in=h.paid_in,
        withdrawn=h.withdrawn,
        realised_gain=h.realised_gain,
        idcw=h.idcw,
        stamp_duty=h.stamp,
        first_allotment=h.first,
        warnings=tuple(h.warnings),
        **counts,
    )
