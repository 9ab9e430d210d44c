"""`churnradar rule ...` (list, export, import, test a draft) and `churnradar silence ...`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from churnradar.cli.common import (
    DbOption,
    JsonOption,
    audit,
    emit_json,
    fail,
    open_engine,
    parse_day,
    progress_bar,
    settings_or_fail,
)
from churnradar.cli.evaluate import print_backtest
from churnradar.kit.levels import Level
from churnradar.store import migrate

rule_app = typer.Typer(
    help="Warning rules: list, export and import as YAML, try a draft on history.", no_args_is_help=True
)
silence_app = typer.Typer(
    help="Mute alerts of a customer or a rule for a while, with who and why.", no_args_is_help=True
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _drafts(source: str, level: str) -> list[Any]:
    """Draft rules from a YAML file (one rule or a list) or from a condition typed on the command line."""
    from pydantic import ValidationError

    from churnradar.evaluation.drafts import plain_draft
    from churnradar.rule.schemas import RuleDef

    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        if not path.exists():
            fail(f"{path}: no such file")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = loaded if isinstance(loaded, list) else [loaded]
    else:
        items = [plain_draft(source, level)]
    try:
        return [RuleDef.model_validate(item) for item in items]
    except ValidationError as exc:
        fail(f"the draft rule is not valid: {exc}")


def register(app: typer.Typer) -> None:
    """Add the rule and silence command groups."""
    app.add_typer(rule_app, name="rule")
    app.add_typer(silence_app, name="silence")


@rule_app.command("list")
def list_rules(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """The active rules of every template (stored rules over the template files)."""
    from churnradar.rule.service import active_templates

    engine = open_engine(ctx, db)
    migrate(engine)
    templates = active_templates(engine, at=_now())
    rows = [
        {"template": slug, "rule": r.slug, "level": r.level, "enabled": r.enabled, "condition": r.condition}
        for slug, t in sorted(templates.items())
        for r in t.rules
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        state = "" if row["enabled"] else " (disabled)"
        typer.echo(f"{row['template']:<14} {row['rule']:<32} {row['level']:<7}{state}  {row['condition']}")


@rule_app.command("export")
def export(
    ctx: typer.Context,
    template: Annotated[list[str] | None, typer.Option("--template", help="Only these templates.")] = None,
    db: DbOption = None,
) -> None:
    """Print the stored rules as YAML (template → rules), ready to edit and import."""
    from churnradar.rule.service import active_templates, export_rules

    engine = open_engine(ctx, db)
    migrate(engine)
    active_templates(engine, at=_now())  # seeds the shipped rules on first use
    document = export_rules(engine, template or ())
    audit(engine, "export", "rules", None, {"format": "yaml", "templates": sorted(template or ())})
    typer.echo(document, nl=False)


@rule_app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="YAML: template slug → list of rules.")],
    by: Annotated[str, typer.Option("--by", help="Who changes the rules (kept with them).")] = "cli",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the rules of the templates the file lists; nothing is stored if any rule fails its checks."""
    from churnradar.rule.exceptions import TemplateError
    from churnradar.rule.service import active_templates, import_rules

    engine = open_engine(ctx, db)
    migrate(engine)
    active_templates(engine, at=_now())
    try:
        counts = import_rules(engine, path.read_text(encoding="utf-8"), at=_now(), by=by)
    except OSError as exc:
        fail(f"{path}: {exc}")
    except TemplateError as exc:
        fail("the rules were not imported:\n" + "\n".join(f"  {e}" for e in exc.errors))
    audit(engine, "import", "rule", None, {"templates": counts, "by": by, "file": path.name})
    if as_json:
        emit_json({"templates": counts})
    else:
        typer.echo("imported: " + ", ".join(f"{t} ({n} rules)" for t, n in counts.items()))


@rule_app.command("test")
def try_draft(
    ctx: typer.Context,
    draft: Annotated[
        str, typer.Argument(help='A rule YAML file, or a condition such as "days_since_last_order > 60".')
    ],
    level: Annotated[str, typer.Option(help="Level of a condition given inline.")] = Level.YELLOW.value,
    template: Annotated[
        list[str] | None, typer.Option("--template", help="Apply to these templates' customers.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Count flagged customers as of (default today).")
    ] = None,
    weeks: Annotated[int, typer.Option(min=0, help="Weekly backtest dates (0: none).")] = 26,
    horizon: Annotated[int, typer.Option(min=1, help="Backtest horizon in days.")] = 90,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """How many customers a draft rule flags now and how it would have done on history; changes nothing."""
    from churnradar.evaluation.drafts import default_window, draft_book, try_rules
    from churnradar.evaluation.service import active_rulebook

    settings = settings_or_fail()
    engine = open_engine(ctx, db)
    migrate(engine)
    day = parse_day(as_of, "--as-of", datetime.now(settings.zone).date())
    try:
        book = draft_book(active_rulebook(engine), _drafts(draft, level), template or ())
    except ValueError as exc:
        fail(str(exc))
    window = default_window(day, horizon, weeks) if weeks else None
    with progress_bar(not as_json, "trying the draft"):
        report = try_rules(engine, book, as_of=day, window=window, zone=settings.zone)
    if as_json:
        emit_json(report)
        return
    for slug, levels in report["flagged_now"].items():
        counts = ", ".join(f"{k} {v:,}" for k, v in levels.items()) or "none"
        typer.echo(
            f"{slug}: flags {sum(levels.values()):,} of {report['customers']:,} customers "
            f"as of {day} ({counts})"
        )
    if "backtest" in report:
        print_backtest(report["backtest"])


@silence_app.command("add")
def add_silence(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Who silences (required).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    customer: Annotated[
        str | None, typer.Option("--customer", help="The customer's id in your system.")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="A rule slug.")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last day muted (ISO; default in 14 days).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mute a customer's alerts, a rule's alerts, or one rule for one customer, until a date (audited)."""
    from churnradar.alert import service as alert_service
    from churnradar.alert.exceptions import SilenceError
    from churnradar.db import session_scope

    engine = open_engine(ctx, db)
    migrate(engine)
    now = _now()
    last = parse_day(until, "--until", now.date() + timedelta(days=14))
    try:
        with session_scope(engine) as session:
            silence = alert_service.create_silence(
                session,
                customer=customer,
                rule=rule,
                starts_at=now,
                ends_at=datetime.combine(last + timedelta(days=1), datetime.min.time()),
                reason=reason,
                now=now,
                by=by,
            )
    except SilenceError as exc:
        fail(_located(exc))
    if as_json:
        emit_json({"silence": silence.id, "until": last.isoformat()})
    else:
        typer.echo(f"silence {silence.id} until {last} (inclusive)")


def _located(exc: Any) -> str:
    """A silence refusal naming the option at fault."""
    options = {"customer": "--customer", "rule": "--rule", "by": "--by", "reason": "--reason"}
    option = options.get(exc.field or "", "--until" if exc.field == "ends_at" else None)
    return f"{option}: {exc}" if option else str(exc)


@silence_app.command("list")
def list_silences(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Ended silences too.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Silences in force or to come (with --all, ended ones too), newest first."""
    from churnradar.alert import service as alert_service
    from churnradar.db import session_scope

    engine = open_engine(ctx, db)
    migrate(engine)
    with session_scope(engine) as session:
        rows = alert_service.list_silences(session, now=_now(), include_ended=show_all)
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    if not rows:
        typer.echo("no silences" if show_all else "no silences in force (--all lists ended ones)")
    for r in rows:
        target = " ".join(
            p
            for p in (f"customer {r.customer}" if r.customer else "", f"rule {r.rule}" if r.rule else "")
            if p
        )
        state = "" if r.active else " (ended)"
        typer.echo(
            f"{r.id:>5}  {target:<40} {r.starts_at:%Y-%m-%d %H:%M} → {r.ends_at:%Y-%m-%d %H:%M}{state}  "
            f"{r.created_by}: {r.reason}"
        )


@silence_app.command("end")
def end_silence(
    ctx: typer.Context,
    silence_id: Annotated[int, typer.Argument(metavar="ID", help="The silence's id (see silence list).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a silence now (audited): alerts are no longer muted by it from the next day's evaluation on."""
    from churnradar.alert import service as alert_service
    from churnradar.alert.exceptions import SilenceEndedError
    from churnradar.db import session_scope

    engine = open_engine(ctx, db)
    migrate(engine)
    try:
        with session_scope(engine) as session:
            ended = alert_service.end_silence(session, silence_id, now=_now())
    except SilenceEndedError as exc:
        fail(str(exc))
    if ended is None:
        fail(f"no silence {silence_id} (see churnradar silence list --all)")
    if as_json:
        emit_json(ended.as_dict())
    else:
        typer.echo(f"silence {ended.id} ended at {ended.ends_at:%Y-%m-%d %H:%M} UTC")
