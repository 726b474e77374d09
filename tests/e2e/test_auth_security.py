"""Attacks on authentication and authorisation, against a real fleet under `looma up`.

Every case is sent both through the gateway and straight to the auth service. A refusal must be an
RFC 9457 problem that gives nothing away: no traceback, no file path, no key material and no echo
of the token that was presented.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.fleet import PROCESSES, UPSTREAMS
from shared.service.auth.permissions import ALL_PERMISSIONS
from tests.e2e.fleet import ADMIN_EMAIL, ADMIN_PASSWORD, Fleet, free_port_offset, start_fleet
from tests.tokens import TestIssuer

pytestmark = pytest.mark.e2e

PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}
PASSWORD = "correct horse battery 42"
LOGIN_ATTEMPTS_PER_ACCOUNT = 5  # the fleet's default
LOGIN_WINDOW = 900  # the fleet's default, in seconds
REVOCATION_DEADLINE = 1.0  # seconds from the admin's call until every process refuses the token
LEAKS = [re.compile(pattern) for pattern in (
    r"Traceback", r'File "', r"\.py\b", r"site-packages", r"/(?:home|work|tmp|usr|var|opt|root|proc)/",
    r"-----BEGIN", r"PRIVATE KEY", r"\bpassword_hash\b", r"\bprivate_pem\b", r"sqlalchemy", r"aiosqlite",
)]
INJECTIONS: list[Any] = [
    "' OR 1=1 --",
    '"; DROP TABLE auth_users; --',
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "\u0000",
    "x" * 100_000,
]
URL_PAYLOAD_LIMIT = 20_000  # httpx refuses longer URLs; still far past any server request-line limit
TYPE_CONFUSION: list[Any] = [{"$ne": None}, ["' OR 1=1 --"], 12345, True, None]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """The standard fleet, with room for the many failed sign-ins this module makes from one address.

    Everything here comes from 127.0.0.1, and the injection cases alone fail more sign-ins than the
    default per-address budget (30 per window) allows; the per-account limit stays at its default of 5.
    """
    root = tmp_path_factory.mktemp("fleet-auth-security")
    running = start_fleet(root / "data", free_port_offset(), root / "looma-up.log",
                          extra_env={"LOOMA_LOGIN_ATTEMPTS_PER_IP": "10000"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as client:
        yield client


# --- helpers ------------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(document: dict[str, Any]) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode())


def token_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(claims)}.{b64url(signature)}"


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A token MAC'd as its header's HS256/384/512 says, with `secret` as the key."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[header["alg"]]
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bases(fleet: Fleet) -> list[tuple[str, str]]:
    return [("gateway", fleet.gateway), ("auth", fleet.url("auth"))]


def describe(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {str(request.url)[:200]} -> {response.status_code}: {response.text[:400]}"


def assert_clean(response: httpx.Response, secrets: tuple[str, ...] = ()) -> None:
    """Nothing of the server's insides, and none of `secrets`, in the body or the headers."""
    text = response.text
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for pattern in LEAKS:
        assert not pattern.search(text), f"{pattern.pattern!r} leaked: {describe(response)}"
    for secret in secrets:
        if secret:
            assert secret not in text, f"the body echoes a secret: {describe(response)}"
            assert secret not in headers, f"a header echoes a secret: {headers[:400]}"


def assert_problem(response: httpx.Response, status: int | tuple[int, ...], secrets: tuple[str, ...] = (),
                   slug: str | None = None) -> dict[str, Any]:
    allowed = (status,) if isinstance(status, int) else status
    assert response.status_code in allowed, describe(response)
    assert response.headers.get("content-type", "").split(";")[0].strip() == PROBLEM_JSON, describe(response)
    body = response.json()
    assert PROBLEM_KEYS <= body.keys(), body
    assert body["status"] == response.status_code, body
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["type"], str) and body["type"].startswith("urn:looma:problem:"), body
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    assert_clean(response, secrets)
    return dict(body)


def token_secrets(token: str) -> tuple[str, ...]:
    """The token and its longer segments: none may come back in an answer."""
    return (token, *(part for part in token.split(".") if len(part) >= 16))


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@looma.test"


def login(http: httpx.Client, base: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = http.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, describe(response)
    return dict(response.json())


def create_user(http: httpx.Client, base: str, token: str, *, role: str, org_id: str | None = None,
                name: str = "Test User") -> dict[str, Any]:
    body: dict[str, Any] = {"email": unique_email(role), "name": name, "role": role, "password": PASSWORD}
    if org_id is not None:
        body["org_id"] = org_id
    response = http.post(f"{base}/api/v1/auth/users", json=body, headers=bearer(token))
    assert response.status_code == 201, describe(response)
    return dict(response.json())


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- the fleet's principals ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def admin(fleet: Fleet, http: httpx.Client) -> dict[str, Any]:
    """The bootstrap superadmin: its tokens and its user record."""
    tokens = fleet.login()
    me = http.get(f"{fleet.gateway}/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, describe(me)
    return {**tokens, "user": me.json(), "token": tokens["access_token"]}


@pytest.fixture(scope="module")
def recruiter(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> dict[str, Any]:
    user = create_user(http, fleet.gateway, admin["token"], role="recruiter", name="Rita Recruiter")
    tokens = login(http, fleet.gateway, user["email"])
    return {**tokens, "user": user, "token": tokens["access_token"]}


@pytest.fixture(scope="module")
def jwks(fleet: Fleet, http: httpx.Client) -> dict[str, Any]:
    through_gateway = http.get(f"{fleet.gateway}/.well-known/jwks.json")
    direct = http.get(f"{fleet.url('auth')}/.well-known/jwks.json")
    for response in (through_gateway, direct):
        assert response.status_code == 200, describe(response)
        assert response.headers["content-type"].startswith("application/json")
    assert through_gateway.json() == direct.json()
    return dict(direct.json())


@pytest.fixture(scope="module")
def real(recruiter: dict[str, Any], jwks: dict[str, Any]) -> dict[str, Any]:
    """A real, low-privilege token, what its parts say, and the public key that verifies it."""
    token = recruiter["token"]
    header, claims = token_parts(token)
    jwk = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    escalated = {**claims, "role": "superadmin", "perms": sorted(ALL_PERMISSIONS), "jti": uuid.uuid4().hex}
    return {"token": token, "header": header, "claims": claims, "kid": header["kid"], "jwk": jwk,
            "escalated": escalated}


def protected(fleet: Fleet) -> list[tuple[str, str]]:
    """Routes that need a token, each answered by a different process or check."""
    auth = fleet.url("auth")
    return [
        ("gateway me", f"{fleet.gateway}/api/v1/auth/me"),
        ("gateway users", f"{fleet.gateway}/api/v1/auth/users"),
        ("gateway services", f"{fleet.gateway}/api/v1/services"),
        ("auth me", f"{auth}/api/v1/auth/me"),
        ("auth users", f"{auth}/api/v1/auth/users"),
    ]


def assert_rejected_everywhere(fleet: Fleet, http: httpx.Client, token: str,
                               extra_secrets: tuple[str, ...] = ()) -> None:
    for name, url in protected(fleet):
        response = http.get(url, headers=bearer(token))
        body = assert_problem(response, 401, token_secrets(token) + extra_secrets)
        assert body["type"] == "urn:looma:problem:invalid-token", (name, body)
        assert body["title"] == "Unauthorized"
        challenge = response.headers.get("www-authenticate", "")
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge, (name, challenge)


# --- the controls: the real tokens work where they should ---------------------------------------
def test_real_tokens_are_accepted_where_they_should_be(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                                                        recruiter: dict[str, Any]) -> None:
    for name, url in protected(fleet):
        response = http.get(url, headers=bearer(admin["token"]))
        assert response.status_code == 200, (name, describe(response))
    for _, base in bases(fleet):
        me = http.get(f"{base}/api/v1/auth/me", headers=bearer(recruiter["token"]))
        assert me.status_code == 200, describe(me)
        assert me.json()["role"] == "recruiter"
        listing = http.get(f"{base}/api/v1/auth/users", headers=bearer(recruiter["token"]))
        assert_problem(listing, 403, token_secrets(recruiter["token"]), slug="permission-denied")


def test_jwks_is_the_same_everywhere_and_public_only(fleet: Fleet, http: httpx.Client, jwks: dict[str, Any],
                                                     real: dict[str, Any]) -> None:
    through_gateway = http.get(f"{fleet.gateway}/.well-known/jwks.json", headers=bearer("garbage"))
    assert through_gateway.status_code == 200, describe(through_gateway)  # public, whatever token comes along
    assert through_gateway.json() == jwks
    assert jwks["keys"], jwks
    assert real["kid"] in [key["kid"] for key in jwks["keys"]]
    for key in jwks["keys"]:
        assert key["alg"] in ("EdDSA", "RS256"), key
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys(), f"private members in the JWKS: {key}"


# --- forged tokens ------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(fleet: Fleet, http: httpx.Client, real: dict[str, Any], alg: str) -> None:
    for header in ({**real["header"], "alg": alg}, {"alg": alg, "typ": "at+jwt"}):
        assert_rejected_everywhere(fleet, http, hand_made(header, real["escalated"]))
        # the same, keeping the original signature on the forged header
        original_signature = b64url_decode(real["token"].split(".")[2])
        assert_rejected_everywhere(fleet, http, hand_made(header, real["claims"], original_signature))


def _public_key_secrets(jwk: dict[str, Any]) -> dict[str, bytes]:
    raw = b64url_decode(jwk["x"])
    public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return {
        "raw-public-key": raw,
        "x-as-text": jwk["x"].encode(),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-json-compact": json.dumps(jwk, separators=(",", ":")).encode(),
        "jwk-json-sorted": json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode(),
        "public-pem": public.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo),
        "public-der": public.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo),
    }


def test_hs256_signed_with_the_public_key_is_refused(fleet: Fleet, http: httpx.Client,
                                                     real: dict[str, Any]) -> None:
    assert real["jwk"]["kty"] == "OKP", real["jwk"]  # the fleet signs with Ed25519 by default
    for name, secret in _public_key_secrets(real["jwk"]).items():
        for alg in ("HS256", "HS384", "HS512"):
            token = hmac_signed({**real["header"], "alg": alg}, real["escalated"], secret)
            try:
                assert_rejected_everywhere(fleet, http, token, (real["jwk"]["x"],))
            except AssertionError as error:
                raise AssertionError(f"{alg} with {name} as the secret: {error}") from None


def test_tampered_payload_with_the_original_signature_is_refused(fleet: Fleet, http: httpx.Client,
                                                                 real: dict[str, Any], admin: dict[str, Any]) -> None:
    header, payload, signature = real["token"].split(".")
    claims = real["claims"]
    tampered = [
        {**claims, "role": "superadmin"},
        {**claims, "perms": sorted({*claims["perms"], "user:admin", "keys:admin", "org:admin"})},
        {**claims, "sub": admin["user"]["id"]},
        {**claims, "org": str(uuid.uuid4())},
        {**claims, "exp": claims["exp"] + 86400},
        {**claims, "kind": "service"},
    ]
    for changed in tampered:
        assert_rejected_everywhere(fleet, http, f"{header}.{segment(changed)}.{signature}")
    # one flipped character in the payload, the rest byte for byte the real token
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert_rejected_everywhere(fleet, http, f"{header}.{flipped}.{signature}")
    # the control: the untouched token still works, so the refusals above are the tampering's doing
    me = http.get(f"{fleet.url('auth')}/api/v1/auth/me", headers=bearer(real["token"]))
    assert me.status_code == 200, describe(me)


def test_stripped_or_mangled_signature_is_refused(fleet: Fleet, http: httpx.Client, real: dict[str, Any]) -> None:
    header, payload, signature = real["token"].split(".")
    for token in (f"{header}.{payload}.", f"{header}.{payload}", f"{header}.{payload}.{signature[:-4]}",
                  f"{header}.{payload}.{b64url(b'0' * 64)}", f"{header}.{payload}.{signature}.{signature}",
                  f"{header}.{segment(real['escalated'])}."):
        assert_rejected_everywhere(fleet, http, token)


def test_unknown_kid_is_refused(fleet: Fleet, http: httpx.Client, real: dict[str, Any]) -> None:
    for kid in ("no-such-key", "../../../../etc/passwd", "' OR 1=1 --", real["kid"] + "x"):
        assert_rejected_everywhere(fleet, http, TestIssuer(kid=kid).sign(real["escalated"]))
    header = {k: v for k, v in real["header"].items() if k != "kid"}
    assert_rejected_everywhere(fleet, http, hand_made(header, real["escalated"], b"\0" * 64))


def test_foreign_key_under_the_real_kid_is_refused(fleet: Fleet, http: httpx.Client, real: dict[str, Any]) -> None:
    forger = TestIssuer(kid=real["kid"])
    assert_rejected_everywhere(fleet, http, forger.sign(real["claims"]))
    assert_rejected_everywhere(fleet, http, forger.sign(real["escalated"]))
    # with the forger's own public key embedded in the header for good measure
    assert_rejected_everywhere(fleet, http, forger.sign(real["escalated"], headers={"jwk": forger.jwk}))


def _forged_claims(real: dict[str, Any]) -> dict[str, dict[str, Any]]:
    now = time.time()
    claims = {**real["claims"], "jti": uuid.uuid4().hex}
    return {
        "expired": {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": int(now - 3600)},
        "not-yet-valid": {**claims, "nbf": now + 3600},
        "no-exp": {k: v for k, v in claims.items() if k != "exp"},
        "wrong-iss": {**claims, "iss": "https://evil.example"},
        "no-iss": {k: v for k, v in claims.items() if k != "iss"},
        "wrong-aud": {**claims, "aud": "some-other-api"},
        "aud-list-without-ours": {**claims, "aud": ["some-other-api"]},
        "no-aud": {k: v for k, v in claims.items() if k != "aud"},
    }


@pytest.mark.parametrize("case", ["expired", "not-yet-valid", "no-exp", "wrong-iss", "no-iss", "wrong-aud",
                                  "aud-list-without-ours", "no-aud"])
def test_bad_claims_under_the_real_kid_are_refused(fleet: Fleet, http: httpx.Client, real: dict[str, Any],
                                                   case: str) -> None:
    assert_rejected_everywhere(fleet, http, TestIssuer(kid=real["kid"]).sign(_forged_claims(real)[case]))


def test_garbage_tokens_and_schemes_are_refused(fleet: Fleet, http: httpx.Client, real: dict[str, Any]) -> None:
    for token in ("not-a-token", "a.b.c", "....", "e30.e30.", "%00", "x" * 6000):
        assert_rejected_everywhere(fleet, http, token)
    for name, url in protected(fleet):
        for header in (f"Basic {b64url(b'admin:admin')}", f"Token {real['token']}", "Bearer"):
            response = http.get(url, headers={"Authorization": header})
            assert_problem(response, 401, token_secrets(real["token"]))
        assert_problem(http.get(url), 401, slug="missing-token")


# --- the gateway's own routes and the public probes ---------------------------------------------
def test_services_listing_needs_monitor_read(fleet: Fleet, http: httpx.Client, recruiter: dict[str, Any]) -> None:
    url = f"{fleet.gateway}/api/v1/services"
    anonymous = http.get(url)
    assert_problem(anonymous, 401, slug="missing-token")
    assert anonymous.headers.get("www-authenticate", "").startswith("Bearer")
    assert_problem(http.get(url, headers=bearer(recruiter["token"])), 403, token_secrets(recruiter["token"]),
                   slug="permission-denied")
    service = fleet.service_token()
    allowed = http.get(url, headers=bearer(service))
    assert allowed.status_code == 200, describe(allowed)
    assert {item["service"] for item in allowed.json()["items"]} >= {spec.name for spec in UPSTREAMS}
    assert_clean(allowed, (service,))


def test_registry_routes_need_registry_write(fleet: Fleet, http: httpx.Client, recruiter: dict[str, Any],
                                             admin: dict[str, Any]) -> None:
    url = f"{fleet.gateway}/api/v1/registry/instances"
    body = {"service": "auth", "instance_id": "evil", "url": "http://127.0.0.1:1", "prefixes": ["/api/v1/auth"]}
    assert_problem(http.post(url, json=body), 401, slug="missing-token")
    assert_problem(http.post(url, json=body, headers=bearer(recruiter["token"])), 403, slug="permission-denied")
    assert_problem(http.post(url, json=body, headers=bearer("forged.token.here")), 401, slug="invalid-token")
    assert_problem(http.delete(f"{url}/auth@127.0.0.1:1"), 401, slug="missing-token")
    assert_problem(http.put(f"{url}/x/heartbeat", headers=bearer(recruiter["token"])), 403)
    # and nothing was registered by those attempts
    services = http.get(f"{fleet.gateway}/api/v1/services", headers=bearer(admin["token"])).json()
    urls = [i["url"] for item in services["items"] for i in item["instances"]]
    assert "http://127.0.0.1:1" not in urls


def test_health_and_ready_stay_public(fleet: Fleet, http: httpx.Client) -> None:
    for spec in PROCESSES:
        for probe in ("health", "ready"):
            response = http.get(f"{fleet.url(spec.name)}/{probe}")
            assert response.status_code == 200, (spec.name, describe(response))
    for spec in UPSTREAMS:
        for probe in ("health", "ready"):
            response = http.get(f"{fleet.gateway}/api/v1/services/{spec.name}/{probe}")
            assert response.status_code == 200, (spec.name, describe(response))


def test_unknown_route_is_404_before_auth(fleet: Fleet, http: httpx.Client, real: dict[str, Any]) -> None:
    forged = TestIssuer(kid=real["kid"]).sign(real["escalated"])
    for token in ("garbage", forged):
        for path in ("/api/v1/no-such-thing", "/api/v1/no-such-thing/deeper", "/api/v1/authx/me"):
            response = http.get(f"{fleet.gateway}{path}", headers=bearer(token))
            assert_problem(response, 404, token_secrets(token), slug="unknown-route")
        response = http.get(f"{fleet.gateway}/not-api-at-all", headers=bearer(token))
        assert_problem(response, 404, token_secrets(token))
        # a route the auth service does not have, asked directly, is a 404 as well, not a 401
        response = http.get(f"{fleet.url('auth')}/api/v1/auth/no-such-route", headers=bearer(token))
        assert_problem(response, 404, token_secrets(token))


# --- revocation reaches every process -----------------------------------------------------------
def _revocation_watch(fleet: Fleet) -> dict[str, str]:
    """Where the user's token is checked: the gateway alone, the gateway then auth, and auth alone."""
    return {
        "gateway (edge, services)": f"{fleet.gateway}/api/v1/services",
        "gateway (edge, me)": f"{fleet.gateway}/api/v1/auth/me",
        "auth (me)": f"{fleet.url('auth')}/api/v1/auth/me",
    }


def _revoke_and_time(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                     action: Callable[[str], httpx.Response]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create an org admin, sign them in, warm every verifier, run `action`, and time the refusals."""
    victim = create_user(http, fleet.gateway, admin["token"], role="admin", name="Victim")
    tokens = login(http, fleet.gateway, victim["email"])
    token = tokens["access_token"]
    watch = _revocation_watch(fleet)
    with httpx.Client(timeout=2) as poller:
        for name, url in watch.items():  # verified once, so each process holds it in its cache
            response = poller.get(url, headers=bearer(token))
            assert response.status_code == 200, (name, describe(response))
        started = time.monotonic()
        done = action(victim["id"])
        assert done.status_code in (200, 204), describe(done)
        refused: dict[str, float] = {}
        last: dict[str, httpx.Response] = {}
        while len(refused) < len(watch) and time.monotonic() - started < 10:
            for name, url in watch.items():
                if name in refused:
                    continue
                response = poller.get(url, headers=bearer(token))
                last[name] = response
                if response.status_code == 401:
                    refused[name] = time.monotonic() - started
                else:
                    assert response.status_code == 200, (name, describe(response))
            time.sleep(0.01)
    assert set(refused) == set(watch), f"still accepted after 10 s: {set(watch) - set(refused)}"
    for name, took in refused.items():
        assert took <= REVOCATION_DEADLINE, f"{name} refused the token only after {took:.3f}s"
        body = assert_problem(last[name], 401, token_secrets(token), slug="invalid-token")
        assert "revoked" in body["detail"], body
    return victim, tokens


def test_disabled_users_token_is_refused_by_every_process_within_a_second(
        fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> None:
    def disable(user_id: str) -> httpx.Response:
        return http.patch(f"{fleet.gateway}/api/v1/auth/users/{user_id}", json={"status": "disabled"},
                          headers=bearer(admin["token"]))

    victim, tokens = _revoke_and_time(fleet, http, admin, disable)
    for _, base in bases(fleet):
        response = http.post(f"{base}/api/v1/auth/login", json={"email": victim["email"], "password": PASSWORD})
        assert_problem(response, 403, (PASSWORD,), slug="account-disabled")
        response = http.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_problem(response, 401, (tokens["refresh_token"],))


def test_deleted_users_token_is_refused_by_every_process_within_a_second(
        fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> None:
    def delete(user_id: str) -> httpx.Response:
        return http.delete(f"{fleet.gateway}/api/v1/auth/users/{user_id}", headers=bearer(admin["token"]))

    victim, tokens = _revoke_and_time(fleet, http, admin, delete)
    for _, base in bases(fleet):
        response = http.post(f"{base}/api/v1/auth/login", json={"email": victim["email"], "password": PASSWORD})
        assert_problem(response, 401, (PASSWORD,), slug="invalid-credentials")
        response = http.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_problem(response, 401, (tokens["refresh_token"],))
        gone = http.get(f"{base}/api/v1/auth/users/{victim['id']}", headers=bearer(admin["token"]))
        assert_problem(gone, 404, slug="user-not-found")


@pytest.mark.parametrize("via", ["gateway", "auth"])
def test_reused_refresh_token_revokes_the_family(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                                                 via: str) -> None:
    base = dict(bases(fleet))[via]
    user = create_user(http, base, admin["token"], role="viewer")
    first = login(http, base, user["email"])
    second = http.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, describe(second)
    newer = second.json()
    assert newer["refresh_token"] != first["refresh_token"]
    assert http.get(f"{base}/api/v1/auth/me", headers=bearer(newer["access_token"])).status_code == 200

    reused = http.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reused, 401, token_secrets(first["refresh_token"]) + token_secrets(first["access_token"]),
                   slug="refresh-token-reused")
    for _, other in bases(fleet):
        after = http.post(f"{other}/api/v1/auth/refresh", json={"refresh_token": newer["refresh_token"]})
        assert_problem(after, 401, (newer["refresh_token"],))
        assert after.json()["type"] in ("urn:looma:problem:refresh-token-reused",
                                        "urn:looma:problem:invalid-refresh-token")
    # the family's access tokens are cut off too, in every process
    for token in (first["access_token"], newer["access_token"]):
        for name, url in _revocation_watch(fleet).items():
            if "services" in name:
                continue  # a viewer may not list services either way
            wait_for(lambda u=url, t=token: http.get(u, headers=bearer(t)).status_code == 401, REVOCATION_DEADLINE,
                     f"{name} to refuse the family's access token")


# --- tenancy and roles --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def org_b(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> dict[str, Any]:
    created = http.post(f"{fleet.gateway}/api/v1/auth/orgs", json={"name": "Org B"}, headers=bearer(admin["token"]))
    assert created.status_code == 201, describe(created)
    org = created.json()
    b_admin = create_user(http, fleet.gateway, admin["token"], role="admin", org_id=org["id"], name="B Admin")
    assert b_admin["org_id"] == org["id"]
    b_member = create_user(http, fleet.url("auth"), admin["token"], role="viewer", org_id=org["id"])
    tokens = login(http, fleet.gateway, b_admin["email"])
    return {"org": org, "admin": b_admin, "member": b_member, "token": tokens["access_token"]}


@pytest.fixture(scope="module")
def org_a_user(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> dict[str, Any]:
    return create_user(http, fleet.gateway, admin["token"], role="recruiter", name="Alice of Org A")


def _same_problem(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert (a["type"], a["title"], a["status"]) == (b["type"], b["title"], b["status"]), (a, b)
    assert set(a) == set(b), (a, b)


def test_other_orgs_user_ids_answer_like_unknown_ids(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                                                     org_b: dict[str, Any], org_a_user: dict[str, Any]) -> None:
    token = org_b["token"]
    targets = [org_a_user, admin["user"]]
    for _, base in bases(fleet):
        for target in targets:
            random_id = str(uuid.uuid4())
            calls: list[tuple[str, dict[str, Any]]] = [("GET", {}), ("PATCH", {"json": {"name": "Hijacked"}}),
                                                       ("PATCH", {"json": {"role": "viewer"}}),
                                                       ("PATCH", {"json": {"status": "disabled"}}), ("DELETE", {})]
            for method, kwargs in calls:
                theirs = http.request(method, f"{base}/api/v1/auth/users/{target['id']}", headers=bearer(token),
                                      **kwargs)
                unknown = http.request(method, f"{base}/api/v1/auth/users/{random_id}", headers=bearer(token),
                                       **kwargs)
                body = assert_problem(theirs, 404, (target["email"], target["name"], target["org_id"]),
                                      slug="user-not-found")
                _same_problem(body, assert_problem(unknown, 404))
            reset = http.post(f"{base}/api/v1/auth/users/{target['id']}/password",
                              json={"new_password": "a brand new password"}, headers=bearer(token))
            assert_problem(reset, 404, slug="user-not-found")
    # nothing changed for the org-A users
    for target in targets:
        now = http.get(f"{fleet.url('auth')}/api/v1/auth/users/{target['id']}", headers=bearer(admin["token"]))
        assert now.status_code == 200, describe(now)
        assert {k: now.json()[k] for k in ("name", "role", "status")} == \
               {k: target[k] for k in ("name", "role", "status")}
    assert login(http, fleet.gateway, org_a_user["email"])["access_token"]


def test_other_orgs_users_never_appear_in_a_listing(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                                                    org_b: dict[str, Any], org_a_user: dict[str, Any]) -> None:
    org_a = admin["user"]["org_id"]
    a_ids = {u["id"] for u in http.get(f"{fleet.gateway}/api/v1/auth/users?limit=200&org_id={org_a}",
                                       headers=bearer(admin["token"])).json()["items"]}
    assert org_a_user["id"] in a_ids and admin["user"]["id"] in a_ids
    for _, base in bases(fleet):
        for query in ("?limit=200", f"?limit=200&org_id={org_a}", f"?org_id={quote(chr(39) + ' OR 1=1 --')}"):
            listing = http.get(f"{base}/api/v1/auth/users{query}", headers=bearer(org_b["token"]))
            assert listing.status_code == 200, describe(listing)
            items = listing.json()["items"]
            assert not {u["id"] for u in items} & a_ids, query
            assert all(u["org_id"] == org_b["org"]["id"] for u in items), query
            if query == "?limit=200":
                assert {org_b["admin"]["id"], org_b["member"]["id"]} <= {u["id"] for u in items}
            else:
                assert items == [] and listing.json()["total"] == 0, query
        # B's admin cannot place a user in org A, and the refusal looks like an unknown org's
        body = {"email": unique_email("sneak"), "name": "Sneak", "role": "admin", "password": PASSWORD}
        into_a = http.post(f"{base}/api/v1/auth/users", json={**body, "org_id": org_a}, headers=bearer(org_b["token"]))
        into_nowhere = http.post(f"{base}/api/v1/auth/users", json={**body, "org_id": str(uuid.uuid4())},
                                 headers=bearer(org_b["token"]))
        _same_problem(assert_problem(into_a, 404), assert_problem(into_nowhere, 404))
        # nor grant superadmin, nor list orgs
        superadmin = http.post(f"{base}/api/v1/auth/users", json={**body, "role": "superadmin"},
                               headers=bearer(org_b["token"]))
        assert_problem(superadmin, 403, slug="permission-denied")
        assert_problem(http.get(f"{base}/api/v1/auth/orgs", headers=bearer(org_b["token"])), 403)
        invitations = http.get(f"{base}/api/v1/auth/invitations", headers=bearer(org_b["token"]))
        assert invitations.status_code == 200
        assert all(i["org_id"] == org_b["org"]["id"] for i in invitations.json()["items"])


def test_recruiter_cannot_change_roles(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                                       recruiter: dict[str, Any], org_a_user: dict[str, Any]) -> None:
    before = http.get(f"{fleet.gateway}/api/v1/auth/users/{org_a_user['id']}", headers=bearer(admin["token"])).json()
    for _, base in bases(fleet):
        for target, role in ((org_a_user["id"], "admin"), (recruiter["user"]["id"], "admin"),
                             (admin["user"]["id"], "viewer"), (org_a_user["id"], "superadmin")):
            response = http.patch(f"{base}/api/v1/auth/users/{target}", json={"role": role},
                                  headers=bearer(recruiter["token"]))
            assert_problem(response, 403, token_secrets(recruiter["token"]), slug="permission-denied")
        created = http.post(f"{base}/api/v1/auth/users", headers=bearer(recruiter["token"]), json={
            "email": unique_email("by-recruiter"), "name": "Nope", "role": "admin", "password": PASSWORD})
        assert_problem(created, 403, slug="permission-denied")
        invite = http.post(f"{base}/api/v1/auth/invitations", headers=bearer(recruiter["token"]),
                           json={"email": unique_email("invitee"), "role": "admin"})
        assert_problem(invite, 403, slug="permission-denied")
    after = http.get(f"{fleet.url('auth')}/api/v1/auth/users/{org_a_user['id']}", headers=bearer(admin["token"]))
    assert after.json() == before
    me = http.get(f"{fleet.url('auth')}/api/v1/auth/me", headers=bearer(recruiter["token"]))
    assert me.status_code == 200 and me.json()["role"] == "recruiter"


# --- login throttling ---------------------------------------------------------------------------
def test_brute_force_against_one_account_is_throttled(fleet: Fleet, http: httpx.Client,
                                                      admin: dict[str, Any]) -> None:
    left_in_window = LOGIN_WINDOW - time.time() % LOGIN_WINDOW
    if left_in_window < 15:  # the attempts count in fixed windows: do not straddle two
        time.sleep(left_in_window + 0.5)
    user = create_user(http, fleet.gateway, admin["token"], role="viewer", name="Brute Target")
    url = f"{fleet.gateway}/api/v1/auth/login"
    for attempt in range(LOGIN_ATTEMPTS_PER_ACCOUNT):
        guess = f"wrong guess number {attempt}"
        response = http.post(url, json={"email": user["email"], "password": guess})
        assert_problem(response, 401, (guess,), slug="invalid-credentials")
    # the correct password, the same account spelt in capitals, and the auth service asked directly:
    # all refused while the account is throttled
    for base in (fleet.gateway, fleet.url("auth")):
        for email, password in ((user["email"], "yet another wrong guess"), (user["email"], PASSWORD),
                                (user["email"].upper(), PASSWORD)):
            started = time.monotonic()
            response = http.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password})
            body = assert_problem(response, 429, (password,), slug="too-many-attempts")
            retry_after = response.headers.get("retry-after", "")
            assert retry_after.isdigit() and 1 <= int(retry_after) <= LOGIN_WINDOW, (retry_after, body)
            assert "access_token" not in response.text
            assert time.monotonic() - started < 1.0  # refused before any password hashing
    # other accounts are unaffected
    assert fleet.login()["access_token"]


# --- injection in every text field --------------------------------------------------------------
def _assert_handled(response: httpx.Response, *, echoed: tuple[str, Any] | None = None) -> None:
    """A 4xx problem, or a 2xx that stores what was sent verbatim; never a 5xx."""
    assert response.status_code < 500, describe(response)
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
        return
    assert 200 <= response.status_code < 300, describe(response)
    if echoed is not None and isinstance(echoed[1], str) and response.content:
        field, value = echoed
        assert response.json()[field] == value, describe(response)
    assert_clean(response)


def _payloads() -> list[Any]:
    return [*INJECTIONS, *TYPE_CONFUSION]


def _emails() -> list[Any]:
    """Injections as a whole address, as its local part and as its domain."""
    texts = [p for p in INJECTIONS if isinstance(p, str)]
    return [*_payloads(), *(f"{p}@looma.test" for p in texts), *(f"someone@{p}" for p in texts)]


def test_injection_in_login(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> None:
    target = create_user(http, fleet.gateway, admin["token"], role="viewer", name="Login Target")
    for _, base in bases(fleet):
        url = f"{base}/api/v1/auth/login"
        for email in _emails():
            _assert_handled(http.post(url, json={"email": email, "password": "whatever it is 1"}))
            _assert_handled(http.post(url, json={"email": email, "password": PASSWORD}))
        for password in _payloads():
            response = http.post(url, json={"email": unique_email("nobody"), "password": password})
            _assert_handled(response)
            assert response.status_code in (401, 422), describe(response)
            response = http.post(url, json={"email": target["email"], "password": password})
            _assert_handled(response)
            assert response.status_code in (401, 422, 429), describe(response)  # never signs anyone in
        for raw in (b"{", b"' OR 1=1 --", b"\x00\xff\xfe", json.dumps(["email"]).encode(), b"null"):
            _assert_handled(http.post(url, content=raw, headers={"Content-Type": "application/json"}))
        extra = http.post(url, json={"email": target["email"], "password": PASSWORD, "role": "superadmin"})
        _assert_handled(extra)
        assert extra.status_code in (422, 429), describe(extra)


def test_injection_in_refresh(fleet: Fleet, http: httpx.Client) -> None:
    for _, base in bases(fleet):
        for value in _payloads():
            response = http.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": value})
            _assert_handled(response)
            assert response.status_code in (401, 422), describe(response)
            response = http.post(f"{base}/api/v1/auth/logout", json={"refresh_token": value})
            _assert_handled(response)
            assert response.status_code == 401, describe(response)


def test_injection_in_token_grants(fleet: Fleet, http: httpx.Client) -> None:
    for _, base in bases(fleet):
        url = f"{base}/api/v1/auth/token"
        for value in _payloads():
            # never the fleet's own client: its failures would throttle the real service token
            for body in ({"grant_type": value, "client_id": "no-such-client", "client_secret": "x" * 20},
                         {"grant_type": "client_credentials", "client_id": value, "client_secret": "x" * 20},
                         {"grant_type": "client_credentials", "client_id": "no-such-client", "client_secret": value},
                         {"grant_type": "api_key", "api_key": value}):
                response = http.post(url, json=body)
                _assert_handled(response)
                assert response.status_code in (401, 422, 429), describe(response)


@pytest.fixture(scope="module")
def scratch_user(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> dict[str, Any]:
    return create_user(http, fleet.gateway, admin["token"], role="viewer", name="Scratch")


def test_injection_in_users(fleet: Fleet, http: httpx.Client, admin: dict[str, Any],
                            scratch_user: dict[str, Any]) -> None:
    auth = bearer(admin["token"])
    for _, base in bases(fleet):
        url = f"{base}/api/v1/auth/users"

        def valid() -> dict[str, Any]:
            return {"email": unique_email("inj"), "name": "Injected", "role": "viewer", "password": PASSWORD}

        for value in _payloads():
            created = http.post(url, json={**valid(), "name": value}, headers=auth)
            _assert_handled(created, echoed=("name", value))
            if created.status_code == 201:  # stored verbatim, and read back the same
                again = http.get(f"{url}/{created.json()['id']}", headers=auth)
                assert again.status_code == 200 and again.json()["name"] == value, describe(again)
            for field in ("role", "password", "org_id"):
                response = http.post(url, json={**valid(), field: value}, headers=auth)
                _assert_handled(response)
                if field in ("role", "org_id") and value is not None:  # a null org_id means "my org"
                    assert response.status_code in (404, 422), describe(response)
            for field in ("name", "role", "status"):
                response = http.patch(f"{url}/{scratch_user['id']}", json={field: value}, headers=auth)
                _assert_handled(response, echoed=(field, value))
            if isinstance(value, str):
                encoded = quote(value[:URL_PAYLOAD_LIMIT], safe="")
                for method in ("GET", "PATCH", "DELETE"):
                    response = http.request(method, f"{url}/{encoded}", headers=auth,
                                            json={"name": "x"} if method == "PATCH" else None)
                    _assert_handled(response)
                    assert response.status_code in (404, 405, 414, 400, 413, 431), describe(response)
                for query in ("cursor", "org_id", "limit"):
                    response = http.get(f"{url}?{query}={encoded}", headers=auth)
                    _assert_handled(response)
                    if response.status_code == 200:
                        assert response.json()["items"] == [], (query, describe(response))
        for value in _emails():
            _assert_handled(http.post(url, json={**valid(), "email": value}, headers=auth))
        # the table is still there, with its users in it
        listing = http.get(f"{url}?limit=200", headers=auth)
        assert listing.status_code == 200 and scratch_user["id"] in {u["id"] for u in listing.json()["items"]}


def test_injection_in_invitations(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> None:
    auth = bearer(admin["token"])
    for _, base in bases(fleet):
        url = f"{base}/api/v1/auth/invitations"
        for value in _emails():
            _assert_handled(http.post(url, json={"email": value, "role": "viewer"}, headers=auth))
        for value in _payloads():
            response = http.post(url, json={"email": unique_email("invitee"), "role": value}, headers=auth)
            _assert_handled(response)
            assert response.status_code == 422, describe(response)
            # accepting: a forged invitation token, then a real invitation with injected name and password
            forged = http.post(f"{url}/accept", json={"token": value, "name": "Someone", "password": PASSWORD})
            _assert_handled(forged)
            assert forged.status_code in (410, 422), describe(forged)
            for field in ("name", "password"):
                invitation = http.post(url, json={"email": unique_email("invitee"), "role": "viewer"}, headers=auth)
                assert invitation.status_code == 201, describe(invitation)
                body = {"token": invitation.json()["token"], "name": "Invited", "password": PASSWORD, field: value}
                accepted = http.post(f"{url}/accept", json=body)
                _assert_handled(accepted)
                if accepted.status_code == 201 and field == "name":
                    me = http.get(f"{base}/api/v1/auth/me", headers=bearer(accepted.json()["access_token"]))
                    assert me.status_code == 200 and me.json()["name"] == value, describe(me)
                    assert me.json()["role"] == "viewer"
            if isinstance(value, str):
                response = http.delete(f"{url}/{quote(value[:URL_PAYLOAD_LIMIT], safe='')}", headers=auth)
                _assert_handled(response)
                assert 400 <= response.status_code < 500, describe(response)
        listing = http.get(url, headers=auth)
        assert listing.status_code == 200, describe(listing)


def test_injection_in_orgs(fleet: Fleet, http: httpx.Client, admin: dict[str, Any]) -> None:
    auth = bearer(admin["token"])
    for _, base in bases(fleet):
        url = f"{base}/api/v1/auth/orgs"
        created: dict[str, Any] = {}
        for value in _payloads():
            response = http.post(url, json={"name": value}, headers=auth)
            _assert_handled(response, echoed=("name", value))
            if response.status_code == 201:
                created[response.json()["id"]] = value
        assert created, "no injected name was a valid org name"
        listing = http.get(url, headers=auth)
        assert listing.status_code == 200, describe(listing)
        names = {org["id"]: org["name"] for org in listing.json()["items"]}
        for org_id, value in created.items():
            assert names.get(org_id) == value


def test_auth_service_is_healthy_after_the_attacks(fleet: Fleet, http: httpx.Client) -> None:
    for base in (fleet.url("auth"), f"{fleet.gateway}/api/v1/services/auth"):
        ready = http.get(f"{base}/ready")
        assert ready.status_code == 200, describe(ready)
    for _, base in bases(fleet):
        tokens = login(http, base, ADMIN_EMAIL, ADMIN_PASSWORD)
        me = http.get(f"{base}/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200 and me.json()["email"] == ADMIN_EMAIL, describe(me)
        users = http.get(f"{base}/api/v1/auth/users?limit=5", headers=bearer(tokens["access_token"]))
        assert users.status_code == 200 and users.json()["total"] >= 1, describe(users)
    assert "Traceback" not in fleet.log()
