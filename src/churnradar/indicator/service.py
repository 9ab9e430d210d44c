"""What other domains call: compute indicators as of dates, snapshot them, read snapshots back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from churnradar.analytics.backends import open_analytics
from churnradar.analytics.source import Source, duckdb_over_parquet, duckdb_over_store
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import AnalyticsSettings, SnapshotSettings
from churnradar.indicator import keywords, repository, retention
from churnradar.indicator.compile import compile_indicators
from churnradar.indicator.custom import EVENT_KINDS, CustomDefinition, parse_document
from churnradar.indicator.exceptions import DefinitionError, IndicatorInUseError, IndicatorNotFoundError
from churnradar.indicator.keywords import KeywordSettings
from churnradar.indicator.registry import (
    bind_stored,
    build_registry,
    builtin_raw,
    default_registry,
    dependency_order,
)
from churnradar.indicator.schemas import Indicator
from churnradar.kit import yaml_documents
from churnradar.kit.clock import Clock, SystemClock
from churnradar.kit.registry import Registry

log = logging.getLogger(__name__)

# Many as-of dates cost the same per date in one pass or in batches; batches of 8 bound the engine's result
# and its pandas copy (52 dates x 100k customers in one pass peaked above 6 GB).
DATES_PER_BATCH = 8


@contextmanager
def open_source(where: Engine | Path, *, analytics: AnalyticsSettings | None = None) -> Iterator[Source]:
    """The data to compute on: the store (its lake's events, read by DuckDB) or a Parquet folder.

    With `analytics` settings, the store's engine is only where results go: the configured backend reads
    and computes, and `Source.for_store` keys its frames by the store's customer ids.
    """
    if isinstance(where, Path):
        source = duckdb_over_parquet(where)
    elif analytics is not None:
        source = open_analytics(where, analytics)
    else:
        source = duckdb_over_store(where)
    try:
        yield source
    finally:
        source.close()


def selected_indicators(
    slugs: Sequence[str] | None = None, registry: Registry[Indicator] | None = None
) -> list[Indicator]:
    """`slugs` (default: all registered) with their dependencies, each after what it depends on."""
    registry = registry or default_registry()
    return [registry.get(s) for s in dependency_order(registry, list(slugs) if slugs else list(registry))]


def compute_indicators(
    source: Source,
    as_of_dates: Sequence[date],
    *,
    slugs: Sequence[str] | None = None,
    registry: Registry[Indicator] | None = None,
    zone: ZoneInfo | str = "UTC",
    dates_per_pass: int | None = None,
) -> pd.DataFrame:
    """Wide frame: `customer_id`, `as_of`, one float column per indicator; a row per customer and date.

    All dates share one query unless `dates_per_pass` splits them into batches, which bounds memory (a
    backtest over a million customers) at the price of one scan per batch.
    """
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    indicators = selected_indicators(slugs, registry)
    days = sorted(set(as_of_dates))
    step = dates_per_pass or len(days) or 1
    frames = [_run(source, indicators, days[k : k + step], zone) for k in range(0, len(days), step)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    ordered: pd.DataFrame = frame.sort_values(["as_of", "customer_id"], ignore_index=True)
    return ordered


def indicator_batches(
    source: Source,
    as_of_dates: Sequence[date],
    *,
    slugs: Sequence[str] | None = None,
    registry: Registry[Indicator] | None = None,
    zone: ZoneInfo | str = "UTC",
    dates_per_batch: int = DATES_PER_BATCH,
) -> Iterator[tuple[list[date], pd.DataFrame]]:
    """`compute_indicators` for `dates_per_batch` dates at a time, oldest first: (those dates, their frame).

    For backtests and training over many dates: only one batch's values are in memory at a time.
    """
    days = sorted(set(as_of_dates))
    for k in range(0, len(days), dates_per_batch):
        batch = days[k : k + dates_per_batch]
        yield batch, compute_indicators(source, batch, slugs=slugs, registry=registry, zone=zone)


def _run(source: Source, indicators: list[Indicator], days: Sequence[date], zone: ZoneInfo) -> pd.DataFrame:
    expr = compile_indicators(source, indicators, days, zone)
    if source.engine_name == "postgres":
        # PostgreSQL returns numeric (Decimal) where Ibis believes the cast to float is a no-op.
        frame: pd.DataFrame = expr.execute()
        return frame.astype({i.slug: "float64" for i in indicators})
    result: pd.DataFrame = expr.to_pyarrow().to_pandas()
    return result


def snapshot_indicators(
    engine: Engine,
    as_of_dates: Sequence[date],
    *,
    slugs: Sequence[str] | None = None,
    registry: Registry[Indicator] | None = None,
    zone: ZoneInfo | str = "UTC",
    analytics: AnalyticsSettings | None = None,
) -> int:
    """Compute indicators and store them as the snapshots of their dates; returns values written.

    They are read from the store's lake, or from the `analytics` backend when given."""
    with open_source(engine, analytics=analytics) as source:
        wide = source.for_store(
            compute_indicators(source, as_of_dates, slugs=slugs, registry=registry, zone=zone)
        )
    return store_snapshot(engine, wide)


def store_snapshot(engine: Engine, wide: pd.DataFrame) -> int:
    """Store a computed wide frame (`customer_id`, `as_of`, a column per indicator) in the lake, each of its
    dates replacing what was stored for that date in one commit; values written."""
    return repository.store_wide(engine, wide)


def customer_history(
    conn: Connection, customer_id: int, *, snapshots: int
) -> list[tuple[str, date, float | None]]:
    """(indicator, as-of date, value) of one customer over the latest `snapshots` snapshot dates."""
    return repository.customer_history(conn, customer_id, snapshots=snapshots)


def read_snapshot(
    engine: Engine, as_of: date, *, customer: str | None = None
) -> dict[str, dict[str, float | None]]:
    """Stored values for `as_of` by customer source id, then indicator slug (one customer if given)."""
    with engine.connect() as conn:
        ids = None
        if customer is not None:
            found = repository.customer_id_for(conn, customer)
            if found is None:
                raise LookupError(f"no customer with id {customer!r}")
            ids = [found]
        out: dict[str, dict[str, float | None]] = {}
        for _, external_id, indicator, value in repository.read_values(conn, as_of, customer_ids=ids):
            out.setdefault(external_id, {})[indicator] = value
        return out


def stored_wide(engine: Engine, as_of: date, indicators: Sequence[str] | None = None) -> pd.DataFrame:
    """The snapshot of `as_of` as a wide frame (`customer_id` and the `indicators`, all when None)."""
    wide = repository.read_wide(engine, as_of)
    if indicators is None or wide.empty:
        return wide
    present = [i for i in indicators if i in wide.columns]
    return wide[["customer_id", *present]]


def wide_at(engine: Engine, as_of: date, indicators: Sequence[str]) -> pd.DataFrame:
    """`stored_wide` of `as_of`, with each of `indicators` that snapshot lacks (an indicator defined after
    that run) computed for `as_of` by the one compiler from the store's events; nothing is stored."""
    wide = stored_wide(engine, as_of, indicators)
    registry = default_registry()
    missing = [i for i in indicators if i not in wide.columns and i in registry]
    if not missing or wide.empty:
        return wide
    with open_source(engine) as source:
        computed = source.for_store(compute_indicators(source, [as_of], slugs=missing, registry=registry))
    return wide.merge(computed[["customer_id", *missing]], on="customer_id", how="left")


def previous_values(engine: Engine, indicator: str, as_of: date) -> pd.Series:
    """`indicator` by customer id from the latest snapshot before `as_of` (empty when none)."""
    return repository.previous_values(engine, indicator, as_of)


@dataclass(frozen=True)
class Pruned:
    """What a prune removed: the snapshot dates and their rows."""

    dates: list[date]
    rows: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"dates": [d.isoformat() for d in self.dates], "rows": self.rows}


def prune_snapshots(engine: Engine, *, today: date, policy: SnapshotSettings) -> Pruned:
    """Remove the snapshot dates `policy` lets go as of `today` (indicator.retention), in one commit."""
    stored = repository.snapshot_dates(engine, limit=100_000)
    doomed = retention.dates_to_prune(
        stored,
        today=today,
        keep_daily_days=policy.keep_daily_days,
        keep_weekly_days=policy.keep_weekly_days,
    )
    return Pruned(doomed, repository.delete_dates(engine, doomed))


# Custom indicators users store without code (indicator.custom): checked whole, audited, read by every
# registry once `use_store` binds the store.
RulesUsing = Callable[[Connection, Sequence[str]], list[str]]


def use_store(engine: Engine) -> None:
    """Make `engine`'s stored custom definitions part of every default registry in this process."""
    bind_stored(lambda: stored_custom_indicators(engine), lambda: stored_keywords(engine))


def stored_keywords(engine: Engine) -> KeywordSettings | None:
    """The keyword lists admins stored, or None (the shipped ones; also before the table exists)."""
    try:
        with engine.connect() as conn:
            body = repository.keyword_settings(conn)
    except (OperationalError, ProgrammingError):
        return None
    return KeywordSettings.model_validate(body) if body is not None else None


def keywords_in_force(engine: Engine) -> KeywordSettings:
    """The competitor names, deep features and balance threshold the indicators use."""
    shipped = keywords.shipped([i for _path, raw in builtin_raw() for i in raw])
    stored = stored_keywords(engine)
    return shipped.model_copy(update=stored.model_dump(exclude_none=True)) if stored else shipped


def save_keywords(
    engine: Engine, body: Mapping[str, Any], *, actor: Principal | None, now: datetime
) -> KeywordSettings:
    """Check and store the keyword lists (the next run's indicators use them); `DefinitionError` naming
    the field; audited."""
    try:
        settings = KeywordSettings.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DefinitionError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}"[:300]) from None
    with engine.begin() as conn:
        by = actor.login if actor else None
        repository.save_keyword_settings(
            conn, settings.model_dump(mode="json", exclude_none=True), at=now, by=by
        )
        details = {"fields": sorted(settings.model_dump(exclude_none=True))}
        auth_service.record(conn, actor, "update", "indicator_keywords", None, details, at=now)
    return settings


def export_keywords_yaml(engine: Engine, *, actor: Principal | None) -> str:
    """The keyword lists in force as YAML (`competitor_names`, `deep_features`, `balance_threshold`);
    the export is audited."""
    document = keywords_in_force(engine).model_dump(mode="json")
    with engine.begin() as conn:
        auth_service.record_export(conn, actor, "indicator_keywords", format="yaml")
    return yaml_documents.dump(document)


def import_keywords_yaml(
    engine: Engine, text: str, *, actor: Principal | None, now: datetime
) -> KeywordSettings:
    """Store the lists a YAML document gives, checked whole as `save_keywords` checks them (nothing
    stored when refused); the keyword lists in force afterwards."""
    save_keywords(engine, yaml_documents.read_document(text, DefinitionError), actor=actor, now=now)
    return keywords_in_force(engine)


def stored_custom_indicators(engine: Engine) -> list[Indicator]:
    """The store's custom definitions compiled to template indicators (none before the table exists)."""
    try:
        with engine.connect() as conn:
            stored = repository.custom_definitions(conn)
    except (OperationalError, ProgrammingError) as exc:  # a store not migrated yet holds none
        log.debug("no custom indicators read: %s", str(exc)[:200])
        return []
    out: list[Indicator] = []
    for slug, raw in stored.items():
        try:
            out += CustomDefinition.model_validate(raw).indicators()
        except ValueError as exc:  # stored before a check existed: left out, said once per read
            log.warning("custom indicator %r left out: %s", slug, str(exc)[:300])
    return out


def list_custom(engine: Engine) -> list[CustomDefinition]:
    """Every stored custom definition, by name."""
    with engine.connect() as conn:
        stored = repository.custom_definitions(conn)
    return [CustomDefinition.model_validate(raw) for raw in stored.values()]


def get_custom(engine: Engine, name: str) -> CustomDefinition:
    """One stored custom definition."""
    with engine.connect() as conn:
        raw = repository.custom_definition(conn, name)
    if raw is None:
        raise IndicatorNotFoundError(f"no custom indicator {name[:64]!r}")
    return CustomDefinition.model_validate(raw)


def _check_fits(
    definitions: Sequence[CustomDefinition], others: Sequence[CustomDefinition], reserved: Collection[str]
) -> None:
    """Refuse names clashing with a built-in (or plugin) indicator or a reserved field; check the whole."""
    shipped = default_registry(stored=False)
    builtin = set(shipped)
    for d in definitions:
        for slug in d.slugs():
            if slug in builtin:
                raise DefinitionError(f"{d.name}: name {slug!r} is a built-in indicator's")
            if slug in reserved:
                raise DefinitionError(f"{d.name}: name {slug!r} is a customer field's")
    mine = {d.name for d in definitions}
    build_registry(
        [*(i for d in others if d.name not in mine for i in d.indicators()),
         *(i for d in definitions for i in d.indicators()), *(shipped.get(s) for s in shipped)]
    )  # fmt: skip


def save_custom(
    engine: Engine,
    definitions: Sequence[CustomDefinition],
    *,
    actor: Principal | None,
    reserved: Collection[str] = (),
    rules_using: RulesUsing | None = None,
    clock: Clock | None = None,
) -> dict[str, int]:
    """Store (create or replace) checked definitions in one transaction, each change audited.

    A replacement that drops a column rules read (a comparison taken away) is refused, naming the rules."""
    at = (clock or SystemClock()).now()
    stored = list_custom(engine)
    _check_fits(definitions, stored, reserved)
    previous = {d.name: d for d in stored}
    try:
        return _store_custom(engine, definitions, previous, actor=actor, rules_using=rules_using, at=at)
    except IntegrityError as exc:  # another writer stored the same name in between
        raise DefinitionError("a definition of the same name was stored meanwhile; try again") from exc


def _store_custom(
    engine: Engine,
    definitions: Sequence[CustomDefinition],
    previous: dict[str, CustomDefinition],
    *,
    actor: Principal | None,
    rules_using: RulesUsing | None,
    at: datetime,
) -> dict[str, int]:
    counts = {"created": 0, "updated": 0}
    with engine.begin() as conn:
        for d in definitions:
            dropped = sorted(set(previous[d.name].slugs()) - set(d.slugs())) if d.name in previous else []
            using = rules_using(conn, dropped) if rules_using is not None and dropped else []
            if using:
                raise IndicatorInUseError(", ".join(dropped), using)
            raw = d.model_dump(mode="json", exclude_defaults=True)
            created = repository.save_custom(conn, d.name, raw, at=at, by=actor.login if actor else "cli")
            counts["created" if created else "updated"] += 1
            action = "create" if created else "update"
            auth_service.record(conn, actor, action, "indicator", d.name, {"definition": raw}, at=at)
    return counts


def remove_custom(
    engine: Engine, name: str, *, actor: Principal | None, rules_using: RulesUsing, clock: Clock | None = None
) -> None:
    """Remove a custom definition, refused while a rule reads it (naming the rules); audited."""
    definition = get_custom(engine, name)
    with engine.begin() as conn:
        using = rules_using(conn, definition.slugs())
        if using:
            raise IndicatorInUseError(name, using)
        repository.delete_custom(conn, name)
        at = (clock or SystemClock()).now()
        auth_service.record(conn, actor, "delete", "indicator", name, None, at=at)


def export_custom(engine: Engine, *, actor: Principal | None) -> str:
    """The stored custom definitions as one YAML document (import takes it back); the export is audited."""
    definitions = list_custom(engine)
    with engine.begin() as conn:
        auth_service.record_export(conn, actor, "indicators", format="yaml")
    dumped = [d.model_dump(mode="json", exclude_defaults=True) for d in definitions]
    return yaml.safe_dump(dumped, allow_unicode=True, sort_keys=False)


def parse_custom_yaml(text: str, source: str = "<yaml>") -> list[CustomDefinition]:
    """Checked definitions from YAML text (a mapping or a list), every problem located."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{source}: not YAML: {str(exc)[:300]}") from exc
    return parse_document(raw, source)


def event_kinds(engine: Engine) -> dict[str, int]:
    """Every event kind a definition may read, with the store's events of it (0 when none yet)."""
    stored = repository.event_kind_counts(engine)
    return {kind: stored.get(kind, 0) for kind in EVENT_KINDS}


@dataclass(frozen=True)
class PreviewRow:
    """One customer's values of a definition as of a date: its columns (helpers first, then its own)."""

    customer_id: int
    external_id: str
    name: str | None
    values: dict[str, float | None]


def preview_custom(
    engine: Engine,
    definition: CustomDefinition,
    as_of: date,
    *,
    limit: int = 10,
    reserved: Collection[str] = (),
    zone: ZoneInfo | str = "UTC",
    analytics: AnalyticsSettings | None = None,
) -> tuple[list[PreviewRow], int]:
    """A definition (stored or not) computed as of `as_of` by the one compiler, nothing stored: the `limit`
    customers of the highest values, and how many customers have a value at all. Checked as a save is."""
    stored = list_custom(engine)
    _check_fits([definition], stored, reserved)
    others = [i for d in stored if d.name != definition.name for i in d.indicators()]
    shipped = default_registry(stored=False)
    registry = build_registry([*others, *definition.indicators(), *(shipped.get(s) for s in shipped)])
    with open_source(engine, analytics=analytics) as source:
        wide = source.for_store(
            compute_indicators(source, [as_of], slugs=[definition.name], registry=registry, zone=zone)
        )
    columns = definition.slugs()
    valued = wide[wide[definition.name].notna()]
    top = valued.sort_values([definition.name, "customer_id"], ascending=[False, True]).head(limit)
    with engine.connect() as conn:
        labels = repository.customer_labels(conn, [int(i) for i in top["customer_id"]])
    rows = [
        PreviewRow(
            int(row["customer_id"]),
            *labels.get(int(row["customer_id"]), (str(row["customer_id"]), None)),
            {c: None if pd.isna(row[c]) else float(row[c]) for c in columns},
        )
        for _, row in top.iterrows()
    ]
    return rows, len(valued)
