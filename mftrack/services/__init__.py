"""Use cases, one module per capability. Keyword-only functions that take their adapters and
`today` explicitly and return result objects; the CLI and the daemon call these."""
