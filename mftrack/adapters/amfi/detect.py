"""Recognise which AMFI/mfapi.in text a string holds and parse it (pure).

* a JSON object (first non-blank character `{`)         -> mfapi.in `/mf/{code}`;
* a first line starting `Scheme Code;`                   -> NAVAll.txt or the NAV history report,
  told apart by the header's column names and order (amfi-formats.md 1.2, 2.2);
* HTML (first non-blank character `<`) or anything else -> `RemoteDataError`.
"""

from __future__ import annotations

from mftrack.errors import RemoteDataError

from .fields import looks_like_html, strip_preamble
from .layouts import FORMAT_HINT, NAVALL, identify
from .model import ParsedNavFile


def parse_any(text: str) -> ParsedNavFile:
    """Parse a NAVAll.txt, NAV history report or mfapi.in response, whichever `text` is."""
    if looks_like_html(text):
        raise RemoteDataError("got an HTML page, not AMFI's NAV text or mfapi.in's JSON")
    body = strip_preamble(text)
    if body.startswith("{"):
        from .mfapi import parse_mfapi

        return parse_mfapi(body)
    first_line = body.split("\n", 1)[0].rstrip()
    if first_line.startswith("Scheme Code;"):
        layout = identify(first_line)
        if layout is None:
            raise RemoteDataError(
                f"unknown header in AMFI NAV text: {first_line[:160]!r}", hint=FORMAT_HINT
            )
        if layout.kind == NAVALL:
            from .navall import parse_navall

            return parse_navall(text)
        from .history import parse_history_report

        return parse_history_report(text)
    raise RemoteDataError(
        f"not an AMFI NAV file or mfapi.in response (starts with {body[:40]!r})"
    )
