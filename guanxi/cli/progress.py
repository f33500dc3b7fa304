"""A :class:`~guanxi.progress.Progress` drawn as a rich progress bar for one command.

``with progress_bar(console, "resolve", enabled=settings.progress) as progress:``
gives a callable to pass to a long operation. The bar shows a spinner,
``title · message``, the bar, ``done/total`` and the elapsed time; it is
transient (gone when the block ends, so the command's own output follows
cleanly). Updates only record the new state (rich redraws about ten times a
second on its own thread), so a call is cheap whatever the rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

from guanxi.progress import Progress, no_progress


def description(title: str, message: str) -> str:
    """The bar's text: ``title · message`` (just ``title`` without a message), markup escaped."""
    return escape(f"{title} · {message}" if message else title)


@contextmanager
def progress_bar(console: Console, title: str, *, enabled: bool = True) -> Iterator[Progress]:
    """A :class:`Progress` that draws on ``console`` while the block runs.

    Yields :func:`~guanxi.progress.no_progress` (and draws nothing, not even a
    blank line) when not ``enabled`` or when ``console`` is not interactive (piped,
    redirected, a dumb terminal), so such output stays clean. Until the first
    call the bar pulses with an unknown total.
    """
    if not enabled or not console.is_interactive:
        yield no_progress
        return
    with RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description(title, ""), total=None)

        def report(done: int, total: int, message: str = "") -> None:
            bar.update(task, completed=done, total=total, description=description(title, message))

        yield report
