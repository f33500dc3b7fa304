"""The same seed gives the same data set and byte-identical files; another seed does not."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from guanxi.demo.dataset import DemoDataset, generate
from guanxi.demo.exports import write_exports
from guanxi.demo.spec import DemoSpec
from tests.demo.conftest import END, SHANGHAI


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _small(seed: int) -> DemoDataset:
    return generate(DemoSpec(orders=1_500, seed=seed, end=END))


def test_same_seed_gives_identical_tables() -> None:
    first, second = _small(5), _small(5)
    assert first.truth().equals(second.truth())
    assert first.orders.order_id.equals(second.orders.order_id)
    assert (first.orders.created == second.orders.created).all()
    for name in ("crm", "sales", "followers", "tickets", "events"):
        assert getattr(first, name).equals(getattr(second, name)), name


def test_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    for run in ("a", "b"):
        write_exports(_small(5), tmp_path / run, utc_offset=SHANGHAI)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(first) == 11
    assert first == second


def test_another_seed_gives_other_people_and_orders() -> None:
    first, second = _small(5), _small(6)
    assert not first.people.name.equals(second.people.name)
    assert not first.orders.order_id.equals(second.orders.order_id)


def test_the_end_instant_moves_the_whole_history() -> None:
    early = generate(DemoSpec(orders=500, seed=5, end=datetime(2025, 12, 31, 12, 0, 0)))
    late = generate(DemoSpec(orders=500, seed=5, end=datetime(2026, 12, 31, 12, 0, 0)))
    gap = (
        late.orders.created.astype("datetime64[s]").max() - early.orders.created.astype("datetime64[s]").max()
    )
    assert gap.astype("timedelta64[D]").astype(int) in range(300, 366)
    assert pa.array(early.people.name).equals(pa.array(late.people.name))
