"""What a job is made of: its kind (what to run) and the context a run gets.

A :class:`JobKind` is registered through the ``register_job_kinds`` hook (the
built-in import, resolve, model run, segment refresh and export kinds enter the
same way as a plugin's). A :class:`Service` is a short pass repeated every few
seconds in the process that owns the warehouse (the event loader is one),
registered through ``register_services``.

Guarantees a kind must give: ``run`` is *safe to repeat* — when the process
running it dies, the job is claimed again and ``run`` starts from the beginning,
so a run either changes the warehouse in one transaction (or publishes at the
end) or is idempotent. ``run`` returns a JSON-serialisable result (the report
the CLI prints and the job page shows) and raises a
:class:`~guanxi.errors.GuanxiError` for a failure the user can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ibis.backends import BaseBackend
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.progress import Progress, no_progress

Params = Mapping[str, Any]
Result = dict[str, Any]


def _never() -> bool:
    return False


def _discard(_line: str) -> None:
    return None


@dataclass(frozen=True)
class JobContext:
    """What one run of a job (or one pass of a service) is given.

    ``warehouse`` is the connection of the process running it (on an embedded
    DuckDB file, the owning process's own cursor, so pages keep reading while it
    runs); ``sessions`` opens app-database sessions; ``now`` is the aware time the
    run started; ``progress`` and ``log`` are stored with the job; ``cancelled()``
    turns true when someone cancels the job (a kind checks it between steps and
    raises :class:`~guanxi.jobs.errors.JobCancelledError`). Progress is written
    through its own connection: a kind must not hold an app-database write
    transaction across progress calls (SQLite has one writer at a time).
    """

    settings: Settings
    warehouse: BaseBackend
    sessions: sessionmaker[Session]
    now: datetime
    progress: Progress = no_progress
    log: Callable[[str], None] = _discard
    cancelled: Callable[[], bool] = _never
    job_id: int | None = None
    owner: str = ""


@dataclass(frozen=True)
class JobKind:
    """A kind of job: ``run(context, params) -> result``.

    ``check(params) -> params`` validates and normalises the parameters before a
    job is queued (raise :class:`~guanxi.errors.ValidationFailedError`), so a bad
    request fails at once and not in a worker. ``writes_warehouse`` kinds run in
    the process owning an embedded warehouse; others run in any worker.
    ``permission`` is the role permission needed to start one (``import``,
    ``edit`` …, see :mod:`guanxi.appdb.roles`).
    """

    name: str
    run: Callable[[JobContext, Params], Result]
    description: str = ""
    title: dict[str, str] = field(default_factory=dict)
    """Name shown in the web app, per locale (``{"zh-CN": "导入", "en": "Import"}``)."""
    check: Callable[[Params], dict[str, Any]] | None = None
    writes_warehouse: bool = True
    permission: str = "import"

    def checked(self, params: Params) -> dict[str, Any]:
        """``params`` after :attr:`check` (a plain copy when the kind has none)."""
        return self.check(params) if self.check is not None else dict(params)

    def label(self, locale: str) -> str:
        return self.title.get(locale) or self.title.get("en") or self.name


@dataclass(frozen=True)
class Service:
    """A pass run every ``interval(settings)`` seconds by the process owning the warehouse.

    ``run(context)`` does one bounded piece of work (load the events spooled
    since the last pass …) and returns how many items it handled; it must be
    safe to repeat after a crash. An exception is logged and the next pass runs
    as usual.
    """

    name: str
    run: Callable[[JobContext], int]
    interval: Callable[[Settings], float]
    description: str = ""
    writes_warehouse: bool = True


def checked_by(model: type[BaseModel]) -> Callable[[Params], dict[str, Any]]:
    """A :attr:`JobKind.check` that validates parameters with the pydantic ``model``.

    Unknown keys are refused when the model forbids extras; problems raise
    :class:`~guanxi.errors.ValidationFailedError` naming each field.
    """

    def check(params: Params) -> dict[str, Any]:
        try:
            return model.model_validate(dict(params)).model_dump(mode="json")
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in err.errors()
            )
            raise ValidationFailedError(f"invalid job parameters: {problems}") from err

    return check
