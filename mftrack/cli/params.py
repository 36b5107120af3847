"""Parsing command-line values into domain values, with one-line errors."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from mftrack.errors import InvalidInputError

DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d-%b-%Y", "%d/%m/%Y")


def parse_date(text: str | None, *, option: str) -> date | None:
    """YYYY-MM-DD (also DD-MM-YYYY, DD-Mon-YYYY, DD/MM/YYYY, as AMFI and banks write them)."""
    if text is None:
        return None
    raw = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise InvalidInputError(
        f"{option} {text!r} is not a date", hint="write dates as YYYY-MM-DD, e.g. 2021-04-05"
    )


def parse_as_of(text: str | None, *, today: date) -> date:
    """--as-of: a date up to today (no NAVs exist for the future), default today."""
    day = parse_date(text, option="--as-of")
    if day is None:
        return today
    if day > today:
        raise InvalidInputError(
            f"--as-of {day} is in the future (today is {today})",
            hint="value the portfolio as of today or an earlier date",
        )
    return day


def require_date(text: str, *, option: str) -> date:
    value = parse_date(text, option=option)
    assert value is not None
    return value


def one_format(json_out: bool, csv_out: bool) -> None:
    if json_out and csv_out:
        raise InvalidInputError("choose one of --json and --csv")


class HistorySource(StrEnum):
    """`nav history --source`: where a scheme's history comes from (Typer checks the choice)."""

    AUTO = "auto"  # AMFI's history report, then mfapi.in
    AMFI = "amfi"
    MFAPI = "mfapi"
