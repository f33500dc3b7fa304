"""Built-in example segments, one YAML spec per file (the file name is a suggested key).

Load one with :func:`example` and save it with
:func:`guanxi.segments.create_segment`; from the shell, ``guanxi segments
examples`` prints each file's path for ``guanxi segments create KEY --file PATH``.
"""

from __future__ import annotations

from pathlib import Path

from guanxi.segments.spec import SegmentSpec
from guanxi.segments.validation import load_spec

FOLDER = Path(__file__).parent


def example_files() -> list[Path]:
    """Every example spec file, sorted by name."""
    return sorted(FOLDER.glob("*.yaml"))


def example(key: str) -> SegmentSpec:
    """The example spec ``key`` (its file name without ``.yaml``), validated."""
    path = FOLDER / f"{key}.yaml"
    return load_spec(path.read_text(encoding="utf-8"), source=str(path))
