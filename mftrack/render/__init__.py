"""Presentation only: number formatting, Rich tables, plotext charts, the matplotlib report.
Takes service results in, returns renderables or files; never reads the database."""
