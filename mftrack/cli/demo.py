"""`mftrack demo`: a real result offline, with one command."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from mftrack.cli.runtime import Runtime


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
    folder = home or demo_home(runtime.paths.data_dir)
    if folder.resolve() == runtime.paths.data_dir.resolve():
        from mftrack.errors import InvalidInputError

        raise InvalidInputError(
            "the demo home cannot be your own data folder", hint="pick another --home"
        )
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
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
        runtime.out.print(render_summary(data, runtime.out.width))
    runtime.info(
        f"Demo data ends on {as_of}, so the portfolio is valued as of that day.\n"
        f"Explore it: MFTRACK_HOME={folder} mftrack sips  (or summary --as-of {as_of})"
    )
