"""Passwords, login throttling, API tokens, the audit log, and the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.auth import passwords
from churnradar.auth import service as auth_service
from churnradar.auth.exceptions import AuthError
from churnradar.auth.ratelimit import Allowance, Attempt, LoginThrottle, ProgressiveDelay
from churnradar.auth.schemas import Scope
from churnradar.cli.main import app
from churnradar.config import Settings
from churnradar.db import create_engine, session_scope
from churnradar.kit.clock import FrozenClock
from churnradar.models import AuditEntry, Role, User


class TestPasswords:
    def test_argon2id_hash_verifies_and_never_holds_the_password(self) -> None:
        hashed = passwords.hash_password("s3cret password")
        assert hashed.startswith("$argon2id$")
        assert "s3cret" not in hashed
        assert passwords.verify_password(hashed, "s3cret password")
        assert not passwords.verify_password(hashed, "s3cret Password")
        assert passwords.hash_password("s3cret password") != hashed  # salted

    @pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$broken"])
    def test_missing_or_corrupt_hashes_never_verify(self, stored: str | None) -> None:
        assert not passwords.verify_password(stored, "anything")

    def test_weak_passwords_are_refused(self) -> None:
        assert passwords.check_strength("short") is not None
        assert passwords.check_strength("        ") is not None
        assert passwords.check_strength("long enough") is None


class TestThrottle:
    def test_the_wait_doubles_past_the_allowance_and_is_capped(self) -> None:
        allowance = Allowance(free=3, base_delay=1, max_delay=60)
        assert [allowance.delay(n) for n in range(9)] == [0, 0, 0, 1, 2, 4, 8, 16, 32]
        assert allowance.delay(10) == 60
        assert allowance.delay(10_000) == 60

    def test_a_key_is_forgotten_after_a_quiet_hour(self) -> None:
        now = [0.0]
        counter = ProgressiveDelay(Allowance(free=1), forget=3600, clock=lambda: now[0])
        counter.fail("a")
        assert counter.wait("a") == 1
        assert counter.wait("b") == 0
        now[0] = 3600
        assert counter.wait("a") == 0
        counter.fail("a")
        assert counter.wait("a") == 1  # counted from scratch

    @staticmethod
    def _throttle(now: list[float]) -> LoginThrottle:
        return LoginThrottle.build(per_pair=2, per_address=3, per_login=4, per_device=2, clock=lambda: now[0])

    def test_one_guesser_slows_only_their_own_login_and_address(self) -> None:
        now = [0.0]
        throttle = self._throttle(now)
        guess = Attempt("Ann", "10.0.0.1")
        throttle.failed(guess)
        throttle.failed(Attempt("ann", "10.0.0.1"))
        assert throttle.wait(Attempt("ANN", "10.0.0.1")) == 1
        assert throttle.wait(Attempt("ann", "10.0.0.2")) == 0  # the owner elsewhere
        assert throttle.wait(Attempt("bob", "10.0.0.1")) == 0  # a colleague behind the same address
        now[0] = 1
        assert throttle.wait(guess) == 0  # a pause, never a lock

    def test_untrusted_spraying_and_botnets_are_slowed_but_a_known_device_is_not(self) -> None:
        now = [0.0]
        throttle = self._throttle(now)
        for login in ("a", "b", "c"):
            throttle.failed(Attempt(login, "10.0.0.1"))
        assert throttle.wait(Attempt("dora", "10.0.0.1")) == 1  # per address, past 3
        for address in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"):
            throttle.failed(Attempt("eve", address))
        assert throttle.wait(Attempt("eve", "5.5.5.5")) == 1  # per login, past 4
        assert throttle.wait(Attempt("eve", "10.0.0.1", device="d1")) == 0
        assert throttle.wait(Attempt("dora", "10.0.0.1", device="d2")) == 0

    def test_success_clears_the_pair_but_not_the_address(self) -> None:
        now = [0.0]
        throttle = self._throttle(now)
        for login in ("ann", "ann", "bob"):
            throttle.failed(Attempt(login, "10.0.0.1"))
        throttle.succeeded(Attempt("ann", "10.0.0.1"))
        assert throttle.wait(Attempt("ann", "10.0.0.1")) == 1  # still the address's 3 failures
        assert throttle.counters["pair"].wait("ann\x0010.0.0.1") == 0


class TestUsersAndTokens:
    def test_create_user_hashes_and_audits(self, engine: Engine) -> None:
        with session_scope(engine) as session:
            user = auth_service.create_user(
                session, login="ann", role=Role.MANAGER, password="a long password", team="North"
            )
            with pytest.raises(AuthError, match="already exists"):
                auth_service.create_user(session, login="ANN", role=Role.REP, password="a long password")
            with pytest.raises(AuthError, match="at least"):
                auth_service.create_user(session, login="bob", role=Role.REP, password="short")
            assert user.password_hash is not None
            assert user.password_hash.startswith("$argon2id$")
        with session_scope(engine) as session:
            assert auth_service.authenticate(session, login="ann", password="a long password") is not None
            assert auth_service.authenticate(session, login="ann", password="wrong password") is None
            entries = session.scalars(select(AuditEntry)).all()
            assert [(e.actor, e.action, e.entity, e.entity_id) for e in entries] == [
                ("cli", "create", "user", "ann")
            ]

    def test_tokens_scopes_expiry_and_audit(self, engine: Engine) -> None:
        clock = FrozenClock(datetime(2026, 1, 1, 12))
        with session_scope(engine) as session:
            auth_service.create_user(session, login="svc", role=Role.DIRECTOR, password="a long password")
            token, secret = auth_service.create_token(
                session,
                login="svc",
                scopes=frozenset({Scope.INGEST}),
                expires_in=timedelta(days=1),
                clock=clock,
            )
            assert secret.startswith("crk_")
            assert secret not in token.token_hash
            principal = auth_service.token_principal(session, secret, clock=clock)
            assert principal is not None
            assert principal.has_scope(Scope.INGEST)
            assert not principal.has_scope(Scope.READ)
            assert token.last_used_at == clock.now()
            clock.at += timedelta(days=2)
            assert auth_service.token_principal(session, secret, clock=clock) is None
            actions = [
                (e.action, e.entity) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            ]
            assert actions == [("create", "user"), ("create", "api_token")]

    def test_unknown_scopes_are_refused(self) -> None:
        with pytest.raises(AuthError, match="unknown scope"):
            auth_service.parse_scopes(["read", "superuser"])
        with pytest.raises(AuthError, match="at least one"):
            auth_service.parse_scopes([" ", ""])


class TestCli:
    def test_user_create_set_password_and_token(self, tmp_path: Path) -> None:
        db = f"sqlite:///{tmp_path / 'cli.db'}"
        runner = CliRunner()
        created = runner.invoke(
            app,
            [
                "--db",
                db,
                "user",
                "create",
                "zoe",
                "--role",
                "rep",
                "--team",
                "South",
                "--email",
                "z@x.cn",
                "--password-stdin",
            ],
            input="first password\n",
        )
        assert created.exit_code == 0, created.output
        prompted = runner.invoke(
            app, ["--db", db, "user", "set-password", "zoe"], input="second pass\nsecond pass\n"
        )
        assert prompted.exit_code == 0, prompted.output
        token = runner.invoke(
            app, ["--db", db, "token", "create", "zoe", "--scopes", "read,ingest", "--json"]
        )
        assert token.exit_code == 0, token.output
        assert '"token": "crk_' in token.output
        bad = runner.invoke(app, ["--db", db, "token", "create", "zoe", "--scopes", "root"])
        assert bad.exit_code == 1
        duplicate = runner.invoke(
            app,
            ["--db", db, "user", "create", "zoe", "--role", "rep", "--password-stdin"],
            input="x long pass\n",
        )
        assert duplicate.exit_code == 1
        # Only hashes in the database file: neither password nor token appears anywhere in it.
        raw = (tmp_path / "cli.db").read_bytes()
        for wal in tmp_path.glob("cli.db-*"):
            raw += wal.read_bytes()
        assert b"first password" not in raw
        assert b"second pass" not in raw
        assert b"$argon2id$" in raw
        secret = token.output.split('"token": "')[1].split('"')[0]
        assert secret.encode() not in raw


def test_cli_user_create_takes_a_phone_number(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    args = ["--db", db, "user", "create", "zoe", "--role", "rep", "--password-stdin"]
    refused = runner.invoke(app, [*args, "--phone", "not a phone"], input="first password\n")
    assert refused.exit_code == 1
    created = runner.invoke(app, [*args, "--phone", "+86 138 0013 8000"], input="first password\n")
    assert created.exit_code == 0, created.output
    engine = create_engine(db)
    with session_scope(engine) as session:
        assert session.scalars(select(User.phone).where(User.login == "zoe")).one() == "+8613800138000"
    engine.dispose()


def test_the_users_file_brings_phone_numbers(engine: Engine, settings: Settings) -> None:
    from churnradar.ingest.schemas import RecordKind
    from churnradar.ingest.service import import_records

    people = [
        {"login": "ann", "email": "ann@example.com", "phone": "+8613800138000"},
        {"login": "bob", "email": "bob@example.com"},
    ]
    summary = import_records(engine, people, kind=RecordKind.USERS, settings=settings, source="t")
    assert summary.status == "succeeded"
    too_long = [{"login": "cy", "phone": "+86" + "1" * 30}]
    refused = import_records(engine, too_long, kind=RecordKind.USERS, settings=settings, source="t")
    assert refused.status != "succeeded"
    with session_scope(engine) as session:
        phones = dict(session.execute(select(User.login, User.phone)).tuples().all())
    assert phones == {"ann": "+8613800138000", "bob": None}


def test_cli_changes_and_exports_are_audited_with_the_os_user(tmp_path: Path) -> None:
    import getpass

    import yaml

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def ok(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, ["--db", db, *args], input=stdin)
        assert result.exit_code == 0, result.output
        return result.stdout

    ok("user", "create", "zoe", "--role", "admin", "--password-stdin", stdin="first password\n")
    exported = ok("rule", "export")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(exported, encoding="utf-8")
    ok("rule", "import", str(rules_file), "--by", "zoe")
    template, rules = next(iter(yaml.safe_load(exported).items()))
    ok("silence", "add", "--rule", rules[0]["slug"], "--by", "zoe", "--reason", "known outage")
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity, AuditEntry.source).order_by(
                AuditEntry.id
            )
        ).all()
        details = conn.execute(select(AuditEntry.details)).scalars().all()
    engine.dispose()
    source = f"cli:{getpass.getuser()}"
    assert [tuple(r) for r in rows] == [
        ("cli", "create", "user", source),
        ("cli", "export", "rules", source),
        ("cli", "import", "rule", source),
        ("cli", "create", "silence", source),
    ]
    assert "first password" not in repr(details)
    assert details[2]["by"] == "zoe"
    assert template in details[2]["templates"]
    assert details[3]["reason"] == "known outage"
