"""Domain refusals are mapped to HTTP in one place: each API answer has its refusal's status and detail."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from churnradar.customer.exceptions import CustomerNotFoundError, OwnerChangeError
from churnradar.i18n import msg
from churnradar.intervention.exceptions import PlaybookError, TaskError
from churnradar.source.exceptions import SecretsUnreadableError, SourceDefinitionError, SourceNotFoundError
from churnradar.web import errors
from churnradar.web.tasks.service import NotAllowedError, TaskNotFoundError


@pytest.mark.parametrize(
    ("refusal", "status", "detail"),
    [
        (CustomerNotFoundError("C1"), 404, "no such customer"),
        (
            OwnerChangeError("Unknown or inactive user: %(login)s.", 400, login="ghost"),
            400,
            "Unknown or inactive user: ghost.",
        ),
        (
            OwnerChangeError("Reps cannot change a customer's owner; ask your manager.", 403),
            403,
            "Reps cannot change a customer's owner; ask your manager.",
        ),
        (TaskError("the note is empty"), 422, "the note is empty"),
        (TaskNotFoundError(7), 404, "no such task"),
        (NotAllowedError("only managers reassign"), 403, "only managers reassign"),
        (SourceNotFoundError("no source called 'x'"), 404, "no such source"),
        (SourceDefinitionError("source x: options: path: missing"), 422, "source x: options: path: missing"),
        (SecretsUnreadableError("source x: unreadable"), 409, "source x: unreadable"),
    ],
)
def test_each_refusal_answers_with_its_status_and_detail(
    refusal: Exception, status: int, detail: str
) -> None:
    app = FastAPI()
    errors.install(app)

    @app.get(f"{errors.API_PREFIX}/refuse")
    def refuse() -> None:
        raise refusal

    answer = TestClient(app).get(f"{errors.API_PREFIX}/refuse")
    assert answer.status_code == status
    assert answer.json() == {"detail": detail}


@pytest.mark.parametrize(
    ("refusal", "english", "chinese"),
    [
        (CustomerNotFoundError("C1"), "no such customer", "没有这个客户"),
        (
            OwnerChangeError("Unknown or inactive user: %(login)s.", 400, login="ghost"),
            "Unknown or inactive user: ghost.",
            "未知或已停用的用户：ghost。",
        ),
        (
            PlaybookError(msg("{where}team: unknown team {name}", where="", name="'x'")),
            "team: unknown team 'x'",
            "team：未知团队 'x'",
        ),
        (TaskError("the note is empty"), "the note is empty", "the note is empty"),  # not in the catalog
    ],
)
def test_a_refusal_s_detail_follows_accept_language(refusal: Exception, english: str, chinese: str) -> None:
    app = FastAPI()
    errors.install(app)

    @app.get(f"{errors.API_PREFIX}/refuse")
    def refuse() -> None:
        raise refusal

    client = TestClient(app)
    for language, detail in (("zh-CN,zh;q=0.9", chinese), ("en-US", english), ("", english)):
        answer = client.get(f"{errors.API_PREFIX}/refuse", headers={"Accept-Language": language})
        assert answer.json() == {"detail": detail}, language


def test_every_mapped_refusal_is_installed() -> None:
    app = FastAPI()
    errors.install(app)
    assert set(errors.ERRORS) <= set(app.exception_handlers)
