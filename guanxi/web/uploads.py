"""Where uploaded import files are kept: ``Settings.data_dir / "uploads"``.

Each upload gets a folder of its own (time stamp + random part) holding the
client's file name made safe, so uploads never overwrite each other, the
import history shows the name the user knows, and a client's name can never
leave the folder.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from guanxi.config import Settings
from guanxi.errors import FileFormatError

MAX_UPLOAD_BYTES = 1024**3
"""Uploads larger than 1 GiB are refused; import bigger files with the CLI."""
CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_file_name(client_name: str | None) -> str:
    """The client's base name with anything but letters, digits, ``.``, ``_``, ``-`` replaced by ``_``.

    Chinese names stay readable (``订单 2024.xlsx`` → ``订单_2024.xlsx``); path
    parts and leading dots are dropped; an empty result becomes ``upload``.
    """
    base = Path((client_name or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).lstrip("._")[:120]
    return cleaned or "upload"


def save_upload(stream: BinaryIO, client_name: str | None, settings: Settings, *, now: datetime) -> Path:
    """Copy ``stream`` into the uploads folder and return the new file's path.

    Raises :class:`FileFormatError` (``file_unreadable``) for an empty file or
    one over :data:`MAX_UPLOAD_BYTES` (the partial file is removed).
    """
    stamp = now.astimezone(settings.zone).strftime("%Y%m%d-%H%M%S")
    folder = settings.data_dir / "uploads" / f"{stamp}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    target = folder / safe_file_name(client_name)
    written = 0
    try:
        with target.open("xb") as out:
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                if written > MAX_UPLOAD_BYTES:
                    raise FileFormatError(
                        "the file is larger than 1 GiB; import it with `guanxi import` instead",
                        code="file_unreadable",
                    )
                out.write(chunk)
        if written == 0:
            raise FileFormatError("the uploaded file is empty", code="file_unreadable")
    except BaseException:
        discard(target)
        raise
    return target


def discard(path: Path) -> None:
    """Remove a saved upload and its folder (used when the import could not start)."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


__all__ = ["MAX_UPLOAD_BYTES", "discard", "safe_file_name", "save_upload"]
