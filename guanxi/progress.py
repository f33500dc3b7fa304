"""How long operations report how far they are: one callable, ``progress(done, total, message)``.

Imports, identity resolution, model runs, segment refreshes and exports take an
optional :class:`Progress`. The CLI draws it as a rich progress bar; a job
(:mod:`guanxi.jobs`) stores it in the app database, where the web page and a
following CLI read it. ``total`` is the number of steps (or rows) known so far;
``done`` never exceeds it; ``message`` names the step in progress.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called as work advances; must be cheap.

    It raises only to stop the work: a cancelled job's progress raises
    ``JobCancelledError`` at the next step, and the caller's transaction rolls back.
    """

    def __call__(self, done: int, total: int, message: str = "") -> None: ...


def no_progress(done: int, total: int, message: str = "") -> None:
    """The :class:`Progress` that reports nowhere."""


class Steps:
    """A :class:`Progress` over a fixed list of named steps.

    ``steps.start("graph")`` reports ``(index of graph, len(steps), label)``;
    ``steps.finish(message)`` reports ``(total, total, message)``. An unknown step
    name is reported at the current position, so a renamed step never breaks a run.
    """

    def __init__(
        self, names: tuple[str, ...], progress: Progress | None, labels: dict[str, str] | None = None
    ):
        self.names = names
        self.progress = progress or no_progress
        self.labels = labels or {}
        self.done = 0

    def start(self, name: str) -> None:
        if name in self.names:
            self.done = self.names.index(name)
        self.progress(self.done, len(self.names), self.labels.get(name, name))

    def finish(self, message: str = "") -> None:
        self.done = len(self.names)
        self.progress(self.done, self.done, message)
