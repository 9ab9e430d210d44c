"""Domain refusals are mapped to HTTP in one place: each API answer has its refusal's status and detail."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from churnradar.customer.exceptions import CustomerNotFoundError, OwnerChangeError
from churnradar.intervention.exceptions import TaskError
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


def test_every_mapped_refusal_is_installed() -> None:
    app = FastAPI()
    errors.install(app)
    assert set(errors.ERRORS) <= set(app.exception_handlers)
