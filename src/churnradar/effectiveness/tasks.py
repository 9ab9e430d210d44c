"""What the intervention work achieved: task outcomes by playbook action, owner and team; deadline compliance.

A task's outcome is what the person closing it recorded (retained, churned, false alarm, unreachable).
*Saved share* = retained / closed tasks that were not false alarms (a false alarm had nothing to save).
An action counts for a task when any follow-up of the task ticked it in the playbook's checklist.
*Deadline compliance* per month of the deadline: tasks closed by their deadline / tasks whose deadline has
passed by `until` (the deadline as it stands, after upgrades and snoozes moved it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from churnradar.intervention.schemas import Outcome

OUTCOMES = [o.value for o in Outcome]
TASK_COLUMNS = [
    "task_id",
    "customer_id",
    "owner",
    "team",
    "status",
    "outcome",
    "opened_at",
    "deadline_at",
    "closed_at",
    "playbook",
]


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _figures(tasks: pd.DataFrame) -> dict[str, Any]:
    counts = {o: int((tasks["outcome"] == o).sum()) for o in OUTCOMES}
    closed = int((tasks["status"] == "closed").sum())
    return {
        "tasks": len(tasks),
        "open": len(tasks) - closed,
        "closed": closed,
        **counts,
        "saved_share": _ratio(counts["retained"], closed - counts["false_alarm"]),
    }


def _grouped(tasks: pd.DataFrame, column: str, name: str) -> list[dict[str, Any]]:
    rows = [
        {name: str(key) or None, **_figures(group)}
        for key, group in tasks.assign(_key=tasks[column].fillna("")).groupby("_key", sort=True)
    ]
    return sorted(rows, key=lambda r: (-r["tasks"], r[name] or ""))


def actions_done(tasks: pd.DataFrame, follow_ups: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, playbook action) ticked by a follow-up: task_id, action_en, action_zh."""
    ticked = (
        follow_ups[["task_id", "actions_done"]].explode("actions_done").dropna().drop_duplicates()
        if len(follow_ups)
        else pd.DataFrame(columns=["task_id", "actions_done"])
    )
    books = tasks.set_index("task_id")["playbook"]
    rows = []
    for task_id, position in ticked.itertuples(index=False, name=None):
        book = books.get(task_id) or {}
        english, chinese = book.get("actions_en") or [], book.get("actions_zh") or []
        if int(position) < len(english):
            index = int(position)
            chinese_text = chinese[index] if index < len(chinese) else english[index]
            rows.append((task_id, english[index], chinese_text))
    return pd.DataFrame(rows, columns=["task_id", "action_en", "action_zh"])


def by_action(tasks: pd.DataFrame, follow_ups: pd.DataFrame) -> list[dict[str, Any]]:
    """Outcomes of the tasks on which each playbook action was done (a task may count for several)."""
    done = actions_done(tasks, follow_ups)
    rows = []
    for (english, chinese), group in done.groupby(["action_en", "action_zh"], sort=True):
        chosen = tasks[tasks["task_id"].isin(group["task_id"])]
        rows.append({"action": str(english), "action_zh": str(chinese), **_figures(chosen)})
    return sorted(rows, key=lambda r: (-r["tasks"], r["action"]))


def deadline_compliance(tasks: pd.DataFrame, *, until: date) -> list[dict[str, Any]]:
    """Per month of the deadline: tasks due (deadline passed by `until`), closed on time, and the share."""
    cut = pd.Timestamp(until)
    deadline = pd.to_datetime(tasks["deadline_at"])
    closed = pd.to_datetime(tasks["closed_at"])
    due = tasks.assign(_deadline=deadline, _on_time=closed.notna() & (closed <= deadline))[deadline < cut]
    rows = []
    for month, group in due.groupby(due["_deadline"].dt.strftime("%Y-%m"), sort=True):
        on_time = int(group["_on_time"].sum())
        share = _ratio(on_time, len(group))
        rows.append({"month": str(month), "due": len(group), "on_time": on_time, "share": share})
    return rows


def task_outcomes(tasks: pd.DataFrame, follow_ups: pd.DataFrame, *, until: date) -> dict[str, Any]:
    """Overall, by playbook action, by owner (assignee) and by team; deadline compliance per month.

    `tasks` has TASK_COLUMNS (tasks opened before `until`); `follow_ups` has task_id, actions_done.
    """
    compliance = deadline_compliance(tasks, until=until)
    due, on_time = sum(m["due"] for m in compliance), sum(m["on_time"] for m in compliance)
    return {
        "overall": _figures(tasks),
        "by_action": by_action(tasks, follow_ups),
        "by_owner": _grouped(tasks, "owner", "owner"),
        "by_team": _grouped(tasks, "team", "team"),
        "deadline_compliance": {
            "months": compliance,
            "due": due,
            "on_time": on_time,
            "share": _ratio(on_time, due),
        },
    }
