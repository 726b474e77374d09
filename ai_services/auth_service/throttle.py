"""Login throttling per account and per client IP, counted in the cache store (Redis when set).

Failed attempts count in fixed windows of `login_window` seconds. Once an account or an IP has
used up its attempts, further logins answer 429 with Retry-After until the window ends, without
checking the password, so a brute force costs the attacker time and the server no Argon2 work.
A successful login clears the account's count.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from shared.database.cache import Cache


@dataclass(frozen=True)
class Throttled(Exception):
    scope: str  # "account" or "ip"
    retry_after: int


class LoginThrottle:
    def __init__(self, cache: Cache, per_account: int, per_ip: int, window: int) -> None:
        self.cache, self.per_account, self.per_ip, self.window = cache, per_account, per_ip, window

    def _keys(self, email: str, ip: str | None) -> tuple[str, str | None, int]:
        window = int(time.time() // self.window)
        account = hashlib.sha256(email.lower().encode()).hexdigest()[:24]
        return (f"auth:login:account:{account}:{window}",
                f"auth:login:ip:{ip}:{window}" if ip else None,
                (window + 1) * self.window)

    async def attempt(self, email: str, ip: str | None, *, per_account: bool = True) -> None:
        """Count this attempt before the password is checked, atomically, so that concurrent attempts
        cannot all pass the check; raise Throttled once the account or the IP is over its limit."""
        account_key, ip_key, ends = self._keys(email, ip)
        retry = max(1, math.ceil(ends - time.time()))
        if per_account and await self.cache.incr(account_key, ttl=self.window + 1) > self.per_account:
            raise Throttled("account", retry)
        if ip_key is not None and await self.cache.incr(ip_key, ttl=self.window + 1) > self.per_ip:
            raise Throttled("ip", retry)

    async def succeeded(self, email: str, ip: str | None, *, per_account: bool = True) -> None:
        """A right password: the account starts afresh, and the attempt does not count against the IP."""
        account_key, ip_key, _ = self._keys(email, ip)
        if per_account:
            await self.cache.delete(account_key)
        if ip_key is not None:
            await self.cache.incr(ip_key, -1)
