"""mftrack: a local-first tracker for Indian mutual-fund SIPs.

Importing this package has no side effects; the CLI lives in `mftrack.cli`.
"""

__version__ = "0.1.0"
