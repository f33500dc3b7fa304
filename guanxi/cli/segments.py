"""``guanxi segments …``: define audiences, preview them, refresh membership, export members.

Parse, call :mod:`guanxi.segments`, print. Errors print as
``error [code]: message`` (each spec problem on its own line) and exit with
status 2. Definitions live in the app database (migrated first when needed);
changes are audited with the actor ``cli``. Without ``--as-of`` the date is
today in ``GUANXI_TIMEZONE``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import pyarrow.csv as pacsv
import typer
from rich.markup import escape
from rich.table import Table

from guanxi import segments
from guanxi.cli.context import console, err_console, fails_cleanly, warehouse
from guanxi.cli.jobs import run_job
from guanxi.cli.users import app_db
from guanxi.config import Settings, get_settings
from guanxi.errors import ConfigError
from guanxi.segments.examples import example, example_files
from guanxi.segments.spec import SegmentSpec
from guanxi.segments.validation import SegmentSpecError, load_spec

app = typer.Typer(
    help="Segments: audience definitions, live counts, membership history.", no_args_is_help=True
)
ACTOR = "cli"

P = ParamSpec("P")
R = TypeVar("R")

AsOf = Annotated[
    datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="As-of date (YYYY-MM-DD); default today."),
]
SpecFile = Annotated[Path, typer.Option("--file", "-f", help="A YAML or JSON spec file.")]


def _lists_problems(func: Callable[P, R]) -> Callable[P, R]:
    """Print each problem of an invalid spec on its own line before the usual error line."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SegmentSpecError as err:
            for problem in err.problems:
                line = f"  {problem.path}: {problem.message} [{problem.code}]"
                err_console.print(escape(line), highlight=False, soft_wrap=True)
            raise

    return wrapper


def _now() -> datetime:
    return datetime.now(UTC)


def _as_of(settings: Settings, chosen: datetime | None) -> date:
    return chosen.date() if chosen is not None else datetime.now(settings.zone).date()


def _read(path: Path) -> SegmentSpec:
    if not path.is_file():
        raise ConfigError(f"no such spec file {path}")
    return load_spec(path.read_text(encoding="utf-8"), source=str(path))


@app.command("create")
@fails_cleanly
@_lists_problems
def create_command(
    key: Annotated[str, typer.Argument(help="Segment key: lower-case letters, digits, _ and -.")],
    file: SpecFile,
    name: Annotated[
        str | None, typer.Option(help="Display name (default: the spec's, else the key).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="Description (default: the spec's).")] = None,
) -> None:
    """Save a new segment definition from a spec file."""
    spec = _read(file)
    with app_db() as session:
        row = segments.create_segment(
            session, key, spec, actor=ACTOR, now=_now(), name=name, description=description
        )
        console.print(f"created segment [bold]{escape(row.key)}[/bold] ({escape(row.name)})")


@app.command("update")
@fails_cleanly
@_lists_problems
def update_command(
    key: str,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="A new YAML or JSON spec.")] = None,
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
) -> None:
    """Change a segment's spec, name or description."""
    spec = _read(file) if file is not None else None
    with app_db() as session:
        segments.update_segment(
            session, key, actor=ACTOR, now=_now(), spec=spec, name=name, description=description
        )
        console.print(f"updated segment [bold]{escape(key)}[/bold]")


@app.command("list")
@fails_cleanly
def list_command(
    archived: Annotated[bool, typer.Option("--archived", help="Include archived segments.")] = False,
) -> None:
    """List segment definitions with their latest refresh."""
    with app_db() as session:
        rows = segments.list_segments(session, include_archived=archived)
        table = Table("key", "name", "members", "as of", "archived")
        for row in rows:
            count = "-" if row.member_count is None else f"{row.member_count:,}"
            table.add_row(
                escape(row.key),
                escape(row.name),
                count,
                str(row.last_as_of or "-"),
                "yes" if row.archived else "",
            )
        console.print(table)


@app.command("show")
@fails_cleanly
def show_command(
    key: str,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of the rule in words: zh-CN or en (default GUANXI_LOCALE)."),
    ] = None,
) -> None:
    """Print a segment's details, its rule in words and its spec (YAML)."""
    settings = get_settings()
    with app_db(settings) as session:
        row = segments.get_segment(session, key)
        spec = segments.spec_of(row)
        console.print(f"[bold]{escape(row.key)}[/bold] — {escape(row.name)}", highlight=False)
        if row.description:
            console.print(escape(row.description))
        console.print(
            f"created {row.created_at:%Y-%m-%d %H:%M} UTC by {escape(row.created_by)}", highlight=False
        )
        if row.archived:
            console.print("archived")
        if row.last_as_of is not None:
            console.print(f"{row.member_count or 0:,} members as of {row.last_as_of}", highlight=False)
        console.print(escape(segments.describe(spec, lang or settings.locale)), highlight=False)
        console.print()
        console.print(escape(spec.to_yaml()), end="", highlight=False)


@app.command("preview")
@fails_cleanly
@_lists_problems
def preview_command(
    key: Annotated[str | None, typer.Argument(help="A saved segment (or give --file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="An unsaved YAML or JSON spec.")] = None,
    as_of: AsOf = None,
    sample: Annotated[int, typer.Option(min=0, help="How many members to show.")] = 10,
) -> None:
    """Count a segment's members now, without writing anything."""
    target: str | SegmentSpec
    if key is not None and file is None:
        target = key
    elif file is not None and key is None:
        target = _read(file)
    else:
        raise ConfigError("give a segment KEY or --file, not both")
    settings = get_settings()
    day = _as_of(settings, as_of)
    with app_db(settings) as session, warehouse(settings) as con:
        result = segments.preview(con, session, target, as_of=day, sample=sample)
    console.print(f"[bold]{result.count:,}[/bold] members as of {result.as_of}", highlight=False)
    if result.sample:
        table = Table(*result.sample[0].keys())
        for item in result.sample:
            table.add_row(*("" if v is None else escape(str(v)) for v in item.values()))
        console.print(table)


@app.command("refresh")
@fails_cleanly
def refresh_command(
    keys: Annotated[
        list[str] | None, typer.Argument(help="Segments to refresh (default: every live one).")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Recompute members and record entries and exits (idempotent per as-of date)."""
    settings = get_settings()
    day = _as_of(settings, as_of)
    result = run_job("segments.refresh", {"keys": keys or None, "as_of": day.isoformat()}, title="segments")
    table = Table("segment", title=f"segments as of {result['as_of']}")
    for column in ("members", "entered", "left"):
        table.add_column(column, justify="right")
    for row in result["segments"]:
        table.add_row(escape(row["key"]), f"{row['members']:,}", f"{row['entered']:,}", f"{row['left']:,}")
    console.print(table)


@app.command("members")
@fails_cleanly
def members_command(
    key: str,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write every member to this CSV file.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows printed without --csv.")] = 50,
) -> None:
    """Show or export a segment's members as of its latest refresh."""
    settings = get_settings()
    with app_db(settings) as session, warehouse(settings) as con:
        segments.get_segment(session, key)
        table = segments.members(con, key)
        if csv is not None:
            data = table.to_pyarrow()
            pacsv.write_csv(data, csv)
            console.print(f"wrote {data.num_rows:,} members to {escape(str(csv))}", highlight=False)
            return
        rows = table.limit(limit).to_pyarrow().to_pylist()
    printed = Table("customer_id", "name", "phone", "email", "province", "city", "as_of")
    for row in rows:
        printed.add_row(
            *(
                "" if row[c] is None else escape(str(row[c]))
                for c in ("customer_id", "name", "phone", "email")
            ),
            *("" if row[c] is None else escape(str(row[c])) for c in ("province", "city", "as_of")),
        )
    console.print(printed)


@app.command("archive")
@fails_cleanly
def archive_command(key: str) -> None:
    """Archive a segment: no longer listed, refreshed or referable (its history stays)."""
    with app_db() as session:
        segments.archive_segment(session, key, actor=ACTOR, now=_now())
        console.print(f"archived segment [bold]{escape(key)}[/bold]")


@app.command("examples")
@fails_cleanly
def examples_command(
    install: Annotated[
        bool,
        typer.Option(
            "--install", help="Save every example as a segment keyed by its file name (existing keys kept)."
        ),
    ] = False,
) -> None:
    """List the built-in example specs (name, file to pass to create --file), or install them."""
    if not install:
        for path in example_files():
            spec = example(path.stem)
            console.print(f"[bold]{escape(path.stem)}[/bold]  {escape(spec.name or '')}", highlight=False)
            console.print(f"  {escape(str(path))}", highlight=False)
        return
    with app_db() as session:
        existing = {row.key for row in segments.list_segments(session, include_archived=True)}
        for path in example_files():
            if path.stem in existing:
                console.print(f"kept segment [bold]{escape(path.stem)}[/bold] (already defined)")
                continue
            row = segments.create_segment(session, path.stem, example(path.stem), actor=ACTOR, now=_now())
            console.print(f"created segment [bold]{escape(row.key)}[/bold] ({escape(row.name)})")
