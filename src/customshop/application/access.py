"""Admin API keys: create (shown once), list, revoke, and authorize a presented key."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace

from customshop.application.ports import Clock, IdGenerator, UnitOfWorkFactory
from customshop.domain.access import KEY_PREFIX, ApiKey, Scope
from customshop.domain.errors import AccessDenied, InvalidInput, NotFound, Violation
from customshop.domain.hashing import hash_secret

NAME_MAX = 100


class ApiKeyNotFound(NotFound):
    pass


class AccessKeys:
    """API key administration and checks. Each method is one committed unit of work."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def create(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """Create a key; returns it and its secret, which is not stored and cannot be shown again.

        Raises:
            InvalidInput: empty or long name, no scope, or an unknown scope.
        """
        problems: list[Violation] = []
        if not name.strip() or len(name) > NAME_MAX:
            problems.append(Violation("name", "invalid_length", f"name must be 1 to {NAME_MAX} characters"))
        wanted = list(scopes)
        known = {scope.value for scope in Scope}
        for scope in wanted:
            if scope not in known:
                problems.append(
                    Violation(
                        "scope",
                        "invalid_choice",
                        f"unknown scope {scope!r}; one of {', '.join(sorted(known))}",
                    )
                )
        if not wanted:
            problems.append(Violation("scope", "required", "a key needs at least one scope"))
        if problems:
            raise InvalidInput(problems, "The API key request is invalid.")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=self._ids.new_id(),
            name=name,
            hint=secret[: len(KEY_PREFIX) + 6],
            key_hash=hash_secret(secret),
            scopes=frozenset(Scope(scope) for scope in wanted),
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.api_keys.add(key)
            await uow.commit()
        return key, secret

    async def list(self) -> list[ApiKey]:
        async with self._uow(read_only=True) as uow:
            return await uow.api_keys.list()

    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once. Idempotent.

        Raises:
            ApiKeyNotFound: no key has this id.
        """
        async with self._uow() as uow:
            key = await uow.api_keys.get(key_id)
            if key is None:
                raise ApiKeyNotFound(f"there is no API key {key_id!r}")
            if key.revoked_at is None:
                now = self._clock.now()
                await uow.api_keys.revoke(key_id, now)
                key = replace(key, revoked_at=now)
                await uow.commit()
        return key

    async def authorize(self, presented: str | None, scope: Scope) -> ApiKey:
        """The key behind ``presented`` if it may act within ``scope``.

        Raises:
            AccessDenied: missing, unknown, revoked, or out-of-scope key (one answer for all, so a
                caller learns nothing about which keys exist).
        """
        key = await self.identify(presented)
        if key is None or not key.allows(scope):
            raise AccessDenied(f"this operation needs an API key with the {scope.value!r} scope")
        return key

    async def identify(self, presented: str | None) -> ApiKey | None:
        """The active key behind ``presented``, or ``None``."""
        if not presented or not presented.startswith(KEY_PREFIX) or len(presented) > 200:
            return None
        async with self._uow(read_only=True) as uow:
            key = await uow.api_keys.get_by_hash(hash_secret(presented))
        return key if key is not None and key.active else None
