"""Sources: define them (YAML, API, CLI), list, test and sync them, and run those whose schedule is due.

Secrets are sealed on save and never shown again: a view marks each stored secret "set".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from churnradar import i18n, reactions
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.customer.events import OwnersChanged
from churnradar.ingest.exceptions import MappingError
from churnradar.kit.clock import Clock, FrozenClock, SystemClock
from churnradar.kit.registry import RegistryError
from churnradar.notification import service as notification_service
from churnradar.notification.schemas import Notice
from churnradar.source import cursor as cursors
from churnradar.source import repository as repo
from churnradar.source.connectors import CONNECTORS
from churnradar.source.exceptions import (
    ConnectorError,
    SourceDefinitionError,
    SourceError,
    SourceNotFoundError,
)
from churnradar.source.form import OPTIONS_YAML, FormField, definition_from_form, form_values, placeholders
from churnradar.source.schemas import (
    SHOWN_SECRET,
    SourceDefinition,
    SourceView,
    SyncRun,
    SyncSummary,
    cron_trigger,
)
from churnradar.source.secrets import seal, unseal
from churnradar.source.sync import Sync, import_options

__all__ = [
    "connector_kinds",
    "definition_from",
    "delete_source",
    "form_fields",
    "form_placeholders",
    "form_values_of",
    "get_source",
    "list_sources",
    "load_definitions",
    "next_runs",
    "parse_definition",
    "recent_runs",
    "save_source",
    "sync_due",
    "sync_source",
    "test_source",
]


def _located(exc: ValidationError, prefix: str = "") -> tuple[tuple[str, str], ...]:
    """Each error's dotted path in the definition (under `prefix`) and its message."""
    found = []
    for error in exc.errors(include_url=False)[:20]:
        path = ".".join(
            [prefix, *(str(p) for p in error["loc"])] if prefix else [str(p) for p in error["loc"]]
        )
        found.append((path, str(error["msg"]).removeprefix("Value error, ")[:300]))
    return tuple(found)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{path or 'source'}: {message}" for path, message in _located(exc)[:5])[:1000]


def parse_definition(raw: dict[str, Any]) -> SourceDefinition:
    """A definition from plain values (the web form's); SourceDefinitionError locating each problem."""
    try:
        return SourceDefinition.model_validate(raw)
    except ValidationError as exc:
        name = str(raw.get("name", ""))[:60]
        raise SourceDefinitionError(f"source {name}: {_problems(exc)}", _located(exc)) from None


def load_definitions(path: Path) -> list[SourceDefinition]:
    """Sources from a YAML file: a list, a `sources:` list, or one source; `env:NAME` secrets from the
    environment (so the file itself need hold none)."""
    from churnradar.config import _from_env

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SourceDefinitionError(f"{path}: cannot read it as YAML: {exc}") from None
    items = raw.get("sources", [raw]) if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise SourceDefinitionError(f"{path}: expected a source, a list of them, or `sources:` with a list")
    found = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and isinstance(item.get("secrets"), dict):
            try:
                item["secrets"] = {k: _from_env(v) for k, v in item["secrets"].items()}
            except ValueError as exc:
                raise SourceDefinitionError(f"{path}: source {number}: {exc}") from None
        try:
            found.append(SourceDefinition.model_validate(item))
        except ValidationError as exc:
            raise SourceDefinitionError(f"{path}: source {number}: {_problems(exc)}") from None
    return found


def _check(definition: SourceDefinition, secret_names: set[str]) -> dict[str, Any]:
    """The definition's stored config, after the connector's own checks; raises SourceDefinitionError."""
    name = definition.name
    try:
        kind = CONNECTORS.get(definition.kind)
    except RegistryError as exc:
        raise SourceDefinitionError(f"source {name}: {exc.args[0]}", (("kind", str(exc.args[0])),)) from None
    try:
        options = kind.options.model_validate(definition.options)
    except ValidationError as exc:
        raise SourceDefinitionError(
            f"source {name}: options: {_problems(exc)}", _located(exc, "options")
        ) from None
    unknown = set(definition.secrets) - kind.secrets
    if unknown:
        raise SourceDefinitionError(
            f"source {name}: unknown secret(s) {sorted(unknown)} for {definition.kind}; "
            f"it takes {sorted(kind.secrets)}",
            tuple((f"secrets.{k}", "unknown secret") for k in sorted(unknown)),
        )
    missing = kind.required(options) - secret_names
    if missing:
        raise SourceDefinitionError(
            f"source {name}: the secret(s) {sorted(missing)} are needed",
            tuple((f"secrets.{k}", "needed") for k in sorted(missing)),
        )
    config = {
        "options": options.model_dump(mode="json", exclude_defaults=True),
        "mapping": definition.mapping,
        "create_missing_customers": definition.create_missing_customers,
    }
    try:
        import_options({"name": name, "kind": definition.kind, "config": config})
    except MappingError as exc:
        raise SourceDefinitionError(str(exc), (("mapping", str(exc)[:300]),)) from None
    return config


def save_source(
    engine: Engine,
    definition: SourceDefinition,
    *,
    settings: Settings,
    actor: Principal | None = None,
    clock: Clock | None = None,
    new: bool = False,
) -> SourceView:
    """Create or replace a source by name; secrets not given again keep their stored values. `new`: only
    create (a name already taken is refused, as the form's "new source" asks)."""
    now = (clock or SystemClock()).now()
    with engine.begin() as conn:
        stored = repo.get(conn, definition.name)
        if new and stored is not None:
            taken = f"a source called {definition.name} exists already"
            raise SourceDefinitionError(f"source {definition.name}: {taken}", (("name", taken),))
        secrets = unseal(stored["secrets"], settings, source=definition.name) if stored else {}
        secrets.update({k: v.get_secret_value() for k, v in definition.secrets.items()})
        config = _check(definition, set(secrets))
        config["secret_names"] = sorted(secrets)  # the names only, so a source can be shown unsealed
        values = {
            "kind": definition.kind,
            "schedule": definition.schedule,
            "enabled": definition.enabled,
            "config": config,
            "secrets": seal(secrets, settings),
            "updated_at": now,
        }
        if stored is None:
            source_id = repo.insert_source(conn, name=definition.name, created_at=now, **values)
        else:
            source_id = int(stored["id"])
            repo.update_source(conn, source_id, **values)
        details = {
            "name": definition.name,
            "kind": definition.kind,
            "schedule": definition.schedule,
            "secrets_set": sorted(definition.secrets),  # names only
        }
        action = "source.create" if stored is None else "source.update"
        auth_service.record(conn, actor, action, "source", source_id, details, at=now)
    return get_source(engine, definition.name)


def _view(stored: dict[str, Any], last: dict[str, Any] | None, reached: dict[str, str | None]) -> SourceView:
    config = stored["config"]
    return SourceView(
        name=stored["name"],
        kind=stored["kind"],
        schedule=stored["schedule"],
        enabled=stored["enabled"],
        options=config.get("options", {}),
        secrets=dict.fromkeys(config.get("secret_names", []), SHOWN_SECRET),
        mapping=config.get("mapping"),
        create_missing_customers=bool(config.get("create_missing_customers")),
        cursors={k: cursors.shown(v) for k, v in reached.items()},
        last_sync=last["started_at"] if last else None,
        last_status=last["status"] if last else None,
    )


def _stored(engine: Engine, name: str) -> dict[str, Any]:
    with engine.connect() as conn:
        stored = repo.get(conn, name)
    if stored is None:
        raise SourceNotFoundError(f"no source called {name[:100]!r} (see `churnradar sources list`)")
    return stored


def get_source(engine: Engine, name: str) -> SourceView:
    """One source as it may be shown (secrets as "set")."""
    stored = _stored(engine, name)
    with engine.connect() as conn:
        last = repo.last_runs(conn).get(int(stored["id"]))
        return _view(stored, last, repo.cursors(conn, int(stored["id"])))


def list_sources(engine: Engine) -> list[SourceView]:
    """Every source, by name, with its last sync and cursors."""
    with engine.connect() as conn:
        last = repo.last_runs(conn)
        return [
            _view(s, last.get(int(s["id"])), repo.cursors(conn, int(s["id"]))) for s in repo.all_sources(conn)
        ]


def delete_source(
    engine: Engine, name: str, *, actor: Principal | None = None, clock: Clock | None = None
) -> None:
    """Remove a source, its runs and cursors; the data it imported stays."""
    stored = _stored(engine, name)
    with engine.begin() as conn:
        repo.delete_source(conn, int(stored["id"]))
        at = (clock or SystemClock()).now()
        auth_service.record(conn, actor, "source.delete", "source", stored["id"], {"name": name}, at=at)


def test_source(engine: Engine, name: str, *, settings: Settings, actor: Principal | None) -> str:
    """Reach the source and read a little without storing anything; a line saying what was found.
    With an `actor` (a person asked; None: the command line), the test and its outcome are audited."""
    stored = _stored(engine, name)
    kind = CONNECTORS.get(stored["kind"])
    options = kind.options.model_validate(stored["config"].get("options", {}))
    outcome: dict[str, Any] = {"name": name, "ok": False}
    try:
        connector = kind.open(name, options, unseal(stored["secrets"], settings, source=name))
        try:
            found = connector.test()
        finally:
            connector.close()
        outcome["ok"] = True
        return found
    finally:
        if actor is not None:
            with engine.begin() as conn:
                auth_service.record(conn, actor, "source.test", "source", stored["id"], outcome)


def sync_source(
    engine: Engine,
    name: str,
    *,
    settings: Settings,
    full: bool = False,
    clock: Clock | None = None,
    actor: Principal | None = None,
) -> SyncSummary:
    """Pull what is new since the cursors (everything with `full`) through the import; see source.sync.
    With an `actor` (a person started it), the sync is audited with its ledger row and outcome."""
    clock = clock or SystemClock()
    stored = _stored(engine, name)
    summary = Sync(engine, stored, settings, clock).run(full=full)
    if actor is not None:
        details = {"name": name, "run_id": summary.run_id, "status": summary.status, "full": full}
        with engine.begin() as conn:
            auth_service.record(conn, actor, "source.sync", "source", stored["id"], details, at=clock.now())
    if not summary.ok:
        _tell_admins_once(engine, stored, summary, settings, clock)
    if summary.owner_changes:
        event = OwnersChanged(at=clock.now())
        with engine.begin() as conn:
            reactions.dispatcher(settings).publish(conn, event)
    return summary


def _tell_admins_once(
    engine: Engine, stored: dict[str, Any], summary: SyncSummary, settings: Settings, clock: Clock
) -> None:
    """The first failure after a success (or ever) goes to the admins (the data-health route); the syncs
    that fail after it, retried at each due time, tell no one until one succeeds again."""
    with engine.begin() as conn:
        previous = [r for r in repo.runs(conn, int(stored["id"]), 2) if r["id"] != summary.run_id]
        if previous and previous[0]["status"] == "failed":
            return
        errors = [str(e) for k in summary.kinds for e in k.errors[:1]]
        notice = Notice(
            event="data_health",
            cause=f"source_failed:{stored['id']}:{summary.run_id}",
            level=None,
            customer_id=None,
            assignee_id=None,
            team_id=None,
            line=i18n.msg(
                "Source {name} stopped syncing: {error}",
                name=stored["name"],
                error=summary.error or "; ".join(errors) or "-",
            ),
        )
        notification_service.notify(conn, [notice], settings=settings, now=clock.now())


def due(schedule: str, zone: str, last: datetime | None, created: datetime, now: datetime) -> bool:
    """Whether a cron schedule fired after the last sync started (or the source was created) and by `now`
    (naive UTC times, as stored)."""
    since = (last or created).replace(tzinfo=UTC)
    fire = cron_trigger(schedule, zone).get_next_fire_time(None, since + timedelta(microseconds=1))
    return fire is not None and fire <= now.replace(tzinfo=UTC)


def sync_due(engine: Engine, settings: Settings, now: datetime) -> list[SyncSummary]:
    """Sync every enabled source whose schedule is due at `now` (naive UTC); one failing source does not
    stop the others (its ledger row says why)."""
    with engine.connect() as conn:
        stored = repo.all_sources(conn)
        last = repo.last_runs(conn)
    done = []
    for source in stored:
        previous = last.get(int(source["id"]))
        if not source["enabled"] or not source["schedule"]:
            continue
        started = previous["started_at"] if previous else None
        if not due(source["schedule"], settings.timezone, started, source["created_at"], now):
            continue
        try:
            done.append(sync_source(engine, source["name"], settings=settings, clock=FrozenClock(now)))
        except (SourceError, ConnectorError):
            continue  # already syncing elsewhere, or its secrets are unreadable: the next due time retries
    return done


def next_runs(schedule: str, zone: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` times a cron schedule fires after `after` (naive UTC in and out, as stored);
    ValueError naming what is wrong with the expression."""
    trigger = cron_trigger(schedule, zone)
    found: list[datetime] = []
    previous: datetime | None = None
    now = after.replace(tzinfo=UTC)
    while len(found) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        found.append(fire.astimezone(UTC).replace(tzinfo=None))
        previous, now = fire, fire + timedelta(seconds=1)
    return found


def recent_runs(engine: Engine, name: str, limit: int = 20) -> list[SyncRun]:
    """The source's ledger: its newest syncs first, each with its counts, cursors and error."""
    stored = _stored(engine, name)
    with engine.connect() as conn:
        return [SyncRun.model_validate(r) for r in repo.runs(conn, int(stored["id"]), limit)]


def connector_kinds() -> dict[str, str]:
    """Each registered connector kind with what it reads."""
    return {slug: CONNECTORS.get(slug).describe for slug in CONNECTORS}


def form_fields(kind: str) -> tuple[FormField, ...]:
    """The web form's inputs of a connector kind (its options as one YAML field if it declares none)."""
    try:
        found = CONNECTORS.get(kind)
    except RegistryError as exc:
        raise SourceNotFoundError(str(exc.args[0])) from None
    return found.form or (OPTIONS_YAML,)


def form_placeholders(kind: str) -> dict[str, str]:
    """The defaults of a kind's options, by input name (shown greyed in empty inputs)."""
    return placeholders(form_fields(kind), CONNECTORS.get(kind).options)


def definition_from(kind: str, form: dict[str, str]) -> SourceDefinition:
    """The definition a submitted form describes; SourceDefinitionError locating each problem (a YAML
    field that is not YAML, or what the definition's own checks refuse)."""
    raw, problems = definition_from_form(kind, form_fields(kind), form)
    try:
        definition = SourceDefinition.model_validate(raw)
    except ValidationError as exc:
        problems += _located(exc)
    try:  # the connector's own options, checked here too so that one answer lists every field's problem
        CONNECTORS.get(kind).options.model_validate(raw["options"])
    except ValidationError as exc:
        problems += _located(exc, "options")
    if problems:
        listed = "; ".join(f"{p}: {m}" for p, m in problems[:5])[:1000]
        raise SourceDefinitionError(f"source {raw['name'][:60]}: {listed}", tuple(problems))
    return definition


def form_values_of(view: SourceView) -> dict[str, str | bool]:
    """A stored source's values as its form's inputs hold them (secret inputs stay empty)."""
    stored = view.model_dump(
        include={"name", "schedule", "enabled", "options", "mapping", "create_missing_customers"}
    )
    return {"name": view.name, **form_values(form_fields(view.kind), stored)}
