"""`churnradar backup --out DIR` and `churnradar restore --from DIR`: the database and its lake together."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli.common import DbOption, JsonOption, audit, emit_json, fail, open_engine, stderr


def register(app: typer.Typer) -> None:
    """Add the backup commands to the app."""

    @app.command()
    def backup(
        ctx: typer.Context,
        out: Annotated[Path, typer.Option("--out", help="A new or empty folder for this backup.")],
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Copy the database and its lake into DIR as one consistent pair (writers wait meanwhile)."""
        from churnradar.backup import service
        from churnradar.backup.exceptions import BackupError
        from churnradar.lake.exceptions import LakeBusyError, LakePairingError

        engine = open_engine(ctx, db)
        try:
            summary = service.backup(engine, out.resolve())
        except (BackupError, LakeBusyError, LakePairingError) as exc:
            fail(str(exc))
        audit(engine, "backup", "store", None, {"folder": str(summary.folder), "bytes": summary.bytes})
        if as_json:
            emit_json(summary.as_dict())
            return
        stderr.print(f"backed up into {summary.folder} ({summary.bytes:,} bytes)", highlight=False)

    @app.command()
    def restore(
        ctx: typer.Context,
        source: Annotated[Path, typer.Option("--from", help="A folder `churnradar backup` wrote.")],
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Restore a backup into an empty database and lake folder, then migrate them to this version."""
        from churnradar.backup import service
        from churnradar.backup.exceptions import BackupError

        engine = open_engine(ctx, db)
        try:
            summary = service.restore(source.resolve(), engine)
        except BackupError as exc:
            fail(str(exc))
        audit(engine, "restore", "store", None, {"folder": str(summary.folder)})
        if as_json:
            emit_json(summary.as_dict())
            return
        url = engine.url.render_as_string(hide_password=True)
        stderr.print(f"restored {summary.folder} into {url}", highlight=False)
