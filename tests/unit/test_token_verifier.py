"""TokenVerifier on its own: which tokens it accepts, the exact reason it gives for each refusal,
how often it asks the JWKS source for keys, and how its LRU still honours the denylist.

The verifier trusts a TestIssuer's key through a counting JWKS source; its denylist sits on an
embedded cache in the test's directory. Hostile tokens are assembled by hand (base64url header,
payload and signature), because PyJWT refuses to produce most of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

import shared.service.auth.verifier as verifier_module
from shared.database.cache_embedded import EmbeddedCache
from shared.service.auth.denylist import Denylist
from shared.service.auth.permissions import permissions_for
from shared.service.auth.principal import Principal
from shared.service.auth.verifier import ACCESS_TOKEN_TYPE, KeysUnavailable, TokenRejected, TokenVerifier
from tests.tokens import AUDIENCE, ISSUER, TestIssuer

LEEWAY = 30.0
REFRESH_INTERVAL = 5.0
JWKS_MAX_AGE = 600.0

MALFORMED = "the token is malformed"
ALGORITHM_REFUSED = "the token's signing algorithm is not accepted"
NOT_AN_ACCESS_TOKEN = "the token is not an access token"
NO_KID = "the token names no signing key"
UNKNOWN_KEY = "the token's signing key is unknown"
ALGORITHM_MISMATCH = "the token's algorithm does not match its key"
BAD_SIGNATURE = "the token's signature does not verify"
EXPIRED = "the token has expired"
NOT_YET_VALID = "the token is not valid yet"
WRONG_AUDIENCE = "the token is meant for another audience"
WRONG_ISSUER = "the token comes from an unknown issuer"
REVOKED = "the token has been revoked"


# --- building blocks --------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def compact(header: Any, claims: Any, signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(claims)}.{b64url(signature)}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token made by hand: PyJWT will not use a public key as an HMAC secret."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


class CountingJwks:
    """A stand-in for the auth service's JWKS endpoint: counts fetches and can be made to fail."""

    def __init__(self, *issuers: TestIssuer) -> None:
        self.issuers = list(issuers)
        self.calls = 0
        self.failure: Exception | None = None

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return {"keys": [issuer.jwk for issuer in self.issuers]}


class Clock:
    """Stands in for the `time` module inside the verifier, so its clocks can jump ahead."""

    def __init__(self) -> None:
        self.ahead = 0.0
        self.wall_ahead = 0.0

    def time(self) -> float:
        return time.time() + self.wall_ahead

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead

    def advance(self, seconds: float) -> None:
        """Move the monotonic clock, which paces JWKS refreshes."""
        self.ahead += seconds

    def advance_wall(self, seconds: float) -> None:
        """Move the wall clock, which ages LRU entries."""
        self.wall_ahead += seconds


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def jwks(issuer: TestIssuer) -> CountingJwks:
    return CountingJwks(issuer)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(verifier_module, "time", clock)
    return clock


@pytest.fixture
async def denylist(tmp_path: Path) -> AsyncIterator[Denylist]:
    cache = EmbeddedCache(str(tmp_path / "cache.db"))
    yield Denylist(lambda: cache)
    await cache.close()


@pytest.fixture
def verifier(jwks: CountingJwks, denylist: Denylist, clock: Clock) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, denylist=denylist, leeway=LEEWAY,
                         refresh_interval=REFRESH_INTERVAL, jwks_max_age=JWKS_MAX_AGE)


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the verifier hands to `jwt.decode`, i.e. every cold verification."""
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(verifier_module.jwt, "decode", counting_decode)
    return calls


async def assert_rejected(verifier: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(token)
    assert caught.value.reason == reason


# --- acceptance -------------------------------------------------------------------------------------


async def test_a_good_token_yields_its_principal(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    claims = issuer.claims(role="recruiter", org="org-7", subject="user-42")

    principal = await verifier.verify(issuer.sign(claims))

    assert principal == Principal(
        subject="user-42", kind="user", org_id="org-7", role="recruiter",
        permissions=permissions_for("recruiter"), token_id=claims["jti"], issued_at=float(claims["iat"]),
        expires_at=float(claims["exp"]),
    )
    assert principal.can("talent:write") and not principal.can("user:admin")


async def test_a_service_token_yields_a_service_principal_without_an_org(
    verifier: TokenVerifier, issuer: TestIssuer
) -> None:
    principal = await verifier.verify(issuer.service_token(["registry:write"]))

    assert (principal.kind, principal.subject, principal.org_id, principal.role) == (
        "service", "test-service", None, None)
    assert principal.permissions == frozenset({"registry:write"})


# --- the header: algorithm, type, key id ------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"garbage"], ids=["empty-signature", "garbage-signature"])
async def test_alg_none_is_refused_in_any_letter_case(
    verifier: TokenVerifier, issuer: TestIssuer, alg: str, signature: bytes
) -> None:
    header = {"alg": alg, "typ": ACCESS_TOKEN_TYPE, "kid": issuer.kid}

    await assert_rejected(verifier, compact(header, issuer.claims(), signature), ALGORITHM_REFUSED)


def public_key_secrets(issuer: TestIssuer) -> dict[str, bytes]:
    public_key = issuer.private.public_key()
    return {
        "raw": public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "pem": public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "jwk-json": json.dumps(issuer.jwk).encode(),
        "jwks-json": json.dumps(issuer.jwks()).encode(),
    }


@pytest.mark.parametrize("form", ["raw", "pem", "jwk-json", "jwks-json"])
async def test_hs256_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer, form: str
) -> None:
    header = {"alg": "HS256", "typ": ACCESS_TOKEN_TYPE, "kid": issuer.kid}
    token = hs256(header, issuer.claims(), public_key_secrets(issuer)[form])

    await assert_rejected(verifier, token, ALGORITHM_REFUSED)


async def test_an_hmac_key_published_in_the_jwks_is_ignored(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks
) -> None:
    secret = b"shared-secret-nobody-should-trust"
    oct_key = {"kty": "oct", "kid": "hmac-key", "alg": "HS256", "k": b64url(secret)}
    keys = [issuer.jwk, oct_key]

    async def source() -> dict[str, Any]:
        return {"keys": keys}

    verifier.jwks_source = source
    header = {"alg": "HS256", "typ": ACCESS_TOKEN_TYPE, "kid": "hmac-key"}

    await assert_rejected(verifier, hs256(header, issuer.claims(), secret), ALGORITHM_REFUSED)
    assert set(verifier_module.parse_jwks({"keys": keys})) == {issuer.kid}


async def test_an_allowed_algorithm_that_is_not_the_keys_own_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer
) -> None:
    header = {"alg": "RS256", "typ": ACCESS_TOKEN_TYPE, "kid": issuer.kid}

    await assert_rejected(verifier, compact(header, issuer.claims(), b"x" * 256), ALGORITHM_MISMATCH)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "id+jwt", None], ids=["JWT", "jwt", "id+jwt", "absent"])
async def test_a_token_not_typed_as_an_access_token_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer, typ: str | None
) -> None:
    await assert_rejected(verifier, issuer.sign(issuer.claims(), {"typ": typ}), NOT_AN_ACCESS_TOKEN)


async def test_a_token_without_a_kid_is_refused(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    token = jwt.encode(issuer.claims(), issuer.private, algorithm="EdDSA", headers={"typ": ACCESS_TOKEN_TYPE})
    assert "kid" not in jwt.get_unverified_header(token)

    await assert_rejected(verifier, token, NO_KID)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "..", "a.b", "e30.e30.e30.e30"])
async def test_a_token_that_is_not_a_jws_is_malformed(verifier: TokenVerifier, token: str) -> None:
    await assert_rejected(verifier, token, MALFORMED)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": ["EdDSA"], "typ": ACCESS_TOKEN_TYPE, "kid": "test-key"}, ALGORITHM_REFUSED),
        ({"alg": {"name": "EdDSA"}, "typ": ACCESS_TOKEN_TYPE, "kid": "test-key"}, ALGORITHM_REFUSED),
        ({"alg": "EdDSA", "typ": ACCESS_TOKEN_TYPE, "kid": 7}, MALFORMED),
        (["EdDSA"], MALFORMED),
    ],
    ids=["alg-list", "alg-object", "kid-number", "header-list"],
)
async def test_a_header_of_the_wrong_shape_is_refused_not_crashed_on(
    verifier: TokenVerifier, issuer: TestIssuer, header: Any, reason: str
) -> None:
    """Anyone can send these; a crash here would answer 500 to an unauthenticated caller."""
    await assert_rejected(verifier, compact(header, issuer.claims(), b"garbage"), reason)


# --- the signature ----------------------------------------------------------------------------------


async def test_a_tampered_payload_is_refused(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    claims = issuer.claims(role="viewer")
    header, _, signature = issuer.sign(claims).split(".")
    forged = {**claims, "role": "superadmin", "perms": sorted(permissions_for("superadmin"))}

    await assert_rejected(verifier, f"{header}.{segment(forged)}.{signature}", BAD_SIGNATURE)


async def test_a_stripped_signature_is_refused(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    header, payload, _ = issuer.token().split(".")

    await assert_rejected(verifier, f"{header}.{payload}.", BAD_SIGNATURE)


async def test_a_token_signed_by_another_key_under_the_same_kid_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer
) -> None:
    impostor = TestIssuer(kid=issuer.kid)

    await assert_rejected(verifier, impostor.token(), BAD_SIGNATURE)


# --- key lookup and refresh -------------------------------------------------------------------------


async def test_an_unknown_kid_is_refused_and_refetches_keys_at_most_once_per_interval(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks, clock: Clock
) -> None:
    stranger = TestIssuer(kid="rotated-key")
    await verifier.verify(issuer.token())
    assert jwks.calls == 1

    for _ in range(10):
        await assert_rejected(verifier, stranger.token(), UNKNOWN_KEY)
    assert jwks.calls == 1  # the keys were fetched moments ago

    clock.advance(REFRESH_INTERVAL + 0.1)
    for _ in range(10):
        await assert_rejected(verifier, stranger.token(), UNKNOWN_KEY)
    assert jwks.calls == 2


async def test_a_newly_published_key_is_picked_up_after_the_refresh_interval(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks, clock: Clock
) -> None:
    rotated = TestIssuer(kid="rotated-key")
    await verifier.verify(issuer.token())
    jwks.issuers.append(rotated)

    await assert_rejected(verifier, rotated.token(), UNKNOWN_KEY)
    clock.advance(REFRESH_INTERVAL + 0.1)
    principal = await verifier.verify(rotated.token(subject="after-rotation"))

    assert principal.subject == "after-rotation"
    assert jwks.calls == 2


async def test_keys_unavailable_when_the_source_fails_and_no_keys_were_ever_loaded(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks
) -> None:
    jwks.failure = ConnectionError("auth service down")

    with pytest.raises(KeysUnavailable, match="auth service down"):
        await verifier.verify(issuer.token())


async def test_keys_unavailable_when_no_source_is_configured(denylist: Denylist, issuer: TestIssuer) -> None:
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=None, denylist=denylist)

    with pytest.raises(KeysUnavailable):
        await verifier.verify(issuer.token())


async def test_loaded_keys_are_kept_when_a_later_refresh_fails(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks, clock: Clock
) -> None:
    await verifier.verify(issuer.token())
    jwks.failure = ConnectionError("auth service down")

    clock.advance(REFRESH_INTERVAL + 0.1)
    await assert_rejected(verifier, TestIssuer(kid="rotated-key").token(), UNKNOWN_KEY)  # refresh fails here
    assert jwks.calls == 2
    assert (await verifier.verify(issuer.token(subject="still-trusted"))).subject == "still-trusted"

    clock.advance(JWKS_MAX_AGE + 1)  # stale keys are still better than none while the source is down
    assert (await verifier.verify(issuer.token(subject="stale-but-trusted"))).subject == "stale-but-trusted"


async def test_a_key_withdrawn_from_the_jwks_stops_verifying_once_the_keys_are_stale(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks, clock: Clock
) -> None:
    successor = TestIssuer(kid="successor-key")
    await verifier.verify(issuer.token())
    jwks.issuers = [successor]

    clock.advance(JWKS_MAX_AGE + 1)

    await assert_rejected(verifier, issuer.token(), UNKNOWN_KEY)
    assert jwks.calls == 2
    assert (await verifier.verify(successor.token(subject="successor"))).subject == "successor"


async def test_a_failing_source_is_asked_at_most_once_per_interval_even_when_keys_are_stale(
    verifier: TokenVerifier, issuer: TestIssuer, jwks: CountingJwks, clock: Clock
) -> None:
    """While the auth service is down, each new token must not wait on another JWKS fetch."""
    await verifier.verify(issuer.token())
    jwks.failure = ConnectionError("auth service down")
    clock.advance(JWKS_MAX_AGE + 1)

    for _ in range(5):
        await verifier.verify(issuer.token())

    assert jwks.calls == 2


# --- registered claims ------------------------------------------------------------------------------


async def test_a_token_expired_beyond_the_leeway_is_refused(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    await assert_rejected(verifier, issuer.token(exp=int(time.time() - LEEWAY - 5)), EXPIRED)


async def test_a_token_expired_within_the_leeway_is_accepted(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    exp = int(time.time() - LEEWAY / 3)

    principal = await verifier.verify(issuer.token(iat=time.time() - 600, nbf=time.time() - 600, exp=exp))

    assert principal.expires_at == exp


async def test_a_token_not_valid_until_beyond_the_leeway_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer
) -> None:
    await assert_rejected(verifier, issuer.token(nbf=time.time() + LEEWAY + 30), NOT_YET_VALID)


@pytest.mark.parametrize("claim", ["exp", "jti", "iat", "sub", "iss", "aud"])
async def test_a_token_missing_a_required_claim_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer, claim: str
) -> None:
    claims = issuer.claims()
    del claims[claim]

    await assert_rejected(verifier, issuer.sign(claims), f"the token lacks the {claim!r} claim")


async def test_a_token_from_another_issuer_is_refused(verifier: TokenVerifier, issuer: TestIssuer) -> None:
    await assert_rejected(verifier, issuer.token(iss="https://evil.example"), WRONG_ISSUER)


@pytest.mark.parametrize("aud", ["another-api", ["another-api"]], ids=["string", "list"])
async def test_a_token_for_another_audience_is_refused(
    verifier: TokenVerifier, issuer: TestIssuer, aud: str | list[str]
) -> None:
    await assert_rejected(verifier, issuer.token(aud=aud), WRONG_AUDIENCE)


# --- the LRU and the denylist -----------------------------------------------------------------------


async def test_a_second_verification_is_served_from_the_lru(
    verifier: TokenVerifier, issuer: TestIssuer, decode_calls: list[str]
) -> None:
    token = issuer.token()

    first = await verifier.verify(token)
    second = await verifier.verify(token)

    assert second == first
    assert decode_calls == [token]


async def test_a_revocation_after_caching_is_honoured_without_decoding_again(
    verifier: TokenVerifier, issuer: TestIssuer, denylist: Denylist, decode_calls: list[str]
) -> None:
    token = issuer.token()
    principal = await verifier.verify(token)
    await verifier.verify(token)

    await denylist.revoke_token(principal.token_id, principal.expires_at)

    await assert_rejected(verifier, token, REVOKED)
    assert len(decode_calls) == 1  # refused by the in-memory check on the cached entry
    await assert_rejected(verifier, token, REVOKED)  # and not re-admitted by a cold verification


async def test_a_subject_cut_off_after_caching_is_honoured_without_decoding_again(
    verifier: TokenVerifier, issuer: TestIssuer, denylist: Denylist, decode_calls: list[str]
) -> None:
    subject = f"user-{uuid.uuid4().hex[:8]}"
    before = time.time() - 1.0
    token = issuer.token(subject=subject, iat=before, nbf=before)
    await verifier.verify(token)

    await denylist.cut_off(subject, 60)

    await assert_rejected(verifier, token, REVOKED)
    assert len(decode_calls) == 1
    after = time.time() + 0.5
    reissued = await verifier.verify(issuer.token(subject=subject, iat=after, nbf=after))
    assert reissued.subject == subject
    other = await verifier.verify(issuer.token(iat=before, nbf=before))
    assert other.subject != subject


async def test_cutting_off_a_key_owner_voids_the_api_keys_tokens(
    verifier: TokenVerifier, issuer: TestIssuer, denylist: Denylist
) -> None:
    before = time.time() - 1.0
    token = issuer.token(kind="api_key", subject="key-1", owner="user-owner", iat=before, nbf=before)
    assert (await verifier.verify(token)).user_id == "user-owner"

    await denylist.cut_off("user-owner", 60)

    await assert_rejected(verifier, token, REVOKED)


async def test_a_cached_entry_is_verified_again_after_its_maximum_age(
    denylist: Denylist, issuer: TestIssuer, jwks: CountingJwks, clock: Clock, decode_calls: list[str]
) -> None:
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, denylist=denylist, lru_max_age=60.0)
    token = issuer.token()
    await verifier.verify(token)

    clock.advance_wall(61.0)
    await verifier.verify(token)

    assert decode_calls == [token, token]
