"""The CLI's progress bar: drawn on a terminal, silent when disabled or piped."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from guanxi.cli.progress import description, progress_bar
from guanxi.progress import no_progress


def _console(*, terminal: bool) -> tuple[Console, StringIO]:
    out = StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_the_bar_shows_the_title_the_step_and_done_of_total_on_a_terminal() -> None:
    # given a terminal console
    console, out = _console(terminal=True)
    # when a step of three is reported
    with progress_bar(console, "resolve") as progress:
        progress(1, 3, "building edges")
    # then the last frame names the step and the count
    drawn = out.getvalue()
    assert "resolve · building edges" in drawn
    assert "1/3" in drawn


def test_a_disabled_or_piped_bar_is_no_progress_and_draws_nothing() -> None:
    for enabled, terminal in ((False, True), (True, False)):
        console, out = _console(terminal=terminal)
        with progress_bar(console, "resolve", enabled=enabled) as progress:
            progress(1, 3, "building edges")
        assert progress is no_progress
        assert out.getvalue() == ""


def test_the_description_escapes_markup_in_titles_and_messages() -> None:
    assert description("orders[red].csv", "") == "orders\\[red].csv"
    assert description("import", "[bold]x") == "import · \\[bold]x"
