"""The `churnradar` console command as scripts use it: exit codes, --json on stdout only, --db precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest.test_import import CUSTOMERS, EVENTS, write

CLI = [sys.executable, "-m", "churnradar"]


def churnradar(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    environment.update(env or {})
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder, "customers.csv", CUSTOMERS)
    write(folder, "events.csv", EVENTS)
    return folder


def test_init_is_idempotent_and_uses_working_directory_by_default(tmp_path: Path) -> None:
    first = churnradar("init", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["from_revision"] is None
    assert (tmp_path / "churnradar.db").exists()
    second = churnradar("init", "--json", cwd=tmp_path)
    document = json.loads(second.stdout)
    assert document["from_revision"] == document["revision"]


def test_import_json_reports_counts(tmp_path: Path, data: Path) -> None:
    result = churnradar("import", str(data), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert document["ok"] is True
    assert document["totals"] == {"rows": 5, "inserted": 5, "updated": 0, "unchanged": 0, "rejected": 0}
    again = json.loads(churnradar("import", str(data), "--json", cwd=tmp_path).stdout)
    assert again["totals"]["unchanged"] == 5


def test_rejected_file_exits_non_zero_with_errors_on_stderr(tmp_path: Path, data: Path) -> None:
    write(data, "events.csv", "customer_id,ts,kind,amount\nC1,2024-01-01,order,-3\n")
    result = churnradar("import", str(data), cwd=tmp_path)
    assert result.returncode == 1
    assert "events.csv: rejected, nothing stored (1 errors):" in result.stderr
    assert "events.csv row 2, column amount: '-3' is negative; it must be 0 or more" in result.stderr
    assert "customers.csv: 2 rows: 2 inserted" in result.stdout


def test_db_option_beats_environment_which_beats_default(tmp_path: Path, data: Path) -> None:
    from_env = tmp_path / "env.db"
    from_option = tmp_path / "option.db"
    env = {"CHURNRADAR_DATABASE_URL": f"sqlite:///{from_env}"}
    assert churnradar("import", str(data / "customers.csv"), cwd=tmp_path, env=env).returncode == 0
    assert from_env.exists()
    assert not (tmp_path / "churnradar.db").exists()
    result = churnradar(
        "import", str(data / "customers.csv"), "--db", f"sqlite:///{from_option}", cwd=tmp_path, env=env
    )
    assert result.returncode == 0
    assert from_option.exists()


def test_missing_path_and_bad_mapping_are_clear_errors(tmp_path: Path, data: Path) -> None:
    missing = churnradar("import", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 1
    assert "no such file or folder" in missing.stderr
    mapping = write(tmp_path, "m.yaml", "columns: [a, b]\n")
    bad = churnradar("import", str(data), "--mapping", str(mapping), cwd=tmp_path)
    assert bad.returncode == 1
    assert "m.yaml: columns: Input should be a valid dictionary" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_production_refuses_default_secret(tmp_path: Path) -> None:
    result = churnradar("init", cwd=tmp_path, env={"CHURNRADAR_ENVIRONMENT": "production"})
    assert result.returncode == 1
    assert "CHURNRADAR_SECRET_KEY is still the default" in result.stderr


def test_demo_loads_evaluates_and_creates_logins(tmp_path: Path) -> None:
    # 1,200 customers: enough for the model to train and for SQLite's WAL index to grow (which once
    # crashed the run, SIGBUS, when DuckDB's own SQLite copy opened the file under a pooled connection).
    result = churnradar(
        "demo",
        "--no-serve",
        "--customers",
        "1200",
        "--weeks",
        "2",
        "--end",
        "2026-06-30",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["counts"]["customers"] == 1_200
    assert document["counts"]["events"] > 50_000
    assert [e["as_of"] for e in document["evaluations"]] == ["2026-06-23", "2026-06-30"]
    assert all(sum(e["customers_by_level"].values()) > 0 for e in document["evaluations"])
    # The demo trains the churn model before evaluating: every customer judged gets a probability.
    assert document["model"]["trained"] is True
    assert document["model"]["version"] == document["model"]["active_version"] == 1
    assert document["model"]["auc"] > 0.55
    assert all(e["scored"] == e["customers"] > 900 for e in document["evaluations"])
    assert document["accounts"][0] == "admin"
    assert list(document["roles"].values()) == ["admin", "director", "manager", "rep"]  # one login per role
    again = churnradar(
        "demo",
        "--no-serve",
        "--customers",
        "1200",
        "--weeks",
        "2",
        "--end",
        "2026-06-30",
        "--json",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    repeat = json.loads(again.stdout)
    assert repeat["counts"] == document["counts"]  # same seed and dates: the import changes nothing
    # Retrained on the same history it validates as well as the stored one, so it takes over.
    assert repeat["model"]["active_version"] == repeat["model"]["version"] == 2
    # 06-23 lies before the last evaluated date and is skipped; 06-30 reruns and changes nothing.
    assert [(e["as_of"], e["alerts"]["opened"]) for e in repeat["evaluations"]] == [("2026-06-30", 0)]


def test_rule_levels_and_document_shapes_are_refused_clearly(tmp_path: Path) -> None:
    assert churnradar("init", cwd=tmp_path).returncode == 0
    purple = churnradar("rule", "test", "tier = 'high'", "--level", "purple", "--weeks", "0", cwd=tmp_path)
    assert purple.returncode == 1
    assert "unknown level 'purple'; levels are yellow, orange, red" in purple.stderr
    for document, message in (
        (
            "general: [[a, b, c]]",
            "general[0]: expected a rule (a mapping with slug, condition, level, ...), not a list",
        ),
        (
            "general: [1]",
            "general[0]: expected a rule (a mapping with slug, condition, level, ...), not a number",
        ),
        (
            "general: [null]",
            "general[0]: expected a rule (a mapping with slug, condition, level, ...), not nothing",
        ),
    ):
        path = tmp_path / "rules.yaml"
        path.write_text(document, encoding="utf-8")
        refused = churnradar("rule", "import", str(path), cwd=tmp_path)
        assert refused.returncode == 1, refused.stderr
        assert message in refused.stderr
        assert "Traceback" not in refused.stderr
