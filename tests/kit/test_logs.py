"""One logging configuration: text or JSON lines, the request id on each line, secrets and addresses
redacted from what error messages carry."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from churnradar.kit import logs


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_request_id_and_extra_fields(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("json", "INFO")
    log = logging.getLogger("churnradar.test")
    token = logs.request_id.set("req-123456")
    try:
        log.info("served %s", "page", extra={"rows": 3})
    finally:
        logs.request_id.reset(token)
    log.debug("not at this level")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 1
    assert lines[0]["message"] == "served page"
    assert lines[0]["request_id"] == "req-123456"
    assert lines[0]["rows"] == 3
    assert lines[0]["level"] == "INFO"


def test_text_lines_and_one_handler_however_often_configured(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("text", "INFO")
    logs.configure("text", "INFO")
    logging.getLogger("churnradar.test").warning("once")
    err = capsys.readouterr().err
    assert err.count("once") == 1
    assert "WARNING churnradar.test [-] once" in err


def test_addresses_and_tokens_are_redacted(restored: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json", "INFO")
    logging.getLogger("churnradar.test").warning(
        "send failed: %s",
        "550 mailbox ana.li@example.com refused; POST https://user:pw@hooks.example.com/x?token=abc "
        "with Authorization: Bearer s3cr3t",
    )
    message = json.loads(capsys.readouterr().err)["message"]
    assert message == (
        "send failed: 550 mailbox <email> refused; POST https://***@hooks.example.com/x?*** "
        "with Authorization: Bearer ***"
    )
