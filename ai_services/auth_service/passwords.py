"""Passwords: Argon2id hashes and the minimum policy.

Parameters: Argon2id with memory 19 MiB, time cost 2, parallelism 1, a 16-byte salt and a 32-byte
hash: the first configuration of the OWASP Password Storage Cheat Sheet. RFC 9106's 64 MiB / t=3
profile measured 8-10x slower here (docs/benchmarks.md), which on a two-core host would let a
burst of logins starve every other request. Hashes carry their parameters, so raising them later
re-hashes each password at its next successful login. Hashing runs in a worker thread
(argon2-cffi releases the GIL), never on the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
MIN_LENGTH = 10
MAX_LENGTH = 256  # hashing cost must not grow with what a client sends
COMMON = frozenset({
    "password123", "1234567890", "qwertyuiop", "password1234", "iloveyou123", "letmein123", "welcome123",
    "admin12345", "abc1234567", "passw0rd123", "qwerty12345", "0123456789", "1q2w3e4r5t", "a1b2c3d4e5",
})
# Verified when the email is unknown, so that a login takes as long whether or not the account exists.
_DUMMY_HASH = HASHER.hash("looma-timing-equaliser")


class WeakPassword(ValueError):
    pass


def check_policy(password: str, email: str | None = None) -> None:
    """Raise WeakPassword naming what is wrong: length, a well-known password, or the email itself."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPassword("the password needs at least 4 different characters")
    lowered = password.lower()
    if lowered in COMMON:
        raise WeakPassword("the password is too common")
    if email and (lowered == email.lower() or lowered == email.split("@", 1)[0].lower()):
        raise WeakPassword("the password must not be the email address")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant in time whether or not there is a hash to check against."""
    try:  # a longer password never matches, but costs the same (no policy-compliant password is that long)
        matched = HASHER.verify(stored_hash or _DUMMY_HASH, password[:MAX_LENGTH])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and stored_hash is not None and len(password) <= MAX_LENGTH


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored_hash, password)
