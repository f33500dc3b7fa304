"""What every command needs: settings, the warehouse, and one way to report errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from ibis.backends import BaseBackend
from rich.console import Console
from rich.markup import escape

from guanxi.config import Settings, get_settings
from guanxi.errors import GuanxiError, WarehouseError
from guanxi.jobs.errors import WarehouseBusyError
from guanxi.jobs.writer import holder
from guanxi.warehouse import connect

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def fails_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Print a GuanxiError as ``error [code]: message`` and exit 2 instead of a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except GuanxiError as err:
            err_console.print(
                f"[bold red]error[/] {escape(f'[{err.code}]')}: {escape(err.message)}", highlight=False
            )
            raise typer.Exit(2) from err

    return wrapper


def settings() -> Settings:
    return get_settings()


@contextmanager
def warehouse(current: Settings) -> Iterator[BaseBackend]:
    """The warehouse for one command, closed afterwards.

    When another process holds the embedded DuckDB file, raises
    :class:`~guanxi.jobs.errors.WarehouseBusyError` naming it (the long
    commands queue themselves to it instead: see :mod:`guanxi.cli.jobs`).
    """
    try:
        con = connect(current)
    except WarehouseError as err:
        current_holder = holder(current)
        if current_holder is None or "lock" not in err.message.lower():
            raise
        raise WarehouseBusyError(
            f"the warehouse is open in {current_holder.describe()}; this command reads it directly and "
            "cannot run meanwhile — use the web app, or stop that process first"
        ) from err
    try:
        yield con
    finally:
        con.disconnect()
