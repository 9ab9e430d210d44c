"""List exports (customers, the risk list) as CSV (UTF-8 with BOM, so Excel opens Chinese text) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence

from openpyxl import Workbook
from pydantic import BaseModel

COLUMNS = ("customer_id", "name", "owner", "team", "segment", "industry", "tier", "status", "signup_date")
# A cell starting with one of these is a formula to Excel: quote it so an exported name cannot run one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str | int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # a number stays a number (a negative one is no formula)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _values(row: BaseModel, columns: Sequence[str]) -> list[str | int | float]:
    return [_cell(getattr(row, column)) for column in columns]


def csv_chunks(
    rows: Iterable[BaseModel], header: Callable[[str], str], columns: Sequence[str] = COLUMNS
) -> Iterator[bytes]:
    """The CSV file in chunks: `columns` of each row, header translated by `header`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([header(c) for c in columns])
    for number, row in enumerate(rows, start=1):
        writer.writerow(_values(row, columns))
        if number % 1_000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_bytes(
    rows: Iterable[BaseModel],
    header: Callable[[str], str],
    columns: Sequence[str] = COLUMNS,
    sheet_name: str = "customers",
) -> bytes:
    """The XLSX workbook, one sheet: `columns` of each row, header translated by `header`."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    sheet.append([header(c) for c in columns])
    for row in rows:
        sheet.append(_values(row, columns))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
