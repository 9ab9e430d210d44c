"""`churnradar serve`: the web dashboard and REST API under uvicorn."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.engine import Engine

from churnradar.cli.common import DbOption, fail, open_engine, settings_or_fail
from churnradar.config import Settings
from churnradar.lake.service import lake_for
from churnradar.store import migrate

if TYPE_CHECKING:
    import uvicorn


def uvicorn_config(app: Any, *, host: str, port: int) -> uvicorn.Config:
    """How uvicorn serves the app: it never rewrites the client address from proxy headers itself.

    uvicorn believes X-Forwarded-For from 127.0.0.1 by default, which let any local client (or one behind
    an unconfigured proxy) pick a new address per request; the app does it for configured proxies only.
    """
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False
    )


def serve_app(settings: Settings, engine: Engine, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the web app over `engine` until interrupted (also used by `churnradar demo`)."""
    import uvicorn  # the web stack loads only when serving

    from churnradar.web.app import create_app

    typer.echo(f"churnradar serving on http://{host}:{port}", err=True)
    app = create_app(settings, engine)
    # uvicorn's Server re-raises the Ctrl-C it shut down on; stopping the server is not a failure.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(uvicorn_config(app, host=host, port=port)).run()


def register(app: typer.Typer) -> None:
    """Add the serve command to the app."""

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
        worker: Annotated[
            bool, typer.Option("--worker", help="Also run the scheduled jobs (churnradar worker) beside it.")
        ] = False,
        db: DbOption = None,
    ) -> None:
        """Serve the web dashboard and the REST API (default http://127.0.0.1:8000)."""
        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        try:
            migrate(engine)
            lake_for(engine)  # refuses a lake that belongs to another database
        except Exception as exc:  # an unreachable or read-only database, named for the user
            fail(f"cannot open {engine.url.render_as_string(hide_password=True)}: {exc}")
        if not worker:
            serve_app(settings, engine, host=host, port=port)
            return
        # The jobs run in a process of their own: a crash or a long evaluation in a job must not take the
        # dashboard down, and the worker's lease and SIGTERM handling belong to that process alone.
        # The URL (it may carry a password) goes by environment, not on a command line anyone can list.
        env = {**os.environ, "CHURNRADAR_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
        jobs = subprocess.Popen([sys.executable, "-m", "churnradar", "worker"], env=env)
        try:
            serve_app(settings, engine, host=host, port=port)
        finally:
            # SIGTERM lets the worker finish its job; one that takes too long is stopped hard, which every
            # job survives (a rerun completes what a killed run left).
            jobs.terminate()
            try:
                jobs.wait(timeout=120)
            except subprocess.TimeoutExpired:
                jobs.kill()
                jobs.wait(timeout=30)
