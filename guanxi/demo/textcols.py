"""Whole-column text building on Arrow arrays (no Python loop over rows).

The generator builds millions of names, phones, ids and formatted amounts; each
function here takes and returns whole columns (pyarrow arrays, numpy arrays)
and runs in Arrow's C++ kernels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Column = Any
"""A pyarrow array (or chunked array) of strings."""

WALL_CLOCK_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: times here are wall clock, no zone
"""Day zero of the naive wall-clock seconds the generator counts in."""

ALNUM_LOWER = b"abcdefghijklmnopqrstuvwxyz0123456789"
HEX = b"0123456789abcdef"
BASE64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
DIGITS = b"0123456789"
_FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}


def pick(pool: Sequence[str], index: npt.NDArray[np.int64]) -> Column:
    """``pool[index[i]]`` for every i, as a string array."""
    return pa.array(list(pool), type=pa.string()).take(pa.array(index))


def translate(values: Column, rename: Callable[[str], str]) -> Column:
    """``rename`` applied to each distinct value (once per distinct value, not per row)."""
    distinct = pc.unique(values)
    index = np.asarray(pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False), dtype=np.int64)
    return pick([rename(v) for v in distinct.to_pylist()], index)


def constant(text: str, size: int) -> Column:
    """``size`` copies of ``text``."""
    return pa.repeat(pa.scalar(text, type=pa.string()), size)


def blank(values: Column) -> npt.NDArray[np.bool_]:
    """True where a text value is null or empty."""
    return np.asarray(pc.fill_null(pc.equal(values, ""), True).to_numpy(zero_copy_only=False), dtype=np.bool_)


def concat(*parts: Column | str) -> Column:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def where(
    mask: npt.NDArray[np.bool_] | Column, then: Column | str | None, otherwise: Column | str | None
) -> Column:
    """``then`` where ``mask`` holds, else ``otherwise`` (strings or null)."""

    def scalar(value: Column | str | None) -> Column:
        return pa.scalar(value, type=pa.string()) if value is None or isinstance(value, str) else value

    return pc.if_else(
        pa.array(mask) if isinstance(mask, np.ndarray) else mask, scalar(then), scalar(otherwise)
    )


def nullify(values: Column, mask: npt.NDArray[np.bool_]) -> Column:
    """``values`` with nulls where ``mask`` holds."""
    return where(mask, None, values)


def digits(values: npt.NDArray[np.int64], width: int = 0) -> Column:
    """Non-negative integers as decimal text, left-padded with zeros to ``width``."""
    text = pa.array(values, type=pa.int64()).cast(pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def random_text(rng: np.random.Generator, size: int, width: int, alphabet: bytes) -> Column:
    """``size`` strings of ``width`` characters drawn uniformly from ``alphabet`` (ASCII)."""
    letters = np.frombuffer(alphabet, dtype=np.uint8)
    codes = letters[rng.integers(0, len(letters), size=(size, width), dtype=np.uint8)]
    offsets = np.arange(size + 1, dtype=np.int64) * width
    return pa.LargeStringArray.from_buffers(
        size, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(codes).tobytes())
    ).cast(pa.string())


def money(fen: npt.NDArray[np.int64]) -> Column:
    """Amounts in fen (1/100 yuan) as ``"128.00"`` text; negative amounts keep their sign."""
    sign = np.where(fen < 0, "-", "")
    magnitude = np.abs(fen)
    return concat(
        pa.array(sign, type=pa.string()),
        digits(magnitude // 100),
        ".",
        digits(magnitude % 100, 2),
    )


def fullwidth_digits(values: Column) -> Column:
    """Every ASCII digit replaced by its full-width form (``138`` → ``１３８``)."""
    out = values
    for ascii_digit, wide in _FULL_WIDTH.items():
        out = pc.replace_substring(out, ascii_digit, wide)
    return out


def timestamps(seconds: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_] | None = None) -> Column:
    """Seconds since 1970 (naive wall clock) as a ``timestamp[s]`` array; invalid → null."""
    arr = pa.array(seconds.astype("datetime64[s]"), type=pa.timestamp("s"))
    return arr if valid is None else pc.if_else(pa.array(valid), arr, pa.scalar(None, type=pa.timestamp("s")))


def cases(
    codes: npt.NDArray[np.int64], build: Mapping[int, Callable[[npt.NDArray[np.int64]], Column | str | None]]
) -> Column:
    """Row ``i`` takes its value from ``build[codes[i]]``, each builder run on its own rows only.

    A builder receives the row indices of its code and returns a column of
    that length (or one string / None for all of them). Cheaper than building
    every variant for every row and choosing with :func:`where`.
    """
    size = len(codes)
    order = (
        _sort_codes(codes)
        if len(codes) and codes.min() >= 0 and codes.max() < 30_000
        else np.argsort(codes, kind="stable")
    )
    ordered = codes[order]
    pieces = []
    for code in np.unique(ordered):
        lo, hi = np.searchsorted(ordered, code, "left"), np.searchsorted(ordered, code, "right")
        value = build[int(code)](order[lo:hi])
        if value is None or isinstance(value, str):
            value = pa.repeat(pa.scalar(value, type=pa.string()), int(hi - lo))
        pieces.append(value.cast(pa.string()))
    if not pieces:
        return pa.array([], type=pa.string())
    inverse = np.empty(size, dtype=np.int64)
    inverse[order] = np.arange(size, dtype=np.int64)
    return pa.concat_arrays(pieces).take(pa.array(inverse))


def scatter(mask: npt.NDArray[np.bool_], build: Callable[[npt.NDArray[np.int64]], Column]) -> Column:
    """A column that holds ``build(rows)`` on the rows where ``mask`` holds and null elsewhere.

    ``build`` runs on the masked rows only (cheaper than building for every row
    and nulling most of it).
    """
    return cases(mask.astype(np.int64), {0: lambda rows: None, 1: build})


def has_bytes(values: Column, characters: bytes) -> bool:
    """Whether any value contains one of the ASCII ``characters`` (a scan of the raw UTF-8 buffer).

    Exact for ASCII characters: no byte of a multi-byte UTF-8 sequence is below 0x80.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if len(array) == 0 or array.buffers()[2] is None:
        return False
    data = array.buffers()[2].to_pybytes()
    return any(data.find(bytes([c])) >= 0 for c in characters)


@cache
def _clock_table(time_format: str) -> Column:
    """Every second of a day (0 … 86399) formatted with ``time_format``."""
    second = np.arange(86_400, dtype=np.int64)
    fields = {
        "%H": digits(second // 3_600, 2),
        "%M": digits(second // 60 % 60, 2),
        "%S": digits(second % 60, 2),
    }
    parts: list[Column | str] = []
    rest = time_format
    while rest:
        code = rest[:2]
        if code in fields:
            parts.append(fields[code])
            rest = rest[2:]
        else:
            parts.append(rest[0])
            rest = rest[1:]
    return concat(*parts)


def _sort_codes(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Stable argsort of small non-negative codes (radix sort on int16)."""
    return np.argsort(codes.astype(np.int16), kind="stable").astype(np.int64)


def clock_text(
    seconds: npt.NDArray[np.int64],
    valid: npt.NDArray[np.bool_] | None = None,
    *,
    date_format: str = "%Y-%m-%d",
    separator: str = " ",
    time_format: str | None = "%H:%M:%S",
    suffix: str = "",
) -> Column:
    """Wall-clock seconds since 1970 as ``date_format + separator + time_format + suffix`` text.

    Formats each distinct day and each second of the day once and looks rows
    up (much faster than a per-row ``strftime``); invalid rows give null.
    """
    size = len(seconds)
    ok = np.ones(size, dtype=np.bool_) if valid is None else valid
    if size == 0 or not ok.any():
        return pa.nulls(size, type=pa.string())
    safe = np.where(ok, seconds, seconds[ok][0])
    day = safe // 86_400
    first = int(day.min())
    days = [
        (WALL_CLOCK_EPOCH + timedelta(days=first + i)).strftime(date_format)
        for i in range(int(day.max()) - first + 1)
    ]
    parts: list[Column | str] = [pick(days, day - first)]
    if time_format is not None:
        parts += [separator, _clock_table(time_format).take(pa.array(safe - day * 86_400))]
    if suffix:
        parts.append(suffix)
    text = concat(*parts) if len(parts) > 1 else parts[0]
    return text if valid is None else nullify(text, ~ok)


def repeats(values: Column) -> npt.NDArray[np.bool_]:
    """True for every value equal to an earlier one (the first occurrence is False).

    Dictionary codes are numbered in order of first appearance, so a row is a
    first occurrence exactly when its code exceeds every code before it.
    """
    codes = np.asarray(pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(codes) == 0:
        return np.zeros(0, dtype=np.bool_)
    before = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    result: npt.NDArray[np.bool_] = codes <= before
    return result


def dedupe(values: Column, suffix: Column) -> Column:
    """``values`` with ``suffix`` appended to every repeat of an earlier value (first one kept).

    The caller makes ``suffix`` unique per row, so the result is unique.
    """
    repeat = repeats(values)
    return where(repeat, concat(values, suffix), values) if repeat.any() else values
