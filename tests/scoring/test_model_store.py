"""A trained model stored and loaded back on SQLite and PostgreSQL: same scores, one active, plain numbers."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from churnradar.models import ChurnModel, Customer, CustomerScore
from churnradar.scoring import service
from churnradar.scoring.model import train
from tests.scoring.test_model_units import _synthetic


def test_save_load_and_scores(engine: Engine) -> None:
    data = _synthetic()
    trained = train(data, ["signal", "noise"], horizon_days=28)
    kwargs = {
        "horizon_days": 28,
        "inactivity_days": 28,
        "metrics": trained.metrics,
        "at": datetime(2025, 11, 1),
    }
    assert service.save_model(engine, trained, **kwargs) == 1
    assert service.save_model(engine, trained, **kwargs) == 2
    with engine.connect() as conn:
        rows = conn.execute(select(ChurnModel.version, ChurnModel.active, ChurnModel.calibrator)).all()
    assert sorted((v, a) for v, a, _ in rows) == [(1, False), (2, True)]
    assert all(isinstance(c["x"], list) for _, _, c in rows)  # numbers, not a pickled object
    loaded = service.active_model(engine)
    assert loaded is not None
    assert loaded.version == 2
    sample = data.head(200)
    assert np.allclose(loaded.scorer.predict(sample), trained.scorer.predict(sample))
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"id": i, "external_id": f"c{i}"} for i in range(1, 4)])
    table = sample.head(3).assign(customer_id=[1, 2, 3])
    scores = service.score_table(loaded, table)
    with engine.begin() as conn:
        service.replace_scores(conn, scores, as_of=date(2025, 11, 1), version=2)
    with engine.connect() as conn:
        stored = conn.execute(select(CustomerScore).order_by(CustomerScore.customer_id)).all()
    assert [s.customer_id for s in stored] == [1, 2, 3]
    assert np.allclose([s.churn_probability for s in stored], scores["churn_probability"], atol=1e-6)
    assert [r["version"] for r in service.model_rows(engine)] == [2, 1]
