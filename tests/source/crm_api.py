"""A small CRM REST API on 127.0.0.1 for the connector tests: each pagination style and each auth."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN, API_KEY, USER, PASSWORD = "tok-bearer", "key-123", "crm-user", "crm-pass"
CLIENT_ID, CLIENT_SECRET, OAUTH_TOKEN = "client-1", "client-secret-1", "tok-oauth"


@dataclass
class CrmApi:
    """What the server serves and how; tests change it between syncs."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    style: str = "page"  # page, offset, cursor, link, none
    auth: str = "none"  # none, bearer, api_key, basic, oauth2
    size: int = 2
    failures: list[int] = field(default_factory=list)  # statuses answered (once each) before real pages
    not_json_page: int | None = None
    block_on_page: int | None = None  # this page (of any kind) waits until `release` is set
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def authorized(self, headers: Any) -> bool:
        given = headers.get("Authorization", "")
        if self.auth == "bearer":
            return bool(given == f"Bearer {TOKEN}")
        if self.auth == "api_key":
            return bool(headers.get("X-API-Key") == API_KEY)
        if self.auth == "basic":
            return bool(given == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
        if self.auth == "oauth2":
            return bool(given == f"Bearer {OAUTH_TOKEN}")
        return True

    def page(self, kind: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        rows = self.records.get(kind)
        if rows is None:
            return 404, {"error": "no such list"}, {}
        since = query.get("updated_since")
        if since:
            rows = [r for r in rows if str(r.get("updated_at", "")) > since]
        if "after_seq" in query:
            rows = [r for r in rows if int(r["seq"]) > int(query["after_seq"])]
        if self.style == "page" or self.style == "link":
            number = int(query.get("page", "1"))
            start = (number - 1) * self.size
        elif self.style == "offset":
            start = int(query.get("offset", "0"))
            number = start // self.size + 1
        elif self.style == "cursor":
            start = int(query.get("cursor", "0"))
            number = start // self.size + 1
        else:
            return 200, {"data": {"items": rows}}, {}
        if self.block_on_page == number:
            self.release.wait(60)
        if self.not_json_page == number:
            return 200, "<html>maintenance</html>", {"Content-Type": "text/html"}
        chunk = rows[start : start + self.size]
        body: dict[str, Any] = {"data": {"items": chunk}}
        headers = {}
        more = start + self.size < len(rows)
        if self.style == "cursor":
            body["next_cursor"] = str(start + self.size) if more else None
        if self.style == "link" and more:
            headers["Link"] = f'<{self.url}/{kind}?page={number + 1}>; rel="next"'
        return 200, body, headers


def _handler(api: CrmApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            for key, value in ({"Content-Type": "application/json"} | (headers or {})).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.path != "/token" or form.get("grant_type") != ["client_credentials"]:
                self._send(400, {"error": "unsupported_grant_type"})
            elif self.headers.get("Authorization") != expected:
                self._send(401, {"error": "invalid_client"})
            else:
                self._send(200, {"access_token": OAUTH_TOKEN, "expires_in": 3600, "token_type": "bearer"})

        def do_GET(self) -> None:
            api.requests.append(self.path)
            if api.failures:
                self._send(api.failures.pop(0), {"error": "try later"})
                return
            if not api.authorized(self.headers):
                self._send(401, {"error": "unauthorized"})
                return
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            status, body, headers = api.page(parsed.path.strip("/"), query)
            self._send(status, body, headers)

    return Handler


@contextmanager
def serve(api: CrmApi) -> Iterator[CrmApi]:
    """Serve `api` on a free port of 127.0.0.1 for the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.release.set()
        server.shutdown()
        server.server_close()
