"""HTTP for the REST connector: authentication (bearer, API key, basic, OAuth2 client credentials),
a rate limit, and retries with exponential backoff (tenacity) on connection errors, 429 and 5xx."""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx2
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tenacity import Retrying as _Retrying

from churnradar.ingest.validate import bounded
from churnradar.source.exceptions import ConnectorError

Auth = Literal["none", "bearer", "api_key", "basic", "oauth2"]
AUTH_SECRETS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "bearer": frozenset({"token"}),
    "api_key": frozenset({"api_key"}),
    "basic": frozenset({"username", "password"}),
    "oauth2": frozenset({"client_id", "client_secret"}),
}


class HttpOptions(BaseModel):
    """How to reach the API: its base URL, authentication, limits and retries."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^https?://")
    auth: Auth = "none"
    api_key_header: str = "X-API-Key"
    token_url: str | None = Field(default=None, pattern=r"^https?://")  # OAuth2 client credentials
    scope: str | None = None
    headers: dict[str, str] = {}
    timeout_seconds: float = Field(default=30, gt=0)
    retries: int = Field(default=4, ge=0, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0)
    backoff_max_seconds: float = Field(default=60, ge=0)
    requests_per_second: float | None = Field(default=None, gt=0)


class _RetryableError(Exception):
    """A response worth asking again for (429, 5xx)."""

    def __init__(self, response: httpx2.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableError | httpx2.TransportError)


class HttpSession:
    """A client bound to one API; `get_json(url, params, where)` returns a page's parsed body."""

    def __init__(self, name: str, options: HttpOptions, secrets: dict[str, str]) -> None:
        self.name, self.options, self.secrets = name, options, secrets
        auth: httpx2.Auth | None = None
        headers = dict(options.headers)
        if options.auth == "basic":
            auth = httpx2.BasicAuth(secrets["username"], secrets["password"])
        elif options.auth == "bearer":
            headers["Authorization"] = f"Bearer {secrets['token']}"
        elif options.auth == "api_key":
            headers[options.api_key_header] = secrets["api_key"]
        self.client = httpx2.Client(
            base_url=options.base_url, auth=auth, headers=headers, timeout=options.timeout_seconds
        )
        self._token: str | None = None
        self._token_until = 0.0
        self._last_request = 0.0

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def _oauth_token(self, where: str) -> str:
        if self._token is not None and time.monotonic() < self._token_until:
            return self._token
        if not self.options.token_url:
            raise ConnectorError(f"source {self.name}: OAuth2 needs token_url")
        form = {"grant_type": "client_credentials"}
        if self.options.scope:
            form["scope"] = self.options.scope
        client_auth = httpx2.BasicAuth(self.secrets["client_id"], self.secrets["client_secret"])
        response = self._send("POST", self.options.token_url, where, data=form, auth=client_auth)
        if response.status_code in (400, 401, 403):
            raise ConnectorError(
                f"source {self.name}, {where}: the token endpoint refused the client credentials "
                f"(HTTP {response.status_code})"
            )
        body = self._json(response, f"{where} (token)")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ConnectorError(f"source {self.name}, {where}: the token endpoint gave no access_token")
        expires = body.get("expires_in", 300)
        self._token = token
        self._token_until = (
            time.monotonic() + max(float(expires) - 30, 1) if isinstance(expires, int | float) else 0
        )
        return token

    def _pace(self) -> None:
        if self.options.requests_per_second:
            gap = 1 / self.options.requests_per_second - (time.monotonic() - self._last_request)
            if gap > 0:
                time.sleep(gap)
        self._last_request = time.monotonic()

    def _send(self, method: str, url: str, where: str, **kwargs: Any) -> httpx2.Response:
        def attempt() -> httpx2.Response:
            self._pace()
            response = self.client.request(method, url, **kwargs)
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetryableError(response)
            return response

        def give_up(state: RetryCallState) -> httpx2.Response:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RetryableError):
                reason = f"HTTP {exc.response.status_code}"
            else:
                reason = f"cannot reach it ({type(exc).__name__}: {bounded(str(exc), 200)})"
            raise ConnectorError(
                f"source {self.name}, {where}: {reason} after {state.attempt_number} attempt(s)"
            )

        retrying = _Retrying(
            retry=retry_if_exception(_worth_retrying),
            stop=stop_after_attempt(self.options.retries + 1),
            wait=wait_exponential(
                multiplier=self.options.backoff_seconds, max=self.options.backoff_max_seconds
            ),
            retry_error_callback=give_up,
            reraise=False,
        )
        return retrying(attempt)

    def _json(self, response: httpx2.Response, where: str) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise ConnectorError(
                f"source {self.name}, {where}: the response is not JSON ({bounded(kind, 100)}): "
                f"{bounded(response.text.strip(), 120)!r}"
            ) from None

    def get_json(self, url: str, params: dict[str, Any], where: str) -> tuple[Any, httpx2.Response]:
        """The parsed body of GET `url` and the response (for its Link header)."""
        headers = {}
        if self.options.auth == "oauth2":
            headers["Authorization"] = f"Bearer {self._oauth_token(where)}"
        # No params at all (not an empty set), or the client would drop a next link's own query.
        response = self._send("GET", url, where, params=params or None, headers=headers)
        if response.status_code in (401, 403):
            raise ConnectorError(
                f"source {self.name}, {where}: the server refused the credentials "
                f"(HTTP {response.status_code})"
            )
        if response.is_error:
            raise ConnectorError(f"source {self.name}, {where}: HTTP {response.status_code} from {url}")
        return self._json(response, where), response
