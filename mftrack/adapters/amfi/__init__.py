"""AMFI and mfapi.in: pure text parsers (`navall`, `history`, `mfapi`, `detect`) and the HTTP
client (`client`, the only module that imports httpx).

Keep this file free of imports: `mftrack --help` must not pull in httpx. See docs/amfi-data.md.
"""

# Defaults for the CLI's config (amfi-formats.md 1.1, 2.1, 3).
NAVALL_URL = "https://portal.amfiindia.com/spages/NAVAll.txt"
HISTORY_URL = "https://portal.amfiindia.com/DownloadNAVHistoryReport_Po.aspx"
MFAPI_BASE = "https://api.mfapi.in"
