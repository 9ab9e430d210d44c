"""The lake's tables and their Arrow schemas: one definition that writers, readers and the upgrade share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did to the target: rows inserted, updated, and source rows that changed nothing."""

    inserted: int
    updated: int
    unchanged: int


class LakeTable(StrEnum):
    """A Delta table of the lake, by its folder name."""

    EVENTS = "events"
    INVOICES = "invoices"
    SNAPSHOTS = "indicator_snapshots"


# An event's identity: a customer's (kind, event key). Another customer's event with the same source id is
# another event, so nobody can overwrite or move rows of customers outside their scope by reusing an id.
EVENT_KEY = ("customer_id", "kind", "event_key")

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.int64(), nullable=False),
        pa.field("ts", pa.timestamp("us"), nullable=False),  # naive UTC
        pa.field("kind", pa.string(), nullable=False),
        pa.field("event_key", pa.string(), nullable=False),
        pa.field("amount", pa.float64()),
        pa.field("value", pa.float64()),
        pa.field("quantity", pa.float64()),
        pa.field("channel", pa.string()),
        pa.field("direction", pa.string()),
        pa.field("text", pa.string()),
        pa.field("user", pa.string()),  # attributes' `user`, kept as a column for the indicators
        pa.field("attributes", pa.string()),  # the other extra columns, a JSON object
        pa.field("import_id", pa.int64()),
    ]
)

# The columns that make two rows of the same event differ (an import updates a stored event when one does).
EVENT_VALUES = tuple(f.name for f in EVENTS_SCHEMA if f.name not in (*EVENT_KEY, "import_id"))

# An invoice's identity is its source id, as in the store before the lake: a re-import with another
# customer moves it (only an admin's file import writes invoices).
INVOICE_KEY = ("invoice_id",)

INVOICES_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.int64(), nullable=False),
        pa.field("invoice_id", pa.string(), nullable=False),
        pa.field("due_date", pa.date32(), nullable=False),
        pa.field("amount", pa.float64(), nullable=False),
        pa.field("issued_at", pa.timestamp("us")),  # naive UTC
        pa.field("paid_at", pa.timestamp("us")),
        pa.field("paid_amount", pa.float64()),
        pa.field("attributes", pa.string()),  # the file's extra columns, a JSON object
        pa.field("import_id", pa.int64()),
    ]
)
INVOICE_VALUES = tuple(f.name for f in INVOICES_SCHEMA if f.name not in (*INVOICE_KEY, "import_id"))

# Indicator snapshots are wide: customer_id, as_of (the partition), then one float64 column per indicator.
SNAPSHOT_KEY = ("customer_id", "as_of")
