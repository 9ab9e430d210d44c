"""Pure validation: a batch of text cells → typed canonical rows, and every problem with row and column.

No I/O here; the service streams batches through `validate_batch` and stages what passes.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.ingest.exceptions import FileFormatError
from churnradar.ingest.mapping import ColumnMapping
from churnradar.ingest.schemas import ColumnSpec, KindSpec, RecordKind, RowError, ValueType

ATTRIBUTES = "attributes"
ROW = "row_no"
EVENT_KEY = "event_key"
USER = "user"  # an events file's `user` column: its own lake column, not an attribute
# A header is names, not data: bounded so that nothing quotes, stores or parses a runaway one.
MAX_COLUMNS = 1_000
MAX_HEADER_CHARS = 64 * 1024
MAX_MESSAGE_CHARS = 500
# An offset only counts after a time of day: the "-01" that ends "2024-03-01" is the day, not a zone.
_OFFSET = r"\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
_DATE_TIME = r"^\d{4}-\d{2}-\d{2}[T ]"
_TRUE = {"true", "t", "yes", "y", "1", "是", "真"}
_FALSE = {"false", "f", "no", "n", "0", "否", "假"}
_HASHED_EVENT_COLUMNS = (
    "customer_id",
    "ts",
    "kind",
    "amount",
    "value",
    "quantity",
    "channel",
    "direction",
    "text",
)


@dataclass
class ErrorLog:
    """Collects row errors for one file: the first `limit` listed, all of them counted."""

    file: str
    limit: int
    listed: list[RowError] = field(default_factory=list)
    count: int = 0
    rejected_rows: int = 0

    def add(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        """Record one problem."""
        self.count += 1
        if len(self.listed) < self.limit:
            message = bounded(message)
            column = None if column is None else bounded(column, 200)
            self.listed.append(RowError(file=self.file, row=row, column=column, message=message))


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut to `limit` characters (with a note of how long it was), for anything stored or printed."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... ({len(text):,} characters in all)"


def _names(names: list[str], shown: int = 20) -> str:
    listed = ", ".join(_excerpt(n).strip("'\"") for n in names[:shown])
    return listed + (f" and {len(names) - shown:,} more" if len(names) > shown else "")


@dataclass(frozen=True)
class ColumnPlan:
    """How a file's header maps onto the canonical columns of its kind."""

    source: list[str]
    canonical: list[str]
    known: list[str]
    extra: list[str]
    defaults: dict[str, str]

    @property
    def stored(self) -> set[str]:
        """The store columns the file fills: its known columns, and `attributes` when it brings extras."""
        return set(self.known) | ({ATTRIBUTES} if self.extra else set())


def plan_columns(header: list[str], spec: KindSpec, mapping: ColumnMapping, file: str) -> ColumnPlan:
    """Check a header: required columns present (or defaulted), no column twice; extras become attributes."""
    if len(header) > MAX_COLUMNS:
        raise FileFormatError(f"the header has {len(header):,} columns; at most {MAX_COLUMNS:,} are accepted")
    size = sum(len(h) for h in header)
    if size > MAX_HEADER_CHARS:
        raise FileFormatError(
            f"the header is {size:,} characters long; at most {MAX_HEADER_CHARS:,} are accepted"
        )
    canonical = mapping.rename(header)
    if any(not name for name in canonical):
        position = canonical.index("") + 1
        raise FileFormatError(f"column {position} of the header has no name")
    seen: dict[str, int] = {}
    for position, name in enumerate(canonical, start=1):
        if name in seen:
            raise FileFormatError(
                f"column {_excerpt(name)} appears twice in the header (columns {seen[name]} and {position})"
            )
        seen[name] = position
    defaults = {k.lower(): v for k, v in mapping.defaults.items() if k.lower() not in seen}
    missing = [c for c in spec.required if c not in seen and c not in defaults]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, canonical, n=1)
            hints.append(f"{name} (did you mean {close[0]!r}?)" if close else name)
        raise FileFormatError(
            f"missing required column(s) {', '.join(hints)} for {spec.kind.value}; found {_names(canonical)}"
        )
    known = [c for c in canonical if c in spec.by_name] + [c for c in defaults if c in spec.by_name]
    if spec.kind is RecordKind.CUSTOMERS and "churned_at" in known and "status" not in known:
        known.append("status")  # derived from churned_at below
    extra = [c for c in canonical if c not in spec.by_name]
    return ColumnPlan(header, canonical, known, extra, defaults)


def _excerpt(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _report(
    log: ErrorLog, bad: np.ndarray, rows: np.ndarray, values: pd.Series, column: str, what: str
) -> None:
    for index in np.flatnonzero(bad):
        message = what.format(value=_excerpt(values.iloc[index])) if "{value}" in what else what
        log.add(message, row=int(rows[index]), column=column)


def _matches(text: pd.Series, pattern: str) -> np.ndarray:
    """Which values match `pattern` (RE2 syntax), vectorised in Arrow; missing values do not match."""
    found = pc.match_substring_regex(pa.array(text.to_numpy(dtype=object), type=pa.string()), pattern)
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def parse_timestamps(text: pd.Series, zone: ZoneInfo, fmt: str | None) -> pd.Series:
    """Text → naive UTC datetime64; a value without offset is in `zone`. Unparseable → NaT."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    present = text.notna()
    if fmt:
        parsed = pd.to_datetime(text[present], format=fmt, errors="coerce")
        if getattr(parsed.dt, "tz", None) is None:
            parsed = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        result[present] = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
        return result
    aware = present & _matches(text, _OFFSET)
    naive = present & ~aware
    if aware.any():
        parsed = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
        result[aware] = parsed.dt.tz_localize(None).astype("datetime64[us]")
    if naive.any():
        parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        local = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        result[naive] = local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return result


def parse_dates(text: pd.Series, fmt: str | None) -> pd.Series:
    """Text → datetime64 at midnight (the calendar date as written, no zone shift). Unparseable → NaT."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    present = text.notna()
    if present.any():
        values = text[present]
        if not fmt:  # a date given with a time keeps the calendar day as written, whatever its offset
            with_time = pd.Series(_matches(values, _DATE_TIME), index=values.index)
            values = values.where(~with_time, values.str.slice(0, 10))
        parsed = pd.to_datetime(values, format=fmt or "ISO8601", errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        result[present] = parsed.dt.normalize().astype("datetime64[us]")
    return result


def _check_column(
    cells: pd.Series,
    col: ColumnSpec,
    mapping: ColumnMapping,
    zone: ZoneInfo,
    max_text: int,
    rows: np.ndarray,
    log: ErrorLog,
) -> tuple[pd.Series, np.ndarray]:
    """Parse one column; returns the typed values and the mask of rows that failed."""
    present = cells.notna().to_numpy()
    bad = np.zeros(len(cells), dtype=bool)
    if col.required:
        missing = ~present
        _report(log, missing, rows, cells, col.name, "required value is empty")
        bad |= missing
    fmt = mapping.formats.get(col.name)
    if col.type is ValueType.TEXT:
        values = cells.str.lower() if col.lowercase else cells
        limit = col.max_length or max_text
        too_long = present & (cells.str.len().fillna(0).to_numpy() > limit)
        for index in np.flatnonzero(too_long):
            length = len(cells.iloc[index])
            log.add(
                f"value is {length:,} characters long; the limit is {limit:,}",
                row=int(rows[index]),
                column=col.name,
            )
        bad |= too_long
        if col.choices:
            wrong = present & ~values.isin(col.choices).to_numpy()
            _report(log, wrong, rows, cells, col.name, "{value} is not one of " + ", ".join(col.choices))
            bad |= wrong
        return values, bad
    if col.type is ValueType.NUMBER:
        numbers = pd.to_numeric(cells, errors="coerce").astype("float64")
        wrong = present & ~np.isfinite(numbers.to_numpy())
        _report(log, wrong, rows, cells, col.name, "{value} is not a number")
        bad |= wrong
        if col.non_negative:
            negative = present & (numbers.to_numpy() < 0)
            _report(log, negative, rows, cells, col.name, "{value} is negative; it must be 0 or more")
            bad |= negative
        return numbers, bad
    if col.type is ValueType.BOOLEAN:
        lowered = cells.str.strip().str.lower()
        flags = lowered.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
        wrong = present & flags.isna().to_numpy()
        _report(log, wrong, rows, cells, col.name, "{value} is not true/false (yes/no, 1/0, 是/否)")
        return flags, bad | wrong
    if col.type is ValueType.TIMESTAMP:
        parsed = parse_timestamps(cells, zone, fmt)
        expected = f"a time in format {fmt}" if fmt else "an ISO 8601 time like 2024-03-01T09:30:00+08:00"
    else:
        parsed = parse_dates(cells, fmt)
        expected = f"a date in format {fmt}" if fmt else "an ISO 8601 date like 2024-03-01"
    wrong = present & parsed.isna().to_numpy()
    _report(log, wrong, rows, cells, col.name, "{value} is not " + expected)
    assert col.range is not None  # a time or date column
    low, high = col.range
    outside = present & ~wrong & ((parsed < low) | (parsed > high)).to_numpy()
    span = f"{low.date().isoformat()} .. {high.date().isoformat()}"
    _report(log, outside, rows, cells, col.name, "{value} is outside " + span)
    return parsed, bad | wrong | outside


def attributes_json(extras: pd.DataFrame) -> pd.Series:
    """Extra columns as one JSON object per row (None when all are empty), the same text `json.dumps` gives.

    Built column by column from each column's distinct values: extra columns repeat a lot (a user, a region).
    """
    combined: pd.Series | None = None
    for name in extras.columns:
        column = extras[name]
        key = json.dumps(name, ensure_ascii=False)
        encoded = {v: f"{key}: {json.dumps(v, ensure_ascii=False)}" for v in column.dropna().unique()}
        piece = column.map(encoded).astype(object)
        if combined is None:
            combined = piece
        else:
            both = combined + ", " + piece
            combined = both.where(both.notna(), combined.where(combined.notna(), piece))
    assert combined is not None
    wrapped = "{" + combined + "}"
    return wrapped.where(combined.notna(), None)


def _derive_status(
    out: pd.DataFrame, frame: pd.DataFrame, rows: np.ndarray, bad: np.ndarray, log: ErrorLog
) -> np.ndarray:
    """An empty status means churned when churned_at is given, else active; both must agree."""
    churned_at = out["churned_at"] if "churned_at" in out else pd.Series(pd.NaT, index=out.index)
    lost = churned_at.notna().to_numpy()
    out["status"] = np.where(out["status"].notna(), out["status"], np.where(lost, "churned", "active"))
    conflict = ~bad & lost & (out["status"] == "active").to_numpy()
    _report(
        log,
        conflict,
        rows,
        frame["churned_at"] if "churned_at" in frame else frame["status"],
        "status",
        "status is active but churned_at is {value}",
    )
    return conflict


def content_keys(frame: pd.DataFrame) -> list[str]:
    """A stable hash of what each event says, so a source without ids still re-imports as a no-op.

    The text hashed is what pandas writes for the typed values (a batch's times all in one precision), so
    the fast path hands over the same typed columns for the same batch and gets the same keys.
    """
    parts = [
        frame[c].astype("string").fillna("") if c in frame else pd.Series("", index=frame.index)
        for c in _HASHED_EVENT_COLUMNS
    ]
    joined = parts[0].str.cat(parts[1:], sep="\x1f")  # type: ignore[arg-type]
    if ATTRIBUTES in frame:
        joined = joined.str.cat(frame[ATTRIBUTES].astype("string").fillna(""), sep="\x1f")
    return ["h:" + blake2b(s.encode("utf-8"), digest_size=16).hexdigest() for s in joined.to_numpy()]


def _stored_as_attribute(values: pd.Series, col: ColumnSpec) -> pd.Series:
    """A checked custom column's values as its attribute keeps them: numbers, ISO dates, text."""
    shown: pd.Series = values.dt.strftime("%Y-%m-%d") if col.type is ValueType.DATE else values
    if col.type in (ValueType.DATE, ValueType.NUMBER):
        shown = shown.astype(object).where(values.notna(), None)
    return shown


def validate_batch(
    frame: pd.DataFrame,
    rows: list[int],
    plan: ColumnPlan,
    spec: KindSpec,
    mapping: ColumnMapping,
    *,
    zone: ZoneInfo,
    max_text: int,
    log: ErrorLog,
    typed_extras: Mapping[str, ColumnSpec] | None = None,
) -> pd.DataFrame:
    """Typed canonical rows of `frame` that passed every check; problems go to `log`.

    `typed_extras` are the extra columns admins typed (custom fields, named event attributes): checked like
    canonical columns, with row and column named, then kept typed among the attributes."""
    row_numbers = np.asarray(rows, dtype=np.int64)
    frame = frame.set_axis(plan.canonical, axis=1)
    for name, value in plan.defaults.items():
        frame[name] = value
    for name in plan.known:
        if name not in frame:
            frame[name] = None
    for name, table in mapping.values.items():
        key = name.lower()
        if key in frame:
            frame[key] = frame[key].map(lambda v, t=table: t.get(v, v) if isinstance(v, str) else v)
    out = pd.DataFrame(index=frame.index)
    bad = np.zeros(len(frame), dtype=bool)
    for name in plan.known:
        values, failed = _check_column(
            frame[name], spec.by_name[name], mapping, zone, max_text, row_numbers, log
        )
        out[name] = values
        bad |= failed
    if spec.kind is RecordKind.CUSTOMERS and "status" in out:
        bad |= _derive_status(out, frame, row_numbers, bad, log)
    if spec.kind is RecordKind.USERS and "role" in out:
        out["role"] = out["role"].fillna("rep")
    if spec.kind is RecordKind.CONTRACTS and {"start_date", "end_date"} <= set(out):
        backwards = ~bad & (out["end_date"] < out["start_date"]).to_numpy()
        _report(log, backwards, row_numbers, frame["end_date"], "end_date", "{value} is before start_date")
        bad |= backwards
    for name in plan.extra:
        typed = (typed_extras or {}).get(name)
        if typed is not None:
            values, failed = _check_column(frame[name], typed, mapping, zone, max_text, row_numbers, log)
            frame[name] = _stored_as_attribute(values, typed)
            bad |= failed
    if plan.extra:
        out[ATTRIBUTES] = attributes_json(frame[plan.extra])
    if spec.kind is RecordKind.EVENTS and USER in plan.extra:
        out[USER] = frame[USER]
    out[ROW] = row_numbers
    log.rejected_rows += int(bad.sum())
    out = out[~bad]
    if spec.kind is RecordKind.EVENTS:
        ids = out["event_id"] if "event_id" in out else pd.Series(None, index=out.index, dtype=object)
        has_id = ids.notna().to_numpy()
        keys = np.empty(len(out), dtype=object)
        keys[has_id] = ["id:" + str(v) for v in ids.to_numpy()[has_id]]
        if not has_id.all():  # hashing is the costly part: only rows without an id need it
            keys[~has_id] = content_keys(out[~has_id])
        out[EVENT_KEY] = keys
        if USER in plan.extra:  # after the key: the hash covers `user` as an attribute, as it always did
            others = [c for c in plan.extra if c != USER]
            out[ATTRIBUTES] = attributes_json(frame.loc[out.index, others]) if others else None
    return out
