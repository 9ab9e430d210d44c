"""A REST JSON API: an endpoint per record kind, pages of records, an optional incremental cursor field.

Pagination styles: `page` (page=1,2,...), `offset` (offset=0,100,...), `cursor` (a token from each page's
body sent with the next request) and `link` (the `Link: <...>; rel="next"` header), or `none`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from churnradar.i18n import N_
from churnradar.ingest.schemas import IMPORT_ORDER, RecordKind
from churnradar.ingest.validate import bounded
from churnradar.source import cursor as cursors
from churnradar.source.connectors.base import Chunk, ConnectorKind, Pull
from churnradar.source.connectors.http import AUTH_SECRETS, HttpOptions, HttpSession
from churnradar.source.exceptions import ConnectorError
from churnradar.source.form import FormField


class Pagination(BaseModel):
    """How the API pages its records."""

    model_config = ConfigDict(extra="forbid")

    style: Literal["none", "page", "offset", "cursor", "link"] = "none"
    size: int = Field(default=100, ge=1)
    size_param: str | None = "per_page"  # page style; offset style uses limit_param
    page_param: str = "page"
    start_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    next_cursor: str = "next_cursor"  # where in a page's body the next token is (dotted path)


class Endpoint(BaseModel):
    """One record kind's endpoint."""

    model_config = ConfigDict(extra="forbid")

    path: str
    records: str = ""  # where the records are in a page's body (dotted path); "": the body is the list
    params: dict[str, str] = {}
    cursor: str | None = None  # the record field that grows (updated_at, id); kept between syncs
    since_param: str | None = None  # the query parameter the last cursor value is sent in
    sorted: bool = False  # records come in cursor order: each page's cursor may be kept as it is stored


class RestOptions(HttpOptions):
    """The API (HttpOptions), its pagination and an endpoint per record kind."""

    pagination: Pagination = Pagination()
    endpoints: dict[RecordKind, Endpoint]
    max_pages: int = Field(default=100_000, ge=1)

    @model_validator(mode="after")
    def _oauth_needs_token_url(self) -> RestOptions:
        if self.auth == "oauth2" and not self.token_url:
            raise ValueError("auth oauth2 needs token_url")
        return self


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path of a JSON body (`data.items`); None when a step is missing."""
    value = body
    for step in [s for s in path.split(".") if s]:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


class RestConnector:
    """Pages of one API through an HttpSession."""

    def __init__(self, name: str, options: RestOptions, secrets: dict[str, str]) -> None:
        self.name, self.options = name, options
        missing = AUTH_SECRETS[options.auth] - set(secrets)
        if missing:
            raise ConnectorError(f"source {name}: auth {options.auth} needs the secret(s) {sorted(missing)}")
        self.http = HttpSession(name, options, secrets)

    def kinds(self) -> list[RecordKind]:
        return [k for k in IMPORT_ORDER if k in self.options.endpoints]

    def test(self) -> str:
        found = []
        for kind in self.kinds():
            endpoint = self.options.endpoints[kind]
            page = next(self._pages(kind, endpoint, None), [])
            found.append(f"{kind.value} ({len(page)} on the first page)")
        return "reached; " + ", ".join(found)

    def _pages(self, kind: RecordKind, endpoint: Endpoint, after: Any) -> Iterator[list[Any]]:
        paging = self.options.pagination
        params: dict[str, Any] = dict(endpoint.params)
        if endpoint.since_param and after is not None:
            params[endpoint.since_param] = after.isoformat() if hasattr(after, "isoformat") else str(after)
        url: str | None = endpoint.path
        page, offset = paging.start_page, 0
        for number in range(1, self.options.max_pages + 1):
            where = f"{kind.value} page {number}"
            query = dict(params)
            if paging.style == "page":
                query[paging.page_param] = page
                if paging.size_param:
                    query[paging.size_param] = paging.size
            elif paging.style == "offset":
                query[paging.offset_param], query[paging.limit_param] = offset, paging.size
            assert url is not None
            body, response = self.http.get_json(url, query, where)
            records = dig(body, endpoint.records) if endpoint.records else body
            if not isinstance(records, list):
                at = f"at {endpoint.records!r}" if endpoint.records else "(the body is not a list)"
                raise ConnectorError(f"source {self.name}, {where}: no list of records {at}")
            yield records
            if paging.style in ("page", "offset"):
                if len(records) < paging.size:
                    return
                page, offset = page + 1, offset + len(records)
            elif paging.style == "cursor":
                token = dig(body, paging.next_cursor)
                if token in (None, ""):
                    return
                params[paging.cursor_param] = token
            elif paging.style == "link":
                url = response.links.get("next", {}).get("url")
                if not url:
                    return
                params = {}  # the next link carries its own query
            else:
                return
        raise ConnectorError(f"source {self.name}, {kind.value}: more than {self.options.max_pages} pages")

    def chunks(self, pull: Pull) -> Iterator[Chunk]:
        endpoint = self.options.endpoints[pull.kind]
        field = endpoint.cursor
        after = cursors.decode(pull.cursor) if field else None
        buffer: list[Any] = []
        where: list[tuple[int, str]] = []
        reached = after
        for number, page in enumerate(self._pages(pull.kind, endpoint, after), start=1):
            kept = [r for r in page if not field or _after(r, field, after, self.name, pull.kind, number)]
            if kept:
                where.append((len(buffer) + 1, f"page {number}"))
                buffer += kept
            if field:
                reached = cursors.later(reached, max((_value(r, field) for r in kept), default=None))
            if len(buffer) >= pull.batch_rows:
                # Unsorted records: the cursor moves only with the last chunk, so a failure between chunks
                # cannot leave a smaller value behind an already stored larger one.
                partial = cursors.encode(reached) if endpoint.sorted else pull.cursor
                yield Chunk(pull.kind, partial if field else None, buffer, where=tuple(where))
                buffer, where = [], []
        if buffer:
            yield Chunk(pull.kind, cursors.encode(reached) if field else None, buffer, where=tuple(where))

    def close(self) -> None:
        self.http.close()


def _value(record: Any, field: str) -> Any:
    return record.get(field) if isinstance(record, Mapping) else None


def _after(record: Any, field: str, after: Any, name: str, kind: RecordKind, page: int) -> bool:
    """Whether a record is newer than the cursor (records without the field are kept for the validator)."""
    value = _value(record, field)
    if value is None or after is None:
        return True
    try:
        return bool(value > after)
    except TypeError:
        raise ConnectorError(
            f"source {name}, {kind.value} page {page}: cursor field {field!r} holds "
            f"{bounded(repr(value), 60)}, not comparable with the last value {bounded(repr(after), 60)}"
        ) from None


_PAGES, _LIMITS, _ENDPOINTS = N_("Pagination"), N_("Limits and retries"), N_("Endpoints per record kind")
FORM = (
    FormField("options.base_url", N_("Base URL")),
    FormField("options.auth", N_("Authentication"), "select", choices=tuple(AUTH_SECRETS)),
    FormField("secrets.token", N_("Bearer token"), "secret"),
    FormField("secrets.api_key", N_("API key"), "secret"),
    FormField("options.api_key_header", N_("API key header")),
    FormField("secrets.username", N_("User name (basic)"), "secret"),
    FormField("secrets.password", N_("Password (basic)"), "secret"),
    FormField("options.token_url", N_("OAuth2 token URL")),
    FormField("options.scope", N_("OAuth2 scope")),
    FormField("secrets.client_id", N_("OAuth2 client id"), "secret"),
    FormField("secrets.client_secret", N_("OAuth2 client secret"), "secret"),
    FormField("options.headers", N_("Extra headers (name: value lines)"), "lines"),
    FormField(
        "options.pagination.style",
        N_("Pagination style"),
        "select",
        choices=("none", "page", "offset", "cursor", "link"),
        group=_PAGES,
    ),
    FormField("options.pagination.size", N_("Page size"), "number", group=_PAGES),
    FormField("options.pagination.page_param", N_("Page parameter"), group=_PAGES),
    FormField("options.pagination.size_param", N_("Page size parameter"), group=_PAGES),
    FormField("options.pagination.start_page", N_("First page number"), "number", group=_PAGES),
    FormField("options.pagination.offset_param", N_("Offset parameter"), group=_PAGES),
    FormField("options.pagination.limit_param", N_("Limit parameter"), group=_PAGES),
    FormField("options.pagination.cursor_param", N_("Cursor token parameter"), group=_PAGES),
    FormField(
        "options.pagination.next_cursor", N_("Next cursor token in the body (dotted path)"), group=_PAGES
    ),
    FormField("options.requests_per_second", N_("Requests per second at most"), "number", group=_LIMITS),
    FormField("options.retries", N_("Retries"), "number", group=_LIMITS),
    FormField("options.backoff_seconds", N_("First backoff (seconds)"), "number", group=_LIMITS),
    FormField("options.backoff_max_seconds", N_("Longest backoff (seconds)"), "number", group=_LIMITS),
    FormField("options.timeout_seconds", N_("Timeout (seconds)"), "number", group=_LIMITS),
    FormField("options.max_pages", N_("Pages at most per kind"), "number", group=_LIMITS),
    FormField("options.endpoints.{kind}.path", N_("Path"), group=_ENDPOINTS, per_kind=True),
    FormField(
        "options.endpoints.{kind}.records", N_("Records at (dotted path)"), group=_ENDPOINTS, per_kind=True
    ),
    FormField("options.endpoints.{kind}.cursor", N_("Cursor field"), group=_ENDPOINTS, per_kind=True),
    FormField("options.endpoints.{kind}.since_param", N_("Since parameter"), group=_ENDPOINTS, per_kind=True),
    FormField(
        "options.endpoints.{kind}.sorted", N_("In cursor order"), "checkbox", group=_ENDPOINTS, per_kind=True
    ),
    FormField(
        "options.endpoints.{kind}.params",
        N_("Query parameters (name: value lines)"),
        "lines",
        group=_ENDPOINTS,
        per_kind=True,
    ),
)

REST = ConnectorKind(
    options=RestOptions,
    secrets=frozenset().union(*AUTH_SECRETS.values()),
    required_secrets=frozenset(),
    open=RestConnector,
    describe="a REST JSON API: pages of records per kind, bearer, API key, basic or OAuth2 auth",
    needs=lambda options: AUTH_SECRETS[options.auth],
    form=FORM,
)
