"""The browser half of mftrack: `mftrack serve` (FastAPI, the optional `web` extra) and the
page that `mftrack report --html` writes. Nothing here is imported by other commands."""
