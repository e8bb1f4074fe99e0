"""Admin API keys: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import pytest

from customshop.adapters.memory import ManualClock, MemoryStore
from customshop.application.access import AccessKeys, ApiKeyNotFound
from customshop.domain.access import KEY_PREFIX, Scope
from customshop.domain.errors import AccessDenied, InvalidInput
from customshop.domain.hashing import hash_secret


async def test_a_key_is_returned_once_and_only_its_hash_is_stored(
    access: AccessKeys, store: MemoryStore
) -> None:
    key, secret = await access.create("storefront ops", ["catalog:write"])
    assert secret.startswith(KEY_PREFIX)
    assert len(secret) > 40
    (stored,) = store.api_keys.values()
    assert stored.key_hash == hash_secret(secret)
    assert secret not in repr(stored)
    assert stored.hint == secret[: len(stored.hint)] and len(stored.hint) < 12
    assert key.scopes == {Scope.CATALOG_WRITE}


async def test_keys_are_different_every_time(access: AccessKeys) -> None:
    secrets = {(await access.create("k", ["admin"]))[1] for _ in range(20)}
    assert len(secrets) == 20


@pytest.mark.parametrize(
    ("scopes", "wanted", "allowed"),
    [
        (["catalog:write"], Scope.CATALOG_WRITE, True),
        (["catalog:write"], Scope.ORDERS_READ, False),
        (["orders:read", "orders:write"], Scope.ORDERS_WRITE, True),
        (["admin"], Scope.REPORTS_READ, True),
        (["admin"], Scope.WEBHOOKS_MANAGE, True),
    ],
)
async def test_authorize_checks_the_scope(
    access: AccessKeys, scopes: list[str], wanted: Scope, allowed: bool
) -> None:
    _, secret = await access.create("k", scopes)
    if allowed:
        assert (await access.authorize(secret, wanted)).scopes == frozenset(Scope(s) for s in scopes)
    else:
        with pytest.raises(AccessDenied):
            await access.authorize(secret, wanted)


@pytest.mark.parametrize("presented", [None, "", "csk_unknown", "not-even-prefixed", "csk_" + "x" * 500])
async def test_missing_or_unknown_keys_are_denied(access: AccessKeys, presented: str | None) -> None:
    await access.create("k", ["admin"])
    with pytest.raises(AccessDenied):
        await access.authorize(presented, Scope.CATALOG_WRITE)


async def test_revoked_keys_are_denied_at_once(access: AccessKeys, clock: ManualClock) -> None:
    key, secret = await access.create("k", ["admin"])
    clock.advance(hours=1)
    revoked = await access.revoke(key.id)
    assert revoked.revoked_at == clock.now()
    assert (await access.revoke(key.id)).revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(AccessDenied):
        await access.authorize(secret, Scope.CATALOG_WRITE)
    assert await access.identify(secret) is None
    assert [k.active for k in await access.list()] == [False]
    with pytest.raises(ApiKeyNotFound):
        await access.revoke("no-such-key")


async def test_bad_requests_for_keys_name_every_problem(access: AccessKeys, store: MemoryStore) -> None:
    with pytest.raises(InvalidInput) as caught:
        await access.create("", ["catalog:write", "root"])
    assert [(v.field, v.code) for v in caught.value.violations] == [
        ("name", "invalid_length"),
        ("scope", "invalid_choice"),
    ]
    with pytest.raises(InvalidInput) as none:
        await access.create("k", [])
    assert none.value.violations[0].code == "required"
    assert store.api_keys == {}
