"""The effectiveness report's figures on five customers and five alerts, each worked out by hand."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.effectiveness.alert_precision import ReviewPolicy, alert_outcomes
from churnradar.effectiveness.churn import before_after, churn_dates, monthly_churn
from churnradar.effectiveness.service import effectiveness_report
from churnradar.models import Alert, AlertEvent, Contract, Customer
from tests.conftest import store_events

UNTIL = date(2025, 6, 1)
D = pd.Timestamp
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 4, 5],
        "signup_date": [D("2025-01-01"), D("2025-01-01"), D("2025-01-15"), D("2024-12-01"), pd.NaT],
        "churned_at": [D("2025-03-10"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
    }
)
# 1 declared lost on 2025-03-10; 2 lets its only contract lapse on 2025-04-30; 3 goes silent after
# 2025-02-10 (lost 30 days later, 2025-03-12); 4 and 5 stay active (5 has no signup date: first seen
# 2025-02-01).
CONTRACTS = pd.DataFrame({"customer_id": [2], "start_date": [D("2025-01-01")], "end_date": [D("2025-04-30")]})
ACTIVITY = pd.DataFrame(
    {
        "customer_id": [3, 3, 4, 4, 5, 5],
        "day": [
            D(d) for d in ("2025-01-20", "2025-02-10", "2024-12-05", "2025-05-25", "2025-02-01", "2025-05-20")
        ],
    }
)
# (customer, rule, highest level, opened on): stored in the store tests, which have no evaluation run.
ALERTS = pd.DataFrame(
    [
        (3, "r1", "red", date(2025, 2, 20)),
        (4, "r1", "yellow", date(2025, 3, 1)),
        (1, "r2", "yellow", date(2025, 3, 5)),
        (5, "r2", "yellow", date(2025, 5, 20)),
        (1, "r1", "orange", date(2025, 1, 1)),
    ],
    columns=["customer_id", "rule", "level", "opened_on"],
)


def _dates() -> pd.DataFrame:
    return churn_dates(CUSTOMERS, ACTIVITY, CONTRACTS, until=UNTIL, inactivity_days=30)


def test_churn_dates() -> None:
    churn = _dates()["churn_date"]
    assert churn.to_dict() == {
        1: D("2025-03-10"),
        2: D("2025-04-30"),
        3: D("2025-03-12"),
        4: churn[4],
        5: churn[5],
    }
    assert churn[[4, 5]].isna().all()


def test_churn_rate_per_month_and_before_after() -> None:
    months = monthly_churn(_dates(), start=date(2025, 1, 1), until=date(2025, 5, 20))
    got = [(m["month"], m["active_at_start"], m["lost"], m["churn_rate"], m["complete"]) for m in months]
    assert got == [
        ("2025-01", 1, 0, 0.0, True),  # only 4 joined before 1 January
        ("2025-02", 4, 0, 0.0, True),  # 1-4 (5 first seen 1 February)
        ("2025-03", 5, 2, 0.4, True),  # 1-5; 1 and 3 lost
        ("2025-04", 3, 1, 0.3333, True),  # 2, 4, 5; 2 lost
        ("2025-05", 2, 0, 0.0, False),  # 4 and 5; the month is not over on 20 May
    ]
    change = before_after(months, date(2025, 3, 15))
    assert change is not None
    assert change["before"] == {"months": 2, "active_months": 5, "lost": 0, "churn_rate": 0.0}
    assert change["after"] == {"months": 2, "active_months": 8, "lost": 3, "churn_rate": 0.375}
    assert change["change"] == 0.375


def test_precision_recall_and_lead_on_judged_dates_with_pending_beside() -> None:
    # Evaluations on 1 and 8 March (judged: 30 days passed by 1 June) and 20 May (pending).
    d1, d2, late = date(2025, 3, 1), date(2025, 3, 8), date(2025, 5, 20)
    labels = pd.DataFrame(
        [
            (1, d1, True, D("2025-03-10")), (2, d1, False, pd.NaT), (3, d1, False, pd.NaT),
            (1, d2, True, D("2025-03-10")), (2, d2, False, pd.NaT), (3, d2, False, pd.NaT),
            (2, late, False, pd.NaT), (3, late, False, pd.NaT),
        ],
        columns=["customer_id", "as_of", "churned", "churn_date"],
    )  # fmt: skip
    # 1: r1 yellow on d1, red from d2; 2: r1 yellow on d1, resolved on d2; 3: r2 orange on the pending date.
    alerts = pd.DataFrame(
        [(1, 1, "r1", d1, None), (2, 2, "r1", d1, d2), (3, 3, "r2", late, None)],
        columns=["alert_id", "customer_id", "rule", "opened_on", "resolved_on"],
    )
    changes = pd.DataFrame(
        [(1, d1, "yellow"), (2, d1, "yellow"), (1, d2, "red"), (3, late, "orange")],
        columns=["alert_id", "as_of", "level"],
    )
    report = alert_outcomes(
        alerts, changes, labels, [d1, d2, late], ("yellow", "orange", "red"), horizon_days=30, until=UNTIL,
        review=ReviewPolicy(min_alerts=2, max_precision=0.7),
    )  # fmt: skip
    # Judged snapshots: 6; alerted: 1 on d1 and d2 (churned 10 March), 2 on d1 (stayed).
    assert report["overall"] == {
        "alerts": 3, "precision": 0.6667, "recall": 1.0, "median_lead_days": 9.0,
        "pending": 1, "customer_snapshots": 6, "base_rate": 0.3333,
    }  # fmt: skip
    levels = {r["level"]: r for r in report["levels"]}
    assert [r["level"] for r in report["levels"]] == ["red", "orange", "yellow"]
    assert (levels["red"]["alerts"], levels["red"]["precision"], levels["red"]["recall"]) == (1, 1.0, 0.5)
    assert (levels["orange"]["alerts"], levels["orange"]["precision"], levels["orange"]["pending"]) == (
        0,
        None,
        1,
    )
    assert (levels["yellow"]["alerts"], levels["yellow"]["precision"]) == (2, 0.5)
    rules = {r["rule"]: r for r in report["rules"]}
    assert (rules["r1"]["alerts"], rules["r1"]["precision"], rules["r1"]["pending"]) == (2, 0.6667, 0)
    assert (rules["r2"]["alerts"], rules["r2"]["precision"], rules["r2"]["pending"]) == (0, None, 1)
    assert report["review"]["flagged"] == ["r1"]
    assert report["dates"] == {
        "judged": 2, "pending": 1, "first": "2025-03-01", "last_judged": "2025-03-08",
        "first_pending": "2025-05-20", "next_judged_on": "2025-06-19", "judged_until": "2025-05-02",
    }  # fmt: skip


def _store(engine: Engine, *, contracts: bool = True) -> None:
    """The same five customers and alerts in the store (alert 5 opened yellow, escalated to orange)."""
    rows = CUSTOMERS.assign(
        id=CUSTOMERS["customer_id"],
        external_id=CUSTOMERS["customer_id"].astype(str),
        signup_date=[d.date() if pd.notna(d) else None for d in CUSTOMERS["signup_date"]],
        churned_at=[d.date() if pd.notna(d) else None for d in CUSTOMERS["churned_at"]],
    ).drop(columns="customer_id")
    at = datetime(2025, 6, 1)
    with engine.begin() as conn:
        conn.execute(insert(Customer), rows.to_dict("records"))
        if contracts:
            conn.execute(
                insert(Contract),
                [
                    {
                        "external_id": "c2",
                        "customer_id": 2,
                        "start_date": date(2025, 1, 1),
                        "end_date": date(2025, 4, 30),
                    }
                ],
            )
    store_events(
        engine,
        [
            {"customer_id": int(c), "ts": d.to_pydatetime(), "kind": "login", "event_key": f"{c}-{d.date()}"}
            for c, d in ACTIVITY.itertuples(index=False, name=None)
        ],
    )
    with engine.begin() as conn:
        for number, (customer, rule, level, opened) in enumerate(
            ALERTS.itertuples(index=False, name=None), 1
        ):
            first = "yellow" if level == "orange" else level
            conn.execute(
                insert(Alert).values(
                    id=number, customer_id=customer, rule=rule, template="general", level=first,
                    status="open", opened_on=opened, last_fired_on=opened, last_evaluated_on=opened,
                    false_streak=0, reason_en="", reason_zh="",
                )
            )  # fmt: skip
            conn.execute(
                insert(AlertEvent).values(
                    alert_id=number, as_of=opened, at=at, kind="opened", to_level=first, cause=""
                )
            )
            if level != first:
                conn.execute(
                    insert(AlertEvent).values(
                        alert_id=number, as_of=opened, at=at, kind="escalated", from_level=first,
                        to_level=level, cause="",
                    )
                )  # fmt: skip


def test_report_from_the_store_and_cli(engine: Engine) -> None:
    _store(engine)
    report = effectiveness_report(
        engine, until=UNTIL, go_live=date(2025, 3, 15), horizon_days=30, inactivity_days=30,
        review=ReviewPolicy(min_alerts=3, max_precision=0.4),
    )  # fmt: skip
    assert report["warnings"] is None  # alerts, but no evaluation run to judge them on
    # Months start once 30 days have passed since the first recorded activity (2024-12-05): February to May.
    assert [m["month"] for m in report["churn_by_month"]] == ["2025-02", "2025-03", "2025-04", "2025-05"]
    assert report["before_after"]["before"] == {"months": 1, "active_months": 4, "lost": 0, "churn_rate": 0.0}
    assert report["before_after"]["after"] == {"months": 3, "active_months": 10, "lost": 3, "churn_rate": 0.3}
    assert report["save_rate"]["available"] is False
    if engine.dialect.name != "sqlite":
        return
    result = CliRunner().invoke(
        app,
        ["--db", engine.url.render_as_string(hide_password=False), "report", "effectiveness", "--go-live",
         "2025-03-15", "--until", "2025-06-01", "--horizon", "30", "--inactivity", "30", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["before_after"] == report["before_after"]


def test_churn_dates_of_an_orders_only_base_without_contracts() -> None:
    churn = churn_dates(CUSTOMERS, ACTIVITY, CONTRACTS.iloc[0:0], until=UNTIL, inactivity_days=30)[
        "churn_date"
    ]
    # 2 has neither a contract nor activity: nothing dates a churn; the others as with contracts.
    assert churn.isna().to_dict() == {1: False, 2: True, 3: False, 4: True, 5: True}
    assert (churn[1], churn[3]) == (D("2025-03-10"), D("2025-03-12"))


def test_report_of_a_store_without_contracts(engine: Engine) -> None:
    _store(engine, contracts=False)
    report = effectiveness_report(
        engine, until=UNTIL, go_live=date(2025, 3, 15), horizon_days=30, inactivity_days=30,
        review=ReviewPolicy(min_alerts=3, max_precision=0.4),
    )  # fmt: skip
    assert [m["month"] for m in report["churn_by_month"]] == ["2025-02", "2025-03", "2025-04", "2025-05"]
    # Lost: 1 (declared, March) and 3 (silent, March); 2 is no longer lost in April without its contract.
    assert [m["lost"] for m in report["churn_by_month"]] == [0, 2, 0, 0]
