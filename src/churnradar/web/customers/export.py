"""Customer list exports as CSV (UTF-8 with BOM, so Excel opens Chinese text) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from openpyxl import Workbook

from churnradar.web.customers.schemas import CustomerRow

COLUMNS = ("customer_id", "name", "owner", "team", "segment", "industry", "tier", "status", "signup_date")
# A cell starting with one of these is a formula to Excel: quote it so an exported name cannot run one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _values(row: CustomerRow) -> list[str]:
    return [_cell(getattr(row, column)) for column in COLUMNS]


def csv_chunks(rows: Iterable[CustomerRow], header: Callable[[str], str]) -> Iterator[bytes]:
    """The CSV file in chunks, header translated by `header`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([header(c) for c in COLUMNS])
    for number, row in enumerate(rows, start=1):
        writer.writerow(_values(row))
        if number % 1_000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_bytes(rows: Iterable[CustomerRow], header: Callable[[str], str]) -> bytes:
    """The XLSX workbook, one sheet, header translated by `header`."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("customers")
    sheet.append([header(c) for c in COLUMNS])
    for row in rows:
        sheet.append(_values(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
