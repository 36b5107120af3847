"""`mftrack demo`: a real result offline, with one command."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from mftrack.cli.runtime import Runtime

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()

DEMO_MARKER = ".mftrack-demo"


def _check_demo_folder(folder: Path, data_dir: Path) -> None:
    """The demo rebuilds its folder from scratch, so it must never be (or hold) real data."""
    from mftrack.errors import InvalidInputError

    if folder == data_dir or data_dir.is_relative_to(folder):
        raise InvalidInputError(
            f"{folder} holds your own data folder; the demo would replace it",
            hint="pick an empty or new folder with --home",
        )
    if folder.exists() and (not folder.is_dir() or (
        any(folder.iterdir()) and not (folder / DEMO_MARKER).exists()
    )):
        raise InvalidInputError(
            f"{folder} is not empty and was not made by `mftrack demo`",
            hint="pick an empty or new folder with --home; nothing was changed",
        )


@app.command("demo")
def demo(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Folder for the demo database. Default: 'demo' in the data folder."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Load real NAV histories of five funds and sample SIPs, then print the summary.

    Nothing touches your own database: the demo lives in a home of its own, rebuilt on each
    run. Explore it afterwards with MFTRACK_HOME=<that folder> mftrack sips (or chart, report).
    """
    import json

    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.cli.summary import render_summary
    from mftrack.services.demo import demo_home, load_demo
    from mftrack.services.portfolio import portfolio_summary, summary_as_dict

    runtime: Runtime = ctx.obj
    default = demo_home(runtime.paths.data_dir).resolve()
    folder = (home or default).resolve()
    if folder != default:  # the default demo folder is reserved for the demo
        _check_demo_folder(folder, runtime.paths.data_dir.resolve())
    if folder.exists():
        shutil.rmtree(folder)  # only ever a folder this command made (it holds the marker)
    folder.mkdir(parents=True)
    (folder / DEMO_MARKER).write_text("made by `mftrack demo`; rebuilt on each run\n")
    store = LocalStore(folder / "mftrack.db", backup_dir=folder / "backups")
    try:
        as_of = load_demo(store)
        result, _ = portfolio_summary(store=store, as_of=as_of)
    finally:
        store.close()
    data = summary_as_dict(result)
    if json_out:
        runtime.write_data(json.dumps(data, indent=2))
    else:
        runtime.print_table(render_summary(data, runtime.table_width))
    runtime.info(
        f"Demo data ends on {as_of}, so the portfolio is valued as of that day.\n"
        f"Explore it: MFTRACK_HOME={folder} mftrack sips  (or summary --as-of {as_of})"
    )
