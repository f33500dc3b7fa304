"""The fast .xlsx writer makes workbooks that Excel-reading libraries open as written."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa

from guanxi.demo.exports.xlsx import column_letter, write_xlsx
from tests.demo.files import sheet_rows


def _write(path: Path) -> None:
    write_xlsx(
        path,
        ["订单号", "备注", "生日", "最近跟进"],
        [
            pa.array(["250000000001", "250000000002", None]),
            pa.array(["A&B <礼盒>", "", "满300减50"]),
            pa.array([date(1990, 3, 12), None, date(2000, 1, 1)], type=pa.date32()),
            pa.array([datetime(2025, 11, 11, 0, 1, 2), None, None], type=pa.timestamp("s")),
        ],
        sheet="订单列表",
        widths=(16, 20, 12, 18),
    )


def test_column_letters_follow_excel() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_openpyxl_reads_text_dates_and_escaped_characters(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    _write(path)
    sheet = openpyxl.load_workbook(path)["订单列表"]
    assert [c.value for c in sheet[1]] == ["订单号", "备注", "生日", "最近跟进"]
    assert sheet["A2"].value == "250000000001"
    assert sheet["B2"].value == "A&B <礼盒>"
    assert sheet["C2"].value == datetime(1990, 3, 12)
    assert sheet["C2"].number_format == "yyyy/m/d"
    assert sheet["D2"].value == datetime(2025, 11, 11, 0, 1, 2)
    assert sheet["C4"].value == datetime(2000, 1, 1)
    assert sheet.max_row == 4


def test_fastexcel_reads_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    _write(path)
    rows = sheet_rows(path)
    assert rows[1][:2] == ["250000000001", "A&B <礼盒>"]
    assert rows[1][2].startswith("1990-03-12")
    assert rows[3][0] == ""


def test_the_same_rows_give_the_same_bytes(tmp_path: Path) -> None:
    _write(tmp_path / "a.xlsx")
    _write(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert archive.testzip() is None
        assert "xl/worksheets/sheet1.xml" in archive.namelist()
