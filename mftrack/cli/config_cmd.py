"""`mftrack config`: show settings and where files live."""

from __future__ import annotations

import json

import typer

from mftrack.cli.runtime import Runtime

app = typer.Typer(
    name="config",help="Show settings and the folders mftrack uses.", no_args_is_help=True)


def _mask(key: str, value: object) -> str:
    text = "" if value is None else str(value)
    if key == "supabase.anon_key" and len(text) > 12:
        return text[:6] + "…" + text[-4:]
    return text


@app.command("show")
def show(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show every setting, its value and where it came from (default, file or variable)."""
    from mftrack.config import SETTINGS

    runtime: Runtime = ctx.obj
    settings = runtime.settings
    if json_out:
        data = {
            spec.key: {
                "value": _mask(spec.key, settings.value_of(spec.key))
                if spec.key == "supabase.anon_key"
                else settings.value_of(spec.key),
                "source": settings.sources[spec.key],
                "env": spec.env,
            }
            for spec in SETTINGS
        }
        runtime.write_data(json.dumps(data, indent=2))
        return
    from mftrack.render.tables import settings_table

    rows = [(spec.key, _mask(spec.key, settings.value_of(spec.key)), settings.sources[spec.key],
             spec.env) for spec in SETTINGS]
    runtime.print_table(settings_table(f"Settings (file: {runtime.paths.config_file})", rows))


@app.command("paths")
def paths(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print the folders and files mftrack uses (set MFTRACK_HOME to put them all in one)."""
    runtime: Runtime = ctx.obj
    data = runtime.paths.as_dict()
    if json_out:
        runtime.write_data(json.dumps(data, indent=2))
        return
    width = max(len(k) for k in data)
    runtime.write_data("\n".join(f"{k.ljust(width)}  {v}" for k, v in data.items()))
