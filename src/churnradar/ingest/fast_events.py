"""The fast path for events: a batch's Arrow columns checked and typed in Arrow, no Python object per row.

It only ever accepts a batch that `validate_batch` would accept whole, with the same values: at the first
sign of anything else (an empty required value, a number or time in a form it does not take, a value out of
range or too long, a time in a DST gap) it returns None and the caller runs that batch through the text
validator, whose messages name each problem (file, row, column, reason). Header names are user text: they
only label Arrow columns here, nothing builds a query from them.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.ingest.mapping import ColumnMapping
from churnradar.ingest.readers import arrow_text
from churnradar.ingest.schemas import ColumnSpec, KindSpec, ValueType
from churnradar.ingest.validate import ATTRIBUTES, EVENT_KEY, ROW, USER, ColumnPlan, content_keys

_US = pa.timestamp("us")
_TYPES = {ValueType.TEXT: pa.string(), ValueType.NUMBER: pa.float64()}
# The text forms both Arrow's cast and pandas' parser read the same way; any other form takes the slow path.
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"
_ZONE = r"\d(Z|[+-]\d{2}:\d{2})$"  # after the gate: a zone follows a time of day


class _DeclineError(Exception):
    """The batch needs the text validator."""


def applies(mapping: ColumnMapping) -> bool:
    """Whether files under `mapping` can take the fast path (value tables and formats need the slow one)."""
    return not mapping.values and not mapping.formats


def stage_batch(
    batch: pa.RecordBatch,
    first_row: int,
    plan: ColumnPlan,
    spec: KindSpec,
    *,
    schema: pa.Schema,
    zone: ZoneInfo,
    max_text: int,
    trimmed: bool,
) -> pa.Table | None:
    """The batch's rows as `schema` (the event stage), or None when any row needs the text validator.

    `batch`'s columns are the file's, in header order (`plan.source`); `trimmed` says string cells are
    already stripped with empty ones null (the CSV reader's text).
    """
    size = batch.num_rows
    cells = {name: batch.column(i) for i, name in enumerate(plan.canonical)}
    for name, value in plan.defaults.items():
        cells[name] = pa.array([value] * size, pa.string())
    try:
        out: dict[str, pa.Array] = {}
        for name in plan.known:
            out[name] = _column(cells[name], spec.by_name[name], zone, max_text, trimmed)
        extras = {name: _text(cells[name], trimmed) for name in plan.extra}
    except _DeclineError:
        return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    out[ROW] = pa.array(np.arange(first_row, first_row + size, dtype=np.int64))
    # The key of a row without an id hashes every extra column, `user` included; the stored attributes
    # leave `user` out (it has a column of its own).
    out[EVENT_KEY] = _keys(out, extras, size)
    others = {k: v for k, v in extras.items() if k != USER}
    if others:
        out[ATTRIBUTES] = attributes(others)
    if USER in extras:
        out[USER] = extras[USER]
    columns = [_typed(out[f.name], f.type) if f.name in out else pa.nulls(size, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _typed(values: pa.Array, kind: pa.DataType) -> pa.Array:
    return values if values.type == kind else values.cast(kind)


def kinds_of(staged: pa.Table) -> pd.DataFrame:
    """Rows and latest time per event kind, as the service gathers them batch by batch."""
    grouped = staged.select(["kind", "ts"]).group_by("kind").aggregate([("ts", "count"), ("ts", "max")])
    frame: pd.DataFrame = grouped.to_pandas().set_index("kind")
    return frame.rename(columns={"ts_count": "size", "ts_max": "max"})[["size", "max"]]


def _all(mask: pa.Array) -> bool:
    """Whether every non-null value of `mask` is true (an empty or all-null mask is)."""
    return pc.all(mask, skip_nulls=True).as_py() is not False


def _text(column: pa.Array, trimmed: bool) -> pa.Array:
    if trimmed and pa.types.is_string(column.type):
        return column
    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    text = arrow_text(column)
    if text is None:
        raise _DeclineError
    return text


def _column(column: pa.Array, col: ColumnSpec, zone: ZoneInfo, max_text: int, trimmed: bool) -> pa.Array:
    if pa.types.is_null(column.type):  # a Parquet column with no value at all
        if col.required:
            raise _DeclineError
        return pa.nulls(len(column), _US if col.type is ValueType.TIMESTAMP else _TYPES[col.type])
    if col.type is ValueType.TIMESTAMP:
        values = _in_range(_timestamps(column, zone, trimmed), col)
    elif col.type is ValueType.NUMBER:
        values = _numbers(column, col, trimmed)
    elif col.type is ValueType.TEXT:
        values = _checked_text(_text(column, trimmed), col, max_text)
    else:
        raise _DeclineError  # events have no date or boolean columns
    if col.required and values.null_count:
        raise _DeclineError
    return values


def _checked_text(text: pa.Array, col: ColumnSpec, max_text: int) -> pa.Array:
    longest = pc.max(pc.utf8_length(text)).as_py()
    if longest is not None and longest > (col.max_length or max_text):
        raise _DeclineError
    if col.lowercase:
        text = _lower(text)
    if col.choices and not _all(pc.is_in(text.drop_null(), pa.array(col.choices))):
        raise _DeclineError
    return text


def _lower(text: pa.Array) -> pa.Array:
    """Lower case as Python's `str.lower` does it (Arrow's ASCII lowering when the text is ASCII)."""
    if _all(pc.string_is_ascii(text)):
        return pc.ascii_lower(text)
    encoded = text.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    lowered = pa.array([None if v is None else v.lower() for v in distinct], pa.string())
    return lowered.take(encoded.indices)


def _numbers(column: pa.Array, col: ColumnSpec, trimmed: bool) -> pa.Array:
    kind = column.type
    if pa.types.is_integer(kind):
        numbers = column.cast(pa.float64(), safe=False)
    elif pa.types.is_floating(kind):
        numbers = column.cast(pa.float64())
        numbers = pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers)
    elif pa.types.is_string(kind):
        text = _text(column, trimmed)
        if not _all(pc.match_substring_regex(text, _NUMBER)):
            raise _DeclineError
        numbers = text.cast(pa.float64())
    else:
        raise _DeclineError
    if not _all(pc.is_finite(numbers)):
        raise _DeclineError
    if col.non_negative and (pc.min(numbers).as_py() or 0) < 0:
        raise _DeclineError
    return numbers


def _timestamps(column: pa.Array, zone: ZoneInfo, trimmed: bool) -> pa.Array:
    """UTC times (naive), a value without offset read in `zone`, as `parse_timestamps` reads them."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        micros = column.cast(pa.timestamp("us", kind.tz), safe=False)
        utc = micros.cast(_US) if kind.tz is not None else _localised(micros, zone)
    elif pa.types.is_date(kind):
        utc = _localised(column.cast(_US), zone)
    elif pa.types.is_string(kind):
        text = _text(column, trimmed)
        if not _all(pc.match_substring_regex(text, _TIME)):
            raise _DeclineError
        aware = pc.fill_null(pc.match_substring_regex(text, _ZONE), False)
        if pc.any(aware).as_py():
            with_zone = pc.if_else(aware, text, pa.scalar(None, pa.string()))
            utc_aware = with_zone.cast(pa.timestamp("us", "UTC")).cast(_US)
            naive = pc.if_else(aware, pa.scalar(None, pa.string()), text)
            utc = pc.coalesce(utc_aware, _localised(naive.cast(_US), zone))
        else:
            utc = _localised(text.cast(_US), zone)
    else:
        raise _DeclineError
    return utc


def _in_range(times: pa.Array, col: ColumnSpec) -> pa.Array:
    assert col.range is not None  # a time column
    low, high = (pa.scalar(bound, _US) for bound in col.range)
    if pc.any(pc.or_(pc.less(times, low), pc.greater(times, high))).as_py():
        raise _DeclineError
    return times


def _localised(wall: pa.Array, zone: ZoneInfo) -> pa.Array:
    if zone.key == "UTC":
        return wall
    # Ambiguous and missing local times raise: the text validator treats them (NaT, shift forward).
    return pc.assume_timezone(wall, timezone=zone.key, ambiguous="raise", nonexistent="raise").cast(_US)


def attributes(extras: dict[str, pa.Array]) -> pa.Array:
    """Extra columns as one JSON object per row (null when all are empty), as `attributes_json` writes it.

    Each column's distinct values are encoded once (`json.dumps`), then taken row by row in Arrow.
    """
    pieces = []
    for name, column in extras.items():
        key = json.dumps(name, ensure_ascii=False)
        encoded = column.dictionary_encode()
        texts = [f"{key}: {json.dumps(v, ensure_ascii=False)}" for v in encoded.dictionary.to_pylist()]
        pieces.append(pa.array(texts, pa.string()).take(encoded.indices))
    joined = pc.binary_join_element_wise(*pieces, ", ", null_handling="skip")
    wrapped = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), wrapped)


def _keys(out: dict[str, pa.Array], extras: dict[str, pa.Array], size: int) -> pa.Array:
    """`id:<event_id>`, or for a row without one the content hash `validate_batch` computes."""
    ids = out.get("event_id", pa.nulls(size, pa.string()))
    keys = pc.binary_join_element_wise("id:", ids, "")
    missing = pc.is_null(ids)
    if not pc.any(missing).as_py():
        return keys
    hashed = {name: pc.filter(values, missing) for name, values in out.items() if name != ROW}
    if extras:
        hashed[ATTRIBUTES] = pc.filter(attributes(extras), missing)
    frame = pa.table(hashed).to_pandas()
    frame = frame.astype({c: object for c in frame.columns if pd.api.types.is_string_dtype(frame[c])})
    filled = pa.array(content_keys(frame), pa.string())
    return pc.replace_with_mask(keys, missing, filled)
