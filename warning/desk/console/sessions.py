"""Console sessions and login throttling, both held in Redis so that they bind at once.

Why server-side: a signed cookie stays valid until it expires, whatever happens to the
officer, so logout and the removal of an officer could not take effect for up to 12 hours.
Here the cookie is only a random token; Redis holds the session under an HMAC of it (a Redis
dump yields no usable cookie, and without the console's key nobody who can merely write Redis
can mint one). Every request looks the session up and re-checks that the officer still exists
(the officers table and, where the console's Redis user may ask, the ACL user): nothing is
cached, so a deleted officer's next request is refused.

Throttling counts failed logins per officer name and client address in a key that expires
15 minutes after the first failure; at the limit the console answers 429 without checking
the password, so a guesser gets 5 tries per quarter hour and address. A success clears the
count. Behind a proxy the address is the proxy's (aiohttp's ``request.remote``) unless the
proxy's forwarding is configured in aiohttp; the per-name part still binds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from redis import exceptions as rexc

SESSION_SECONDS = 12 * 3600
FAIL_LIMIT = 5
FAIL_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in officer, with the unit scope read on this request."""

    name: str
    unit: str


class SessionStore:
    """Sessions and failure counters under ``{prefix}console:`` in the alert sink's Redis."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        secret: bytes,
        ttl: int = SESSION_SECONDS,
        fail_limit: int = FAIL_LIMIT,
        fail_window: int = FAIL_WINDOW_SECONDS,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.secret = secret
        self.ttl = ttl
        self.fail_limit = fail_limit
        self.fail_window = fail_window
        self._acl_checks = True  # off once Redis says this user may not run ACL GETUSER

    def _key(self, token: str) -> str:
        digest = hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()
        return f"{self.prefix}console:session:{digest}"

    def _fail_key(self, name: str, address: str) -> str:
        digest = hmac.new(self.secret, f"{name}\x00{address}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}console:fail:{digest}"  # no login name or address in key names

    async def create(self, name: str) -> str:
        """A new session for `name`; returns the cookie token."""
        token = secrets.token_urlsafe(32)
        await self.client.set(self._key(token), name, ex=self.ttl)
        return token

    async def drop(self, token: str) -> None:
        """End a session (logout)."""
        await self.client.delete(self._key(token))

    async def lookup(self, token: str) -> Session | None:
        """The session of a token if it exists and its officer still does, else None."""
        if not token or len(token) > 128:
            return None
        name = cast(str | None, await self.client.get(self._key(token)))
        if name is None:
            return None
        unit = cast(str | None, await self.client.hget(f"{self.prefix}officers", name))
        if unit is None or not await self._acl_user_exists(name):
            await self.drop(token)
            return None
        return Session(name, unit)

    async def _acl_user_exists(self, name: str) -> bool:
        if not self._acl_checks:
            return True
        try:
            return await self.client.acl_getuser(name) is not None
        except rexc.NoPermissionError:
            self._acl_checks = False  # a console user without +acl: the officers table decides
            return True

    async def throttled(self, name: str, address: str) -> bool:
        """True when this name and address have used up their failed attempts."""
        count = cast(str | None, await self.client.get(self._fail_key(name, address)))
        return count is not None and int(count) >= self.fail_limit

    async def failed(self, name: str, address: str) -> None:
        """Count one failed login; the window starts at the first failure."""
        key = self._fail_key(name, address)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.fail_window, nx=True)
            await pipe.execute()

    async def succeeded(self, name: str, address: str) -> None:
        """Clear the failure count after a correct login."""
        await self.client.delete(self._fail_key(name, address))
