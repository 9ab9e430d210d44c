"""The SQL connector's incremental query on MySQL and SQL Server, compiled by their dialects (no server
needed: nothing connects until a sync reads): the cursor column quoted the dialect's way, the last value a
bound parameter, rows in cursor order."""

from __future__ import annotations

from datetime import datetime

import pytest

from churnradar.ingest.schemas import RecordKind
from churnradar.source.connectors.sql import SqlConnector, SqlOptions

QUERY = "SELECT id AS customer_id, name, `updated at` FROM accounts"


@pytest.mark.parametrize(
    ("url", "quoted", "marker"),
    [
        ("mysql+pymysql://crm:pw@127.0.0.1:3306/crm", "`updated at`", "%(cursor)s"),
        ("mssql+pymssql://crm:pw@127.0.0.1:1433/crm", "[updated at]", "%(cursor)s"),
    ],
)
def test_incremental_query_per_dialect(url: str, quoted: str, marker: str) -> None:
    pytest.importorskip(url.split("+")[1].split(":")[0])  # the mysql / mssql extra
    options = SqlOptions.model_validate(
        {"queries": {"customers": QUERY}, "cursor": {"customers": "updated at"}}
    )
    connector = SqlConnector("crm", options, {"url": url})
    try:
        after = datetime(2026, 11, 1, 8, 30)
        compiled = connector._select(RecordKind.CUSTOMERS, after).compile(dialect=connector.engine.dialect)
        sql = " ".join(str(compiled).split())
        assert sql.endswith(f"FROM ({QUERY}) AS src WHERE {quoted} > {marker} ORDER BY {quoted}")
        assert compiled.params == {"cursor": after}
        first = connector._select(RecordKind.CUSTOMERS, None).compile(dialect=connector.engine.dialect)
        assert "WHERE" not in str(first)
        assert str(first).strip().endswith(f"ORDER BY {quoted}")
    finally:
        connector.close()
