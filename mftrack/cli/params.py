"""Parsing command-line values into domain values, with one-line errors."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from mftrack.errors import InvalidInputError


def parse_date(text: str | None, *, option: str) -> date | None:
    """YYYY-MM-DD only, as every --help says: 04/05/2024 is 4 May in India and 5 April in
    much software, so a day-first or month-first date is refused, not guessed."""
    if text is None:
        return None
    raw = text.strip()
    try:
        if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(
            f"{option} {text!r} is not a date", hint="write dates as YYYY-MM-DD, e.g. 2021-04-05"
        ) from None
    raise InvalidInputError(
        f"{option} {text!r} is not a YYYY-MM-DD date", hint=_date_hint(raw)
    )


def _date_hint(raw: str) -> str:
    """Name both readings of a day/month date, so the user picks one."""
    import re

    match = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", raw)
    if match:
        a, b, year = (int(x) for x in match.groups())
        readings = []
        for day, month in ((a, b), (b, a)):
            try:
                readings.append(date(year, month, day))
            except ValueError:
                continue
        if readings:
            unique = sorted(set(readings))
            spelled = " or ".join(f"{d.isoformat()} ({d.day} {d:%B})" for d in unique)
            return f"write it as YYYY-MM-DD: {spelled}"
    return "write dates as YYYY-MM-DD, e.g. 2021-04-05"


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


VERBOSE_HELP = "Warnings one per scheme instead of one per kind (as `mftrack --verbose`)."
