"""The ``resolve`` job kind: identity resolution over the whole warehouse."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from guanxi.identity.probabilistic import MatchOutcome
from guanxi.identity.resolve import ResolveReport, resolve
from guanxi.identity.rules import load_rules, rules_path
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result, checked_by


class ResolveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probabilistic: bool = False
    rules: str | None = None
    """An identity rules YAML (default: ``Settings.identity_config`` when present)."""

    @field_validator("rules")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).absolute())


def report_from_dict(data: dict[str, Any]) -> ResolveReport:
    """The :class:`ResolveReport` a job's result holds."""
    names = {f.name for f in fields(ResolveReport)}
    values = {k: v for k, v in data.items() if k in names}
    if values.get("matching") is not None:
        values["matching"] = MatchOutcome(**values["matching"])
    return ResolveReport(**values)


def run_resolve(context: JobContext, params: Params) -> Result:
    wanted = ResolveParams.model_validate(dict(params))
    rules = load_rules(Path(wanted.rules) if wanted.rules else rules_path(context.settings))
    report = resolve(
        context.warehouse,
        context.settings,
        now=context.now,
        probabilistic=wanted.probabilistic,
        rules=rules,
        progress=context.progress,
    )
    context.log(
        f"{report.records:,} records → {report.customers:,} customers "
        f"({report.created} new, {report.merged} merged, {report.split} split)"
    )
    return report.to_dict()


RESOLVE = JobKind(
    "resolve",
    run_resolve,
    "Resolve every record to a customer and rebuild the golden records",
    title={"zh-CN": "身份识别", "en": "Resolve identities"},
    check=checked_by(ResolveParams),
)
