"""One logging configuration for every process: text or JSON lines on stderr, with the web request's id.

`configure(format, level)` is called once by each command (the CLI's callback); the web app sets the
request id of the request it serves (`request_id`), and every line logged while serving it carries it.
Log lines name what happened and counts, never secrets or personal data (no addresses, names, bodies);
what an error message might carry (an e-mail address, a URL's token) is redacted on the way out.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

request_id: ContextVar[str | None] = ContextVar("churnradar_request_id", default=None)

# LogRecord attributes that are not a caller's `extra=` fields
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


# What may reach a log line by way of an error message: e-mail addresses (an SMTP refusal names the
# receiver), a URL's password or token (a webhook's address), and bearer tokens.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_SECRET = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^\s/@]+@|(?P<query>\?[^\s'\"]+)", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[^\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` without e-mail addresses, URL credentials or query strings, and bearer tokens."""
    text = _URL_SECRET.sub(lambda m: f"{m['scheme']}***@" if m["scheme"] else "?***", text)
    text = _EMAIL.sub("<email>", text)
    return _BEARER.sub(r"\1***", text)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-") on every record, and redacts its message (see `redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request := getattr(record, "request_id", "-")) != "-":
            document["request_id"] = request
        document |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is logged (a test runner may swap it meanwhile)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(format: Literal["text", "json"] = "text", level: str = "INFO") -> None:
    """Send churnradar's and the libraries' logs to stderr in one format (replaces earlier handlers)."""
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonLines() if format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_churnradar", False):
            root.removeHandler(old)
    handler._churnradar = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries speak up only when something is wrong
    logging.getLogger("churnradar").setLevel(level)
