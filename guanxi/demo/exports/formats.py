"""File formats the exports are written in: CSV (UTF-8, UTF-8 with BOM, GBK),
JSON Lines, Parquet, .xls (Excel 97) and .xlsx.

Every writer takes header names and whole text columns (Arrow arrays; null is
an empty cell) and overwrites its target file. Text is formatted before it
gets here (see :mod:`guanxi.demo.exports.cells`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from guanxi.demo import textcols as tc
from guanxi.demo.exports.xlsx import joined_bytes, write_xlsx
from guanxi.errors import GuanxiError

CSV_CHUNK_ROWS = 200_000
XLS_MAX_ROWS = 65_535
__all__ = [
    "json_lines",
    "write_csv",
    "write_json_lines",
    "write_parquet",
    "write_text",
    "write_xls",
    "write_xlsx",
]


class ExportEncodingError(GuanxiError):
    """A value cannot be written in the file's encoding (a pool holds a character GBK lacks)."""

    code = "demo_encoding"


def write_csv(
    path: Path, headers: Sequence[str], columns: Sequence[tc.Column], encoding: str = "utf-8"
) -> int:
    """CSV with a header row; ``encoding`` is ``utf-8``, ``utf-8-sig`` (BOM) or ``gbk``. Returns data rows.

    Raises :class:`ExportEncodingError` naming the value when a character has no
    ``encoding`` form.
    """
    table = pa.table({str(i): c.cast(pa.string()) for i, c in enumerate(columns)}).rename_columns(
        list(headers)
    )
    with path.open("wb") as out:
        if encoding == "utf-8-sig":
            out.write(b"\xef\xbb\xbf")
        for start in range(0, max(table.num_rows, 1), CSV_CHUNK_ROWS):
            buffer = io.BytesIO()
            options = pacsv.WriteOptions(include_header=start == 0, quoting_style="needed")
            pacsv.write_csv(table.slice(start, CSV_CHUNK_ROWS), buffer, options)
            data = buffer.getvalue()
            if encoding == "gbk":
                text = data.decode("utf-8")
                try:
                    data = text.encode("gbk")
                except UnicodeEncodeError as err:
                    raise ExportEncodingError(
                        f"{path.name}: {text[err.start : err.end]!r} has no GBK form; remove it from the demo pools"
                    ) from err
            out.write(data)
    return int(table.num_rows)


_JSON_SPECIAL = b'"\\' + bytes(range(32))


def json_text(values: tc.Column) -> tc.Column:
    """Text as JSON string literals; values are escaped only when some hold a quote or backslash.

    Raises ValueError for control characters (the generator never makes them).
    """
    if tc.has_bytes(values, _JSON_SPECIAL):
        if tc.has_bytes(values, bytes(range(32))):
            raise ValueError("control characters in a JSON text column")
        values = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    return tc.concat('"', values, '"')


def json_lines(fields: Sequence[tuple[str, tc.Column, bool]]) -> tc.Column:
    """One compact JSON object per row, each ending in a newline, from ``(key, values, raw)`` fields.

    The first field must have a value on every row. ``raw`` values are JSON
    already (numbers, objects, arrays) and are embedded as they are; other
    values become JSON strings. A null leaves its key out, as Segment and the
    WeChat API do.
    """
    parts: list[tc.Column | str] = []
    for position, (key, values, raw) in enumerate(fields):
        text = values.cast(pa.string())
        literal = text if raw else json_text(text)
        if position == 0:
            parts += [f'{{"{key}":', literal]
        elif values.null_count == 0:
            parts += [f',"{key}":', literal]
        else:
            parts.append(pc.fill_null(tc.concat(f',"{key}":', literal), ""))
    parts.append("}\n")
    return tc.concat(*parts)


def write_json_lines(path: Path, fields: Sequence[tuple[str, tc.Column, bool]]) -> int:
    """JSON Lines from ``(key, values, raw)`` fields (see :func:`json_lines`). Returns the number of lines."""
    return write_text(path, json_lines(fields))


def write_text(path: Path, lines: tc.Column) -> int:
    """Values that already end in a newline, back to back (UTF-8). Returns the number of values."""
    with path.open("wb") as out:
        for start in range(0, len(lines), CSV_CHUNK_ROWS):
            out.write(joined_bytes(lines.slice(start, CSV_CHUNK_ROWS)))
    return len(lines)


def write_parquet(path: Path, table: pa.Table) -> int:
    """``table`` as Parquet (zstd). Returns the number of rows."""
    pq.write_table(table, path, compression="zstd")
    return int(table.num_rows)


def write_xls(path: Path, headers: Sequence[str], columns: Sequence[tc.Column], sheet: str = "Sheet1") -> int:
    """An Excel 97–2003 workbook (at most 65,535 data rows). Returns the number of data rows."""
    import xlwt

    rows = len(columns[0]) if columns else 0
    if rows > XLS_MAX_ROWS:
        raise ValueError(f".xls holds at most {XLS_MAX_ROWS:,} data rows, got {rows:,}")
    book = xlwt.Workbook(encoding="utf-8")
    page = book.add_sheet(sheet)
    bold = xlwt.easyxf("font: bold on")
    for col, header in enumerate(headers):
        page.write(0, col, header, bold)
    for col, column in enumerate(columns):
        for row, value in enumerate(pc.fill_null(column.cast(pa.string()), "").to_pylist(), start=1):
            if value:
                page.write(row, col, value)
    book.save(str(path))
    return rows
