"""The ``models.run`` job kind: every enabled customer model, full or incremental."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from guanxi.errors import ConfigError
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result, checked_by
from guanxi.models.config import load_models_config, parse_models_config
from guanxi.models.run import ModelsReport, run_models


class ModelsRunParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date | None = None
    incremental: bool = False
    config: str | None = None
    """A models.yaml to use instead of ``Settings.models_config``."""

    @field_validator("config")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).absolute())


def report_from_dict(data: dict[str, Any]) -> ModelsReport:
    """The :class:`ModelsReport` a job's result holds."""
    names = {f.name for f in fields(ModelsReport)}
    values = {k: v for k, v in data.items() if k in names}
    values["as_of"] = date.fromisoformat(values["as_of"])
    return ModelsReport(**values)


def run_models_job(context: JobContext, params: Params) -> Result:
    wanted = ModelsRunParams.model_validate(dict(params))
    if wanted.config is not None:
        path = Path(wanted.config)
        if not path.exists():
            raise ConfigError(f"no such models file {path}")
        config = parse_models_config(path.read_text(encoding="utf-8"), str(path))
    else:
        config = load_models_config(context.settings)
    report = run_models(
        context.warehouse,
        context.settings,
        as_of=wanted.as_of,
        config=config,
        incremental=wanted.incremental,
        progress=context.progress,
    )
    context.log(
        f"models as of {report.as_of}: {report.customers:,} customers scored in {report.seconds:.1f} s"
    )
    result: dict[str, Any] = json.loads(report.to_json())
    return result


MODELS_RUN = JobKind(
    "models.run",
    run_models_job,
    "Run every enabled customer model (full, or incremental=true)",
    title={"zh-CN": "运行模型", "en": "Run models"},
    check=checked_by(ModelsRunParams),
)
