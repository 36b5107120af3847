"""Time `mftrack report --png` on a 20-SIP, 10-year portfolio of real NAV histories.

    python bench/bench_report.py [--repeat 5] [--keep DIR]

Builds a portfolio in a temporary MFTRACK_HOME: the ten long mfapi.in histories in
../shared/amfi-data/mfapi/ (2013-2025), two SIPs on each (20 SIPs, from Dec 2015 to the data's
end, 2025-12-10). It then times, best of N:

- the report in-process (the CLI entry point called in this interpreter, warm imports),
  split into valuation (summary + value series + allocation), drawing and PNG encoding;
- the report as a subprocess (`python -m mftrack report --png`, cold: imports included);

against floors measured in the same run: a blank matplotlib figure of the same pixel size
saved to PNG, in-process and in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MFAPI = REPO.parent / "shared" / "amfi-data" / "mfapi"
sys.path.insert(0, str(REPO))

# Every history in the shared data set that runs from 2013 to December 2025.
CODES = (118395, 118550, 118989, 119551, 119800, 120465, 120503, 120716, 122639, 125497)
AS_OF = date(2025, 12, 10)
START = date(2015, 12, 1)


def build_home(home: Path) -> None:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.services.navs import import_files
    from mftrack.services.sips import add_sip

    files = [next(MFAPI.glob(f"mfapi_{code}_*.json")) for code in CODES]
    store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
    try:
        import_files(store=store, paths=files)
        for i, code in enumerate(CODES):
            for day, amount in ((5, 2000 + 500 * i), (20, 1000 + 250 * i)):
                add_sip(store=store, scheme_code=code, amount=Decimal(amount),
                        start=START.replace(day=day), label=f"bench {code} day {day}")
    finally:
        store.close()


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run_cli_in_process(args: list[str]) -> None:
    import contextlib
    import io

    from mftrack.cli import app

    with contextlib.redirect_stderr(io.StringIO()):  # the portfolio's NAV-gap warning
        app(args, standalone_mode=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best of)")
    parser.add_argument("--keep", type=Path, help="build the portfolio here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = args.keep or Path(tmp) / "home"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "mftrack.db").exists():
            build_home(home)
        os.environ["MFTRACK_HOME"] = str(home)
        png = Path(tmp) / "report.png"
        report_args = ["-q", "report", "--png", str(png), "--as-of", AS_OF.isoformat()]

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from mftrack.adapters.sqlite.store import LocalStore
        from mftrack.render.report_png import DPI, PAGE_INCHES, build_report, save_report
        from mftrack.services.pictures import load_portfolio, report_data

        def blank_png() -> None:
            fig = Figure(figsize=PAGE_INCHES, dpi=DPI)
            FigureCanvasAgg(fig)
            fig.savefig(Path(tmp) / "blank.png", format="png", dpi=DPI)

        run_cli_in_process(report_args)  # warm-up: imports, font cache
        store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
        view = load_portfolio(store=store, as_of=AS_OF)
        data = report_data(store=store, view=view)
        figure = build_report(data)
        timings = {
            "floor: blank figure to PNG, in-process": best(blank_png, args.repeat),
            "report --png, in-process": best(lambda: run_cli_in_process(report_args),
                                             args.repeat),
            "  valuation (summary, value series, allocation)": best(
                lambda: report_data(store=store, view=load_portfolio(store=store, as_of=AS_OF)),
                args.repeat),
            "  page layout (build_report: artists only)": best(
                lambda: build_report(data), args.repeat),
            "  Agg rendering + PNG encoding (save_report)": best(
                lambda: save_report(figure, str(png), fmt="png"), args.repeat),
        }
        store.close()
        blank_cmd = (
            "from matplotlib.backends.backend_agg import FigureCanvasAgg\n"
            "from matplotlib.figure import Figure\n"
            f"fig = Figure(figsize={PAGE_INCHES!r}, dpi={DPI}); FigureCanvasAgg(fig)\n"
            f"fig.savefig({str(Path(tmp) / 'blank.png')!r}, format='png', dpi={DPI})\n"
        )
        env = {**os.environ, "MFTRACK_HOME": str(home)}
        timings["floor: blank figure to PNG, subprocess"] = best(
            lambda: subprocess.run([sys.executable, "-c", blank_cmd], check=True, env=env),
            args.repeat)
        timings["report --png, subprocess"] = best(
            lambda: subprocess.run([sys.executable, "-m", "mftrack", *report_args], check=True,
                                   env=env, cwd=REPO, stderr=subprocess.DEVNULL),
            args.repeat)

        from PIL import Image

        with Image.open(png) as image:
            size = image.size
        print(f"portfolio: {len(view.summary.schemes)} schemes, 20 SIPs, "
              f"{view.summary.total.instalments} instalments, {START} to {AS_OF}")
        print(f"report: {png.stat().st_size / 1024:.0f} KiB, {size[0]} x {size[1]} px; "
              f"best of {args.repeat}; Python {sys.version.split()[0]}")
        for label, seconds in timings.items():
            print(f"{label:<50} {seconds * 1000:8.1f} ms")
        for where in ("in-process", "subprocess"):
            ratio = timings[f"report --png, {where}"] / timings[
                f"floor: blank figure to PNG, {where}"]
            print(f"{where + ' / floor':<50} {ratio:8.1f} x")


if __name__ == "__main__":
    main()
