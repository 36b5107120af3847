"""`mftrack report`: a one-page PNG (and/or PDF) of the portfolio to send to the family, or
the browser dashboard as one self-contained HTML file.

The file is the data: nothing goes to stdout unless FILE is `-`, which writes the PNG, PDF or
HTML there. The "Wrote …" line is a message, on stderr (silenced by --quiet).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

from mftrack.cli.params import VERBOSE_HELP, parse_as_of
from mftrack.cli.runtime import Runtime
from mftrack.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from mftrack.services.pictures import PortfolioView

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()

AllocationChoice = Literal["category", "scheme", "fund-house"]


@app.command("report")
def report(
    ctx: typer.Context,
    png: str | None = typer.Option(
        None, "--png", metavar="FILE", help="Write the page as PNG to FILE ('-': stdout)."
    ),
    pdf: str | None = typer.Option(
        None, "--pdf", metavar="FILE", help="Write the same page as PDF to FILE ('-': stdout)."
    ),
    html: str | None = typer.Option(
        None, "--html", metavar="FILE",
        help="Write the dashboard as one self-contained, read-only HTML file ('-': stdout).",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Value the portfolio as of this date (YYYY-MM-DD). Default: today."
    ),
    allocation: AllocationChoice = typer.Option(
        "category", "--allocation", help="Allocation chart by category, scheme or fund-house."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """A one-page report: totals and XIRR, value vs invested, allocation, XIRR and a table.

    A4 portrait at 200 dpi (1654 x 2338 pixels; taller when many schemes need the room), with
    the numbers of `mftrack summary --json` for the same --as-of. Amounts in Indian digit
    grouping (₹12,34,567), axes in lakh/crore. The path written is reported on stderr.

    --html writes the `mftrack serve` dashboard (interactive charts, the table) with its data
    and scripts inside: it opens offline in any browser and makes no network request.
    """
    from mftrack.services.pictures import EMPTY_HINT, load_portfolio, report_data
    from mftrack.services.portfolio import valuation_options

    if png is None and pdf is None and html is None:
        raise InvalidInputError(
            "say where to write the report",
            hint="mftrack report --png report.png (or --pdf report.pdf, --html report.html)")
    if [png, pdf, html].count("-") > 1:
        raise InvalidInputError("only one of --png, --pdf and --html can be '-' (stdout)")
    targets = [(png, "png"), (pdf, "pdf"), (html, "html")]
    for target, _ in targets:
        if target not in (None, "-") and not Path(target).expanduser().parent.is_dir():
            raise NotFoundError(f"folder {Path(target).expanduser().parent} does not exist",
                                hint="create it first, or write the report somewhere else")
    binary = [f"--{fmt}" for target, fmt in targets[:2] if target == "-"]
    if binary and sys.stdout.isatty():
        raise InvalidInputError(
            f"{binary[0]} - would write binary data to the terminal",
            hint=f"redirect it (mftrack report {binary[0]} - > report.{binary[0][2:]}) or give "
            "a file name",
        )
    runtime: Runtime = ctx.obj
    runtime.verbose = runtime.verbose or verbose
    settings = runtime.settings
    day = parse_as_of(as_of, today=runtime.today())
    view = load_portfolio(
        store=runtime.store,
        as_of=day,
        options=valuation_options(settings),
    )
    runtime.warn_valuation(view.summary)
    # Nothing to report is a failure a script must see (exit 3), not a silent success.
    if view.is_empty:
        raise NotFoundError("no SIPs yet, so there is nothing to report; no file written",
                            hint=EMPTY_HINT)
    if not view.summary.total.instalments:
        raise NotFoundError(
            f"no instalment allotted by {day}, so there is nothing to report; no file written",
            hint="pick a later --as-of, or `mftrack nav pull`",
        )
    if html is not None:
        _write_html(runtime, view, html)
    if png is None and pdf is None:
        return
    from mftrack.render.report_png import build_report, is_a4, pixel_size, save_report

    data = report_data(store=runtime.store, view=view, options=valuation_options(settings))
    figure = build_report(data, allocation_by=allocation)
    width, height = pixel_size(figure)
    for target, fmt in targets[:2]:
        if target is None:
            continue
        fmt_literal: Literal["png", "pdf"] = "png" if fmt == "png" else "pdf"
        if target == "-":
            save_report(figure, sys.stdout.buffer, fmt=fmt_literal)
            sys.stdout.buffer.flush()
            continue
        path = Path(target).expanduser()
        try:
            save_report(figure, str(path), fmt=fmt_literal)
        except OSError as exc:
            raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        page = "one A4 page" if is_a4(figure) else "one page, taller than A4"
        size = f" ({width} x {height} px)" if fmt == "png" else f" ({page})"
        runtime.info(f"Wrote {path}{size}")


def _write_html(runtime: Runtime, view: PortfolioView, target: str) -> None:
    """The dashboard of `mftrack serve` as one file, data and scripts inline (no FastAPI)."""
    from mftrack.services.dashboard import dashboard_of
    from mftrack.web.page import report_page

    page = report_page(dashboard_of(store=runtime.store, view=view),
                       written_on=runtime.today().isoformat())
    if target == "-":
        runtime.write_data(page)
        return
    path = Path(target).expanduser()
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    runtime.info(f"Wrote {path} ({len(page.encode('utf-8')) // 1024} KB; opens offline in any "
                 "browser)")
