"""CLI for identity resolution: parse, call :mod:`guanxi.identity`, print.

Mounted by :mod:`guanxi.cli.main` as::

    app.command("resolve")(resolve_command)
    app.add_typer(customer_app, name="customer")
    app.add_typer(identity_app, name="identity")

Commands: ``guanxi resolve [--probabilistic]``, ``guanxi customer show KEY``,
``guanxi customer merge A B``, ``guanxi customer unmerge SOURCE:ID``,
``guanxi identity block add|list|remove``, ``guanxi identity review
[accept|reject IDS]``, ``guanxi identity shared``. Errors print ``error [code]: message`` and
exit 2 (see :mod:`guanxi.cli.context`).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from ibis.backends import BaseBackend
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from guanxi.cli import context
from guanxi.cli.context import fails_cleanly
from guanxi.cli.jobs import run_job
from guanxi.config import Settings
from guanxi.identity import (
    Customer360,
    IdentityRules,
    ResolveReport,
    block_add,
    block_list,
    block_remove,
    customer_360,
    decide_reviews,
    load_rules,
    merge,
    review_queue,
    shared_identifiers,
    unmerge,
)
from guanxi.identity.jobs import report_from_dict as resolve_report_from_dict
from guanxi.identity.keys import parse_record_key
from guanxi.identity.rules import rules_path

customer_app = typer.Typer(help="Customer 360 and manual merge / un-merge.", no_args_is_help=True)
identity_app = typer.Typer(
    help="Identity resolution: block list, review queue, shared identifiers.", no_args_is_help=True
)
block_app = typer.Typer(help="Identifier values that must never link records.", no_args_is_help=True)
review_app = typer.Typer(help="Probabilistic matches waiting for a person.", invoke_without_command=True)
identity_app.add_typer(block_app, name="block")
identity_app.add_typer(review_app, name="review")

RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Identity rules YAML (default: identity.yaml if present).")
]
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who decides (default: the login name).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; kept in the history.")]


def _console() -> Console:
    return context.console


@contextmanager
def _session() -> Iterator[tuple[Settings, BaseBackend]]:
    """Settings and an open warehouse for one command."""
    current = context.settings()
    with context.warehouse(current) as con:
        yield current, con


def _now() -> datetime:
    return datetime.now(UTC)


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _rules(path: Path | None, settings: Settings) -> IdentityRules:
    return load_rules(path if path is not None else rules_path(settings))


def _print_report(report: ResolveReport) -> None:
    table = Table(title=f"resolve {report.run_id}", show_header=False)
    for label, value in (
        ("records", report.records),
        ("customers", report.customers),
        ("identifier values", report.identifiers),
        ("flagged (never link)", report.flagged_identifiers),
        ("graph edges / iterations", f"{report.edges} / {report.iterations}"),
        (
            "new / merged / split / retired",
            f"{report.created} / {report.merged} / {report.split} / {report.retired}",
        ),
        ("probabilistic links / pending review", f"{report.probabilistic_links} / {report.review_pending}"),
        ("seconds (graph)", f"{report.seconds:.1f} ({report.graph_seconds:.1f})"),
    ):
        table.add_row(label, str(value))
    if report.matching is not None:
        m = report.matching
        table.add_row("matching", f"{m.profiles} profiles, {m.pairs} pairs scored, training: {m.training}")
    _console().print(table)


@fails_cleanly
def resolve_command(
    probabilistic: Annotated[
        bool, typer.Option("--probabilistic", help="Also match by name, birthday, address and city (Splink).")
    ] = False,
    rules: RulesOption = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Place only records that arrived since the last run; merges wait for a full run.",
        ),
    ] = False,
) -> None:
    """Resolve every record to a customer id and rebuild the golden records.

    While ``guanxi serve`` or ``guanxi worker`` holds the warehouse, it runs there as a job.
    """
    params = {
        "probabilistic": probabilistic,
        "incremental": incremental,
        "rules": str(rules.absolute()) if rules else None,
    }
    result = run_job("resolve", params, title="resolve")
    if result.get("incremental"):
        _print_incremental(result)
    else:
        _print_report(resolve_report_from_dict(result))


def _print_incremental(result: dict[str, Any]) -> None:
    table = Table(title=f"incremental resolve {result['run_id']}", show_header=False)
    for label, key in (
        ("records seen", "records"),
        ("new records", "new_records"),
        ("joined an existing customer", "joined"),
        ("new customers", "created"),
        ("left for the full resolve", "unplaced"),
        ("golden records refreshed", "refreshed"),
        ("notes waiting for a full resolve", "pending"),
    ):
        table.add_row(label, f"{result[key]:,}")
    table.add_row("seconds", f"{result['seconds']:.1f}")
    _console().print(table)
    if result["needs_full_resolve"]:
        _console().print(
            "[yellow]some records link customers that must merge or split: run `guanxi resolve`[/]"
        )


identity_app.command("resolve")(resolve_command)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _render(view: Customer360) -> Group:
    golden = Table(show_header=False, box=None)
    for field, value in view.golden.items():
        if field != "customer_id":
            golden.add_row(field, _text(value))
    title = f"customer {view.customer_id}"
    if view.redirected_from is not None:
        title += f" (was {view.redirected_from}, merged)"
    records = Table("source", "record", "seniority", "resolved at", title="records")
    for record in view.records:
        records.add_row(
            record["source"],
            record["source_customer_id"],
            _text(record["seniority_at"]),
            _text(record["resolved_at"]),
        )
    identifiers = Table("kind", "value", "record", "seen in", "excluded", title="identifiers")
    for item in view.identifiers:
        identifiers.add_row(
            item["kind"],
            item["value"],
            f"{item['source']}:{item['source_customer_id']}",
            item["origins"],
            item["excluded"] or "",
        )
    timeline = Table("at", "what", "source", "ref", "summary", "status", "amount", title="timeline")
    for entry in view.timeline:
        timeline.add_row(
            _text(entry.at),
            entry.kind,
            entry.source,
            entry.reference,
            _text(entry.summary),
            _text(entry.status),
            _text(entry.amount),
        )
    parts: list[Any] = [Panel(golden, title=title), records, identifiers, timeline]
    for company in view.companies:
        colleagues = ", ".join(f"{c['name']} ({c['role']})" for c in company["colleagues"]) or "—"
        parts.append(
            Panel(
                f"{company['company']} — {company['title'] or '—'} ({company['role']})\ncolleagues: {colleagues}",
                title="company",
            )
        )
    if view.history:
        history = Table("at", "event", "customer", "other", "detail", title="history")
        for event in view.history:
            history.add_row(
                _text(event["at"]),
                event["event"],
                _text(event["customer_id"]),
                _text(event["other_customer_id"]),
                _text(event["detail"]),
            )
        parts.append(history)
    for name, rows in view.profile.items():
        parts.append(
            Panel("\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in rows[:10]), title=name)
        )
    return Group(*parts)


@customer_app.command("show")
@fails_cleanly
def show_command(
    key: Annotated[str, typer.Argument(help="Customer id, phone (any spelling) or e-mail.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of panels.")] = False,
    timeline: Annotated[int, typer.Option("--timeline", min=1, help="Newest timeline entries to show.")] = 50,
) -> None:
    """Everything about one customer: golden record, identifiers and sources, timeline."""
    with _session() as (settings, con):
        view = customer_360(con, settings, key, timeline_limit=timeline)
        if as_json:
            typer.echo(json.dumps(view.to_dict(), ensure_ascii=False, indent=2))
        else:
            _console().print(_render(view))


@customer_app.command("merge")
@fails_cleanly
def merge_command(
    first: Annotated[int, typer.Argument(help="A customer id.")],
    second: Annotated[int, typer.Argument(help="Another customer id.")],
    reason: ReasonOption = "",
    actor: ActorOption = None,
    rules: RulesOption = None,
) -> None:
    """Merge two customers for good (the older id survives)."""
    with _session() as (settings, con):
        report = merge(
            con,
            settings,
            first,
            second,
            now=_now(),
            actor=_actor(actor),
            reason=reason,
            rules=_rules(rules, settings),
        )
        _print_report(report)


@customer_app.command("unmerge")
@fails_cleanly
def unmerge_command(
    record: Annotated[str, typer.Argument(help="The record to split off, as SOURCE:SOURCE_CUSTOMER_ID.")],
    reason: ReasonOption = "",
    actor: ActorOption = None,
    rules: RulesOption = None,
) -> None:
    """Split one record off its customer for good (the parts get new ids)."""
    with _session() as (settings, con):
        report = unmerge(
            con,
            settings,
            parse_record_key(record),
            now=_now(),
            actor=_actor(actor),
            reason=reason,
            rules=_rules(rules, settings),
        )
        _print_report(report)


@block_app.command("add")
@fails_cleanly
def block_add_command(
    kind: Annotated[str, typer.Argument(help="Identifier kind: phone, email, wechat_unionid, …")],
    value: Annotated[str, typer.Argument(help="The value, in any common spelling.")],
    reason: ReasonOption = "",
    actor: ActorOption = None,
) -> None:
    """Never link records through this value (from the next resolve on)."""
    with _session() as (settings, con):
        entry = block_add(con, settings, kind, value, reason=reason, actor=_actor(actor), now=_now())
        typer.echo(f"blocked {entry.kind} {entry.value}")


@block_app.command("list")
@fails_cleanly
def block_list_command() -> None:
    """Show the block list."""
    with _session() as (_, con):
        table = Table("kind", "value", "reason", "added by", "added at")
        for entry in block_list(con):
            table.add_row(entry.kind, entry.value, entry.reason, entry.added_by, _text(entry.added_at))
        _console().print(table)


@block_app.command("remove")
@fails_cleanly
def block_remove_command(
    kind: Annotated[str, typer.Argument(help="Identifier kind.")],
    value: Annotated[str, typer.Argument(help="The value, in any common spelling.")],
) -> None:
    """Take a value off the block list (it links again from the next resolve on)."""
    with _session() as (settings, con):
        entry = block_remove(con, settings, kind, value)
        typer.echo(f"unblocked {entry.kind} {entry.value}")


@review_app.callback()
@fails_cleanly
def review_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Pairs to show.")] = 50,
) -> None:
    """List pairs waiting for review, most likely first."""
    if ctx.invoked_subcommand is not None:
        return
    with _session() as (_, con):
        queue = review_queue(con).limit(limit).to_pyarrow().to_pylist()
        table = Table("id", "probability", "left record", "customer", "right record", "customer")
        for item in queue:
            table.add_row(
                str(item["link_id"]),
                f"{item['match_probability']:.3f}",
                f"{item['left_source']}:{item['left_source_customer_id']}",
                str(item["left_customer_id"]),
                f"{item['right_source']}:{item['right_source_customer_id']}",
                str(item["right_customer_id"]),
            )
        _console().print(table)
        typer.echo(f"{len(queue)} pair(s); decide with `guanxi identity review accept|reject ID …`")


def _decide(ids: list[int], accept: bool, actor: str | None, rules: Path | None) -> None:
    with _session() as (settings, con):
        report = decide_reviews(
            con,
            settings,
            dict.fromkeys(ids, accept),
            now=_now(),
            actor=_actor(actor),
            rules=_rules(rules, settings),
        )
        _print_report(report)


@review_app.command("accept")
@fails_cleanly
def review_accept(
    ids: Annotated[list[int], typer.Argument(help="Review item ids.")],
    actor: ActorOption = None,
    rules: RulesOption = None,
) -> None:
    """Accept pairs: their customers merge now and stay merged."""
    _decide(ids, True, actor, rules)


@review_app.command("reject")
@fails_cleanly
def review_reject(
    ids: Annotated[list[int], typer.Argument(help="Review item ids.")],
    actor: ActorOption = None,
    rules: RulesOption = None,
) -> None:
    """Reject pairs: they are never proposed again."""
    _decide(ids, False, actor, rules)


@identity_app.command("shared")
@fails_cleanly
def shared_command(rules: RulesOption = None) -> None:
    """Identifiers carried by more records than GUANXI_SHARED_IDENTIFIER_LIMIT (they never link)."""
    with _session() as (settings, con):
        rows = shared_identifiers(con, settings, _rules(rules, settings)).to_pyarrow().to_pylist()
        table = Table("kind", "value", "records")
        for row in rows:
            table.add_row(row["kind"], row["value"], str(row["record_count"]))
        _console().print(table)
