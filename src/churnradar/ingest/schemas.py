"""The canonical import format (CONTRACT §2) as data, plus the summary and error shapes an import returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from churnradar.models.import_run import ImportStatus


class RecordKind(StrEnum):
    """What a file holds, taken from its name (`customers.csv`, `events.parquet`, ...)."""

    USERS = "users"
    CUSTOMERS = "customers"
    EVENTS = "events"
    CONTRACTS = "contracts"
    INVOICES = "invoices"


# A folder imports people first, then customers, then what refers to customers.
IMPORT_ORDER = (
    RecordKind.USERS,
    RecordKind.CUSTOMERS,
    RecordKind.EVENTS,
    RecordKind.CONTRACTS,
    RecordKind.INVOICES,
)


class ValueType(StrEnum):
    """How a column's text is parsed and checked."""

    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    NUMBER = "number"
    BOOLEAN = "boolean"


# Times and dates outside these bounds are typing slips (year 0, 20240 for 2024), and they break readers
# downstream. Like everything in `SPECS`, both event validators read them from here: the careful one
# (validate.py, with a message per problem) and the fast one (fast_events.py, Arrow, all or nothing).
TIME_RANGE = (datetime(1970, 1, 1), datetime(2100, 12, 31, 23, 59, 59, 999999))
DATE_RANGE = (datetime(1900, 1, 1), datetime(2999, 12, 31))


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its type, whether it is required, and its limits."""

    name: str
    type: ValueType = ValueType.TEXT
    required: bool = False
    max_length: int | None = 200
    non_negative: bool = False
    choices: tuple[str, ...] = ()
    lowercase: bool = False

    @property
    def range(self) -> tuple[datetime, datetime] | None:
        """The earliest and latest value a time or date column takes (both included); None for others."""
        if self.type is ValueType.TIMESTAMP:
            return TIME_RANGE
        return DATE_RANGE if self.type is ValueType.DATE else None


@dataclass(frozen=True)
class KindSpec:
    """The canonical columns of one record kind and the column(s) that identify a record."""

    kind: RecordKind
    columns: tuple[ColumnSpec, ...]
    key: str
    refers_to_customer: bool = True
    by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]


T, TS, D, N, B = ValueType.TEXT, ValueType.TIMESTAMP, ValueType.DATE, ValueType.NUMBER, ValueType.BOOLEAN
LONG_TEXT = None  # limited by settings.imports.max_text_chars instead

SPECS: dict[RecordKind, KindSpec] = {
    RecordKind.USERS: KindSpec(
        RecordKind.USERS,
        (
            ColumnSpec("login", required=True),
            ColumnSpec("email", max_length=320),
            ColumnSpec("phone", max_length=20),  # E.164; text messages go here, never to the e-mail
            ColumnSpec("display_name"),
            ColumnSpec("role", choices=("admin", "director", "manager", "rep"), lowercase=True),
            ColumnSpec("team"),
            ColumnSpec("manager"),
        ),
        key="login",
        refers_to_customer=False,
    ),
    RecordKind.CUSTOMERS: KindSpec(
        RecordKind.CUSTOMERS,
        (
            ColumnSpec("customer_id", required=True),
            ColumnSpec("name", max_length=500),
            ColumnSpec("owner"),
            ColumnSpec("team"),
            ColumnSpec("segment"),
            ColumnSpec("industry", max_length=100, lowercase=True),
            ColumnSpec("tier", max_length=100, lowercase=True),
            ColumnSpec("signup_date", D),
            ColumnSpec("status", choices=("active", "churned"), lowercase=True),
            ColumnSpec("churned_at", D),
            ColumnSpec("churn_reason", max_length=1000),
        ),
        key="customer_id",
        refers_to_customer=False,
    ),
    RecordKind.EVENTS: KindSpec(
        RecordKind.EVENTS,
        (
            ColumnSpec("customer_id", required=True),
            ColumnSpec("ts", TS, required=True),
            ColumnSpec("kind", required=True, max_length=64, lowercase=True),
            ColumnSpec("event_id"),
            ColumnSpec("amount", N, non_negative=True),
            ColumnSpec("value", N),
            ColumnSpec("quantity", N),
            ColumnSpec("channel", max_length=64, lowercase=True),
            ColumnSpec("direction", choices=("in", "out"), lowercase=True),
            ColumnSpec("text", max_length=LONG_TEXT),
        ),
        key="event_id",
    ),
    RecordKind.CONTRACTS: KindSpec(
        RecordKind.CONTRACTS,
        (
            ColumnSpec("contract_id", required=True),
            ColumnSpec("customer_id", required=True),
            ColumnSpec("start_date", D, required=True),
            ColumnSpec("end_date", D, required=True),
            ColumnSpec("value", N, non_negative=True),
            ColumnSpec("status", max_length=64, lowercase=True),
            ColumnSpec("auto_renew", B),
        ),
        key="contract_id",
    ),
    RecordKind.INVOICES: KindSpec(
        RecordKind.INVOICES,
        (
            ColumnSpec("invoice_id", required=True),
            ColumnSpec("customer_id", required=True),
            ColumnSpec("due_date", D, required=True),
            ColumnSpec("amount", N, required=True, non_negative=True),
            ColumnSpec("issued_at", TS),
            ColumnSpec("paid_at", TS),
            ColumnSpec("paid_amount", N, non_negative=True),
        ),
        key="invoice_id",
    ),
}


class RowError(BaseModel):
    """One problem with one value: where it is and what is wrong, in words."""

    file: str
    row: int | None = None
    column: str | None = None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class FileSummary(BaseModel):
    """What importing one file did (or would have done, when rejected)."""

    file: str
    kind: RecordKind
    status: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged_duplicates: int = 0
    created_customers: int = 0
    created_users: int = 0
    owner_changes: int = 0
    error_count: int = 0
    errors: list[RowError] = []


class ImportSummary(BaseModel):
    """The result of `churnradar import`: one entry per file, and totals."""

    files: list[FileSummary]

    @property
    def ok(self) -> bool:
        """True when every file was accepted."""
        return all(f.status == ImportStatus.SUCCEEDED for f in self.files)

    def totals(self) -> dict[str, int]:
        """Counts summed over all files."""
        keys = ("rows", "inserted", "updated", "unchanged", "rejected")
        return {k: sum(int(getattr(f, k)) for f in self.files) for k in keys}
