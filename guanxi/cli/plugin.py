"""The built-in ``guanxi`` commands, added through the same ``register_commands`` hook as a plugin's."""

from __future__ import annotations

import typer

from guanxi.plugins import hookimpl


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from guanxi.cli import campaigns as campaigns_cli
    from guanxi.cli import consent as consent_cli
    from guanxi.cli import demo, ingest, serve, users
    from guanxi.cli import jobs as jobs_cli
    from guanxi.cli import models as models_cli
    from guanxi.cli import reports as reports_cli
    from guanxi.cli import segments as segments_cli
    from guanxi.cli import tasks as tasks_cli
    from guanxi.cli import worker as worker_cli
    from guanxi.cli.identity import customer_app, identity_app, resolve_command

    cli.command("import")(ingest.import_command)
    cli.command("quality")(ingest.quality_command)
    cli.command("presets")(ingest.presets_command)
    cli.command("init")(users.init)
    cli.command("serve")(serve.serve)
    cli.add_typer(users.app, name="users")
    cli.command("demo")(demo.demo_command)
    cli.command("resolve")(resolve_command)
    cli.add_typer(customer_app, name="customer")
    cli.add_typer(identity_app, name="identity")
    cli.add_typer(models_cli.app, name="models")
    cli.add_typer(segments_cli.app, name="segments")
    cli.add_typer(reports_cli.app, name="report")
    cli.add_typer(jobs_cli.app, name="jobs")
    cli.add_typer(campaigns_cli.app, name="campaigns")
    cli.add_typer(consent_cli.app, name="consent")
    cli.add_typer(consent_cli.suppressions_app, name="suppressions")
    cli.add_typer(tasks_cli.app, name="tasks")
    worker_cli.register(cli)
