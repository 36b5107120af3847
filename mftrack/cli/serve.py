"""`mftrack serve`: the dashboard and the REST API in the browser, on this machine only.

FastAPI and uvicorn are imported inside the command (they are the optional `web` extra), so
`mftrack --help` and every other command never load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mftrack.cli.runtime import Runtime
from mftrack.errors import BusyError, ConfigError, InvalidInputError

if TYPE_CHECKING:
    import socket

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """Bind before building the app, so `--port 0` gets a free port we can print and a port
    in use is a one-line error instead of uvicorn's log."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it a response written in two parts (headers,
    # then body) waits ~40 ms for the client's delayed ACK on every keep-alive request (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48):  # EADDRINUSE on Linux / macOS
            raise BusyError(f"port {port} on {host} is already in use",
                            hint="pick another with --port N (or --port 0 for any free one)"
                            ) from exc
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@app.command("serve")
def serve(
    ctx: typer.Context,
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", min=0, max=65535,
                             help="TCP port (0: any free port)."),
    host: str = typer.Option(LOOPBACK, "--host",
                             help="Address to listen on. Anything but loopback exposes your "
                                  "portfolio to the network (a warning is printed)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the dashboard in a browser."),
) -> None:
    """Open the dashboard and REST API in your browser (http://127.0.0.1:8765 by default).

    Prints the URL with a one-time token (keep it private); requests without it are refused.
    The page updates itself within about two seconds when the database changes (the daemon's
    NAVs, `add-sip` in another terminal, a sync). API docs at /docs. Ctrl-C stops it.

    Examples:

        mftrack serve --open

        mftrack serve --port 9000
    """
    try:
        import uvicorn

        from mftrack.web.app import ServeOptions, create_app
    except ImportError as exc:
        raise ConfigError(
            f"mftrack serve needs the optional web extra ({exc.name} is not installed)",
            hint="pip install 'mftrack[web]'",
        ) from exc
    import secrets

    from mftrack.services.portfolio import valuation_options

    runtime: Runtime = ctx.obj
    if not _is_loopback(host):
        runtime.warn(f"listening on {host}: anyone who can reach this machine and learns the "
                     "token can read and change your portfolio, and the connection is not "
                     "encrypted. Use the default 127.0.0.1 unless you mean it.")
    runtime.store.close()  # opened (and migrated) here, so a bad database fails before binding
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    shown_host = LOOPBACK if host in ("0.0.0.0", "::") or _is_loopback(host) else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"http://{shown_host}:{bound_port}/?token={token}"
    app = create_app(ServeOptions(
        database=runtime.paths.database, backup_dir=runtime.paths.backup_dir,
        valuation=valuation_options(runtime.settings), today=runtime.today, token=token,
        host=host, port=bound_port,
    ))
    # No access log: it would write the token (in the first URL) to the terminal or a file.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    runtime.write_data(url)
    runtime.info(f"Serving your portfolio ({runtime.paths.database}) at the URL above; "
                 "Ctrl-C stops it.")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[sock])
