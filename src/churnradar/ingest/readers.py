"""Read CSV, XLSX and Parquet files as batches of text cells with their spreadsheet row numbers.

Everything arrives as text (or None for an empty cell) so that one validator parses every format the same
way and can quote the offending value. Memory stays flat: one batch is in memory at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import charset_normalizer
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from churnradar.ingest.exceptions import FileFormatError

SUFFIXES = (".csv", ".xlsx", ".parquet")
SNIFF_BYTES = 256 * 1024
# A CSV field above this is not data but a broken quote; longer than any text limit we accept.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "big5", "cp936"}


@dataclass
class Batch:
    """Rows of stripped text cells (None when empty) and the spreadsheet row number of each (header = 1)."""

    rows: list[list[str | None]]
    row_numbers: list[int]
    problems: list[tuple[int, str]] = field(default_factory=list)
    located: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)
    table: pd.DataFrame | None = None  # readers that parse in bulk hand over a ready frame instead of rows

    @property
    def size(self) -> int:
        """How many data rows the batch holds."""
        return len(self.table) if self.table is not None else len(self.rows)

    def frame(self, header: list[str]) -> pd.DataFrame:
        """The rows as a DataFrame of Python strings / None."""
        if self.table is not None:
            return self.table
        return pd.DataFrame(self.rows, columns=pd.Index(header), dtype=object)


class TableReader:
    """A header and an iterator of batches; subclasses know one file format."""

    header: list[str]
    trimmed = False  # whether `arrow_batches`' string cells are already stripped, empty ones null

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """Yield the data rows in batches of at most `batch_rows`."""
        raise NotImplementedError  # pragma: no cover - abstract

    def close(self) -> None:
        """Release the file when the batches will not be read (reading them to the end releases it too)."""

    def arrow_batches(self, batch_rows: int) -> Iterator[tuple[pa.RecordBatch, int]] | None:
        """The rows as Arrow batches (columns in header order) with the row number of each batch's first
        row, for readers that parse in bulk; None for the others. `text_batch` turns one into text cells."""
        return None

    def text_batch(self, batch: pa.RecordBatch, first_row: int) -> Batch:
        """One of `arrow_batches`' batches as the text cells `batches` yields."""
        raise NotImplementedError  # pragma: no cover - only readers with arrow_batches have it


def detect_encoding(sample: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) when the bytes are UTF-8, else the best guess (GB18030 for Chinese)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileFormatError("the file is UTF-16; save it as UTF-8 CSV (or GB18030) and import again")
    # UTF-8 first; then GB18030, since Chinese Excel exports are the common non-UTF-8 case and a strict
    # decode of the sample decides it. A sample may end inside a character: the decoders are not final.
    for candidate in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(candidate)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return candidate
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        raise FileFormatError("cannot tell the text encoding; pass --encoding (e.g. gb18030)")
    guessed = best.encoding.lower().replace("-", "").replace("_", "")
    return "gb18030" if guessed in _GB_FAMILY else best.encoding


def _looks_binary(sample: bytes) -> str | None:
    if sample.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive (an Excel workbook?); save it as .xlsx or export it as CSV"
    if sample.startswith(b"PAR1"):
        return "it is a Parquet file; name it .parquet"
    if b"\x00" in sample[:8192]:
        return "it contains binary data, not text"
    return None


class CsvReader(TableReader):
    """CSV through the standard library's C parser, which knows each record's exact position."""

    def __init__(self, path: Path, *, encoding: str | None = None) -> None:
        self.path = path
        with path.open("rb") as fh:
            sample = fh.read(SNIFF_BYTES)
        if not sample.strip():
            raise FileFormatError("the file is empty (no header row)")
        binary = _looks_binary(sample)
        if binary:
            raise FileFormatError(f"not a CSV file: {binary}")
        self.encoding = encoding or detect_encoding(sample, path.name)
        try:
            codecs.lookup(self.encoding)
        except LookupError as exc:
            raise FileFormatError(f"unknown encoding {self.encoding!r}") from exc
        self._handle = io.TextIOWrapper(path.open("rb"), encoding=self.encoding, errors="strict", newline="")
        csv.field_size_limit(CSV_FIELD_LIMIT)
        self._reader = csv.reader(self._handle)
        self._row = 0  # records read so far: the header is row 1, as a spreadsheet shows it
        header = self._next_record()
        while header is not None and not any(cell.strip() for cell in header):
            header = self._next_record()
        if header is None:
            raise FileFormatError("the file is empty (no header row)")
        self.header = [h.strip() for h in header]
        self.header_row = self._row

    def fast(self) -> TableReader:
        """The bulk parser when this file allows it (UTF-8, header on line 1), else this exact reader."""
        from churnradar.ingest.fast_csv import ArrowCsvReader

        # One column: a blank line is a record for pyarrow but a skipped line for the exact reader.
        if self.header_row == 1 and self.encoding in ("utf-8", "utf-8-sig") and len(self.header) > 1:
            self._handle.close()
            return ArrowCsvReader(self.path, self.header, encoding=self.encoding)
        return self

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def exact(self) -> CsvReader:
        """A fresh line-exact reader of the same file."""
        return CsvReader(self.path, encoding=self.encoding)

    def _decode_hint(self) -> str:
        other = "utf-8" if self.encoding.lower().startswith("gb") else "gb18030"
        return f"not valid {self.encoding} text; pass --encoding {other} if the file was saved that way"

    def _undecodable_line(self) -> int:
        # The text layer decodes ahead of the parser, so find the first bad byte's line in the raw bytes.
        decoder = codecs.getincrementaldecoder(self.encoding)()
        newlines = 0
        with self.path.open("rb") as raw:
            while chunk := raw.read(1 << 20):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return newlines + chunk[: max(0, exc.start - pending)].count(b"\n") + 1
                newlines += chunk.count(b"\n")
        return self._row + 1

    def _next_record(self) -> list[str] | None:
        try:
            record = next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError as exc:
            raise FileFormatError(self._decode_hint(), row=self._undecodable_line()) from exc
        except csv.Error as exc:
            raise FileFormatError(f"malformed CSV: {exc}", row=self._row + 1) from exc
        self._row += 1
        return record

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """Yield the data rows; rows with a wrong number of fields are reported, not guessed at."""
        width = len(self.header)
        batch = Batch([], [])
        try:
            while (record := self._next_record()) is not None:
                if len(record) != width:
                    if not any(cell.strip() for cell in record):
                        continue  # blank line
                    batch.problems.append(
                        (self._row, f"the row has {len(record)} fields but the header has {width}")
                    )
                    continue
                batch.rows.append([cell.strip() or None for cell in record])
                batch.row_numbers.append(self._row)
                if len(batch.rows) >= batch_rows:
                    yield batch
                    batch = Batch([], [])
            yield batch
        finally:
            self._handle.close()


def cell_text(value: Any) -> str | None:
    """A cell as the validator reads it: stripped text, None when empty or missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).strip() or None


class XlsxReader(TableReader):
    """The first worksheet of an .xlsx workbook, read in streaming mode."""

    def __init__(self, path: Path) -> None:
        from openpyxl import load_workbook  # imported late: only xlsx imports pay for it

        self.path = path
        if path.stat().st_size == 0:
            raise FileFormatError("the file is empty")
        if not zipfile.is_zipfile(path):
            raise FileFormatError("not an Excel .xlsx workbook")
        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            raise FileFormatError(f"cannot open the workbook: {exc}") from exc
        sheet = self._book.worksheets[0]
        self._rows = sheet.iter_rows(values_only=True)
        self._row = 0
        for values in self._rows:
            self._row += 1
            cells = [cell_text(v) for v in values]
            if any(cells):
                while cells and cells[-1] is None:
                    cells.pop()
                self.header = [c or "" for c in cells]
                break
        else:
            raise FileFormatError("the first worksheet is empty (no header row)")

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """Yield the data rows of the first worksheet."""
        width = len(self.header)
        batch = Batch([], [])
        try:
            for values in self._rows:
                self._row += 1
                cells = [cell_text(v) for v in values]
                if not any(cells):
                    continue
                extra = [c for c in cells[width:] if c is not None]
                if extra:
                    batch.problems.append(
                        (self._row, f"values beyond the {width} header columns: {extra[:3]}")
                    )
                    continue
                cells = (cells + [None] * width)[:width]
                batch.rows.append(cells)
                batch.row_numbers.append(self._row)
                if len(batch.rows) >= batch_rows:
                    yield batch
                    batch = Batch([], [])
            yield batch
        finally:
            self._book.close()


def _column_text(column: pa.ChunkedArray | pa.Array) -> list[str | None]:
    kind = column.type
    series = column.to_pandas()
    if pa.types.is_timestamp(kind):
        ts = pd.to_datetime(series)
        text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
        if kind.tz is not None:
            text = ts.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        return [None if pd.isna(v) else t for v, t in zip(series, text, strict=True)]
    return [cell_text(v) for v in series]


class ArrowReader(TableReader):
    """Typed Arrow columns, a slice of rows at a time: a Parquet file, or a table a connector read."""

    first_row = 2  # the row number of the first data row (a file's header is row 1)

    def _record_batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError  # pragma: no cover - abstract

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """Yield the rows as text cells, converted column by column in Arrow (no Python object per row)."""
        for record_batch, first_row in self.arrow_batches(batch_rows):
            yield self.text_batch(record_batch, first_row)

    def arrow_batches(self, batch_rows: int) -> Iterator[tuple[pa.RecordBatch, int]]:
        """The typed columns, a slice of rows at a time, with the row number of each slice's first row."""
        row = self.first_row
        for record_batch in self._record_batches(batch_rows):
            yield record_batch, row
            row += record_batch.num_rows

    def text_batch(self, batch: pa.RecordBatch, first_row: int) -> Batch:
        """A slice of rows as text cells."""
        columns = {i: _arrow_text(batch.column(i)) for i in range(batch.num_columns)}
        frame = pd.DataFrame(columns, dtype=object)
        frame.columns = pd.Index(self.header)
        return Batch([], list(range(first_row, first_row + batch.num_rows)), table=frame)


class ParquetReader(ArrowReader):
    """A Parquet file, read one row group slice at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise FileFormatError(f"not a readable Parquet file: {exc}") from exc
        self.header = list(self._file.schema_arrow.names)

    def _record_batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        yield from self._file.iter_batches(batch_size=batch_rows)


class TableRecordsReader(ArrowReader):
    """Records as an Arrow table (a connector's chunk): row 1 is the first record, as for RecordsReader."""

    first_row = 1

    def __init__(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            raise FileFormatError("no records")
        self.table = table
        self.header = list(table.column_names)

    def _record_batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        return iter(self.table.to_batches(max_chunksize=batch_rows))


def _arrow_text(column: pa.Array) -> Any:
    """A Parquet column as text cells (None when empty), as `cell_text` writes them, done in Arrow."""
    text = arrow_text(column)
    if text is None:  # decimals, lists, structs ...: value by value, as before
        return np.asarray(_column_text(column), dtype=object)
    return text.to_numpy(zero_copy_only=False)


def arrow_text(column: pa.Array) -> pa.Array | None:
    """A column as Arrow text (null when empty), as `cell_text` writes it; None for types it cannot do."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        micros = column.cast(pa.timestamp("us", kind.tz), safe=False)  # the store keeps microseconds
        if kind.tz is not None:
            utc = micros.cast(pa.timestamp("us", "UTC"))
            text = pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S+00:00")
        else:
            text = pc.strftime(micros, format="%Y-%m-%dT%H:%M:%S")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        trimmed = pc.utf8_trim_whitespace(column)
        text = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, kind), trimmed)
    elif pa.types.is_floating(kind):
        text = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column).cast(pa.string())
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_date(kind):
        text = column.cast(pa.string())
    else:
        return None
    return text.cast(pa.string())


class RecordsReader(TableReader):
    """Records handed over in memory (a REST batch): keys become the header, in first-seen order."""

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        seen: dict[str, None] = {}
        for number, record in enumerate(records, start=1):
            if not isinstance(record, Mapping):
                raise FileFormatError(f"record {number} is not an object", row=number)
            seen.update(dict.fromkeys(str(k) for k in record))
        if not records:
            raise FileFormatError("no records")
        self.records = records
        self.header = list(seen)

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """Yield the records as text cells; the row number is the record's position from 1.

        A nested value (object or array) or a non-finite number (JSON's NaN, Infinity) is refused with its
        record and key: neither has a place in a canonical column or an attribute.
        """
        for start in range(0, len(self.records), batch_rows):
            batch = Batch([], [])
            for number, record in enumerate(self.records[start : start + batch_rows], start=start + 1):
                wrong = [(str(k), why) for k, v in record.items() if (why := _refused(v))]
                if wrong:
                    batch.located += [(number, k, why) for k, why in wrong]
                    continue
                batch.rows.append([cell_text(record.get(name)) for name in self.header])
                batch.row_numbers.append(number)
            yield batch


def _refused(value: Any) -> str | None:
    if isinstance(value, Mapping | list | tuple):
        return "a nested value (object or array) is not accepted; send text, a number or true/false"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a number"
    return None


def open_table(path: Path, *, encoding: str | None = None) -> TableReader:
    """A reader for `path`, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return CsvReader(path, encoding=encoding).fast()
    if suffix == ".xlsx":
        return XlsxReader(path)
    if suffix == ".parquet":
        return ParquetReader(path)
    raise FileFormatError(f"unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}")
