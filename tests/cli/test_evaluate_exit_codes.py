"""`churnradar evaluate` exits 4 when data health held rules (done, but a monitor must see it), 0 when
nothing was held, 1 when it failed: three outcomes a cron job tells apart (docs/contract.md §1)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.common import ExitCode
from churnradar.cli.main import app
from tests.datahealth.test_feeds import _cut
from tests.evaluation.conftest import AS_OF, db, demo_db

__all__ = ["db", "demo_db"]


def test_held_by_data_health_is_exit_4_and_failure_is_1(db: Engine) -> None:
    url = db.url.render_as_string(hide_password=False)
    runner = CliRunner()
    assert _cut(db, "order", 10) > 0  # the order feed stops ten days before the date
    held = runner.invoke(app, ["evaluate", "--as-of", AS_OF.isoformat(), "--db", url, "--json"])
    assert held.exit_code == ExitCode.HELD_BY_DATA_HEALTH == 4
    assert json.loads(held.stdout)["data_health"]["held_rules"]  # the document is still printed whole
    forced = runner.invoke(
        app, ["evaluate", "--as-of", (AS_OF + timedelta(days=1)).isoformat(), "--force", "--db", url]
    )
    assert forced.exit_code == 0, forced.output
    broken = runner.invoke(app, ["evaluate", "--as-of", "yesterday", "--db", url])
    assert broken.exit_code == ExitCode.FAILURE == 1
