"""Reading every supported format into text columns with the row numbers a person sees."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from guanxi.errors import FileFormatError
from guanxi.ingest.reader import detect_encoding, file_format, stage


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def staged_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute("SELECT * FROM t ORDER BY _row").fetchall()


def test_gbk_taobao_export_is_detected_and_decoded(con, ingest_data):
    path = ingest_data / "taobao_orders_gbk_with_broken_rows.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    staged = stage(con, path, "t")

    assert staged.encoding == "gb18030"
    assert staged.headers[:3] == ["订单编号", "买家会员名", "买家支付宝账号"]
    assert staged.rows == 6
    first = staged_rows(con)[0]
    assert first[1] == "小王爱购物"
    assert first[-1] == 2


def test_utf8_bom_is_stripped_from_the_first_header(con, ingest_data):
    staged = stage(con, ingest_data / "taobao_items_utf8_bom.csv", "t")

    assert staged.encoding == "utf-8-sig"
    assert staged.headers[0] == "订单编号"


def test_tsv_is_split_on_tabs(con, ingest_data):
    staged = stage(con, ingest_data / "crm_customers.tsv", "t")

    assert staged.headers[:3] == ["客户编号", "姓名", "性别"]
    assert staged.rows == 4


def test_rows_with_wrong_field_counts_are_reported_with_their_line(con, ingest_data):
    staged = stage(con, ingest_data / "orders_wrong_field_counts.csv", "t")

    assert [(m.row_number, m.reason) for m in staged.malformed] == [
        (3, "malformed_row"),
        (4, "malformed_row"),
    ]
    assert "A2" in staged.malformed[0].raw
    # the good rows keep their own line numbers despite the rejected lines between them
    assert [(r[0], r[-1]) for r in staged_rows(con)] == [("A1", 2), ("A4", 5)]


def test_xlsx_and_xls_read_as_text_with_excel_row_numbers(con, ingest_data):
    xlsx = stage(con, ingest_data / "jd_orders_repeated_lines.xlsx", "t")
    assert xlsx.file_format == "excel"
    assert xlsx.rows == 3
    assert staged_rows(con)[0][0] == "210000000001"
    assert staged_rows(con)[0][-1] == 2

    xls = stage(con, ingest_data / "youzan_orders.xls", "t")
    assert xls.headers[0] == "订单号"
    assert xls.rows == 2


def test_parquet_typed_columns_become_text(con, ingest_data):
    staged = stage(con, ingest_data / "crm_customers.parquet", "t")

    assert staged.headers[:3] == ["customer_id", "name", "birthday"]
    first = staged_rows(con)[0]
    assert first[2] == "1992-02-29"
    assert first[6] == "2022-01-01 09:30:00"
    assert first[-1] == 1


def test_jsonl_keys_become_columns_and_bad_lines_are_malformed(con, ingest_data):
    staged = stage(con, ingest_data / "wechat_followers.jsonl", "t")

    assert staged.headers[:3] == ["openid", "unionid", "公众号AppID"]
    assert [m.row_number for m in staged.malformed] == [2]
    tags = staged.headers.index("tags")
    assert staged_rows(con)[0][tags] == '["老客户","母婴"]'


def test_empty_file_is_refused(con, tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n")

    with pytest.raises(FileFormatError, match="empty"):
        stage(con, empty, "t")


def test_unknown_extension_names_the_accepted_ones():
    with pytest.raises(FileFormatError, match=r"\.xlsx"):
        file_format(Path("orders.pdf"))


def test_undecodable_bytes_name_the_line(con, tmp_path: Path):
    path = tmp_path / "mixed.csv"
    good = "订单号,收货人姓名\n".encode("gbk") + "A1,王小明\n".encode("gbk") * 30000
    path.write_bytes(good + b"A2,\xff\xff\xff\n")  # past the detection sample

    assert detect_encoding(path) == "gb18030"
    with pytest.raises(FileFormatError, match="line 30002"):
        stage(con, path, "t")
