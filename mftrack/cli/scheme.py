"""`mftrack scheme`: find schemes and see their latest NAV."""

from __future__ import annotations

import json

import typer

from mftrack.cli.runtime import Runtime

app = typer.Typer(
    name="scheme",help="Find schemes in the local scheme list.", no_args_is_help=True)


@app.command("search")
def search(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., help="Words of the name, a scheme code or an ISIN."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=200, help="How many results."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """Fuzzy search over scheme names, plus exact code or ISIN."""
    from mftrack.services.schemes import NO_SCHEMES_HINT, search_schemes

    runtime: Runtime = ctx.obj
    if not " ".join(query).strip():
        from mftrack.errors import InvalidInputError

        raise InvalidInputError(
            "nothing to search for", hint="give words of a name, a code or an ISIN"
        )
    store = runtime.store
    hits = search_schemes(store, " ".join(query), limit=limit)
    if json_out:
        runtime.write_data(
            json.dumps(
                [{"scheme_code": h.scheme_code, "name": h.name, "score": round(h.score, 1)}
                 for h in hits],
                indent=2,
            )
        )
        return
    if not hits:
        from mftrack.errors import NotFoundError

        hint = NO_SCHEMES_HINT if store.scheme_count() == 0 else "try fewer or other words"
        raise NotFoundError(f"no scheme matches {' '.join(query)!r}", hint=hint)
    from mftrack.render.tables import scheme_hits_table

    runtime.print_table(scheme_hits_table(
        [(hit.scheme_code, hit.name, hit.score) for hit in hits], runtime.table_width
    ))


@app.command("show")
def show(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN or an unambiguous name phrase."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Details of one scheme: ISINs, category, fund house, latest NAV and how old it is."""
    from mftrack.services.schemes import resolve_scheme

    runtime: Runtime = ctx.obj
    store = runtime.store
    found = resolve_scheme(store, scheme)
    info = found.info
    today = runtime.today()
    age = (today - found.latest_nav_date).days if found.latest_nav_date else None
    navs = store.nav_count(info.scheme_code)
    data = {
        "scheme_code": info.scheme_code,
        "name": found.display_name,
        "isin_growth": info.isin_growth,
        "isin_reinvest": info.isin_reinvest,
        "plan": info.plan,
        "option": info.option,
        "category": info.category,
        "scheme_type": info.scheme_type,
        "fund_house": info.fund_house,
        "nav": str(found.latest_nav) if found.latest_nav is not None else None,
        "nav_date": found.latest_nav_date.isoformat() if found.latest_nav_date else None,
        "nav_age_days": age,
        "navs_stored": navs,
        **_tax_class(runtime, found),
    }
    if json_out:
        runtime.write_data(json.dumps({k: v for k, v in data.items() if k != "tax_class_text"},
                                      indent=2))  # fmt: skip
        return
    from rich.markup import escape

    label_width = 14
    for key, label in (
        ("scheme_code", "Code"),
        ("name", "Name"),
        ("fund_house", "Fund house"),
        ("scheme_type", "Type"),
        ("category", "Category"),
        ("plan", "Plan"),
        ("option", "Option"),
        ("isin_growth", "ISIN"),
        ("isin_reinvest", "ISIN reinvest"),
        ("tax_class_text", "Tax class"),
    ):
        if data[key] not in (None, ""):
            runtime.out.print(f"[bold]{label:<{label_width}}[/]{escape(str(data[key]))}")
    if found.latest_nav is not None:
        age_text = "today" if age == 0 else f"{age} day{'s' if age != 1 else ''} old"
        runtime.out.print(
            f"[bold]{'NAV':<{label_width}}[/]{found.latest_nav} on {data['nav_date']} ({age_text})"
        )
    else:
        runtime.out.print(f"[bold]{'NAV':<{label_width}}[/]none stored")
    runtime.out.print(f"[bold]{'NAVs stored':<{label_width}}[/]{navs:,}")
    stale_after = runtime.settings.nav_stale_after_days
    if age is not None and age > stale_after:
        runtime.warn(
            f"the latest NAV is {age} days old; `mftrack nav pull` or `mftrack nav history` "
            "fetches newer ones"
        )


def _tax_class(runtime: Runtime, found) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The scheme's tax class for capital gains (docs/gains.md) and where it comes from."""
    from mftrack.adapters.sqlite.tax_classes import tax_class_overrides
    from mftrack.domain.tax.classes import TaxClass, tax_class_of

    code = found.scheme_code
    override = tax_class_overrides(runtime.store, [code]).get(code)
    choice = tax_class_of(found.info.category, found.display_name,
                          TaxClass(override) if override else None)  # fmt: skip
    return {"tax_class": str(choice.tax_class), "tax_class_source": choice.source,
            "tax_class_text": f"{choice.tax_class} ({choice.reason})"}  # fmt: skip


@app.command("set-tax-class")
def set_tax_class(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN or an unambiguous name phrase."),
    tax_class: str = typer.Argument(
        ..., metavar="CLASS",
        help="equity (>= 65 % domestic equity), debt (> 65 % debt), other (<= 35 % domestic "
        "equity, e.g. gold, foreign FoFs), hybrid (between), or auto (from the AMFI category).",
    ),
) -> None:
    """Set the tax class of a scheme when its AMFI category does not settle it.

    Index funds, ETFs, FoFs and hybrids can fall on either side of the 65 % equity line, so
    their AMFI category does not settle the class. `auto` goes back to the category.
    """
    from mftrack.adapters.sqlite.tax_classes import set_tax_class_override
    from mftrack.domain.tax.classes import TaxClass, tax_class_of
    from mftrack.errors import InvalidInputError
    from mftrack.services.schemes import resolve_scheme

    runtime: Runtime = ctx.obj
    choice = tax_class.strip().lower()
    allowed = [c.value for c in TaxClass]
    if choice not in (*allowed, "auto"):
        raise InvalidInputError(
            f"{tax_class!r} is not a tax class", hint=f"use one of {', '.join(allowed)} or auto"
        )
    found = resolve_scheme(runtime.store, scheme)
    code = found.scheme_code
    set_tax_class_override(runtime.store, code, None if choice == "auto" else choice)
    now = tax_class_of(found.info.category, found.display_name,
                       None if choice == "auto" else TaxClass(choice))  # fmt: skip
    runtime.info(f"{found.display_name} ({code}) is taxed as {now.tax_class} ({now.reason}).")
