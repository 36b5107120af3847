"""`mftrack report`: the PNG/PDF page, its size and content, and its numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.render.formatting import percent, rupees
from tests.charts_support import (
    AS_OF,
    AS_OF_DATE,
    build_demo,
    build_one_scheme,
    build_wide,
    cli,
    open_store,
    summary_json,
)
from tests.helpers import run_cli, run_in_pty

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report-homes")
    return {"demo": build_demo(root), "one": build_one_scheme(root), "wide": build_wide(root)}


def read_png(path: Path):  # type: ignore[no-untyped-def]
    from matplotlib.image import imread

    return imread(path)  # float RGBA in 0..1, shape (height, width, 4)


def distinct_colours(image) -> int:  # type: ignore[no-untyped-def]
    import numpy as np

    rgb = (image[..., :3] * 255).round().astype(np.uint32).reshape(-1, 3)
    return len(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]))


def test_demo_report_is_an_a4_page_with_content(homes: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "report.png"
    result = cli(homes["demo"], "report", "--png", str(target), "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # the file is the output; the message is on stderr
    assert f"Wrote {target} (1654 x 2338 px)" in result.stderr
    assert target.read_bytes().startswith(PNG_SIGNATURE)
    image = read_png(target)
    height, width = image.shape[:2]
    assert (width, height) == (1654, 2338) and width >= 1600 and height >= 1200
    assert distinct_colours(image) > 200  # text anti-aliasing, lines, fills, bars
    ink = (image[..., :3].min(axis=2) < 0.6).mean()
    assert 0.02 < ink < 0.5  # not blank, not a flood
    for band in range(0, height - 200, 400):  # every part of the page has something on it
        assert (image[band:band + 400, :, :3].min(axis=2) < 0.6).any(), band


@pytest.mark.parametrize("portfolio", ["one", "wide"])
def test_one_and_many_schemes(homes: dict[str, Path], tmp_path: Path, portfolio: str) -> None:
    target = tmp_path / f"{portfolio}.png"
    result = cli(homes[portfolio], "report", "--png", str(target), "--as-of", AS_OF,
                 "--allocation", "scheme")
    assert result.exit_code == 0, result.stderr
    height, width = read_png(target).shape[:2]
    assert width == 1654 and height >= 2338


def test_the_page_shows_the_numbers_of_summary_json(homes: dict[str, Path]) -> None:
    from matplotlib.text import Text

    from mftrack.render.report_png import build_report
    from mftrack.services.pictures import load_portfolio, report_data

    expected = summary_json(homes["demo"])
    store = open_store(homes["demo"])
    try:
        data = report_data(store=store, view=load_portfolio(store=store, as_of=AS_OF_DATE))
    finally:
        store.close()
    assert json.loads(json.dumps(data.view.data)) == expected  # one computation, no drift
    total = expected["total"]
    assert sum(s.value for s in data.allocation.by_category) == Decimal(total["value"])
    assert data.history.points[-1].value == Decimal(total["value"])
    figure = build_report(data)
    header = figure.axes[0]  # the headline: label above figure, left to right
    labels = [t.get_text() for t in header.texts]
    headline = {labels[i]: labels[i + 1] for i in range(len(labels) - 1)}
    assert headline["Invested"] == rupees(Decimal(total["invested"]), places=0)
    assert headline["Value"] == rupees(Decimal(total["value"]), places=0)
    assert headline["Gain"] == rupees(Decimal(total["gain"]), places=0)
    assert headline["XIRR"] == percent(total["xirr"])
    texts = {t.get_text() for t in figure.findobj(Text)}
    for row in expected["schemes"]:
        assert rupees(Decimal(row["value"]), places=0) in texts
        shown = percent(row["xirr"]) if row["xirr"] is not None else (
            percent(row["absolute_return"]) + "†")
        assert shown in texts


def test_pdf_is_one_page(homes: dict[str, Path], tmp_path: Path) -> None:
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    result = cli(homes["demo"], "report", "--png", str(png), "--pdf", str(pdf), "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    body = pdf.read_bytes()
    assert body.startswith(b"%PDF")
    assert body.count(b"/Type /Page\n") + body.count(b"/Type /Page ") == 1
    assert png.exists() and "one A4 page" in result.stderr


def test_png_to_stdout(homes: dict[str, Path]) -> None:
    from typer.testing import CliRunner

    from mftrack.cli import app

    result = CliRunner().invoke(app, ["report", "--png", "-", "--as-of", AS_OF],
                                env={"MFTRACK_HOME": str(homes["one"])}, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(PNG_SIGNATURE)
    assert "Wrote" not in result.stderr


def test_empty_portfolio_writes_nothing_says_why_and_fails(tmp_path: Path) -> None:
    """Issue 10 item 6: a script must see that no report was written (exit 3, NOT_FOUND)."""
    target = tmp_path / "r.png"
    result = run_cli("report", "--png", str(target))
    assert result.exit_code == 3, result.stderr
    assert result.stdout == "" and not target.exists()
    assert "no SIPs yet" in result.stderr and "Hint:" in result.stderr


def test_png_to_stdout_is_refused_on_a_terminal() -> None:
    """`report --png -` typed at a terminal would fill it with binary (issue 10 item 6)."""
    for fmt in ("png", "pdf"):
        result = run_in_pty("report", f"--{fmt}", "-")
        assert result.exit_code == 2
        assert f"--{fmt} - would write binary data to the terminal" in result.stderr
        assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "say where to write the report"),
        (("--png", "-", "--pdf", "-"), 2, "only one of --png, --pdf and --html can be '-'"),
        (("--html", "-", "--pdf", "-"), 2, "only one of --png, --pdf and --html can be '-'"),
        (("--html", "/no/such/folder/r.html"), 3, "folder /no/such/folder does not exist"),
        (("--png", "/no/such/folder/r.png"), 3, "folder /no/such/folder does not exist"),
        (("--png", "x.png", "--as-of", "10/13/2025"), 2, "is not a YYYY-MM-DD date"),
    ],
)
def test_bad_requests(homes: dict[str, Path], args: tuple[str, ...], code: int,
                      message: str) -> None:
    result = cli(homes["one"], "report", *args)
    assert result.exit_code == code
    assert result.stdout == ""
    assert message in result.stderr


def test_before_any_allotment_writes_nothing(homes: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "early.png"
    result = cli(homes["demo"], "report", "--png", str(target), "--as-of", "2015-01-01")
    assert result.exit_code == 3 and not target.exists()
    assert "no instalment allotted by 2015-01-01" in result.stderr


def test_a_portfolio_younger_than_a_year_shows_its_plain_return(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "young.png"
    total = summary_json(homes["demo"], "2016-06-01")["total"]
    assert total["xirr"] is None and total["absolute_return"] is not None
    result = cli(homes["demo"], "report", "--png", str(target), "--as-of", "2016-06-01")
    assert result.exit_code == 0, result.stderr
    assert read_png(target).shape[:2] == (2338, 1654)

    from datetime import date

    from mftrack.render.report_png import build_report
    from mftrack.services.pictures import load_portfolio, report_data

    store = open_store(homes["demo"])
    try:
        data = report_data(store=store, view=load_portfolio(store=store, as_of=date(2016, 6, 1)))
    finally:
        store.close()
    labels = [t.get_text() for t in build_report(data).axes[0].texts]
    assert "XIRR" not in labels
    assert labels[labels.index("Return") + 1] == percent(total["absolute_return"])


def test_a_stale_report_says_when_its_navs_are_from_and_stops_there(
    homes: dict[str, Path],
) -> None:
    """Issue 10 item 6: valued a year after the last NAV, the page names the NAVs' date, the
    value line ends on it, the table uses one font size and the footer has no backticks."""
    from datetime import date

    from mftrack.render.report_png import build_report
    from mftrack.services.pictures import load_portfolio, report_data

    late = date(2026, 12, 5)  # the bundled histories end in December 2025
    store = open_store(homes["demo"])
    try:
        view = load_portfolio(store=store, as_of=late)
        navs = [date.fromisoformat(s["nav_date"]) for s in view.data["schemes"]]
        freshest = max(navs)
        figure = build_report(report_data(store=store, view=view))
    finally:
        store.close()
    texts = [t for ax in figure.axes for t in ax.texts]
    words = [t.get_text() for t in texts]
    assert any(f"NAVs as of {freshest.day} {freshest:%b %Y}" in w for w in words)
    assert f"at NAVs of {freshest.day} {freshest:%b %Y}" in words
    assert not [w for w in words if "`" in w]
    value_axes = next(ax for ax in figure.axes
                      if ax.get_title(loc="left").startswith("Value against"))
    last_day = max(max(line.get_xdata()) for line in value_axes.get_lines())
    assert last_day <= freshest
    table = next(ax for ax in figure.axes if ax.get_title(loc="left") == "Scheme by scheme")
    assert len({t.get_fontsize() for t in table.texts}) == 1
