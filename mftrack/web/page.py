"""The dashboard's HTML, for the live server and for the one-file report (stdlib only).

One template (`static/dashboard.html`) and one script (`static/dashboard.js`) draw both: the
server's page loads Chart.js and the script from `/static/` and fetches its data; the report
inlines Chart.js, the script, the stylesheet and the data, so the file opens offline and asks
nothing of any network (its Content-Security-Policy forbids connections outright).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

# Inline <script> and <style> must not contain their own closing tag; JSON may (in strings).
_SCRIPT_END = "</script"

LIVE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:"
)


def static_text(name: str) -> str:
    return (resources.files("mftrack.web") / "static" / name).read_text(encoding="utf-8")


def _json_block(element_id: str, value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c")  # no `</script>` or `<!--` can end the block early
    return f'<script id="{element_id}" type="application/json">{text}</script>'


def _inline_script(name: str) -> str:
    text = static_text(name)
    if _SCRIPT_END in text.lower():
        raise ValueError(f"{name} contains {_SCRIPT_END!r} and cannot be inlined")
    return f"<script>{text}</script>"


def live_page() -> str:
    """The page `mftrack serve` sends: assets from /static, data from the API."""
    return _fill(
        csp="",  # sent as a header by the server
        style='<link rel="stylesheet" href="/static/dashboard.css">',
        head_scripts='<script src="/static/chart.umd.js"></script>',
        data=_json_block("mftrack-config", {"mode": "live"}),
        body_script='<script src="/static/dashboard.js"></script>',
    )


def report_page(data: dict[str, Any], *, written_on: str) -> str:
    """A self-contained, read-only copy of the dashboard with `data` inside."""
    csp = f'<meta http-equiv="Content-Security-Policy" content="{REPORT_CSP}">'
    return _fill(
        csp=csp,
        style=f"<style>{static_text('dashboard.css')}</style>",
        head_scripts=_inline_script("chart.umd.js"),
        data=_json_block("mftrack-config", {"mode": "report", "written_on": written_on})
        + _json_block("mftrack-data", data),
        body_script=_inline_script("dashboard.js"),
    )


def _fill(**parts: str) -> str:
    # One pass, so a placeholder-like text inside an inlined script is never replaced.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], static_text("dashboard.html"))
