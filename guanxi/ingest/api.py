"""``import_file``: one file into one raw table, all or nothing.

The steps, each a whole-column statement in DuckDB:

1. **stage** the file as text columns with row numbers (:mod:`reader`);
2. **map** headers to canonical fields (a preset, a mapping file, or the
   best-matching built-in preset) and keep unmapped columns in ``extra``;
3. **normalise** every field (:mod:`normalize`; phones and e-mails the fast
   path cannot decide go, once per distinct value, to phonenumbers and
   email-validator; addresses to :mod:`divisions`);
4. **validate**: every bad cell becomes a quarantine entry with the file, row,
   column, value and reason; rows with a fatal problem are held back;
5. **combine** rows sharing a natural key (platform exports repeat an order on
   each of its lines): the first non-empty value of each field wins; a later
   row that disagrees is quarantined as ``duplicate_key_conflict``;
6. **merge** into the raw table inside one transaction together with the
   quarantine entries and the batch record: new keys are inserted, changed
   rows replaced (columns this file does not carry keep their stored values),
   identical rows left alone. Any error or Ctrl-C rolls everything back.

Guarantees: importing the same file twice leaves every table as after the
first import except ``import_batches``, which records the second run with
``rows_unchanged`` equal to its rows; quarantine entries are keyed by file
content, row, column and reason, so they are not repeated either.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import BackendUnsupportedError, MappingError
from guanxi.ingest import reader
from guanxi.ingest.merge import merge_batch
from guanxi.ingest.preset import (
    KINDS,
    Mapping,
    detect_preset,
    get_preset,
    load_mapping_file,
    mapping_yaml,
    suggest_mapping,
)
from guanxi.ingest.report import ImportReport
from guanxi.ingest.transform import Transform
from guanxi.progress import Progress, Steps

Step = Callable[[str], None]
STEPS = ("read", "normalise", "validate", "merge")


def resolve_mapping(
    kind: str, staged: reader.StagedFile, preset: str | None, mapping: Path | None
) -> Mapping:
    """The mapping to use; raises MappingError with a suggested mapping file when none fits."""
    if kind not in KINDS:
        raise MappingError(f"unknown import kind {kind!r}; choose one of {', '.join(KINDS)}")
    if mapping is not None:
        chosen = load_mapping_file(mapping)
    elif preset is not None:
        chosen = get_preset(preset)
    else:
        found = detect_preset(kind, staged.headers)
        if found is None:
            suggestion = suggest_mapping(kind, staged.headers)
            raise MappingError(
                f"{staged.path.name}: no built-in preset recognises these {kind} columns "
                f"({', '.join(staged.headers[:12])}{' …' if len(staged.headers) > 12 else ''}). "
                "Save this suggested mapping to a file, check it, and pass it with --mapping:\n"
                + mapping_yaml(kind, suggestion)
            )
        chosen = found
    if chosen.kind != kind:
        raise MappingError(f"mapping {chosen.name!r} is for {chosen.kind}, not {kind}")
    missing = chosen.missing_required(staged.headers)
    if missing:
        raise MappingError(
            f"{staged.path.name}: mapping {chosen.name!r} needs a column for {', '.join(missing)}; "
            f"the file has: {', '.join(staged.headers)}"
        )
    return chosen


def new_batch_id(now: datetime) -> str:
    """A sortable, unique batch id: ``20261123-154501-1a2b3c4d``."""
    return f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"


def import_file(
    con: BaseBackend,
    settings: Settings,
    kind: str,
    path: Path | str,
    *,
    preset: str | None = None,
    mapping: Path | None = None,
    source: str | None = None,
    now: datetime | None = None,
    on_step: Step | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``path`` as ``kind`` into the warehouse ``con``; see the module docstring.

    ``now`` (wall-clock in ``settings.timezone``) stamps the batch; ``on_step`` is
    called with each step name as it starts (for progress bars); ``progress`` is
    told ``(index, len(STEPS), name)`` as each of :data:`STEPS` starts and
    ``(len(STEPS), len(STEPS), "done")`` once the merge is committed; neither
    changes the result. Raises FileFormatError, MappingError or
    UnknownPresetError before anything is written; any other failure rolls the
    transaction back and re-raises.
    """
    if con.name != "duckdb":
        raise BackendUnsupportedError(
            f"file import needs a DuckDB warehouse (GUANXI_WAREHOUSE_URL=duckdb://…); "
            f"importing straight into a {con.name} warehouse is not supported yet"
        )
    started = time.perf_counter()
    stamp = now or datetime.now(settings.zone).replace(tzinfo=None)
    steps = Steps(STEPS, progress)

    def step(name: str) -> None:
        if on_step is not None:
            on_step(name)
        steps.start(name)

    raw: Any = getattr(con, "con")  # noqa: B009 - the DuckDB connection under the Ibis backend
    file_path = Path(path)

    step("read")
    staged = reader.stage(raw, file_path, "_gx_src")
    chosen = resolve_mapping(kind, staged, preset, mapping)
    batch_id = new_batch_id(stamp)
    report = ImportReport(
        batch_id=batch_id,
        kind=kind,
        source=(source or chosen.source).lower(),
        preset=chosen.name,
        file_name=file_path.name,
        file_format=staged.file_format,
        encoding=staged.encoding,
        rows_read=staged.rows + len(staged.malformed),
    )
    transform = Transform(raw, settings, kind, chosen, staged, report.source)
    step("normalise")
    transform.normalise()
    step("validate")
    transform.validate()
    transform.combine()
    step("merge")
    merge_batch(raw, transform, report, stamp)
    report.seconds = round(time.perf_counter() - started, 3)
    steps.finish("done")
    return report
