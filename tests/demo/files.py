"""Test helpers: read back what the exporters wrote, as a person opening the file would."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import fastexcel
import pyarrow.parquet as pq

ENCODINGS = {".csv": "utf-8-sig"}


def csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    """All rows of a CSV file, header first."""
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))


def sheet_rows(path: Path) -> list[list[str]]:
    """All rows of the first sheet of an .xlsx/.xls file as text, header first."""
    sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
    return [["" if v is None else str(v) for v in row.values()] for row in sheet.to_arrow().to_pylist()]


def json_records(path: Path) -> list[dict[str, object] | None]:
    """Each line as a JSON object, or None for a line that is not one."""
    out: list[dict[str, object] | None] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        out.append(value if isinstance(value, dict) else None)
    return out


def headers(path: Path) -> list[str]:
    """The column names a reader sees: header row, Parquet schema, or every JSON key in order of appearance."""
    if path.suffix == ".csv":
        encoding = "gbk" if path.name.startswith("taobao_orders") else "utf-8-sig"
        return csv_rows(path, encoding)[0]
    if path.suffix in {".xlsx", ".xls"}:
        return sheet_rows(path)[0]
    if path.suffix == ".parquet":
        return list(pq.read_schema(path).names)
    keys: dict[str, None] = {}
    for record in json_records(path):
        for key in record or {}:
            keys.setdefault(key, None)
    return list(keys)
