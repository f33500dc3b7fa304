"""The ``resolve`` job kind: identity resolution over the whole warehouse."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from guanxi.errors import ValidationFailedError
from guanxi.identity.incremental import resolve_incremental
from guanxi.identity.probabilistic import MatchOutcome
from guanxi.identity.resolve import ResolveReport, resolve
from guanxi.identity.rules import IdentityRules, load_rules, rules_path
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result, checked_by


class ResolveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probabilistic: bool = False
    incremental: bool = False
    """Place only the records that arrived since the last run (see :mod:`guanxi.identity.incremental`)."""
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
    if wanted.incremental:
        if wanted.probabilistic:
            raise ValidationFailedError(
                "probabilistic matching runs with the full resolve only, not incremental"
            )
        return incremental_report(context, rules)
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


def incremental_report(context: JobContext, rules: IdentityRules) -> Result:
    """Run :func:`resolve_incremental`; the result is its report with ``"incremental": true``."""
    context.progress(0, 1, "incremental")
    found = resolve_incremental(context.warehouse, context.settings, now=context.now, rules=rules)
    context.log(
        f"{found.new_records:,} new record(s): {found.joined:,} joined, {found.created:,} new customer(s), "
        f"{found.pending:,} note(s) waiting for a full resolve"
    )
    result: dict[str, Any] = json.loads(json.dumps(found.to_dict(), default=str))
    result["incremental"] = True
    return result


RESOLVE = JobKind(
    "resolve",
    run_resolve,
    "Resolve every record to a customer and rebuild the golden records",
    title={"zh-CN": "身份识别", "en": "Resolve identities"},
    check=checked_by(ResolveParams),
)
