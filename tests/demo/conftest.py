"""Fixtures for the demo tests: one small generated data set and its exports, shared per session."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from guanxi.demo.dataset import DemoDataset, generate
from guanxi.demo.exports import ExportedFile, write_exports
from guanxi.demo.spec import DemoSpec

END = datetime(2026, 6, 30, 23, 59, 59)
"""History ends mid-2026: it holds November 2024 and 2025 and the 618s of 2025 and 2026."""
SHANGHAI = 8 * 3600
ORDERS = 5_000
SEED = 11
BROKEN = 0.01
"""Five times the 0.2 % default, so every order file has a few broken rows to count."""


@pytest.fixture(scope="session")
def demo_spec() -> DemoSpec:
    return DemoSpec(orders=ORDERS, seed=SEED, end=END, broken_fraction=BROKEN)


@pytest.fixture(scope="session")
def demo_data(demo_spec: DemoSpec) -> DemoDataset:
    """5,000 orders, seed 11, history to 2026-06-30."""
    return generate(demo_spec)


@pytest.fixture(scope="session")
def demo_files(demo_data: DemoDataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExportedFile]:
    """The exports of ``demo_data`` by file name."""
    out = tmp_path_factory.mktemp("demo")
    return {f.path.name: f for f in write_exports(demo_data, out, utc_offset=SHANGHAI)}


@pytest.fixture(scope="session")
def demo_dir(demo_files: dict[str, ExportedFile]) -> Path:
    return next(iter(demo_files.values())).path.parent
