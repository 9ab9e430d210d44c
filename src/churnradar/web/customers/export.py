"""List exports (customers, the risk list) as CSV (UTF-8 with BOM, so Excel opens Chinese text) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from pydantic import BaseModel

COLUMNS = ("customer_id", "name", "owner", "team", "segment", "industry", "tier", "status", "signup_date")
# A cell starting with one of these is a formula to Excel: quote it so an exported name cannot run one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Decimals each number column is exported with, by what it means (a score of 0-100 and its change: one).
DECIMALS = {"health_score": 1, "health_change": 1}
# A column whose people-facing value is another field: the owner's display name, else the login.
SHOWN_AS = {"owner": ("owner_name", "owner")}
# Excel column widths in characters, by what the column holds; others fit their heading.
WIDTHS = {"name": 32, "reasons_en": 60, "reasons_zh": 48, "owner": 18, "team": 16, "industry": 16}
MIN_WIDTH, MAX_WIDTH = 10, 60


def _cell(value: object, decimals: int | None = None) -> str | int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number stays a number (a negative one is no formula), rounded as its column says.
        return round(value, decimals) if decimals is not None and isinstance(value, float) else value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _value(row: BaseModel, column: str) -> object:
    for field in SHOWN_AS.get(column, (column,)):
        value = getattr(row, field, None)
        if value is not None:
            return value
    return None


def _values(row: BaseModel, columns: Sequence[str]) -> list[str | int | float]:
    return [_cell(_value(row, column), DECIMALS.get(column)) for column in columns]


def _width(column: str, heading: str) -> int:
    # A CJK character is about two columns wide in Excel.
    shown = sum(2 if ord(ch) > 0x2E80 else 1 for ch in heading) + 2
    return min(MAX_WIDTH, max(MIN_WIDTH, WIDTHS.get(column, 0), shown))


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
    headings = [header(c) for c in columns]
    for index, (column, heading) in enumerate(zip(columns, headings, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(column, heading)
    sheet.append(headings)
    for row in rows:
        sheet.append(_values(row, columns))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
