"""`wacoex workspaces`, `apikeys` and numbers' tokens as a user runs them (subprocesses on one database):
keys printed once and stored as digests, revocable; tokens encrypted, rotated by `numbers reencrypt`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.test_cli import assert_one_line_error, run_cli
from wacoex.domain.access import Role
from wacoex.store.apikeys import principal_for
from wacoex.store.engine import make_engine
from wacoex.store.token_cipher import PREFIX, TokenCipher

OLD = "old-secret-key-for-tokens-0123456789"
NEW = "new-secret-key-for-tokens-9876543210"
NUMBER = [
    "--waba-id",
    "102290129340398",
    "--phone-number-id",
    "2002",
    "--display-phone-number",
    "15550002222",
]


@pytest.fixture
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "wacoex.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


def _key_from_stdout(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WACOEX_")}
    proc = subprocess.run(
        [sys.executable, "-m", "wacoex", *args],
        cwd=cwd,
        env={**environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    [key] = proc.stdout.splitlines()  # the key alone on stdout, so `KEY=$(wacoex apikeys create)` works
    assert proc.stderr == ""
    return key


def _scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def test_workspaces_keys_and_numbers_from_the_command_line(url: str, tmp_path: Path) -> None:
    env = {"WACOEX_DATABASE_URL": url}
    assert run_cli(["workspaces", "add", "acme"], tmp_path, env) == (0, ["workspace 2 (acme) added"])
    assert_one_line_error(
        run_cli(["workspaces", "add", "acme"], tmp_path, env), 1, "workspace 'acme' already exists"
    )
    assert_one_line_error(run_cli(["workspaces", "add", "12"], tmp_path, env), 2, "cannot be only digits")

    key = _key_from_stdout(
        ["apikeys", "create", "--name", "shop bot", "--workspace", "acme", "--role", "bot"], tmp_path, env
    )
    default_key = _key_from_stdout(["apikeys", "create", "--name", "crm"], tmp_path, env)
    engine = make_engine(url)
    with engine.connect() as conn:
        bot, crm = principal_for(conn, key), principal_for(conn, default_key)
    assert bot is not None
    assert (bot.workspace_id, bot.role, bot.name) == (2, Role.BOT, "shop bot")
    assert crm is not None
    assert (crm.workspace_id, crm.role) == (1, Role.ADMIN)  # a single-workspace install names nothing
    assert_one_line_error(
        run_cli(["apikeys", "create", "--role", "root"], tmp_path, env),
        2,
        "role must be one of admin, operator, bot, read-only, not 'root'",
    )
    assert_one_line_error(
        run_cli(["apikeys", "create", "--workspace", "nowhere"], tmp_path, env), 1, "no workspace 'nowhere'"
    )

    code, lines = run_cli(["apikeys", "list"], tmp_path, env)
    assert code == 0
    listing = "\n".join(lines)
    assert key not in listing
    assert key[:10] in listing
    assert "shop bot" in listing

    assert run_cli(["apikeys", "revoke", str(bot.key_id)], tmp_path, env) == (
        0,
        [f"key {bot.key_id} (shop bot) revoked"],
    )
    with engine.connect() as conn:
        assert principal_for(conn, key) is None
    engine.dispose()
    assert_one_line_error(run_cli(["apikeys", "revoke", "99"], tmp_path, env), 1, "no API key 99")

    code, lines = run_cli(["numbers", "add", *NUMBER, "--workspace", "acme"], tmp_path, env)
    assert (code, lines[-1]) == (
        0,
        "registered 2002 (+15550002222) in workspace 2; 0 held receipt(s) released",
    )
    code, lines = run_cli(["workspaces", "list"], tmp_path, env)
    cells = [[c.strip() for c in line.split("│") if c.strip()] for line in lines if "│" in line]
    assert ["1", "default", "0", "1"] in cells  # id, name, numbers, active keys
    assert ["2", "acme", "1", "0"] in cells


def test_a_token_is_stored_encrypted_and_reencrypt_moves_it_to_a_new_key(url: str, tmp_path: Path) -> None:
    add = ["numbers", "add", *NUMBER, "--access-token", "EAAG-secret-token"]
    # Encrypted with the development key, the gateway could never read it: refused outside --dev.
    assert_one_line_error(
        run_cli(add, tmp_path, {"WACOEX_DATABASE_URL": url}),
        2,
        "set WACOEX_SECRET_KEY, the key provider tokens",
    )
    assert_one_line_error(
        run_cli(add, tmp_path, {"WACOEX_DATABASE_URL": url, "WACOEX_SECRET_KEY": "short"}),
        2,
        "WACOEX_SECRET_KEY must be at least 32 characters",
    )
    code, _ = run_cli(add, tmp_path, {"WACOEX_DATABASE_URL": url, "WACOEX_SECRET_KEY": OLD})
    assert code == 0
    stored = str(_scalar(url, "SELECT access_token FROM numbers"))
    assert stored.startswith(PREFIX)
    assert "EAAG-secret-token" not in stored
    assert TokenCipher(OLD).decrypt(stored) == "EAAG-secret-token"

    rotated = {"WACOEX_DATABASE_URL": url, "WACOEX_SECRET_KEY": NEW, "WACOEX_PREVIOUS_SECRET_KEYS": OLD}
    assert run_cli(["numbers", "reencrypt"], tmp_path, rotated) == (
        0,
        ["1 token(s) re-encrypted with the current secret key"],
    )
    assert run_cli(["numbers", "reencrypt"], tmp_path, rotated) == (
        0,
        ["0 token(s) re-encrypted with the current secret key"],
    )
    assert (
        TokenCipher(NEW).decrypt(str(_scalar(url, "SELECT access_token FROM numbers"))) == "EAAG-secret-token"
    )
    assert_one_line_error(
        run_cli(["numbers", "reencrypt"], tmp_path, {"WACOEX_DATABASE_URL": url, "WACOEX_SECRET_KEY": OLD}),
        2,
        "cannot be decrypted with WACOEX_SECRET_KEY or WACOEX_PREVIOUS_SECRET_KEYS",
    )
