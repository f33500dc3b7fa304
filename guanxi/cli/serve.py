"""``guanxi serve``: migrate the app database, then run the web app with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from guanxi.appdb.migrate import upgrade
from guanxi.cli.context import err_console as console
from guanxi.cli.context import fails_cleanly
from guanxi.config import get_settings

app = typer.Typer(help="Run the web application (dashboard, imports, users, /v1 API).")


@fails_cleanly
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")
    ] = "info",
) -> None:
    """Bring the app database up to date, then serve the web app until Ctrl-C."""
    from guanxi.web import create_app  # noqa: PLC0415 - the web app loads only for this command

    settings = get_settings()
    revision = upgrade(settings)
    web_app = create_app(settings)
    console.print(f"app database at revision [bold]{revision}[/bold]; serving on http://{host}:{port}")
    uvicorn.run(web_app, host=host, port=port, log_level=log_level, proxy_headers=False)


app.callback(invoke_without_command=True)(serve)
