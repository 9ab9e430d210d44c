"""Every kind of bad file is refused whole, with a message naming row and column, and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest.exceptions import IngestError
from churnradar.ingest.schemas import RowError
from churnradar.models import ImportRun
from tests.conftest import snapshot
from tests.ingest.test_import import CUSTOMERS, run, write

HEADER = "customer_id,ts,kind,amount,text\n"
TEN_MB = "x" * (10 * 1024 * 1024)

BAD_EVENTS = [
    pytest.param(
        "customer_id,kind,amount\nC1,order,5\n",
        None,
        None,
        "missing required column(s) ts for events; found customer_id, kind, amount",
        id="missing_required_column",
    ),
    pytest.param(
        "customer_id,timestamp,kind\nC1,2024-01-01,order\n",
        None,
        None,
        "missing required column(s) ts for events",
        id="missing_column_named_differently",
    ),
    pytest.param(
        HEADER + "C1,2024-01-01,order,5,\nC1,2024-13-45,order,5,\n",
        3,
        "ts",
        "'2024-13-45' is not an ISO 8601 time like 2024-03-01T09:30:00+08:00",
        id="unparseable_date",
    ),
    pytest.param(
        HEADER + "C1,2024-01-01,order,-5,\n",
        2,
        "amount",
        "'-5' is negative; it must be 0 or more",
        id="negative_amount",
    ),
    pytest.param(
        HEADER + "C1,2024-01-01,order,12abc,\n",
        2,
        "amount",
        "'12abc' is not a number",
        id="non_numeric_amount",
    ),
    pytest.param(
        HEADER + "C1,2024-01-01,order,5,\nC9,2024-01-02,order,5,\n",
        3,
        "customer_id",
        "unknown customer_id 'C9' (import it in customers first, or pass --create-missing-customers)",
        id="unknown_customer",
    ),
    pytest.param(
        "customer_id,ts,kind,event_id\nC1,2024-01-01,order,A\nC1,2024-01-02,order,B\nC1,2024-01-03,order,A\n",
        4,
        "event_id",
        "duplicate event_id 'A' (first at row 2)",
        id="duplicate_ids_in_file",
    ),
    pytest.param(HEADER + "C1,,order,5,\n", 2, "ts", "required value is empty", id="empty_required_value"),
    pytest.param(
        HEADER + "C1,2024-01-01,order,5\n",
        2,
        None,
        "the row has 4 fields but the header has 5",
        id="short_row",
    ),
    pytest.param(b"", None, None, "the file is empty (no header row)", id="empty_file"),
    pytest.param(b"\n\n  \n", None, None, "the file is empty (no header row)", id="blank_file"),
    pytest.param(
        HEADER + "C1,2024-01-01,complaint,," + TEN_MB + "\n",
        2,
        "text",
        "value is 10,485,760 characters long; the limit is 65,536",
        id="ten_mb_text_field",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        None,
        None,
        "not a CSV file: it contains binary data, not text",
        id="not_csv_at_all",
    ),
    pytest.param(
        b"PK\x03\x04" + bytes(100), None, None, "not a CSV file: it is a ZIP archive", id="xlsx_named_csv"
    ),
    pytest.param(
        "customer_id,ts,kind,kind\nC1,2024-01-01,order,order\n",
        None,
        None,
        "column 'kind' appears twice in the header (columns 3 and 4)",
        id="duplicate_header",
    ),
    pytest.param(
        (HEADER + "C1,2024-01-01,order,5,\n" * 20_000).encode()
        + "C1,2024-01-02,order,5,太慢\n".encode("gb18030"),
        20_002,
        None,
        "not valid utf-8 text; pass --encoding gb18030",
        id="wrong_encoding_after_sniffed_part",
    ),
]


@pytest.fixture
def baseline(engine: Engine, tmp_path: Path, settings: Settings) -> Engine:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(engine, tmp_path / "customers.csv", settings).ok
    return engine


def _first(errors: list[RowError]) -> RowError:
    assert errors, "expected at least one error"
    return errors[0]


@pytest.mark.parametrize(("content", "row", "column", "message"), BAD_EVENTS)
def test_bad_events_file_is_rejected_whole(
    baseline: Engine,
    tmp_path: Path,
    settings: Settings,
    content: str | bytes,
    row: int | None,
    column: str | None,
    message: str,
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    path = write(folder, "events.csv", content)
    before = snapshot(baseline)
    summary = run(baseline, path, settings)
    file = summary.files[0]
    assert file.status == "rejected"
    error = _first(file.errors)
    assert message in error.message, str(error)
    assert (error.row, error.column) == (row, column)
    assert error.file == "events.csv"
    assert snapshot(baseline) == before
    with baseline.connect() as conn:
        logged = conn.execute(
            select(ImportRun.status, ImportRun.errors).where(ImportRun.kind == "events")
        ).one()
    assert logged.status == "rejected"
    assert logged.errors["count"] == file.error_count


def test_declared_encoding_that_does_not_fit(baseline: Engine, tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path, "events.csv", HEADER + "C1,2024-01-02,complaint,,太慢了\n", encoding="gb18030")
    before = snapshot(baseline)
    file = run(baseline, path, settings, encoding="utf-8").files[0]
    assert (
        str(file.errors[0])
        == "events.csv row 2: not valid utf-8 text; pass --encoding gb18030 if the file was saved that way"
    )
    assert snapshot(baseline) == before
    assert run(baseline, path, settings).ok  # detected as GB18030 when not forced


def test_every_bad_row_is_listed(baseline: Engine, tmp_path: Path, settings: Settings) -> None:
    body = "".join(f"C1,2024-01-{d:02d},order,-{d},\n" for d in range(1, 11)) + "C1,nope,order,1,\n"
    path = write(tmp_path, "events.csv", HEADER + body)
    file = run(baseline, path, settings).files[0]
    assert file.error_count == 11
    assert file.rejected == 11
    assert [e.row for e in file.errors] == [*range(2, 12), 12]


def test_bad_rows_in_a_later_batch_roll_back_earlier_batches(
    baseline: Engine, tmp_path: Path, settings: Settings
) -> None:
    good = "".join(f"C1,2024-01-01T00:00:{i % 60:02d},login,,e{i}\n" for i in range(2_500))
    path = write(
        tmp_path, "events.csv", "customer_id,ts,kind,amount,event_id\n" + good + "C1,2024-01-02,order,x,\n"
    )
    before = snapshot(baseline)
    file = run(baseline, path, settings).files[0]
    assert (file.status, file.error_count, file.errors[0].row) == ("rejected", 1, 2_502)
    assert snapshot(baseline) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            "customer_id,signup_date\nA,2024-02-30\n", "'2024-02-30' is not an ISO 8601 date", id="bad_date"
        ),
        pytest.param("customer_id,status\nA,gone\n", "'gone' is not one of active, churned", id="bad_status"),
        pytest.param(
            "customer_id,status,churned_at\nA,active,2024-01-01\n",
            "status is active but churned_at",
            id="status_contradicts_churned_at",
        ),
        pytest.param(
            "customer_id\nA\nB\nA\n", "duplicate customer_id 'A' (first at row 2)", id="duplicate_customer"
        ),
        pytest.param(
            "customer_id\n" + "x" * 300 + "\n",
            "value is 300 characters long; the limit is 200",
            id="id_too_long",
        ),
    ],
)
def test_bad_customers(
    engine: Engine, tmp_path: Path, settings: Settings, content: str, message: str
) -> None:
    before = snapshot(engine)
    file = run(engine, write(tmp_path, "customers.csv", content), settings).files[0]
    assert file.status == "rejected"
    assert message in str(file.errors[0])
    assert snapshot(engine) == before


def test_contract_ending_before_it_starts(baseline: Engine, tmp_path: Path, settings: Settings) -> None:
    content = "contract_id,customer_id,start_date,end_date\nK1,C1,2024-05-01,2024-04-01\n"
    file = run(baseline, write(tmp_path, "contracts.csv", content), settings).files[0]
    assert str(file.errors[0]) == "contracts.csv row 2, column end_date: '2024-04-01' is before start_date"


def test_unknown_file_name_is_refused(engine: Engine, tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(IngestError, match="cannot tell what it holds"):
        run(engine, write(tmp_path, "orders.csv", HEADER), settings)


def test_value_errors_and_unknown_customers_are_reported_together(
    baseline: Engine, tmp_path: Path, settings: Settings
) -> None:
    content = HEADER + "C1,2024-01-01,order,-5,\nC9,2024-01-02,order,5,\nC1,2024-01-03,order,5,\n"
    file = run(baseline, write(tmp_path, "events.csv", content), settings).files[0]
    assert [str(e) for e in file.errors] == [
        "events.csv row 2, column amount: '-5' is negative; it must be 0 or more",
        "events.csv row 3, column customer_id: unknown customer_id 'C9' (import it in customers first, "
        "or pass --create-missing-customers)",
    ]
    assert file.rejected == 2
