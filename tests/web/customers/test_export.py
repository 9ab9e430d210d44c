"""Exports as people read them: numbers rounded by what they mean, owners by name, Excel columns sized."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from pydantic import BaseModel

from churnradar.web.customers import export

COLUMNS = ("customer_id", "name", "health_score", "health_change", "open_alerts", "owner", "reasons_zh")
HEADINGS = {"reasons_zh": "原因"}


class Row(BaseModel):
    customer_id: str
    name: str | None
    health_score: float | None
    health_change: float | None
    open_alerts: int
    owner: str | None
    owner_name: str | None
    reasons_zh: str | None


ROWS = [
    Row(
        customer_id="E-001",
        name="Eastwind Trading",
        health_score=41.666666666666664,
        health_change=0.7000000000000028,
        open_alerts=3,
        owner="rep_east",
        owner_name="Rep East",
        reasons_zh="75 天未下单",
    ),
    Row(
        customer_id="E-002",
        name="=HYPERLINK(1)",
        health_score=None,
        health_change=-2.25,
        open_alerts=0,
        owner="rep_nameless",
        owner_name=None,
        reasons_zh=None,
    ),
]


def _heading(column: str) -> str:
    return HEADINGS.get(column, column.replace("_", " ").capitalize())


def test_csv_rounds_by_meaning_and_names_owners() -> None:
    text = b"".join(export.csv_chunks(ROWS, _heading, COLUMNS)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["E-001", "Eastwind Trading", "41.7", "0.7", "3", "Rep East", "75 天未下单"]
    # No display name: the login; a formula-like name stays quoted; a blank stays blank.
    assert rows[2] == ["E-002", "'=HYPERLINK(1)", "", "-2.2", "0", "rep_nameless", ""]


def test_excel_keeps_numbers_rounded_and_sizes_its_columns() -> None:
    workbook = load_workbook(io.BytesIO(export.xlsx_bytes(ROWS, _heading, COLUMNS, "high-risk")))
    sheet = workbook.active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[1][2:6] == [41.7, 0.7, 3, "Rep East"]
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFG"}
    assert widths["B"] == 32  # names
    assert widths["F"] == 18  # owners
    assert widths["G"] == 48  # Chinese reasons
    assert widths["A"] == len("Customer id") + 2
    assert widths["D"] == len("Health change") + 2  # fits its heading
