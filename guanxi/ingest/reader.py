"""Reading an input file into a DuckDB staging table of text columns.

Every format (CSV/TSV in UTF-8, UTF-8 with BOM, GBK/GB18030 and other encodings,
Excel .xlsx/.xls, Parquet, JSON Lines) ends up the same way: a temporary table
whose columns are named ``c0 … cN`` (all ``VARCHAR``) plus ``_row``, the row
number a person sees in the file (the header is row 1 for CSV and Excel, the
first line is row 1 for JSON Lines and Parquet). The original headers are kept
in Python (:class:`StagedFile.headers`); no header text is ever put into SQL.

Rows the format itself cannot read (too many or too few CSV fields, a line that
is not a JSON object) are returned as :class:`MalformedRow` for the quarantine.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import charset_normalizer

from guanxi.errors import FileFormatError

SAMPLE_BYTES = 256 * 1024
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class MalformedRow:
    """A row the file format could not read; it is quarantined whole."""

    row_number: int
    reason: str
    detail: str
    raw: str


@dataclass
class StagedFile:
    """An input file staged as table ``table`` with text columns ``c0 … cN`` and ``_row``."""

    path: Path
    table: str
    headers: list[str]
    file_format: str
    encoding: str | None
    sha256: str
    rows: int
    malformed: list[MalformedRow] = field(default_factory=list)

    def column_for(self, header: str) -> str | None:
        """The staging column holding ``header`` (first occurrence), or None."""
        for index, name in enumerate(self.headers):
            if name == header:
                return f"c{index}"
        return None


def file_format(path: Path) -> str:
    """``csv``, ``excel``, ``jsonl`` or ``parquet`` from the file name; raises FileFormatError."""
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return "csv"
    if suffix in _EXCEL_SUFFIXES:
        return "excel"
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    raise FileFormatError(
        f"{path.name}: unknown file type {suffix or '(none)'}; use .csv, .tsv, .xlsx, .xls, .parquet or .jsonl"
    )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes (identifies a file across re-imports)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """The text encoding of ``path``: ``utf-8``, ``utf-8-sig``, ``gb18030`` or what charset-normalizer finds.

    UTF-8 is tried first on a sample (a clean decode decides); otherwise
    charset-normalizer guesses, and any GB2312/GBK guess is widened to GB18030,
    their superset. Raises FileFormatError for an empty or binary file.
    """
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileFormatError(f"{path.name}: the file is empty")
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if err.start < len(sample) - 4:
            # Cut at the last line end, so a multi-byte character split by the sample does not look binary.
            whole_lines = sample[: sample.rfind(b"\n") + 1] or sample
            best = charset_normalizer.from_bytes(whole_lines).best()
            if best is None:
                raise FileFormatError(f"{path.name}: cannot tell the text encoding (binary file?)") from err
            name = best.encoding.lower().replace("-", "_")
            if name in {"gb2312", "gbk", "gb18030", "hz", "cp936"}:
                return "gb18030"
            return best.encoding
    return "utf-8"


def _transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """Write a UTF-8 copy of ``path``; raises FileFormatError naming the bad byte's line."""
    target = workdir / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        for chunk in iter(lambda: source.read(1 << 22), b""):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as err:
                line += chunk[: err.start].count(b"\n")
                raise FileFormatError(
                    f"{path.name}: line {line}: bytes that are not valid {encoding} ({err.reason})"
                ) from err
            line += text.count("\n")
            out.write(text)
        out.write(decoder.decode(b"", final=True))
    return target


def _sniff_delimiter(first_line: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _read_header(text_path: Path, encoding: str) -> tuple[list[str], str]:
    with text_path.open("r", encoding=encoding, newline="") as handle:
        head = handle.read(SAMPLE_BYTES)
    first_line = head.split("\n", 1)[0]
    delimiter = _sniff_delimiter(first_line, text_path)
    reader = csv.reader(io.StringIO(head), delimiter=delimiter, quotechar='"')
    try:
        headers = next(reader)
    except StopIteration as err:
        raise FileFormatError(f"{text_path.name}: no header row") from err
    return headers, delimiter


def clean_headers(headers: list[str], file_name: str) -> list[str]:
    """Header names trimmed (BOM, spaces, tabs Excel adds); raises FileFormatError if all are empty."""
    cleaned = [str(h).replace("\ufeff", "").strip().strip("\t") for h in headers]
    if not any(cleaned):
        raise FileFormatError(f"{file_name}: the first row holds no column names")
    return cleaned


def stage(con: Any, path: Path, table: str) -> StagedFile:
    """Read ``path`` into DuckDB temp table ``table``; returns what was staged.

    ``con`` is a raw DuckDB connection. Raises FileFormatError (with the file
    name and, where known, the line) when the file cannot be read at all.
    """
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    kind = file_format(path)
    digest = sha256_of(path)
    if kind == "csv":
        staged = _stage_csv(con, path, table)
    elif kind == "excel":
        staged = _stage_excel(con, path, table)
    elif kind == "parquet":
        staged = _stage_parquet(con, path, table)
    else:
        staged = _stage_jsonl(con, path, table)
    staged.sha256 = digest
    staged.rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - internal name
    return staged


def _stage_csv(con: Any, path: Path, table: str) -> StagedFile:
    encoding = detect_encoding(path)
    with tempfile.TemporaryDirectory(prefix="guanxi-import-") as tmp:
        text_path = path
        if encoding not in {"utf-8", "utf-8-sig"}:
            text_path = _transcode_to_utf8(path, encoding, Path(tmp))
        headers, delimiter = _read_header(text_path, "utf-8-sig")
        headers = clean_headers(headers, path.name)
        names = [f"c{i}" for i in range(len(headers))]
        con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
        try:
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {table} AS
                SELECT *, row_number() OVER () + 1 AS _row FROM read_csv($path, header = false, skip = 1, all_varchar = true,
                    names = $names, delim = $delim, quote = '"', escape = '"',
                    store_rejects = true, ignore_errors = true, parallel = true)""",
                {"path": str(text_path), "names": names, "delim": delimiter},
            )
            rejects = con.execute(
                "SELECT line, error_type, coalesce(csv_line, ''), error_message FROM reject_errors ORDER BY line"
            ).fetchall()
        except Exception as err:  # duckdb raises its own error classes
            raise FileFormatError(f"{path.name}: cannot read as CSV: {err}") from err
    malformed = [
        MalformedRow(int(line), "malformed_row", f"{kind.lower()}: {message}", raw)
        for line, kind, raw, message in rejects
    ]
    # Good rows are numbered by the file lines that were not rejected (header = line 1).
    bad_lines = sorted({m.row_number for m in malformed})
    if bad_lines:
        con.execute(f"ALTER TABLE {table} RENAME TO {table}_read")
        con.execute("CREATE OR REPLACE TEMP TABLE _gx_bad_lines (line BIGINT)")
        con.executemany("INSERT INTO _gx_bad_lines VALUES (?)", [[n] for n in bad_lines])
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {table} AS
            WITH r AS (SELECT * EXCLUDE (_row), _row - 1 AS _seq FROM {table}_read),
            lines AS (
                SELECT line, row_number() OVER (ORDER BY line) AS _seq
                FROM (SELECT range AS line FROM range(2, (SELECT count(*) FROM r) + $nbad + 2)
                      WHERE range NOT IN (SELECT line FROM _gx_bad_lines))
            )
            SELECT r.* EXCLUDE (_seq), lines.line AS _row FROM r JOIN lines USING (_seq) ORDER BY _row""",  # noqa: S608
            {"nbad": len(bad_lines)},
        )
        con.execute(f"DROP TABLE IF EXISTS {table}_read")
    return StagedFile(path, table, headers, "csv", encoding, "", 0, malformed)


def _stage_excel(con: Any, path: Path, table: str) -> StagedFile:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        data = sheet.to_arrow()
    except Exception as err:  # fastexcel raises its own error classes
        raise FileFormatError(f"{path.name}: cannot read as Excel: {err}") from err
    if data.num_rows == 0:
        raise FileFormatError(f"{path.name}: the first sheet is empty")
    headers = clean_headers(
        ["" if v is None else str(v) for v in data.slice(0, 1).to_pylist()[0].values()], path.name
    )
    body = data.slice(1).rename_columns([f"c{i}" for i in range(data.num_columns)])
    con.register("_gx_arrow", body)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, row_number() OVER () + 1 AS _row FROM _gx_arrow"
        )
    finally:
        con.unregister("_gx_arrow")
    return StagedFile(path, table, headers, "excel", None, "", 0)


def _stage_parquet(con: Any, path: Path, table: str) -> StagedFile:
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(path)
    except Exception as err:  # pyarrow raises several error classes for broken files
        raise FileFormatError(f"{path.name}: cannot read as Parquet: {err}") from err
    headers = clean_headers([str(n) for n in data.column_names], path.name)
    data = data.rename_columns([f"c{i}" for i in range(data.num_columns)])
    con.register("_gx_arrow", data)
    try:
        types = [str(r[1]) for r in con.execute("DESCRIBE SELECT * FROM _gx_arrow").fetchall()]
        casts = ", ".join(_text_of(f"c{i}", kind) for i, kind in enumerate(types))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "  # noqa: S608 - internal names only
            f"SELECT {casts}, row_number() OVER () AS _row FROM _gx_arrow"
        )
    finally:
        con.unregister("_gx_arrow")
    return StagedFile(path, table, headers, "parquet", None, "", 0)


def _text_of(col: str, type_name: str) -> str:
    """SQL turning internal column ``col`` of DuckDB type ``type_name`` into text."""
    nested = any(marker in type_name for marker in ("STRUCT", "MAP", "[]", "JSON", "UNION"))
    if nested:
        return f"CAST(to_json({col}) AS VARCHAR) AS {col}"
    if type_name.startswith("TIMESTAMP"):
        return f"strftime({col}, '%Y-%m-%d %H:%M:%S') AS {col}"
    return f"CAST({col} AS VARCHAR) AS {col}"


def _stage_jsonl(con: Any, path: Path, table: str) -> StagedFile:
    encoding = detect_encoding(path)
    with tempfile.TemporaryDirectory(prefix="guanxi-import-") as tmp:
        text_path = path
        if encoding not in {"utf-8", "utf-8-sig"}:
            text_path = _transcode_to_utf8(path, encoding, Path(tmp))
        try:
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {table}_lines AS
                SELECT line, row_number() OVER () AS _row
                FROM read_csv($p, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x1f',
                              quote = '', escape = '', auto_detect = false)""",
                {"p": str(text_path)},
            )
        except Exception as err:
            raise FileFormatError(f"{path.name}: cannot read as JSON Lines: {err}") from err
    bad = con.execute(
        f"""SELECT _row, line FROM {table}_lines
            WHERE line IS NOT NULL AND trim(line) <> ''
              AND (NOT json_valid(line) OR json_type(CAST(line AS JSON)) <> 'OBJECT')
            ORDER BY _row"""  # noqa: S608 - internal name
    ).fetchall()
    malformed = [MalformedRow(int(n), "malformed_row", "not a JSON object", str(raw)) for n, raw in bad]
    keys = [
        str(row[0])
        for row in con.execute(
            f"""SELECT k FROM (
                  SELECT unnest(json_keys(CAST(line AS JSON))) AS k,
                         unnest(range(len(json_keys(CAST(line AS JSON))))) AS pos, _row
                  FROM {table}_lines
                  WHERE json_valid(line) AND json_type(CAST(line AS JSON)) = 'OBJECT')
                GROUP BY k ORDER BY min(_row * 100000 + pos), k"""  # noqa: S608 - internal name
        ).fetchall()
    ]
    if not keys:
        raise FileFormatError(f"{path.name}: no JSON object lines found")
    pointers = {f"p{i}": "/" + key.replace("~", "~0").replace("/", "~1") for i, key in enumerate(keys)}
    extracts = ", ".join(f"json_extract_string(line, $p{i}) AS c{i}" for i in range(len(keys)))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT {extracts}, _row FROM {table}_lines
        WHERE json_valid(line) AND json_type(CAST(line AS JSON)) = 'OBJECT'""",  # noqa: S608
        pointers,
    )
    con.execute(f"DROP TABLE IF EXISTS {table}_lines")
    return StagedFile(path, table, keys, "jsonl", encoding, "", 0, malformed)
