"""The ``guanxi`` command: every sub-command is registered here and nowhere else."""

from __future__ import annotations

import typer

from guanxi.cli import demo, ingest, serve, users
from guanxi.cli import models as models_cli
from guanxi.cli import segments as segments_cli
from guanxi.cli import worker as worker_cli
from guanxi.cli.identity import customer_app, identity_app, resolve_command

app = typer.Typer(
    name="guanxi",
    help="guanxi 关系 — customer data platform and marketing CRM.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("import")(ingest.import_command)
app.command("quality")(ingest.quality_command)
app.command("presets")(ingest.presets_command)
app.command("init")(users.init)
app.command("serve")(serve.serve)
app.add_typer(users.app, name="users")
app.command("demo")(demo.demo_command)
app.command("resolve")(resolve_command)
app.add_typer(customer_app, name="customer")
app.add_typer(identity_app, name="identity")
app.add_typer(models_cli.app, name="models")
app.add_typer(segments_cli.app, name="segments")
worker_cli.register(app)


def main() -> None:
    app()
