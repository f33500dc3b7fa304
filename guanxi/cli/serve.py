"""``guanxi serve``: migrate the app database, then run the web app with uvicorn.

Unless ``--no-deliver`` is given, the same process also delivers the outbox
(a ``guanxi worker`` loop in a background thread), so a campaign launched on the
web pages reaches people without a second command. The thread is restarted
after an unexpected error (logged, then a poll interval's wait) and asked to
stop when uvicorn has shut down: it finishes the message in hand and gives
back the rest of its batch. On a SQLite app database run ``--no-deliver`` when a
separate ``guanxi worker`` delivers (one worker per SQLite database); on
PostgreSQL any number of delivering processes share the queue.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Annotated

import typer
import uvicorn

from guanxi.appdb.migrate import upgrade
from guanxi.cli.context import err_console as console
from guanxi.cli.context import fails_cleanly
from guanxi.config import Settings, get_settings
from guanxi.marketing.worker import run_worker

app = typer.Typer(help="Run the web application (dashboard, imports, users, /v1 API).")
log = logging.getLogger(__name__)
DELIVERY_THREAD = "guanxi-delivery"


class Delivery:
    """The outbox worker loop of a serving process, in a daemon thread (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_event = threading.Event()
        self.worker_id = f"serve:{os.getpid()}"
        self.thread = threading.Thread(target=self._loop, name=DELIVERY_THREAD, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                run_worker(self.settings, worker_id=self.worker_id, stop_event=self.stop_event)
            except Exception:  # a bad channel configuration must not end delivery for good
                log.exception(
                    "message delivery stopped by an error; restarting in %.1fs",
                    self.settings.worker_poll_seconds,
                )
                self.stop_event.wait(self.settings.worker_poll_seconds)


@fails_cleanly
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")
    ] = "info",
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver/--no-deliver",
            help="Also deliver the outbox in this process (off when a separate `guanxi worker` does).",
        ),
    ] = True,
) -> None:
    """Bring the app database up to date, then serve the web app until Ctrl-C."""
    from guanxi.web import create_app  # noqa: PLC0415 - the web app loads only for this command

    settings = get_settings()
    revision = upgrade(settings)
    web_app = create_app(settings)
    console.print(
        f"app database at revision [bold]{revision}[/bold]; serving on http://{host}:{port}"
        + ("; delivering messages" if deliver else "; messages are left to `guanxi worker`")
    )
    delivery = Delivery(settings) if deliver else None
    if delivery is not None:
        delivery.start()
    try:
        uvicorn.run(web_app, host=host, port=port, log_level=log_level, proxy_headers=False)
    finally:
        if delivery is not None:
            delivery.stop()


app.callback(invoke_without_command=True)(serve)
