"""Revoked tokens and cut-off subjects, shared by every process through the cache.

The auth service writes an entry to the cache (so a process that starts later finds it) and
publishes it (so every running process learns it within one pub/sub poll). Verifiers keep what
they have heard in memory, which is what keeps a cached verification free of I/O.

Two kinds of entry:
- a token id (`jti`): that one token is revoked (logout);
- a subject cut-off: every token of that user, API key or service client issued before the time
  is void (disabled, deleted, role changed, password changed, key revoked).
Entries live as long as the tokens they void can: the access-token lifetime plus the leeway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from shared.database.cache import Cache

CHANNEL = "auth.denylist"
JTI_KEY = "auth:deny:jti:"
SUBJECT_KEY = "auth:deny:sub:"
log = logging.getLogger("looma.auth")


class Denylist:
    def __init__(self, cache: Callable[[], Cache]) -> None:
        self._cache = cache
        self._jti: dict[str, float] = {}  # jti -> when the entry can be forgotten
        self._cutoff: dict[str, tuple[float, float]] = {}  # subject -> (cutoff, forget at)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    # --- what the auth service does -------------------------------------------------------------
    async def revoke_token(self, jti: str, expires_at: float) -> None:
        ttl = max(1.0, expires_at - time.time())
        self._remember_jti(jti, time.time() + ttl)
        await self._cache().set(JTI_KEY + jti, b"1", ttl=ttl)
        await self._cache().publish(CHANNEL, json.dumps({"jti": jti, "ttl": ttl}).encode())

    async def cut_off(self, subject: str, lifetime: float, at: float | None = None) -> None:
        """Void every token of `subject` issued before `at` (now); `lifetime` is how long they live."""
        cutoff = time.time() if at is None else at
        self._remember_cutoff(subject, cutoff, time.time() + lifetime)
        await self._cache().set(SUBJECT_KEY + subject, repr(cutoff).encode(), ttl=lifetime)
        await self._cache().publish(CHANNEL, json.dumps({"sub": subject, "cutoff": cutoff, "ttl": lifetime}).encode())

    # --- what every verifier does ---------------------------------------------------------------
    def denies(self, jti: str, subjects: tuple[str, ...], issued_at: float) -> bool:
        """From memory only: what this process has heard."""
        now = time.time()
        forget = self._jti.get(jti)
        if forget is not None and forget > now:
            return True
        for subject in subjects:
            entry = self._cutoff.get(subject)
            if entry is not None and entry[1] > now and issued_at < entry[0]:
                return True
        return False

    async def denies_fresh(self, jti: str, subjects: tuple[str, ...], issued_at: float) -> bool:
        """Memory, then the cache: for tokens this process has not verified before."""
        if self.denies(jti, subjects, issued_at):
            return True
        cache = self._cache()
        if await cache.get(JTI_KEY + jti) is not None:
            self._remember_jti(jti, time.time() + 60)
            return True
        for subject in subjects:
            raw = await cache.get(SUBJECT_KEY + subject)
            if raw is not None:
                cutoff = float(raw)
                self._remember_cutoff(subject, cutoff, time.time() + 60)
                if issued_at < cutoff:
                    return True
        return False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen(), name="auth-denylist")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        while True:
            try:
                subscription = await self._cache().subscribe(CHANNEL)
                self.listening.set()
                try:
                    async for message in subscription:
                        self._apply(message)
                finally:
                    await subscription.close()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the cache went away: keep trying, verification falls back to it
                self.listening.clear()
                log.warning("denylist subscription lost; retrying", extra={"error": str(error) or type(error).__name__})
                await asyncio.sleep(1.0)

    def _apply(self, message: bytes) -> None:
        try:
            entry = json.loads(message)
            until = time.time() + float(entry["ttl"])
            if "jti" in entry:
                self._remember_jti(str(entry["jti"]), until)
            else:
                self._remember_cutoff(str(entry["sub"]), float(entry["cutoff"]), until)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed denylist message")

    def _remember_jti(self, jti: str, until: float) -> None:
        self._jti[jti] = max(until, self._jti.get(jti, 0.0))
        self._prune()

    def _remember_cutoff(self, subject: str, cutoff: float, until: float) -> None:
        previous = self._cutoff.get(subject)
        if previous is None or cutoff >= previous[0]:
            self._cutoff[subject] = (cutoff, until)
        self._prune()

    def _prune(self) -> None:
        if len(self._jti) + len(self._cutoff) < 10_000:
            return
        now = time.time()
        self._jti = {k: v for k, v in self._jti.items() if v > now}
        self._cutoff = {k: v for k, v in self._cutoff.items() if v[1] > now}
