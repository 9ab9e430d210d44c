"""The web form of each connector kind, without a browser: inputs to a definition (blank inputs left out,
a record kind read only when its inputs are filled) and a stored source back to the same inputs."""

from __future__ import annotations

from datetime import datetime

import pytest

from churnradar.source import service
from churnradar.source.exceptions import SourceDefinitionError
from churnradar.source.schemas import SourceView


def _round_trip(kind: str, form: dict[str, str]) -> dict[str, str | bool]:
    definition = service.definition_from(kind, form)
    view = SourceView(**definition.model_dump(exclude={"secrets"}), secrets={})
    return service.form_values_of(view)


def test_sql_form_reads_only_the_kinds_given_and_comes_back_the_same() -> None:
    form = {
        "name": "erp",
        "schedule": "",
        "enabled": "on",
        "secrets.url": "postgresql+psycopg://erp:pw@127.0.0.1/erp",
        "options.queries.customers": "SELECT code AS customer_id, title AS name FROM clients",
        "options.cursor.customers": "changed_at",
        "options.queries.events": "",
        "options.cursor.events": "",
        "mapping": "columns:\n  客户编号: customer_id\n",
    }
    definition = service.definition_from("sql", form)
    assert definition.options == {
        "queries": {"customers": form["options.queries.customers"]},
        "cursor": {"customers": "changed_at"},
    }
    assert definition.schedule is None
    assert definition.enabled is True
    assert definition.mapping == {"columns": {"客户编号": "customer_id"}}
    assert definition.secrets["url"].get_secret_value() == form["secrets.url"]
    values = _round_trip("sql", form)
    assert values["options.queries.customers"] == form["options.queries.customers"]
    assert values["options.cursor.customers"] == "changed_at"
    assert "secrets.url" not in values  # a secret never goes back into the form
    assert "options.queries.events" not in values


def test_the_sql_forms_chunk_size_is_kept_when_the_source_is_saved_again() -> None:
    form = {
        "name": "erp",
        "secrets.url": "postgresql+psycopg://erp:pw@127.0.0.1/erp",
        "options.queries.events": "SELECT * FROM events",
        "options.chunk_rows": "250000",
    }
    assert int(service.definition_from("sql", form).options["chunk_rows"]) == 250_000
    assert _round_trip("sql", form)["options.chunk_rows"] == "250000"


def test_folder_and_rest_forms_locate_their_problems() -> None:
    folder = service.definition_from(
        "folder", {"name": "drop", "options.path": "/srv/drop", "options.kind": "events"}
    )
    assert folder.options == {"path": "/srv/drop", "kind": "events"}
    assert folder.enabled is False  # an unticked box says so

    with pytest.raises(SourceDefinitionError) as refused:
        service.definition_from(
            "rest",
            {
                "name": "crm",
                "options.base_url": "http://127.0.0.1:9",
                "options.endpoints.events.sorted": "on",  # a box alone does not make a kind read
                "options.endpoints.customers.params": "- not a mapping",
                "options.retries": "-1",
            },
        )
    located = dict(refused.value.problems)
    assert set(located) == {"options.endpoints.customers.params", "options.retries", "options.endpoints"}


def test_next_runs_in_the_configured_zone() -> None:
    # Friday 2026-12-04 23:00 UTC is Saturday 07:00 in Shanghai: weekdays at 06:00 there start on Monday.
    runs = service.next_runs("0 6 * * 1-5", "Asia/Shanghai", datetime(2026, 12, 4, 23, 0), count=3)
    assert runs == [datetime(2026, 12, 6, 22, 0), datetime(2026, 12, 7, 22, 0), datetime(2026, 12, 8, 22, 0)]
    with pytest.raises(ValueError, match="61"):
        service.next_runs("61 * * * *", "UTC", datetime(2026, 12, 4))
