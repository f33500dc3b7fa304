"""The ``pipeline`` job kind: several kinds run one after the other as one job (what a schedule starts)."""

from __future__ import annotations

from typing import Any

from guanxi.errors import ValidationFailedError
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result
from guanxi.jobs.registry import job_kind


def check_pipeline(params: Params) -> dict[str, Any]:
    """``{"steps": [{"kind": K, "params": {...}}, …]}`` with every step's parameters checked by its kind."""
    steps = params.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValidationFailedError("a pipeline needs a non-empty list of steps")
    checked = []
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("kind"), str):
            raise ValidationFailedError(f"pipeline step {index}: give a kind (and optional params)")
        if step["kind"] == PIPELINE.name:
            raise ValidationFailedError(f"pipeline step {index}: a pipeline cannot contain a pipeline")
        kind = job_kind(step["kind"])
        checked.append({"kind": kind.name, "params": kind.checked(step.get("params") or {})})
    return {"steps": checked}


def run_pipeline(context: JobContext, params: Params) -> Result:
    """Run each step with the same context; progress counts whole steps, the message names the step's own."""
    steps = params["steps"]
    results: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        kind = job_kind(step["kind"])

        def scaled(
            done: int, total: int, message: str = "", index: int = index, name: str = kind.name
        ) -> None:
            fraction = done / total if total else 0.0
            context.progress(
                int((index + fraction) * 100),
                100 * len(steps),
                f"{index + 1}/{len(steps)} {name} · {message}",
            )

        context.log(f"step {index + 1}/{len(steps)}: {kind.name}")
        inner = JobContext(
            settings=context.settings,
            warehouse=context.warehouse,
            sessions=context.sessions,
            now=context.now,
            progress=scaled,
            log=context.log,
            cancelled=context.cancelled,
            job_id=context.job_id,
            owner=context.owner,
        )
        results.append({"kind": kind.name, "result": kind.run(inner, step["params"])})
    context.progress(100 * len(steps), 100 * len(steps), "done")
    return {"steps": results}


PIPELINE = JobKind(
    "pipeline",
    run_pipeline,
    "Several job kinds one after the other (what a schedule with several kinds starts)",
    title={"zh-CN": "流水线", "en": "Pipeline"},
    check=check_pipeline,
)
