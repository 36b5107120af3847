"""Parser for mfapi.in's `GET /mf/{code}` JSON (pure: text or decoded JSON in, records out).

amfi-formats.md 3: `{"meta": {...}, "data": [{"date": "dd-mm-yyyy", "nav": "123.45678"}, ...],
"status": "SUCCESS"}`, `data` newest first, NAVs as 5-decimal strings (rounded from AMFI's),
`"0.00000"` for missing NAVs; an unknown code answers 200 with blank `meta` and empty `data`;
`meta` is junk for 2,928 of 12,326 schemes (a fund-house name or a whole AMFI line in
`scheme_type`), so category and fund house are only trusted when `scheme_type` is real.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from mftrack.domain.schemes import NavQuote, SchemeInfo
from mftrack.errors import NotFoundError, RemoteDataError

from .fields import clean_isin, looks_like_html, norm_text, opt_text, parse_dmy, parse_nav
from .model import ParsedNavFile, ParseProblem

SCHEME_TYPES = ("Open Ended Schemes", "Close Ended Schemes", "Interval Fund Schemes")


def parse_mfapi(
    text_or_obj: str | bytes | Mapping[str, Any], *, expected_code: int | None = None
) -> ParsedNavFile:
    """Parse one `/mf/{code}` response; `quotes` come out oldest first.

    Raises `NotFoundError` when `data` is empty (mfapi.in's answer for an unknown code),
    `RemoteDataError` for HTML, non-JSON, a wrong shape, `status` other than SUCCESS, or a
    `meta.scheme_code` that differs from `expected_code` (when given).
    """
    obj = _load(text_or_obj)
    status = obj.get("status")
    if status != "SUCCESS":
        detail = obj.get("error") or obj.get("message") or status
        raise RemoteDataError(f"mfapi.in answered with status {detail!r}, not SUCCESS")
    meta, data = obj.get("meta"), obj.get("data")
    if not isinstance(meta, Mapping) or not isinstance(data, list):
        raise RemoteDataError("mfapi.in response has no 'meta' object or 'data' list")
    code = _meta_code(meta.get("scheme_code"))
    wanted = expected_code if expected_code is not None else code
    if not data:
        label = f"scheme code {wanted}" if wanted else "this scheme code"
        raise NotFoundError(
            f"mfapi.in has no NAVs for {label}",
            hint="check the code with `mftrack scheme search`",
        )
    if expected_code is not None and code not in (None, expected_code):
        raise RemoteDataError(f"mfapi.in answered for scheme {code}, not {expected_code}")
    if wanted is None:
        raise RemoteDataError("mfapi.in response has NAVs but no scheme code in 'meta'")

    problems: list[ParseProblem] = []
    scheme = _scheme(wanted, meta, problems)
    quotes = _quotes(wanted, data, problems)
    return ParsedNavFile(
        kind="mfapi",
        layout="mfapi",
        schemes=[scheme],
        quotes=quotes,
        problems=problems,
        rows=len(data),
        fund_houses=[scheme.fund_house] if scheme.fund_house else [],
    )


def _load(text_or_obj: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(text_or_obj, Mapping):
        return text_or_obj
    text = text_or_obj.decode("utf-8", "replace") if isinstance(text_or_obj, bytes) else text_or_obj
    if looks_like_html(text):
        raise RemoteDataError("got an HTML page, not mfapi.in's JSON")
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise RemoteDataError(f"mfapi.in answered with text that is not JSON: {exc}") from exc
    if not isinstance(obj, Mapping):
        raise RemoteDataError("mfapi.in answered with JSON that is not an object")
    return obj


def _meta_code(value: object) -> int | None:
    """`meta.scheme_code` is an int; `0` or blank means "no scheme" (unknown-code answer)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value or None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    return None


def _scheme(code: int, meta: Mapping[str, Any], problems: list[ParseProblem]) -> SchemeInfo:
    name = norm_text(_text(meta.get("scheme_name")))
    scheme_type = norm_text(_text(meta.get("scheme_type")))
    if scheme_type not in SCHEME_TYPES:
        # amfi-formats.md 3: mfapi read `IL&FS Mutual Fund (IDF)` as a heading, or put a whole
        # AMFI line in scheme_type; the rest of such a meta is not trustworthy either.
        problems.append(ParseProblem(
            0, "mfapi.in meta.scheme_type is not a scheme type; category and fund house ignored",
            scheme_type,
        ))  # fmt: skip
        return SchemeInfo(scheme_code=code, name=name)
    return SchemeInfo(
        scheme_code=code,
        name=name,
        isin_growth=clean_isin(_text(meta.get("isin_growth"))),
        isin_reinvest=clean_isin(_text(meta.get("isin_div_reinvestment"))),
        category=opt_text(_text(meta.get("scheme_category"))),
        scheme_type=scheme_type,
        fund_house=opt_text(_text(meta.get("fund_house"))),
    )


def _quotes(code: int, data: list[Any], problems: list[ParseProblem]) -> list[NavQuote]:
    by_date: dict[date, NavQuote] = {}
    for position, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            problems.append(ParseProblem(position, "data entry is not an object", repr(item)))
            continue
        raw_date, raw_nav = _text(item.get("date")), _text(item.get("nav"))
        text = f"{raw_date} {raw_nav}"
        try:
            day = parse_dmy(raw_date)
            nav = parse_nav(raw_nav)
        except ValueError as exc:
            problems.append(ParseProblem(position, f"{exc}; no NAV recorded", text))
            continue
        if day in by_date:
            problems.append(ParseProblem(position, f"duplicate date {raw_date}; ignored", text))
            continue
        by_date[day] = NavQuote(code, day, nav)
    # amfi-formats.md 3: `data` is newest first; sort rather than reverse, so a future change
    # of order cannot scramble the series.
    return sorted(by_date.values(), key=lambda quote: quote.nav_date)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
