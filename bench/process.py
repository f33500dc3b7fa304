"""Run a piece of a benchmark in its own process and measure its wall time and peak memory.

Peak RSS of a child is the kernel's ``ru_maxrss`` for that one child (and the
processes it waited for), read with ``os.wait4`` when the child ends, so each
benchmark or stage gets its own figure rather than the running maximum over all
children that ``getrusage(RUSAGE_CHILDREN)`` would give. Linux carries the
parent's high-water RSS into ``ru_maxrss`` of a child across fork and exec, so
that figure is exact only for children of a small parent (the harness, the
pipeline driver); it is the peak of the largest process in the child's tree. A
baseline started by :func:`call_isolated` from a large benchmark process reports
its own ``VmHWM`` instead (the high-water mark of its own address space, which
starts afresh at exec).

Two ways in:

* :func:`run_script` runs ``python bench/<script>.py ... --json PATH`` and
  returns the JSON it wrote;
* :func:`call_isolated` runs one function of a bench module (``"models:pandas_baseline"``)
  with JSON keyword arguments and returns its JSON result (this module's own
  ``__main__`` is the child side).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


class ChildFailed(RuntimeError):
    """A measured child exited non-zero (its last lines of stderr are in the message)."""

    @property
    def reason(self) -> str:
        """The exception line of the child's traceback (else its last line of stderr)."""
        lines = [line.strip() for line in str(self).splitlines() if line.strip()]
        errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Exit)\b", line)]
        return (errors or lines or ["unknown failure"])[-1]


@dataclass
class Child:
    """What one measured child did: its JSON result, wall seconds, peak RSS (MiB), exit code."""

    result: Any
    seconds: float
    peak_rss_mib: float
    returncode: int
    stderr_tail: list[str] = field(default_factory=list)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(BENCH), env.get("PYTHONPATH", "")) if p)
    return env


def run_measured(argv: list[str], *, json_path: Path, quiet: bool = False, check: bool = True) -> Child:
    """Run ``argv`` (a child that writes its result to ``json_path``) and measure it.

    Stdout goes to ours unless ``quiet``; stderr is passed through and its last
    lines are kept. Raises :class:`ChildFailed` for a non-zero exit when ``check``.
    """
    json_path.unlink(missing_ok=True)
    with tempfile.TemporaryFile(mode="w+b") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if text and not quiet:
        sys.stderr.write(text)
    tail = text.strip().splitlines()[-15:]
    if proc.returncode != 0 and check:
        raise ChildFailed(f"{' '.join(argv)} exited {proc.returncode}:\n" + "\n".join(tail))
    result = json.loads(json_path.read_text()) if json_path.exists() else {}
    # Linux reports ru_maxrss in KiB.
    return Child(result, round(seconds, 3), round(usage.ru_maxrss / 1024, 1), proc.returncode, tail)


def run_script(script: str, args: list[str], *, quiet: bool = False) -> Child:
    """Run ``bench/<script>.py <args> --json <tmp>`` in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        path = Path(tmp) / "result.json"
        argv = [sys.executable, str(BENCH / f"{script}.py"), *args, "--json", str(path)]
        return run_measured(argv, json_path=path, quiet=quiet)


def call_isolated(target: str, **kwargs: Any) -> Child:
    """Call ``bench/<module>.py``'s ``function`` (``target = "module:function"``) in its own process.

    Keyword arguments and the result must be JSON-serialisable.
    """
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        path = Path(tmp) / "result.json"
        argv = [sys.executable, str(Path(__file__)), target, json.dumps(kwargs), "--json", str(path)]
        child = run_measured(argv, json_path=path, quiet=True)
    child.peak_rss_mib = child.result["peak_rss_mib"]
    child.result = child.result["result"]
    return child


@dataclass
class Stages:
    """What :func:`run_stages` measured: the stages that finished, warnings, the failure if any."""

    done: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: str | None = None


def run_stages(label: str, stages: Sequence[str], run: Callable[[str], dict[str, Any]]) -> Stages:
    """Run ``stages`` in order with ``run`` (each in its own measured process), printing time and peak RSS.

    Stops at the first stage whose process fails (:class:`ChildFailed`); its
    reason is the failure and the first warning. A stage's own ``warnings``
    (the models run's) are kept, prefixed with ``models:``.
    """
    measured = Stages()
    for stage in stages:
        print(f"  {label} stage {stage} …", flush=True)
        try:
            result = run(stage)
        except ChildFailed as err:
            measured.failed = f"{stage} failed: {err.reason}"
            measured.warnings.append(measured.failed)
            break
        print(f"    {result['seconds']:.1f} s, peak RSS {result['peak_rss_mib']:,.0f} MiB", flush=True)
        measured.done.append(result)
        measured.warnings += [f"models: {w}" for w in result.get("warnings", [])]
    return measured


def self_peak_rss_mib() -> float:
    """This process's own peak RSS so far (MiB): ``VmHWM``, else ``ru_maxrss`` where /proc is absent.

    ``VmHWM`` counts this process's address space only, not what a parent held when it started us.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description="Child side of call_isolated.")
    parser.add_argument("target", help="module:function inside bench/")
    parser.add_argument("kwargs", help="JSON object of keyword arguments")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    module_name, function_name = args.target.split(":")
    sys.path[:0] = [str(ROOT), str(BENCH)]
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(args.kwargs))
    envelope = {"result": result, "peak_rss_mib": self_peak_rss_mib()}
    args.json.write_text(json.dumps(envelope, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
