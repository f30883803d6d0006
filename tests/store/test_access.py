"""Workspaces, API keys and provider tokens at rest, on both engines: what is stored, who a key is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.gateway import BUSINESS
from wacoex.domain.access import Role
from wacoex.errors import ConfigError, Conflict, InvalidInput, NotFound
from wacoex.services.admin import Admin
from wacoex.store.admin import SqlAdmin
from wacoex.store.apikeys import principal_for
from wacoex.store.engine import make_engine
from wacoex.store.numbers import get_number, number_ref
from wacoex.store.reading import SqlReading
from wacoex.store.token_cipher import PREFIX, TokenCipher

OLD = "old-secret-key-for-provider-tokens-0123"
NEW = "new-secret-key-for-provider-tokens-4567"
TOKEN = "EAAG-meta-token-that-must-never-be-stored-in-clear"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _stored_token(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT access_token FROM numbers")).scalar()  # type: ignore[no-any-return]


def test_workspace_1_default_exists_and_new_ones_are_listed_with_their_counts(engine: Engine) -> None:
    admin = Admin(SqlAdmin(engine, TokenCipher(OLD)))
    acme = admin.add_workspace("acme")
    admin.add_number(**BUSINESS, provider="meta", coexistence=True, workspace="acme")
    admin.create_api_key("bot", workspace=str(acme.id), role="bot")
    admin.create_api_key("crm")
    listed = {w.name: (w.id, w.numbers, w.api_keys) for w in admin.workspaces()}
    assert listed == {"default": (1, 0, 1), "acme": (acme.id, 1, 1)}
    assert acme.id != 1


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("default", Conflict, "workspace 'default' already exists"),
        ("42", InvalidInput, "cannot be only digits"),
        ("  ", InvalidInput, "1 to 128 characters"),
        ("x" * 129, InvalidInput, "1 to 128 characters"),
    ],
)
def test_a_workspace_name_is_unique_and_never_reads_as_an_id(
    engine: Engine, name: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Admin(SqlAdmin(engine, TokenCipher(OLD))).add_workspace(name)


def test_a_workspace_that_does_not_exist_is_named_in_the_error(engine: Engine) -> None:
    admin = Admin(SqlAdmin(engine, TokenCipher(OLD)))
    for ref in ("nowhere", "77"):
        with pytest.raises(NotFound, match=f"no workspace '{ref}'"):
            admin.create_api_key("k", workspace=ref)
        with pytest.raises(NotFound, match=f"no workspace '{ref}'"):
            admin.add_number(**BUSINESS, provider="meta", coexistence=True, workspace=ref)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM numbers")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM api_keys")).scalar() == 0


def test_a_key_is_its_workspace_and_role_until_revoked(engine: Engine) -> None:
    admin = Admin(SqlAdmin(engine, TokenCipher(OLD)))
    acme = admin.add_workspace("acme")
    info, key = admin.create_api_key("support desk", workspace="acme", role="operator")
    assert (info.workspace_id, info.workspace, info.role, info.revoked_at) == (
        acme.id,
        "acme",
        "operator",
        None,
    )
    with engine.connect() as conn:
        who = principal_for(conn, key)
    assert who is not None
    assert (who.workspace_id, who.role, who.key_id, who.name) == (
        acme.id,
        Role.OPERATOR,
        info.id,
        "support desk",
    )

    revoked = admin.revoke_api_key(info.id)
    assert revoked.revoked_at is not None
    assert admin.revoke_api_key(info.id).revoked_at == revoked.revoked_at  # again: nothing changes
    with engine.connect() as conn:
        assert principal_for(conn, key) is None
        assert principal_for(conn, key + "x") is None
    [listed] = admin.api_keys()
    assert listed == revoked
    assert key not in repr(listed)
    with pytest.raises(NotFound, match="no API key 99"):
        admin.revoke_api_key(99)


def test_an_unknown_role_is_refused_with_the_roles_named(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="role must be one of admin, operator, bot, read-only, not 'root'"):
        Admin(SqlAdmin(engine, TokenCipher(OLD))).create_api_key("k", role="root")


def test_a_token_is_stored_encrypted_and_read_back_only_where_a_provider_needs_it(engine: Engine) -> None:
    cipher = TokenCipher(OLD)
    number, _ = Admin(SqlAdmin(engine, cipher)).add_number(
        **BUSINESS, provider="meta", coexistence=True, access_token=TOKEN
    )
    stored = _stored_token(engine)
    assert stored is not None
    assert stored.startswith(PREFIX)
    assert TOKEN not in stored
    assert number.access_token == TOKEN
    assert TOKEN not in repr(number)  # never logged with the number
    reading = SqlReading(engine, engine, cipher)
    ref = reading.number_ref(BUSINESS["phone_number_id"], None)
    assert ref is not None
    assert ref.access_token == TOKEN
    with engine.connect() as conn:
        row = get_number(conn, BUSINESS["phone_number_id"])
    assert number_ref(row).access_token is None  # the apply path: never decrypted


def test_rotation_reads_with_the_previous_key_and_reencrypt_moves_every_token(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO numbers (phone_number_id, display_phone_number, waba_id, provider, coexistence,"
                " state, history_state, access_token, created_at, updated_at, workspace_id)"
                " VALUES ('legacy', '15550000001', 'w', 'meta', false, 'connected', 'none', 'plain-token',"
                " 0, 0, 1)"
            )
        )
    Admin(SqlAdmin(engine, TokenCipher(OLD))).add_number(
        **BUSINESS, provider="meta", coexistence=True, access_token=TOKEN
    )
    rotated = TokenCipher(NEW, [OLD])
    reading = SqlReading(engine, engine, rotated)
    pnid = BUSINESS["phone_number_id"]
    assert reading.number_ref(pnid, None).access_token == TOKEN  # type: ignore[union-attr]
    assert reading.number_ref("legacy", None).access_token == "plain-token"  # type: ignore[union-attr]

    admin = Admin(SqlAdmin(engine, rotated))
    assert admin.reencrypt_tokens() == 2  # the old key's and the plaintext one
    assert admin.reencrypt_tokens() == 0  # nothing left to move
    only_new = SqlReading(engine, engine, TokenCipher(NEW))
    assert only_new.number_ref(pnid, None).access_token == TOKEN  # type: ignore[union-attr]
    assert only_new.number_ref("legacy", None).access_token == "plain-token"  # type: ignore[union-attr]
    with engine.connect() as conn:
        values = conn.execute(sa.text("SELECT access_token FROM numbers")).scalars().all()
    assert all(v.startswith(PREFIX) and "plain-token" not in v for v in values)

    with pytest.raises(ConfigError, match="cannot be decrypted with WACOEX_SECRET_KEY"):
        SqlReading(engine, engine, TokenCipher(OLD)).number_ref(pnid, None)


def test_a_number_is_read_only_in_its_workspace(engine: Engine) -> None:
    admin = Admin(SqlAdmin(engine, TokenCipher(OLD)))
    acme = admin.add_workspace("acme")
    admin.add_number(**BUSINESS, provider="meta", coexistence=True, workspace="acme")
    reading = SqlReading(engine, engine, TokenCipher(OLD))
    pnid = BUSINESS["phone_number_id"]
    assert reading.number(pnid, 1) is None
    assert reading.number_ref(pnid, 1) is None
    assert reading.number(pnid, acme.id) is not None
    assert [r.phone_number_id for r in reading.numbers(None)] == [pnid]
    assert reading.numbers(1) == []
    ref = reading.number_ref(pnid, acme.id)
    assert ref is not None
    assert ref.workspace_id == acme.id
