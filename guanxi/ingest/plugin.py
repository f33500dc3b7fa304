"""The import domain as a plugin: the shipped platform presets (Taobao, JD, Youzan, Shopify, generic)."""

from __future__ import annotations

from pathlib import Path

from guanxi.ingest.jobs import IMPORT
from guanxi.ingest.preset import Mapping
from guanxi.jobs.kinds import JobKind
from guanxi.plugins import hookimpl


@hookimpl
def register_import_presets() -> list[Mapping | Path]:
    return [Path(__file__).parent / "presets"]


@hookimpl
def register_job_kinds() -> list[JobKind]:
    return [IMPORT]
