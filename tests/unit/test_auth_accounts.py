"""The auth service's sign-in surface: login, refresh rotation, logout, throttling, grants, keys, audit.

The app is started once per fixture and driven in-process over ASGI. sanic-testing's
`app.asgi_client` runs every server listener around every request (the bootstrap included, with its
Argon2 check of the fleet secret); `AuthHarness` runs them once, as a server process does, and then
sends plain requests. Each request comes from a client address of its own (the ASGI peer) unless
a test names one, so per-IP throttling only counts what a test means it to count.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio

from ai_services.auth_service.app import AuthService
from shared.config import LoomaSettings
from shared.database.schema import upgrade
from shared.service.auth.denylist import Denylist
from shared.service.auth.permissions import FLEET_SERVICE_PERMISSIONS, permissions_for
from shared.service.auth.verifier import TokenVerifier
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT_PASSWORD = "correct horse battery"
FLEET_ID = "looma-fleet"
FLEET_SECRET = "a-long-fleet-secret-for-tests"
PASSWORD = "a fine password 42"
AUTH_TABLES = {"auth_orgs", "auth_users", "auth_refresh_tokens", "auth_invitations", "auth_api_keys",
               "auth_service_clients", "auth_signing_keys", "auth_audit_log"}
STACK_TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy", "sqlite3.", "asyncpg", "site-packages")


# --- the harness (also used by test_auth_users.py and test_auth_input.py) ------------------------


def unique_email(prefix: str = "user", domain: str = "looma.test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@{domain}"


def random_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def auth_settings(data_dir: Path, **overrides: Any) -> LoomaSettings:
    """Settings for one auth service on embedded stores (unless overridden), its schema migrated."""
    values: dict[str, Any] = {
        "_env_file": None, "data_dir": data_dir, "env": "test", "database_url": None, "redis_url": None,
        "gateway_url": None, "bootstrap_admin_email": unique_email("root"), "bootstrap_admin_password": ROOT_PASSWORD,
        "service_client_secret": FLEET_SECRET, "log_level": "WARNING",
    }
    values.update(overrides)
    settings = LoomaSettings(**values)
    upgrade(settings.sqlalchemy_url)
    return settings


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem of `status` (and `slug`), with nothing of the server's insides in it."""
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:looma:problem:")
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    assert body["title"] and body["detail"]
    assert not any(marker in response.text for marker in STACK_TRACE_MARKERS), response.text[:2000]
    return body


class AuthHarness(ServiceHarness):
    """One auth service app with its listeners run once, and requests to it over ASGI."""

    host = "auth.test"

    def __init__(self, settings: LoomaSettings) -> None:
        super().__init__(AuthService(settings).create_app())
        self.settings = settings
        self.root_email = str(settings.bootstrap_admin_email)
        self._root_token: str | None = None

    async def request(self, method: str, path: str, *, token: str | None = None, ip: str | None = None,
                      json: Any = None, content: bytes | str | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.send(method, path, token=token, client_ip=ip or random_ip(), json=json, content=content,
                               headers=headers)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    # --- shortcuts ------------------------------------------------------------------------------
    async def login(self, email: str, password: str, ip: str | None = None) -> dict[str, Any]:
        response = await self.post("/api/v1/auth/login", json={"email": email, "password": password}, ip=ip)
        assert response.status_code == 200, response.text
        return response.json()

    async def root_token(self) -> str:
        """The bootstrap superadmin's access token (signed in once per harness)."""
        if self._root_token is None:
            self._root_token = (await self.login(self.root_email, ROOT_PASSWORD))["access_token"]
        return self._root_token

    async def create_user(self, token: str, *, role: str = "viewer", org_id: str | None = None,
                          email: str | None = None, name: str = "Test Person",
                          password: str = PASSWORD) -> dict[str, Any]:
        body: dict[str, Any] = {"email": email or unique_email(role), "name": name, "role": role, "password": password}
        if org_id is not None:
            body["org_id"] = org_id
        response = await self.post("/api/v1/auth/users", token=token, json=body)
        assert response.status_code == 201, response.text
        return {**response.json(), "password": password}

    async def me(self, token: str) -> httpx.Response:
        return await self.get("/api/v1/auth/me", token=token)

    def sql(self, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """Rows from the embedded SQLite database, read behind the service's back."""
        assert self.settings.database_url is None, "only the embedded database can be read directly"
        with closing(sqlite3.connect(self.settings.data_dir / "looma.db")) as db:
            return db.execute(statement, parameters).fetchall()

    def tables(self) -> set[str]:
        return {row[0] for row in self.sql("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def started(settings: LoomaSettings) -> AsyncIterator[AuthHarness]:
    harness = AuthHarness(settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(params=["embedded", pytest.param("postgresql+redis", marks=pytest.mark.server)])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> LoomaSettings:
    """The embedded defaults, or PostgreSQL and Redis (fresh database, shared Redis)."""
    if request.param == "embedded":
        return auth_settings(tmp_path)
    return auth_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"),
                         redis_url=request.getfixturevalue("redis_server_url"))


@pytest_asyncio.fixture(loop_scope="module")
async def backend(backend_settings: LoomaSettings) -> AsyncIterator[AuthHarness]:
    async for harness in started(backend_settings):
        yield harness


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    # A low per-IP limit for the per-IP test; every other request comes from an address of its own.
    return auth_settings(tmp_path_factory.mktemp("auth"), login_attempts_per_ip=3, login_window=1_000_000)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def auth(shared_settings: LoomaSettings) -> AsyncIterator[AuthHarness]:
    """One embedded auth service for the tests that neither rotate keys nor need fresh stores."""
    async for harness in started(shared_settings):
        yield harness


@pytest.fixture
def own_settings(tmp_path: Path) -> LoomaSettings:
    return auth_settings(tmp_path)


@pytest_asyncio.fixture(loop_scope="module")
async def own_auth(own_settings: LoomaSettings) -> AsyncIterator[AuthHarness]:
    """An embedded auth service of this test's own (key rotation changes what every token is signed with)."""
    async for harness in started(own_settings):
        yield harness


# --- login, refresh, logout on both backends ------------------------------------------------------


async def test_login_answers_a_bearer_token_pair_and_me_names_the_user(backend: AuthHarness) -> None:
    tokens = await backend.login(backend.root_email, ROOT_PASSWORD)

    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"] and tokens["refresh_token"] != tokens["access_token"]
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"] and header["typ"] == "at+jwt"

    response = await backend.me(tokens["access_token"])
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["email"] == backend.root_email
    assert me["role"] == "superadmin" and me["status"] == "active"
    assert me["id"] == claims_of(tokens["access_token"])["sub"]
    assert set(me["permissions"]) == permissions_for("superadmin")
    assert "password_hash" not in me


async def test_wrong_password_and_unknown_email_get_the_same_answer(backend: AuthHarness) -> None:
    wrong = await backend.post("/api/v1/auth/login", json={"email": backend.root_email, "password": "not the password"})
    unknown = await backend.post("/api/v1/auth/login",
                                 json={"email": unique_email("nobody"), "password": ROOT_PASSWORD})

    first = assert_problem(wrong, 401, "invalid-credentials")
    second = assert_problem(unknown, 401, "invalid-credentials")
    first.pop("request_id")
    second.pop("request_id")
    assert first == second
    assert backend.root_email not in wrong.text


async def test_me_needs_a_token(auth: AuthHarness) -> None:
    assert_problem(await auth.get("/api/v1/auth/me"), 401, "missing-token")
    assert_problem(await auth.me("not-a-jwt"), 401, "invalid-token")


async def test_refresh_rotates_and_a_reused_token_ends_the_family(backend: AuthHarness) -> None:
    first = await backend.login(backend.root_email, ROOT_PASSWORD)

    response = await backend.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert second["token_type"] == "Bearer" and second["expires_in"] == 900
    # The new refresh token works, once.
    response = await backend.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert response.status_code == 200, response.text
    third = response.json()
    assert (await backend.me(third["access_token"])).status_code == 200

    reused = await backend.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert_problem(reused, 401, "refresh-token-reused")
    # The live token of the same family is dead too...
    assert_problem(await backend.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}), 401)
    # ...and so are the access tokens issued before, whether this process verified them already or not.
    for access in (third["access_token"], first["access_token"]):
        body = assert_problem(await backend.me(access), 401, "invalid-token")
        assert body["detail"] == "the token has been revoked"
    # Signing in again starts afresh.
    again = await backend.login(backend.root_email, ROOT_PASSWORD)
    assert (await backend.me(again["access_token"])).status_code == 200


async def test_an_unknown_refresh_token_is_refused(backend: AuthHarness) -> None:
    response = await backend.post("/api/v1/auth/refresh", json={"refresh_token": "never-issued-" + uuid.uuid4().hex})
    assert_problem(response, 401, "invalid-refresh-token")


async def test_logout_revokes_the_access_token_and_the_refresh_token(backend: AuthHarness) -> None:
    tokens = await backend.login(backend.root_email, ROOT_PASSWORD)
    assert (await backend.me(tokens["access_token"])).status_code == 200

    response = await backend.post("/api/v1/auth/logout", token=tokens["access_token"],
                                  json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 204, response.text
    body = assert_problem(await backend.me(tokens["access_token"]), 401, "invalid-token")
    assert body["detail"] == "the token has been revoked"
    assert_problem(await backend.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)


async def test_logout_without_a_body_revokes_only_the_access_token(backend: AuthHarness) -> None:
    tokens = await backend.login(backend.root_email, ROOT_PASSWORD)

    assert (await backend.post("/api/v1/auth/logout", token=tokens["access_token"])).status_code == 204

    assert_problem(await backend.me(tokens["access_token"]), 401, "invalid-token")
    response = await backend.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200, response.text
    assert (await backend.me(response.json()["access_token"])).status_code == 200


# --- throttling -------------------------------------------------------------------------------------


async def test_five_failures_lock_the_account_even_for_the_right_password(auth: AuthHarness) -> None:
    user = await auth.create_user(await auth.root_token())
    for _ in range(5):  # each from another address: the account limit is not the per-IP one
        response = await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong guess 1"})
        assert_problem(response, 401, "invalid-credentials")

    response = await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})

    body = assert_problem(response, 429, "too-many-attempts")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) > 0
    assert "account" in body["detail"]
    assert "access_token" not in response.text
    # The same email in other letter cases is the same account.
    upper = await auth.post("/api/v1/auth/login", json={"email": user["email"].upper(), "password": PASSWORD})
    assert_problem(upper, 429, "too-many-attempts")


async def test_the_per_ip_limit_counts_failures_for_any_account(auth: AuthHarness) -> None:
    user = await auth.create_user(await auth.root_token())
    address = random_ip()
    for _ in range(auth.settings.login_attempts_per_ip):
        response = await auth.post("/api/v1/auth/login", ip=address,
                                   json={"email": unique_email("guess"), "password": "wrong guess 1"})
        assert_problem(response, 401, "invalid-credentials")

    response = await auth.post("/api/v1/auth/login", ip=address, json={"email": user["email"], "password": PASSWORD})

    body = assert_problem(response, 429, "too-many-attempts")
    assert int(response.headers["Retry-After"]) > 0
    assert "ip" in body["detail"]
    # The account itself is not locked: from another address the right password works.
    assert (await auth.login(user["email"], PASSWORD, ip=random_ip()))["access_token"]


# --- grants for services --------------------------------------------------------------------------


async def test_client_credentials_give_a_service_token(auth: AuthHarness) -> None:
    response = await auth.post("/api/v1/auth/token", json={"grant_type": "client_credentials", "client_id": FLEET_ID,
                                                           "client_secret": FLEET_SECRET})

    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 900
    assert "refresh_token" not in token
    me = await auth.me(token["access_token"])
    assert me.status_code == 200, me.text
    assert me.json() == {"subject": FLEET_ID, "kind": "service", "org_id": None, "role": None,
                         "permissions": sorted(FLEET_SERVICE_PERMISSIONS)}


@pytest.mark.parametrize(("client_id", "secret"),
                         [(FLEET_ID, "a-wrong-fleet-secret"), ("no-such-client", FLEET_SECRET)],
                         ids=["wrong-secret", "unknown-client"])
async def test_wrong_client_credentials_are_refused(auth: AuthHarness, client_id: str, secret: str) -> None:
    response = await auth.post("/api/v1/auth/token", json={"grant_type": "client_credentials", "client_id": client_id,
                                                           "client_secret": secret})
    body = assert_problem(response, 401, "invalid-client")
    assert "access_token" not in body


# --- signing keys -------------------------------------------------------------------------------------


async def test_the_jwks_publishes_the_signing_key_without_private_parts(auth: AuthHarness) -> None:
    kid = jwt.get_unverified_header(await auth.root_token())["kid"]

    response = await auth.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    keys = response.json()["keys"]
    assert kid in {key["kid"] for key in keys}
    for key in keys:
        assert key["alg"] == "EdDSA" and key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["use"] == "sig"
        assert "d" not in key
        assert set(key) <= {"kty", "crv", "x", "kid", "alg", "use"}


def verifier_for(jwks: dict[str, Any], settings: LoomaSettings) -> TokenVerifier:
    """A verifier of another process, that knows only the published JWKS."""
    async def source() -> dict[str, Any]:
        return jwks

    class NoCache:
        async def get(self, key: str) -> None:
            return None

    return TokenVerifier(issuer=settings.auth_issuer, audience=settings.auth_audience, jwks=source,
                         denylist=Denylist(lambda: NoCache()),  # type: ignore[arg-type, return-value]
                         leeway=settings.token_leeway)


async def test_rotating_keys_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(own_auth: AuthHarness) -> None:
    root = await own_auth.login(own_auth.root_email, ROOT_PASSWORD)
    refreshed = await own_auth.post("/api/v1/auth/refresh", json={"refresh_token": root["refresh_token"]})
    before = refreshed.json()["access_token"]  # never shown to the service before the rotation
    old_kid = jwt.get_unverified_header(before)["kid"]

    response = await own_auth.post("/api/v1/auth/keys/rotate", token=root["access_token"])

    assert response.status_code == 201, response.text
    new_kid = response.json()["kid"]
    assert new_kid != old_kid
    after = (await own_auth.login(own_auth.root_email, ROOT_PASSWORD))["access_token"]
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    me = await own_auth.me(before)
    assert me.status_code == 200, me.text
    jwks = (await own_auth.get("/.well-known/jwks.json")).json()
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, new_kid}
    assert all("d" not in key for key in jwks["keys"])
    # Another process that knows only the published keys accepts both tokens.
    elsewhere = verifier_for(jwks, own_auth.settings)
    assert (await elsewhere.verify(before)).subject == (await elsewhere.verify(after)).subject == me.json()["id"]


async def test_only_a_superadmin_rotates_keys(auth: AuthHarness) -> None:
    admin = await auth.create_user(await auth.root_token(), role="admin")
    token = (await auth.login(admin["email"], PASSWORD))["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]

    body = assert_problem(await auth.post("/api/v1/auth/keys/rotate", token=token), 403, "permission-denied")

    assert "keys:admin" in body["detail"]
    assert [key["kid"] for key in (await auth.get("/.well-known/jwks.json")).json()["keys"]] == [kid]


# --- the audit log ----------------------------------------------------------------------------------


async def test_the_audit_log_records_sign_ins_reuse_and_rotation_without_emails(own_auth: AuthHarness) -> None:
    root = await own_auth.login(own_auth.root_email, ROOT_PASSWORD)
    root_id = claims_of(root["access_token"])["sub"]
    stranger = unique_email("Stranger")
    assert (await own_auth.post("/api/v1/auth/login", json={"email": stranger, "password": "wrong guess 1"})
            ).status_code == 401
    assert (await own_auth.post("/api/v1/auth/login", json={"email": own_auth.root_email, "password": "wrong guess 1"})
            ).status_code == 401
    spent = root["refresh_token"]
    assert (await own_auth.post("/api/v1/auth/refresh", json={"refresh_token": spent})).status_code == 200
    assert (await own_auth.post("/api/v1/auth/refresh", json={"refresh_token": spent})).status_code == 401
    token = (await own_auth.login(own_auth.root_email, ROOT_PASSWORD))["access_token"]
    kid = (await own_auth.post("/api/v1/auth/keys/rotate", token=token)).json()["kid"]

    response = await own_auth.get("/api/v1/auth/audit?limit=500", token=token)

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    seen = {(item["action"], item["outcome"], item["actor"]) for item in items}
    fingerprint = "email-sha256:" + hashlib.sha256(stranger.lower().encode()).hexdigest()[:16]
    assert ("login", "success", root_id) in seen
    assert ("login", "failure", root_id) in seen
    assert ("login", "failure", fingerprint) in seen
    assert ("token.refresh_reuse", "denied", root_id) in seen
    assert any(item["action"] == "keys.rotate" and item["target"] == kid and item["actor"] == root_id for item in items)
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    for email in (stranger, stranger.lower(), own_auth.root_email):
        assert email not in response.text
    only_rotations = (await own_auth.get("/api/v1/auth/audit?action=keys.rotate", token=token)).json()["items"]
    assert [item["target"] for item in only_rotations] == [kid]


async def test_the_audit_log_needs_audit_read(auth: AuthHarness) -> None:
    viewer = await auth.create_user(await auth.root_token(), role="viewer")
    token = (await auth.login(viewer["email"], PASSWORD))["access_token"]
    assert_problem(await auth.get("/api/v1/auth/audit", token=token), 403, "permission-denied")
