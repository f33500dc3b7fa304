"""Uploaded files: kept under data_dir/uploads, never overwritten, names made safe."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

from guanxi.config import Settings
from guanxi.errors import FileFormatError
from guanxi.web import uploads
from guanxi.web.uploads import safe_file_name, save_upload


@pytest.mark.parametrize(
    ("client_name", "safe"),
    [
        ("订单 2024.xlsx", "订单_2024.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\王\\客户.csv", "客户.csv"),
        (".hidden", "hidden"),
        ("", "upload"),
        (None, "upload"),
    ],
)
def test_safe_file_name(client_name: str | None, safe: str) -> None:
    assert safe_file_name(client_name) == safe


def test_two_uploads_of_the_same_name_are_both_kept(app_settings: Settings, now: datetime) -> None:
    first = save_upload(io.BytesIO(b"a,b\n1,2\n"), "orders.csv", app_settings, now=now)
    second = save_upload(io.BytesIO(b"a,b\n3,4\n"), "orders.csv", app_settings, now=now)
    assert first != second
    assert first.name == second.name == "orders.csv"
    assert first.parent.parent == app_settings.data_dir / "uploads"
    assert first.parent.name.startswith("20260301-173000-")
    assert first.read_bytes() == b"a,b\n1,2\n"


def test_an_oversized_upload_is_refused_and_removed(
    app_settings: Settings, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 10)
    monkeypatch.setattr(uploads, "CHUNK", 4)
    with pytest.raises(FileFormatError, match="larger than"):
        save_upload(io.BytesIO(b"0123456789abc"), "big.csv", app_settings, now=now)
    assert list(Path(app_settings.data_dir / "uploads").rglob("*")) == []
