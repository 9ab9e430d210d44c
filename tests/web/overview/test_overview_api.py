"""REST API for the overview: the page's panels as JSON, only those of the user's role, in their scope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import World, bearer
from tests.web.seed_risk import seed_risk


def test_the_panels_of_the_users_role_in_their_scope(
    world: World, anonymous: TestClient, token_for: Callable[..., str]
) -> None:
    seed_risk(world.engine)
    admin = anonymous.get("/api/v1/overview", headers=bearer(token_for("admin"))).json()
    assert {"alerts_levels", "data_health", "deadline_compliance", "recent_imports"} <= set(admin)
    assert admin["alerts_levels"]["levels"] == [["red", 2], ["orange", 1], ["yellow", 1]]
    assert admin["data_health"]["sources"][0]["source"] == "seed"
    rep = anonymous.get("/api/v1/overview", headers=bearer(token_for("rep_east"))).json()
    assert "data_health" not in rep
    assert "recent_imports" not in rep
    # The rep's own customers only, as on the page.
    assert rep["data_counts"]["counts"]["customers"] == 2
    assert rep["data_counts"]["counts"]["invoices"] == 4  # the lake's, in the rep's scope
    assert admin["data_counts"]["counts"]["invoices"] == 2 * 7
    assert rep["alerts_levels"]["levels"] == [["red", 1], ["orange", 0], ["yellow", 0]]
    assert [reason[0] for reason in rep["alerts_reasons"]["reasons"]] == ["order_gap"]
