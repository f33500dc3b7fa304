"""``guanxi campaigns …``: create, preview, dry-run, launch, pause, resume, cancel, status.

A definition is a YAML or JSON file (see docs/campaigns.md). ``launch`` plans
the waves and builds the first one at once when it is due (here when the
warehouse is free, else in the process that owns it, followed with a progress
bar); later waves are built by the ``campaign-waves`` service of ``guanxi
serve`` or ``guanxi worker``, which also delivers the messages. Times are
shown in ``GUANXI_TIMEZONE``. Changes are audited with the actor ``cli``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich import box
from rich.markup import escape
from rich.table import Column, Table

from guanxi.cli.context import console, fails_cleanly, warehouse
from guanxi.cli.jobs import run_job
from guanxi.cli.users import app_db
from guanxi.config import Settings, get_settings
from guanxi.errors import ConfigError, ValidationFailedError
from guanxi.marketing.campaigns import service
from guanxi.marketing.campaigns.build import Preview
from guanxi.marketing.campaigns.jobs import KIND
from guanxi.marketing.campaigns.previews import dry_run_campaign, preview_campaign
from guanxi.marketing.campaigns.tables import WAVE_WAITING
from guanxi.marketing.channels import ChannelSet, registered_channels
from guanxi.marketing.sms_rules import mask_phone

app = typer.Typer(
    help="Campaigns: audience, content, channels and waves through the send path.", no_args_is_help=True
)
ACTOR = "cli"

STAGES = (
    ("audience", "目标人群 audience"),
    ("reachable", "可触达 reachable"),
    ("consented", "已同意 consented"),
    ("not_suppressed", "未屏蔽 not suppressed"),
    ("not_do_not_disturb", "未免打扰 not do-not-disturb"),
    ("under_cap", "未超频次 under the cap"),
    ("target", "目标组 target (control held out)"),
)

DefinitionFile = Annotated[Path, typer.Option("--file", "-f", help="A YAML or JSON campaign definition.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _read(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"no such campaign file {path}")
    text = path.read_text(encoding="utf-8-sig")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise ValidationFailedError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {err}") from err


def _local(settings: Settings, value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")


def _mask(address: str) -> str:
    if address.startswith("+"):
        return mask_phone(address)
    name, at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if at else address


def _print_preview(settings: Settings, preview: Preview) -> None:
    counts = preview.counts
    console.print(f"wave {preview.wave_index} at {_local(settings, preview.send_at)}")
    table = Table("rule", "people left", "left out")
    previous = counts["audience"]
    for key, label in STAGES:
        table.add_row(label, f"{counts[key]:,}", f"{previous - counts[key]:,}" if key != "audience" else "")
        previous = counts[key]
    console.print(table)
    if preview.by_channel:
        console.print("by channel: " + ", ".join(f"{k} {v:,}" for k, v in sorted(preview.by_channel.items())))
    if preview.delayed_until is not None:
        console.print(f"quiet hours: sent at {_local(settings, preview.delayed_until)}")
    for sample in preview.samples:
        console.print(
            f"[bold]{escape(sample.channel)}[/bold] → {escape(_mask(sample.recipient))}"
            + (f"  {escape(sample.subject)}" if sample.subject else ""),
            highlight=False,
        )
        text = sample.body
        wechat = sample.payload.get("wechat")
        if isinstance(wechat, dict) and not text:
            text = "\n".join(f"{k}: {v}" for k, v in dict(wechat.get("data") or {}).items())
        console.print("  " + escape(text).replace("\n", "\n  "), highlight=False)
    for error in preview.errors:
        console.print(f"[red]customer {error['customer_id']}: {escape(error['error'])}[/red]")


@app.command("create")
@fails_cleanly
def create_command(
    key: Annotated[str, typer.Argument(help="Campaign key: lower-case letters, digits, _ and -.")],
    file: DefinitionFile,
) -> None:
    """Save a new draft campaign from a definition file."""
    data = _read(file)
    with app_db() as session:
        campaign = service.create_campaign(
            session, key, data, actor=ACTOR, now=_now(), known_channels=set(registered_channels())
        )
        console.print(
            f"created campaign [bold]{escape(campaign.key)}[/bold] ({escape(campaign.name)}), draft v1"
        )


@app.command("update")
@fails_cleanly
def update_command(key: str, file: DefinitionFile) -> None:
    """Save a new version of a draft or paused campaign."""
    data = _read(file)
    with app_db() as session:
        campaign = service.update_campaign(
            session, key, data, actor=ACTOR, now=_now(), known_channels=set(registered_channels())
        )
        console.print(f"campaign [bold]{escape(key)}[/bold] is at version {campaign.version}")


@app.command("list")
@fails_cleanly
def list_command() -> None:
    """List campaigns, newest first."""
    settings = get_settings()
    with app_db() as session:
        table = Table("key", "name", "purpose", "status", "version", "launched")
        for campaign in service.list_campaigns(session):
            table.add_row(
                escape(campaign.key),
                escape(campaign.name),
                campaign.purpose,
                campaign.status,
                str(campaign.version),
                _local(settings, campaign.launched_at),
            )
        console.print(table)


@app.command("preview")
@fails_cleanly
def preview_command(key: str, wave: Annotated[int, typer.Option(min=0, help="Which wave.")] = 0) -> None:
    """The counts after each rule and three messages rendered for real customers (writes nothing)."""
    settings = get_settings()
    channels = ChannelSet()
    with app_db() as session, warehouse(settings) as con:
        _print_preview(
            settings,
            preview_campaign(con, session, key, now=_now(), settings=settings, channels=channels, wave=wave),
        )
        session.rollback()


@app.command("dry-run")
@fails_cleanly
def dry_run_command(key: str) -> None:
    """Render every message of every planned wave and check each channel's settings; nothing is sent."""
    settings = get_settings()
    channels = ChannelSet()
    try:
        with app_db() as session, warehouse(settings) as con:
            result = dry_run_campaign(con, session, key, now=_now(), settings=settings, channels=channels)
            session.rollback()
    finally:
        channels.close()
    for wave in result.waves:
        _print_preview(settings, wave)
    console.print(f"{result.rendered:,} message(s) rendered, {result.render_failed:,} failed")
    for channel, problem in result.channel_problems.items():
        console.print(f"[red]channel {escape(channel)}: {escape(problem)}[/red]")
    if result.render_failed or result.channel_problems:
        raise typer.Exit(1)


@app.command("launch")
@fails_cleanly
def launch_command(key: str) -> None:
    """Plan the waves; build the first at once when it is due."""
    settings = get_settings()
    now = _now()
    with app_db() as session:
        campaign = service.launch(session, key, actor=ACTOR, now=now)
        waves = [
            (w.wave_index, w.due_at) for w in service.waves_of(session, campaign) if w.state == WAVE_WAITING
        ]
    console.print(f"launched [bold]{escape(key)}[/bold]: {len(waves)} wave(s) planned")
    for index, due in waves:
        if due <= now:
            result = run_job(KIND, {"campaign": key, "wave": index}, title=f"wave {index}")
            counts = result.get("counts", {})
            console.print(
                f"wave {index}: {counts.get('queued', 0):,} message(s) queued of {counts.get('audience', 0):,}"
            )
        else:
            console.print(f"wave {index} at {_local(settings, due)}")


def _control(action: str, key: str) -> None:
    functions = {"pause": service.pause, "resume": service.resume, "cancel": service.cancel}
    with app_db() as session:
        changed = functions[action](session, key, actor=ACTOR, now=_now())
    words = {"pause": "held", "resume": "released", "cancel": "withdrawn"}
    console.print(f"{action}d [bold]{escape(key)}[/bold]: {changed:,} unsent message(s) {words[action]}")


@app.command("pause")
@fails_cleanly
def pause_command(key: str) -> None:
    """Hold every unsent message and stop further waves."""
    _control("pause", key)


@app.command("resume")
@fails_cleanly
def resume_command(key: str) -> None:
    """Release held messages and go on with the waves."""
    _control("resume", key)


@app.command("cancel")
@fails_cleanly
def cancel_command(key: str) -> None:
    """Withdraw every unsent message and waiting wave (cannot be undone)."""
    _control("cancel", key)


@app.command("status")
@fails_cleanly
def status_command(key: str) -> None:
    """Waves with their counts and messages by state."""
    settings = get_settings()
    with app_db() as session:
        found = service.status(session, key)
        campaign = found.campaign
        console.print(
            f"[bold]{escape(campaign.key)}[/bold] {escape(campaign.name)}: {campaign.status} (v{campaign.version})"
        )
        table = Table(
            "wave", "due", "state", "audience", "queued", "sent", "failed", "suppressed", "held/cancelled"
        )
        for wave in found.waves:
            messages = wave.messages
            table.add_row(
                f"{wave.index} {escape(wave.name)}".strip(),
                _local(settings, wave.due_at),
                wave.state + (f" ({escape(wave.error)})" if wave.error else ""),
                f"{wave.counts.get('audience', '-')}",
                f"{wave.counts.get('queued', '-')}",
                str(messages.get("sent", 0)),
                str(messages.get("failed", 0) + messages.get("dead", 0)),
                str(messages.get("suppressed", 0)),
                str(messages.get("held", 0) + messages.get("cancelled", 0)),
            )
        console.print(table)
        if found.receipts:
            console.print("receipts: " + ", ".join(f"{k} {v:,}" for k, v in sorted(found.receipts.items())))


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _points(value: float | None) -> str:
    """A difference of rates in percentage points, signed."""
    return "-" if value is None else f"{value * 100:+.2f} pt"


@app.command("report")
@fails_cleanly
def report_command(
    key: str,
    days: Annotated[
        float | None,
        typer.Option("--days", min=0.01, max=90, help="Attribution window in days; default the campaign's."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """What the campaign caused: target against control, conversion uplift with its 95 % interval, revenue."""
    from guanxi.marketing.measurement.campaign_report import campaign_report  # noqa: PLC0415 - statsmodels

    settings = get_settings()
    with app_db() as session, warehouse(settings) as con:
        report = campaign_report(session, con, settings, key, attribution_days=days)
    uplift = report.uplift
    if as_json:
        interval = uplift.interval
        revenue = uplift.revenue_interval
        console.print_json(
            json.dumps(
                {
                    "campaign": report.key,
                    "attribution_days": report.attribution_days,
                    "control_share": report.control_share,
                    "outcomes": report.outcomes,
                    "messages": report.messages,
                    "arms": {
                        name: {
                            "customers": arm.customers,
                            "converted": arm.converted,
                            "rate": arm.rate,
                            "revenue": round(arm.revenue_total, 2),
                        }
                        for name, arm in (("target", report.target), ("control", report.control))
                    },
                    "uplift": {
                        "difference": uplift.difference,
                        "interval": None if interval is None else [interval.low, interval.high],
                        "p_value": uplift.p_value,
                        "significant": uplift.significant,
                        "incremental_conversions": uplift.incremental_conversions,
                        "revenue_per_customer_difference": uplift.revenue_difference,
                        "revenue_interval": None if revenue is None else [revenue.low, revenue.high],
                        "incremental_revenue": uplift.incremental_revenue,
                    },
                    "revenue_per_message": report.revenue_per_message,
                },
                ensure_ascii=False,
            )
        )
        return
    console.print(
        f"[bold]{escape(report.key)}[/bold] {escape(report.name)}: {report.status}; "
        f"对照组 control share {report.control_share:.0%}, 归因窗口 attribution window "
        f"{report.attribution_days:g} days",
        highlight=False,
    )
    console.print(
        "人群 people: " + ", ".join(f"{name} {count:,}" for name, count in sorted(report.outcomes.items())),
        highlight=False,
    )
    for channel, states in sorted(report.messages.items()):
        console.print(
            f"{escape(channel)}: "
            + ", ".join(f"{state} {count:,}" for state, count in sorted(states.items())),
            highlight=False,
        )
    table = Table(
        Column("组 group", no_wrap=True),
        *(
            Column(header, justify="right", no_wrap=True)
            for header in (
                "客户\ncustomers",
                "转化\nconverted",
                "转化率\nrate",
                "收入\nrevenue",
                "人均\nper customer",
            )
        ),
        box=box.SIMPLE_HEAD,
    )
    for label, arm in (("目标组 target", report.target), ("对照组 control", report.control)):
        table.add_row(
            label,
            f"{arm.customers:,}",
            f"{arm.converted:,}",
            _rate(arm.rate),
            _money(arm.revenue_total),
            _money(arm.revenue_per_customer),
        )
    console.print(table)
    if uplift.difference is None:
        console.print(
            "提升 uplift: - (the target or the control group is empty: nothing to compare)", highlight=False
        )
        return
    interval = uplift.interval
    shown = "" if interval is None else f" (95% CI {_points(interval.low)} … {_points(interval.high)})"
    verdict = "显著 significant" if uplift.significant else "不显著 not significant (the interval includes 0)"
    console.print(
        f"转化提升 conversion uplift {_points(uplift.difference)}{shown}, "
        f"p = {'-' if uplift.p_value is None else f'{uplift.p_value:.3g}'}: {verdict}",
        highlight=False,
    )
    extra = uplift.incremental_conversions_interval
    console.print(
        f"增量转化 incremental conversions {uplift.incremental_conversions:,.1f}"
        + ("" if extra is None else f" ({extra.low:,.1f} … {extra.high:,.1f})"),
        highlight=False,
    )
    money = uplift.incremental_revenue_interval
    console.print(
        f"增量收入 incremental revenue {_money(uplift.incremental_revenue)}"
        + ("" if money is None else f" ({_money(money.low)} … {_money(money.high)})")
        + f"; 每条消息收入 revenue per message {_money(report.revenue_per_message)}",
        highlight=False,
    )
