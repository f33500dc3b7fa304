"""The report every import produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ImportReport:
    """What one import did.

    ``rows_read`` counts every data row of the file, readable or not;
    ``rows_loaded = rows_inserted + rows_updated + rows_unchanged`` counts the
    distinct records the file contributes after rows with the same key were
    combined; ``rows_quarantined`` counts rows with a fatal problem (they were not
    loaded); ``warnings`` counts cells dropped from otherwise good rows.
    ``reasons`` counts quarantine entries (fatal and warning) by reason code.
    """

    batch_id: str
    kind: str
    source: str
    preset: str
    file_name: str
    file_format: str
    encoding: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_combined: int = 0
    rows_quarantined: int = 0
    warnings: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    status: str = "loaded"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
