"""The command line as a user runs it (a subprocess, no terminal, no stdin): every failure is one line
and a non-zero exit, never a traceback; commands that only read never create or migrate a database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from wacoex.store.engine import alembic_config, current_revision, make_engine, upgrade
from wacoex.store.numbers import add_number

STRONG_SECRETS = {
    "WACOEX_APP_SECRETS": "meta-app-secret",
    "WACOEX_VERIFY_TOKEN": "verify-token-0123456789",
    "WACOEX_ADMIN_API_KEY": "admin-key-0123456789",
    "WACOEX_SECRET_KEY": "secret-key-for-tokens-0123456789",
}
ADD = ["numbers", "add", "--waba-id", "102290129340398"]


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Exit code and the non-empty lines of stdout and stderr together."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WACOEX_")}
    proc = subprocess.run(
        [sys.executable, "-m", "wacoex", *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]


def assert_one_line_error(outcome: tuple[int, list[str]], exit_code: int, expected: str) -> None:
    code, lines = outcome
    assert not any("Traceback" in line for line in lines), lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert expected in lines[0], lines
    assert code == exit_code, (code, lines)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A regular file (no folder can be made under it), an empty file and a text file."""
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty.db").touch()
    (tmp_path / "notes.db").write_text("not a database\n" * 100)
    (tmp_path / "bad.yaml").write_text("numbers: [\n")
    (tmp_path / "list.yaml").write_text("- 1\n")
    (tmp_path / "incomplete.yaml").write_text("numbers:\n  - waba_id: '1'\n")
    (tmp_path / "timeline.yaml").write_text("timeline:\n  - {at: soon, do: onboard}\n")
    return tmp_path


UNREACHABLE = "postgresql://postgres@127.0.0.1:1/wacoex"


@pytest.mark.parametrize(
    ("args", "env", "exit_code", "expected"),
    [
        # settings
        (
            ["serve"],
            {},
            2,
            "set WACOEX_APP_SECRETS, WACOEX_VERIFY_TOKEN, WACOEX_ADMIN_API_KEY, WACOEX_SECRET_KEY "
            "(or pass --dev)",
        ),
        (
            ["serve"],
            {**STRONG_SECRETS, "WACOEX_ADMIN_API_KEY": "k" * 15},
            2,
            "WACOEX_ADMIN_API_KEY must be at least 16 characters",
        ),
        (
            ["serve", "--dev"],
            {"WACOEX_DIALOG360_HEADER_SECRETS": '[""]'},
            2,
            "WACOEX_DIALOG360_HEADER_SECRETS: contains an empty secret",
        ),
        (["serve"], {**STRONG_SECRETS, "WACOEX_APP_SECRETS": '[" "]'}, 2, "WACOEX_APP_SECRETS: contains an"),
        (["serve", "--dev"], {"WACOEX_VERIFY_TOKEN": ""}, 2, "WACOEX_VERIFY_TOKEN: must not be empty"),
        (["numbers", "list"], {"WACOEX_WORKER_BATCH": "many"}, 2, "WACOEX_WORKER_BATCH: Input should be"),
        (
            ["serve", "--dev"],
            {"WACOEX_RATE_CARD_PATH": "{tmp}/missing.csv"},
            2,
            "cannot read the rate card WACOEX_RATE_CARD_PATH={tmp}/missing.csv: No such file",
        ),
        (
            ["serve", "--dev"],
            {"WACOEX_RATE_CARD_PATH": "{tmp}/bad.yaml"},
            2,
            "rate card {tmp}/bad.yaml:1: missing column(s) market, regions, currency",
        ),
        # options
        (["serve", "--dev", "--port", "99999"], {}, 2, "--port must be between 1 and 65535, not 99999"),
        # database URLs
        (["numbers", "list", "--database-url", "foo://"], {}, 2, "unsupported database 'foo'"),
        (["db", "upgrade", "--database-url", "mysql://u@h/db"], {}, 2, "unsupported database 'mysql'"),
        (["receipts", "list", "--database-url", "postgresql://u:s3cret@h:port/db"], {}, 2, "not a valid"),
        (["numbers", "list", "--database-url", UNREACHABLE], {}, 1, "Connection refused"),
        (["db", "upgrade"], {"WACOEX_DATABASE_URL": UNREACHABLE}, 1, "Connection refused"),
        # read commands never create a database
        (
            ["numbers", "list", "--database-url", "sqlite:///{tmp}/no/such/dir/x.db"],
            {},
            1,
            "database {tmp}/no/such/dir/x.db does not exist: create it with `wacoex db upgrade`",
        ),
        (["receipts", "list"], {}, 1, "database ./var/wacoex.db does not exist"),
        (["receipts", "replay", "999"], {}, 1, "database ./var/wacoex.db does not exist"),
        (["receipts", "list", "--database-url", "sqlite:///{tmp}/empty.db"], {}, 1, "has no wacoex schema"),
        (
            ["numbers", "list", "--database-url", "sqlite:///{tmp}/notes.db"],
            {},
            1,
            "is not a wacoex database",
        ),
        # write commands may create a SQLite file, but not under a file
        (
            ["db", "upgrade", "--database-url", "sqlite:///{tmp}/afile/x.db"],
            {},
            1,
            "cannot create the folder",
        ),
        (
            [
                *ADD,
                "--phone-number-id",
                "1",
                "--display-phone-number",
                "1",
                "--database-url",
                "sqlite:///{tmp}/afile/x.db",
            ],
            {},
            1,
            "cannot create the folder {tmp}/afile of database {tmp}/afile/x.db",
        ),
        (
            ["worker", "--database-url", "sqlite:///{tmp}/afile/sub/x.db"],
            {"WACOEX_SECRET_KEY": "k" * 40},
            1,
            "cannot create the folder",
        ),
        # a worker downloads media with the numbers' tokens: not with the development key unless --dev
        (
            ["worker", "--database-url", "sqlite:///{tmp}/empty.db"],
            {},
            2,
            "set WACOEX_SECRET_KEY, the key provider tokens are encrypted with (or pass --dev)",
        ),
        (
            ["worker", "--database-url", "sqlite:///{tmp}/empty.db"],
            {"WACOEX_SECRET_KEY": "short"},
            2,
            "WACOEX_SECRET_KEY must be at least",
        ),
        # the emulator's scenario files
        (["emulator", "--seed", "{tmp}/missing.yaml"], {}, 2, "scenario {tmp}/missing.yaml does not exist"),
        (["emulator", "--seed", "{tmp}/bad.yaml"], {}, 2, "bad.yaml is not valid YAML"),
        (["emulator", "--seed", "{tmp}/incomplete.yaml"], {}, 2, "'display_phone_number'"),
        (["emulator", "--port", "70000"], {}, 2, "--port must be between 1 and 65535"),
    ],
)
def test_each_failure_is_one_line_and_a_non_zero_exit(
    files: Path, args: list[str], env: dict[str, str], exit_code: int, expected: str
) -> None:
    tmp = str(files)
    env = {k: v.replace("{tmp}", tmp) for k, v in env.items()}
    outcome = run_cli([a.replace("{tmp}", tmp) for a in args], files, env)
    assert_one_line_error(outcome, exit_code, expected.replace("{tmp}", tmp))
    assert "s3cret" not in outcome[1][0]
    assert not (files / "no").exists()
    assert not (files / "var").exists()  # nothing made a database where none was asked for
    assert (files / "empty.db").stat().st_size == 0


def test_a_typer_usage_error_keeps_exit_code_2(tmp_path: Path) -> None:
    code, lines = run_cli(["receipts", "list", "--limit", "many"], tmp_path)
    assert code == 2
    assert not any("Traceback" in line for line in lines)


@pytest.fixture
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty SQLite database (the store tests run the same rules on PostgreSQL too)."""
    path = tmp_path / "wacoex.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("args", "exit_code", "expected"),
    [
        (["receipts", "list", "--state", "bogus"], 2, "unknown receipt state 'bogus': use one of pending"),
        (["receipts", "list", "--limit", "-5"], 2, "limit must be at least 1, not -5"),
        (["receipts", "replay", "--state", "bogus"], 2, "unknown receipt state 'bogus'"),
        (["receipts", "replay", "999"], 1, "receipt 999 does not exist"),
        (
            [*ADD, "--phone-number-id", "2", "--display-phone-number", "+1 555-078-3881"],
            1,
            "display number +15550783881 is already registered for number 1",
        ),
    ],
)
def test_bad_requests_on_a_database_are_one_line(
    migrated: str, tmp_path: Path, args: list[str], exit_code: int, expected: str
) -> None:
    engine = make_engine(migrated)
    try:
        with engine.begin() as conn:
            add_number(
                conn,
                phone_number_id="1",
                display_phone_number="15550783881",
                waba_id="102290129340398",
                provider="meta",
                coexistence=True,
            )
        assert_one_line_error(run_cli(args, tmp_path, {"WACOEX_DATABASE_URL": migrated}), exit_code, expected)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM numbers")).scalar() == 1
    finally:
        engine.dispose()


def test_read_commands_refuse_an_older_schema_and_leave_it_as_it_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0004")
    outcome = run_cli(["numbers", "list", "--database-url", url], tmp_path)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert_one_line_error(outcome, 1, f"has schema revision 0004, not {head}: run `wacoex db upgrade`")
    engine = make_engine(url)
    try:
        assert current_revision(engine) == "0004"
    finally:
        engine.dispose()


@pytest.fixture
def postgres(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated PostgreSQL database of this session (skipped without a server)."""
    return str(request.getfixturevalue("_postgres_database"))


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_one_line_and_is_not_created(postgres: str, tmp_path: Path) -> None:
    name = f"wacoex_missing_{uuid.uuid4().hex[:8]}"
    url = postgres.rsplit("/", 1)[0] + "/" + name
    outcome = run_cli(["db", "upgrade", "--database-url", url], tmp_path)
    assert_one_line_error(outcome, 1, f'database "{name}" does not exist')


@pytest.mark.postgres
def test_a_postgresql_database_without_the_schema_is_named_and_left_empty(
    postgres: str, tmp_path: Path
) -> None:
    name = f"wacoex_empty_{uuid.uuid4().hex[:8]}"
    url = postgres.rsplit("/", 1)[0] + "/" + name
    admin = make_engine(postgres).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        outcome = run_cli(["receipts", "list", "--database-url", url], tmp_path)
        assert_one_line_error(outcome, 1, "has no wacoex schema: run `wacoex db upgrade`")
        engine = make_engine(url)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.engine.dispose()
