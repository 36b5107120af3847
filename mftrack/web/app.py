"""The FastAPI application behind `mftrack serve`: the original design's REST API, the
dashboard page and its live event stream, over the same local database as the CLI.

Routes are thin: they parse, call the same services as the CLI (`portfolio_summary` +
`summary_as_dict`, `services.sips`, `services.dashboard`), and translate mftrack's errors to
JSON with a 4xx status. Every request first passes `security.AccessGuard`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from mftrack.adapters.sqlite.changes import ChangeCounter
from mftrack.adapters.sqlite.store import LocalStore
from mftrack.cli.params import parse_as_of, parse_date, require_date
from mftrack.domain.options import ValuationOptions
from mftrack.domain.sip_record import sip_to_record
from mftrack.errors import AmbiguousError, MftrackError, NotFoundError, StorageError
from mftrack.services import sips as sip_service
from mftrack.services.dashboard import dashboard_data, nav_chart, points_as_list
from mftrack.services.pictures import TOTAL, load_portfolio, value_history
from mftrack.services.portfolio import portfolio_summary, summary_as_dict
from mftrack.services.schemes import resolve_scheme
from mftrack.web.live import ChangeFeed, VersionedCache
from mftrack.web.page import LIVE_CSP, live_page
from mftrack.web.security import AccessGuard

STATIC = Path(__file__).with_name("static")
HEARTBEAT = 15.0  # seconds: a comment line keeps proxies and the browser from timing out


@dataclass
class ServeOptions:
    database: Path
    backup_dir: Path
    valuation: ValuationOptions  # services.portfolio.valuation_options(settings)
    today: Callable[[], date]
    token: str
    host: str = "127.0.0.1"
    port: int = 8765
    watch_interval: float = 0.25


class NewSip(BaseModel):
    """The fields of `mftrack add-sip`, validated by the same code."""

    scheme: str = Field(description="AMFI code, ISIN, or words of the name that match one scheme")
    amount: str | int = Field(description="rupees per instalment, e.g. \"5000\" (at most paise)")
    start: str = Field(description="start date, YYYY-MM-DD")
    day: int | None = Field(None, description="due day of month 1-31 (default: start's day)")
    end: str | None = Field(None, description="last date (inclusive), YYYY-MM-DD")
    step_up: str | None = Field(None, description="yearly step-up: \"10%\" or rupees \"500\"")
    label: str | None = Field(None, description="your own name for the SIP")


STATUS = {NotFoundError: 404, AmbiguousError: 409, StorageError: 503}


def _error_body(exc: MftrackError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": exc.message, "hint": exc.hint}
    if isinstance(exc, AmbiguousError):
        body["candidates"] = exc.candidates
    return body


def create_app(options: ServeOptions) -> FastAPI:
    store = LocalStore(options.database, backup_dir=options.backup_dir)
    counter = ChangeCounter(options.database)
    cache = VersionedCache(counter)
    feed = ChangeFeed(counter, interval=options.watch_interval)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher = asyncio.create_task(feed.run())
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            store.close()
            counter.close()

    app = FastAPI(
        title="mftrack",
        summary="Your SIPs, valued with AMFI's NAVs: the API behind `mftrack serve`.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served below from the bundled Swagger UI, so /docs works offline
        redoc_url=None,
    )
    app.state.cache = cache
    app.state.feed = feed

    @app.exception_handler(MftrackError)
    async def mftrack_error(_: Request, exc: MftrackError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse(_error_body(exc), status_code=status)

    def day(as_of: str | None) -> date:
        return parse_as_of(as_of, today=options.today())

    def summary_of(on: date) -> dict[str, Any]:
        from mftrack.services.realised import realised_gains_by_fy

        result, _ = portfolio_summary(store=store, as_of=on, options=options.valuation)
        # The same object `summary --json` prints, realised gains per FY included (issue 12).
        return summary_as_dict(result) | {
            "realised_gains_by_fy": realised_gains_by_fy(store, result)
        }

    @app.get("/sips/summary", tags=["portfolio"])
    def get_summary(as_of: str | None = Query(None, description="YYYY-MM-DD; default today")
                    ) -> dict[str, Any]:
        """Exactly the object `mftrack summary --json` prints (cached until the database
        changes)."""
        on = day(as_of)
        return cache.get(("summary", on), lambda: summary_of(on))

    @app.get("/sips", tags=["sips"])
    def get_sips(all: bool = Query(False, description="include removed SIPs")
                 ) -> list[dict[str, Any]]:
        """Your SIPs as records (the sync format), with the scheme's name, status today and
        the amount due today, as `mftrack sips --json` prints them."""
        from mftrack.services.sips import sip_records

        pairs = sip_records(store=store, today=options.today(), include_deleted=all)
        return [record for _, record in pairs]

    @app.post("/sips/", status_code=201, tags=["sips"])
    def post_sip(new: NewSip) -> dict[str, Any]:
        """Record a SIP, validated exactly as `mftrack add-sip` does; nothing is written
        when any field is wrong. `warnings` holds add-sip's warning for a scheme that may
        never be bought (segregated, close-ended, no NAV for long)."""
        amount = sip_service.parse_amount(str(new.amount))
        start = require_date(new.start, option="start")
        end = parse_date(new.end, option="end")
        found = resolve_scheme(store, new.scheme)
        sip = sip_service.add_sip(
            store=store, scheme_code=found.scheme_code, amount=amount, start=start,
            day=new.day, end=end, step_up=sip_service.parse_step_up(new.step_up),
            label=new.label,
        )
        # The same warning add-sip prints: recorded as given, but it may never be bought.
        warning = sip_service.purchase_warning(store, found)
        return {**sip_to_record(sip), "scheme_name": found.display_name,
                "warnings": [warning] if warning else []}

    @app.get("/navs/{scheme_code}", tags=["navs"])
    def get_navs(scheme_code: int, as_of: str | None = None, since: str | None = None
                 ) -> dict[str, Any]:
        """A scheme's daily NAVs (from `since`, else the month of your first instalment),
        your allotments, average cost, and weekly and monthly candles."""
        scheme = store.get_scheme(scheme_code)
        if scheme is None:
            raise NotFoundError(f"no scheme with AMFI code {scheme_code}",
                                hint="`mftrack scheme search WORDS` finds codes")
        view = load_portfolio(store=store, as_of=day(as_of), options=options.valuation)
        return nav_chart(store=store, view=view, scheme_code=scheme_code,
                         name=scheme.display_name, since=parse_date(since, option="since"))

    @app.get("/value-series", tags=["portfolio"])
    def get_value_series(as_of: str | None = None, scheme: int = TOTAL
                         ) -> list[dict[str, Any]]:
        """Month-end value against amount invested; the last point is `as_of` and equals the
        summary. `scheme` = one AMFI code (default 0: the whole portfolio)."""
        view = load_portfolio(store=store, as_of=day(as_of), options=options.valuation)
        return points_as_list(value_history(store=store, view=view, scheme_code=scheme).points)

    @app.get("/dashboard-data", tags=["dashboard"])
    def get_dashboard_data(as_of: str | None = None) -> dict[str, Any]:
        """Everything the dashboard draws (cached until the database changes)."""
        on = day(as_of)
        return cache.get(("dashboard", on), lambda: dashboard_data(
            store=store, as_of=on, valuation=options.valuation))

    @app.get("/events", tags=["dashboard"])
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: `change` each time the database changes."""
        queue = feed.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield f"retry: 1000\nevent: hello\ndata: {feed.version}\n\n"
                while True:
                    try:
                        version = await asyncio.wait_for(queue.get(), HEARTBEAT)
                    except TimeoutError:
                        yield ": still here\n\n"
                        continue
                    yield f"event: change\ndata: {version}\n\n"
            finally:
                feed.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="mftrack API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(live_page(), headers={
            "Content-Security-Policy": LIVE_CSP, "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(AccessGuard, token=options.token, host=options.host, port=options.port)
    return app
