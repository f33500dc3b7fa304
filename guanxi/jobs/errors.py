"""Errors of jobs and of the warehouse's one writer."""

from __future__ import annotations

from guanxi.errors import ConflictError, GuanxiError, NotFoundError, ValidationFailedError


class JobNotFoundError(NotFoundError):
    code = "job_not_found"


class UnknownJobKindError(ValidationFailedError):
    code = "job_kind_unknown"


class JobCancelledError(GuanxiError):
    """Raised inside a job's run when it sees its cancellation; the job ends ``cancelled``."""

    code = "job_cancelled"
    http_status = 409


class JobFinishedError(ConflictError):
    """The job has already ended (done, failed or cancelled): it cannot be cancelled."""

    code = "job_finished"


class WarehouseBusyError(ConflictError):
    """The embedded warehouse is open in another process that does not take jobs."""

    code = "warehouse_busy"
