"""Built CAS statements: casparser's JSON shape from real schemes and NAVs, and a PDF of one.

No real Consolidated Account Statement is public, so the fixtures are built here, in the shape
casparser 1.4.1 writes (`CASData.model_dump_json(by_alias=True)`: folios → schemes →
transactions, decimals as strings, dates ISO), with real ISINs, AMFI codes, registrar codes and
names (casparser-isin's scheme table in ../shared/amfi-data/casparser-isin) and the real NAV of
each day (the mfapi histories in ../shared/amfi-data/mfapi). Units are what a registrar allots:
(amount - stamp duty) / NAV, truncated to 3 decimals (F1, F5).

`statement_pdf` lays a statement out the way a CAMS detailed CAS is printed (the anchors and
columns casparser's `parsers/cams_detailed.py` reads) and encrypts it with a password, so the
PDF path is tested end to end through the real parser.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from tests.helpers import SHARED_DATA, mfapi_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cas"
CASPARSER_ISIN = SHARED_DATA / "casparser-isin" / "casparser-isin-2026.6.9_scheme.csv"
STAMP_FROM = date(2020, 7, 1)  # F1: stamp duty on purchases from 1 Jul 2020
STAMP_RATE = Decimal("0.005") / Decimal("100.005")  # F1: taken out of the amount paid
STT_RATE = Decimal("0.00001")  # F6: 0.001 % on redemption of equity-oriented units
CENT = Decimal("0.01")
MILLI = Decimal("0.001")


@cache
def navs(code: int) -> dict[date, Decimal]:
    raw = json.loads(mfapi_file(code).read_text(encoding="utf-8"))
    out = {}
    for point in raw["data"]:
        d, m, y = point["date"].split("-")
        nav = Decimal(point["nav"])
        if nav > 0:
            out[date(int(y), int(m), int(d))] = nav
    return out


def nav_on_or_after(code: int, day: date) -> tuple[date, Decimal]:
    """F3: a purchase due on a holiday is allotted at the next business day's NAV."""
    series = navs(code)
    for _ in range(15):
        if day in series:
            return day, series[day]
        day += timedelta(days=1)
    raise AssertionError(f"no NAV for {code} near {day}")


@cache
def scheme_row(code: int) -> dict[str, str]:
    """casparser-isin's row for an AMFI code: name, ISIN, registrar and its scheme code."""
    with CASPARSER_ISIN.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["amfi_code"] == str(code)]
    assert rows, f"{code} is not in casparser-isin"
    return rows[0]


def _d(value: Decimal) -> str:
    return format(value, "f")


@dataclass
class SchemeBook:
    """One scheme in one folio while a statement is built: rows and the running balance."""

    code: int
    open_units: Decimal = Decimal(0)
    rows: list[dict[str, Any]] = field(default_factory=list)
    balance: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        self.balance = self.open_units

    def _row(
        self,
        day: date,
        description: str,
        kind: str,
        amount: Decimal | None,
        units: Decimal | None,
        nav: Decimal | None,
    ) -> None:
        if units is not None:
            self.balance += units
        self.rows.append({
            "date": day.isoformat(), "description": description,
            "amount": _d(amount) if amount is not None else None,
            "units": _d(units) if units is not None else None,
            "nav": _d(nav) if nav is not None else None,
            "balance": _d(self.balance) if units is not None else None,
            "type": kind, "dividend_rate": None, "gift_folio": None,
        })  # fmt: skip

    def buy(self, day: date, amount: Decimal, description: str, kind: str = "PURCHASE") -> date:
        day, nav = nav_on_or_after(self.code, day)
        stamp = (amount * STAMP_RATE).quantize(CENT, ROUND_HALF_UP) if day >= STAMP_FROM else 0
        invested = amount - stamp
        units = (invested / nav).quantize(MILLI, ROUND_DOWN)
        self._row(day, description, kind, invested, units, nav)
        if stamp:
            self._row(day, "*** Stamp Duty ***", "STAMP_DUTY_TAX", Decimal(stamp), None, None)
        return day

    def failed_sip(self, day: date, amount: Decimal, instalment: str) -> None:
        """F4: allotted, then reversed when the money did not arrive: net zero units."""
        day = self.buy(day, amount, f"SIP Purchase {instalment}", "PURCHASE_SIP")
        bought = self.rows[-2] if self.rows[-1]["type"] == "STAMP_DUTY_TAX" else self.rows[-1]
        units = Decimal(bought["units"])
        self._row(
            day + timedelta(days=3),
            "SIP Purchase - Payment not received - Reversal",
            "REVERSAL",
            -Decimal(bought["amount"]),
            -units,
            Decimal(bought["nav"]),
        )

    def sell(
        self,
        day: date,
        units: Decimal,
        description: str = "Redemption",
        kind: str = "REDEMPTION",
        stt: bool = True,
    ) -> date:
        day, nav = nav_on_or_after(self.code, day)
        amount = (units * nav).quantize(CENT, ROUND_HALF_UP)
        self._row(day, description, kind, -amount, -units, nav)
        if stt:
            tax = max((amount * STT_RATE).quantize(CENT, ROUND_HALF_UP), CENT)
            self._row(day, "*** STT Paid ***", "STT_TAX", tax, None, None)
        return day

    def payout(self, day: date, amount: Decimal, rate: str) -> None:
        day, _ = nav_on_or_after(self.code, day)
        self._row(day, f"IDCW Paid @ Rs.{rate} per unit", "DIVIDEND_PAYOUT", amount, None, None)
        self.rows[-1]["dividend_rate"] = rate

    def sip(
        self,
        first: date,
        months: int,
        amount: Decimal,
        *,
        fail: set[int] = frozenset(),
    ) -> None:
        for n in range(months):
            y, m = divmod(first.month - 1 + n, 12)
            due = first.replace(year=first.year + y, month=m + 1)
            label = f"Instalment {n + 1}/{months}"
            if n + 1 in fail:
                self.failed_sip(due, amount, label)
            else:
                self.buy(due, amount, f"SIP Purchase {label}", "PURCHASE_SIP")

    def as_scheme(self, as_of: date) -> dict[str, Any]:
        # In date order with the running balance, as casparser returns them (sorted).
        self.rows.sort(key=lambda r: r["date"])
        running = self.open_units
        for r in self.rows:
            if r["units"] is not None:
                running += Decimal(r["units"])
                r["balance"] = _d(running)
        row = scheme_row(self.code)
        nav_day = max(d for d in navs(self.code) if d <= as_of)
        nav = navs(self.code)[nav_day]
        cost = sum(
            (
                Decimal(r["amount"])
                for r in self.rows
                if r["type"] in ("PURCHASE", "PURCHASE_SIP", "SWITCH_IN")
            ),
            Decimal(0),
        )
        return {
            "scheme": row["name"].title(), "advisor": "DIRECT",
            "rta_code": row["rta_code"], "rta": "KFINTECH" if row["rta"] == "KARVY" else row["rta"],
            "type": row["type"], "isin": row["isin"], "amfi": row["amfi_code"], "nominees": [],
            "open": _d(self.open_units), "close": _d(self.balance),
            "close_calculated": _d(self.balance),
            "valuation": {"date": nav_day.isoformat(), "nav": _d(nav),
                          "cost": _d(cost.quantize(CENT)),
                          "value": _d((self.balance * nav).quantize(CENT, ROUND_HALF_UP))},
            "transactions": self.rows,
        }  # fmt: skip


def switch(out: SchemeBook, into: SchemeBook, day: date, units: Decimal) -> None:
    """A switch: a redemption of one scheme paying for a purchase of another, same day."""
    day = out.sell(
        day,
        units,
        "Switch Out - To " + scheme_row(into.code)["name"].title(),
        "SWITCH_OUT",
        stt=False,
    )
    amount = Decimal(out.rows[-1]["amount"]).copy_abs()
    into.buy(day, amount, "Switch In - From " + scheme_row(out.code)["name"].title(), "SWITCH_IN")


def statement(
    start: date,
    end: date,
    folios: list[tuple[str, str, list[SchemeBook]]],
) -> dict[str, Any]:
    """casparser's CASData for a CAMS detailed statement, as its JSON output reads."""
    return {
        "statement_period": {"from": start.strftime("%d-%b-%Y"), "to": end.strftime("%d-%b-%Y")},
        "folios": [
            {"folio": folio, "amc": amc, "name": "Asha Verma", "PAN": "ABCPV1234F", "KYC": "OK",
             "PANKYC": "OK", "schemes": [book.as_scheme(end) for book in books]}
            for folio, amc, books in folios
        ],
        "investor_info": {"name": "Asha Verma", "email": "asha.verma@example.com",
                          "address": "12 Built Street\nPune 411001", "mobile": "+919800000000"},
        "cas_type": "DETAILED",
        "file_type": "CAMS",
        "parse_warnings": [],
    }  # fmt: skip


def family_statement() -> dict[str, Any]:
    """The main fixture: SIPs with stamp duty, a failed debit, a redemption with STT, a switch,
    IDCW payouts, four folios, 2019-2024."""
    elss = SchemeBook(120503)
    elss.sip(date(2021, 1, 5), 48, Decimal(5000), fail={14})
    large = SchemeBook(120465)
    large.buy(date(2019, 4, 10), Decimal(100000), "Purchase")
    switch(large, elss, date(2023, 3, 15), Decimal("500.000"))
    midcap = SchemeBook(118989)
    midcap.sip(date(2020, 1, 10), 60, Decimal(10000))
    midcap.sell(date(2024, 9, 16), Decimal("150.000"))
    debt = SchemeBook(119551)
    debt.buy(date(2022, 6, 1), Decimal(200000), "Purchase")
    for day, rate in ((date(2023, 3, 27), "0.7500"), (date(2024, 3, 26), "0.8000")):
        debt.payout(day, (Decimal(rate) * debt.balance).quantize(CENT), rate)
    return statement(
        date(2019, 1, 1),
        date(2024, 12, 31),
        [
            ("91045678 / 12", "Axis Mutual Fund", [elss, large]),
            ("1122334455", "HDFC Mutual Fund", [midcap]),
            ("1040506070", "Aditya Birla Sun Life Mutual Fund", [debt]),
        ],
    )


def opening_balance_statement() -> dict[str, Any]:
    """A statement that starts mid-history: 2024 only, with 812.345 units held before."""
    ppfas = SchemeBook(122639, open_units=Decimal("812.345"))
    ppfas.sip(date(2024, 1, 8), 12, Decimal(15000))
    return statement(
        date(2024, 1, 1),
        date(2024, 12, 31),
        [
            ("4455667788", "PPFAS Mutual Fund", [ppfas]),
        ],
    )


def write_fixtures() -> None:
    """Regenerate tests/fixtures/cas/*.json (`python -m tests.cas_support`)."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, build in (
        ("family_2019-2024.json", family_statement),
        ("opening_balance_2024.json", opening_balance_statement),
    ):
        (FIXTURES / name).write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------- the PDF


# Column right edges (points) of the transaction table; numbers are right-aligned to them, as
# casparser's column reader expects (`cams_detailed.NUMERIC_ZONE_WIDTH` = 55 pt to the left).
_COLS = {"Amount": 360.0, "Units": 420.0, "Price": 480.0, "Unit": 550.0}
_LEFT, _DESC = 30.0, 90.0
_PAGE_H, _BOTTOM = 842.0, 800.0


def _money(value: str | None, *, places: int | None = None) -> str:
    if value is None:
        return ""
    number = Decimal(value)
    text = f"{abs(number):,.{places}f}" if places is not None else f"{abs(number):,}"
    return f"({text})" if number < 0 else text


class _Writer:
    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.y = 0.0

    def text(self, x: float, s: str, *, right: bool = False) -> None:
        if right:
            x -= self.pdf.get_string_width(s)
        self.pdf.text(x, self.y, s)

    def line(self, step: float = 11.0) -> None:
        self.y += step
        if self.y > _BOTTOM:
            self.page()

    def page(self) -> None:
        self.pdf.add_page()
        # CAMS prints its watermark rotated down the page edge; casparser finds the issuer by it.
        with self.pdf.rotation(90, 585, 700):
            self.pdf.text(585, 700, "CAMSCASWS-000123456-Version:V3.4 Live-1017")
        self.y = 40.0
        self.header()

    def header(self) -> None:
        self.text(_LEFT, "Date")
        self.text(_DESC, "Transaction")
        for label, right in _COLS.items():
            self.text(right, label, right=True)
        self.y += 8
        self.text(_COLS["Amount"], "(INR)", right=True)
        self.text(_COLS["Price"], "(INR)", right=True)
        self.text(_COLS["Unit"], "Balance", right=True)
        self.y += 14


def statement_pdf(data: dict[str, Any], path: Path, password: str) -> Path:
    """`data` printed as a CAMS detailed CAS, locked with `password` (PDF standard security)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=7)
    w = _Writer(pdf)
    pdf.add_page()
    w.y = 40.0
    with pdf.rotation(90, 585, 700):
        pdf.text(585, 700, "CAMSCASWS-000123456-Version:V3.4 Live-1017")
    period = data["statement_period"]
    w.text(250, "Consolidated Account Statement")
    w.line()
    w.text(250, f"{period['from']} To {period['to']}")
    investor = data["investor_info"]
    w.line(16)
    w.text(_LEFT, f"Email Id: {investor['email']}")
    w.line()
    w.text(_LEFT, investor["name"])
    for part in investor["address"].splitlines():
        w.line()
        w.text(_LEFT, part)
    w.line()
    w.text(_LEFT, f"Mobile: {investor['mobile']}")
    w.line(20)
    w.header()
    for folio in data["folios"]:
        w.text(_LEFT, folio["amc"])
        w.line(14)
        for scheme in folio["schemes"]:
            w.text(_LEFT, f"Folio No: {folio['folio']}    PAN: {folio['PAN']}    KYC: OK   PAN: OK")
            w.line()
            w.text(
                _LEFT,
                f"{scheme['rta_code']}-{scheme['scheme']} - ISIN: {scheme['isin']}"
                f"(Advisor: {scheme['advisor']})  Registrar : {scheme['rta']}",
            )
            w.line()
            w.text(_LEFT, f"Opening Unit Balance: {_money(scheme['open'], places=3)}")
            w.line()
            for txn in scheme["transactions"]:
                day = date.fromisoformat(txn["date"])
                w.text(_LEFT, day.strftime("%d-%b-%Y"))
                w.text(_DESC, txn["description"])
                w.text(_COLS["Amount"], _money(txn["amount"], places=2), right=True)
                w.text(_COLS["Units"], _money(txn["units"], places=3), right=True)
                w.text(_COLS["Price"], _money(txn["nav"]), right=True)
                w.text(_COLS["Unit"], _money(txn["balance"], places=3), right=True)
                w.line(10)
            valuation = scheme["valuation"]
            on = date.fromisoformat(valuation["date"]).strftime("%d-%b-%Y")
            w.text(
                _LEFT,
                f"Closing Unit Balance: {_money(scheme['close'], places=3)}   "
                f"NAV on {on}: INR {_money(valuation['nav'])}   "
                f"Total Cost Value: {_money(valuation['cost'], places=2)}   "
                f"Market Value on {on}: INR {_money(valuation['value'], places=2)}",
            )
            w.line(18)
    pdf.set_encryption(owner_password="mftrack-test-owner", user_password=password)
    pdf.output(str(path))
    return path


def plain_pdf(path: Path, text: str) -> Path:
    """A PDF that is not a statement (an invoice, say)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.text(40, 60, text)
    pdf.output(str(path))
    return path


if __name__ == "__main__":
    write_fixtures()
