"""`churnradar user create / set-password` and `churnradar token create`: people and API tokens."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer

from churnradar.auth import service as auth_service
from churnradar.auth.exceptions import AuthError
from churnradar.cli.common import DbOption, JsonOption, emit_json, fail, open_engine
from churnradar.db import session_scope
from churnradar.models.people import Role
from churnradar.store import migrate

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: nothing on stdin")
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def register(app: typer.Typer) -> None:
    """Add the `user` and `token` command groups to the app."""
    user_app = typer.Typer(help="Create users and set their passwords.", no_args_is_help=True)
    token_app = typer.Typer(help="Create API tokens for the REST API.", no_args_is_help=True)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")

    @user_app.command("create")
    def create(
        ctx: typer.Context,
        login: Annotated[str, typer.Argument(help="The login name.")],
        role: Annotated[Role, typer.Option(help="admin, director, manager or rep.")],
        team: Annotated[str | None, typer.Option(help="The user's team (created when new).")] = None,
        email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
        phone: Annotated[
            str | None, typer.Option(help="Phone number for text messages, E.164: +8613800138000.")
        ] = None,
        display_name: Annotated[str | None, typer.Option("--name", help="Name shown in pages.")] = None,
        manager: Annotated[str | None, typer.Option(help="Login of the user's manager.")] = None,
        password_stdin: PasswordStdin = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a user with a password (asked for, or read from stdin)."""
        password = _password(password_stdin)
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            with session_scope(engine) as session:
                user = auth_service.create_user(
                    session,
                    login=login,
                    role=role,
                    password=password,
                    team=team,
                    email=email,
                    phone=phone,
                    display_name=display_name,
                    manager=manager,
                )
                user_id = user.id
        except AuthError as exc:
            fail(str(exc))
        if as_json:
            emit_json({"id": user_id, "login": login, "role": role.value, "team": team})
        else:
            typer.echo(f"created {role.value} {login}")

    @user_app.command("set-password")
    def set_password(
        ctx: typer.Context,
        login: Annotated[str, typer.Argument(help="The login name.")],
        password_stdin: PasswordStdin = False,
        db: DbOption = None,
    ) -> None:
        """Set a user's password; their open sessions end."""
        password = _password(password_stdin)
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            with session_scope(engine) as session:
                auth_service.set_password(session, login=login, password=password)
        except AuthError as exc:
            fail(str(exc))
        typer.echo(f"password of {login} changed")

    @token_app.command("create")
    def create_token(
        ctx: typer.Context,
        login: Annotated[str, typer.Argument(help="The user the token acts as.")],
        scopes: Annotated[
            str, typer.Option(help="Comma-separated: read, ingest, write (tasks), admin (rules).")
        ] = "read",
        name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "",
        expires_days: Annotated[
            int | None, typer.Option("--expires-days", min=1, help="Expire after this many days.")
        ] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create an API token and print its secret once (only a hash is stored)."""
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            with session_scope(engine) as session:
                token, secret = auth_service.create_token(
                    session,
                    login=login,
                    scopes=auth_service.parse_scopes(scopes.split(",")),
                    name=name,
                    expires_in=timedelta(days=expires_days) if expires_days else None,
                )
                token_id, token_scopes, expires_at = token.id, token.scopes, token.expires_at
        except AuthError as exc:
            fail(str(exc))
        if as_json:
            emit_json(
                {"id": token_id, "token": secret, "scopes": token_scopes.split(","), "expires_at": expires_at}
            )
        else:
            typer.echo(secret)
            typer.echo(f"(token {token_id}, scopes {token_scopes}; shown only now, keep it safe)", err=True)
