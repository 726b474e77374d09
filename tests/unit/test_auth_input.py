"""Bad input on every auth endpoint that reads a body: always a clear 4xx, never a 500 or a leak.

Every endpoint is described once (how to build a valid call, and what kind each text field is);
the tests send that call with one thing wrong. A text field is one of:
- "reject": nothing hostile is a valid value (emails, roles, tokens, secrets to check): a 4xx;
- "stored": a free-text name: hostile text may be valid, and then it is stored and read back verbatim;
- "secret": a new password: hostile text may pass the policy, and then it is the password as typed;
- "lookup": a refresh token to revoke at logout: an unknown one is ignored.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

from shared.config import LoomaSettings
from tests.unit.test_auth_accounts import (
    AUTH_TABLES, PASSWORD, STACK_TRACE_MARKERS, AuthHarness, assert_problem, auth_settings, started, unique_email,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NEW_PASSWORD = "another fine password 7"
USERS = "/api/v1/auth/users"
HOSTILE = {
    "sql-or": "' OR '1'='1",
    "sql-drop": '"; DROP TABLE auth_users; --',
    "html": "<script>alert(1)</script>",
    "template": "{{7*7}}",
    "jndi": "${jndi:ldap://x}",
    "traversal": "../../etc/passwd",
    "nul": "\u0000",
    "10k": "é" * 10_000,
}
CLIENT_ERRORS = {400, 401, 403, 404, 409, 410, 422}


@dataclass
class Call:
    method: str
    path: str
    token: str | None
    body: dict[str, Any]
    about: dict[str, Any] = field(default_factory=dict)  # what a read-back needs: the user, the invitation...


class Fuzz:
    """The module's auth service, its superadmin, and the users the calls act on."""

    def __init__(self, auth: AuthHarness, root: str, org_id: str, target: dict[str, Any],
                 reset_target: dict[str, Any], member: dict[str, Any]) -> None:
        self.auth, self.root, self.org_id = auth, root, org_id
        self.target, self.reset_target, self.member = target, reset_target, member

    async def send(self, call: Call, **kwargs: Any) -> httpx.Response:
        if "content" not in kwargs:  # \u escapes: every string reaches the server as JSON allows, ASCII-only
            kwargs["content"] = json.dumps(call.body).encode()
        return await self.auth.request(call.method, call.path, token=call.token, **kwargs)


# --- the endpoints ---------------------------------------------------------------------------------


async def _login(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/login", None, {"email": unique_email(), "password": "wrong but valid 1"})


async def _refresh(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/refresh", None, {"refresh_token": secrets.token_urlsafe(32)})


async def _logout(f: Fuzz) -> Call:
    tokens = await f.auth.login(f.member["email"], PASSWORD)
    return Call("POST", "/api/v1/auth/logout", tokens["access_token"], {"refresh_token": tokens["refresh_token"]})


async def _client_token(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/token", None, {"grant_type": "client_credentials",
                                                     "client_id": f"client-{uuid.uuid4().hex[:8]}",
                                                     "client_secret": "some client secret"})


async def _api_key_token(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/token", None, {"grant_type": "api_key",
                                                     "api_key": f"lk_00000000_{secrets.token_urlsafe(32)}"})


async def _own_password(f: Fuzz) -> Call:
    user = await f.auth.create_user(f.root)
    token = (await f.auth.login(user["email"], PASSWORD))["access_token"]
    return Call("POST", "/api/v1/auth/password", token, {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                {"email": user["email"]})


async def _create_user(f: Fuzz) -> Call:
    return Call("POST", USERS, f.root, {"email": unique_email(), "name": "Input Person", "role": "viewer",
                                        "password": PASSWORD, "org_id": f.org_id})


async def _update_user(f: Fuzz) -> Call:
    return Call("PATCH", f"{USERS}/{f.target['id']}", f.root, {"name": "Target Person", "role": "viewer",
                                                               "status": "active"})


async def _reset_password(f: Fuzz) -> Call:
    return Call("POST", f"{USERS}/{f.reset_target['id']}/password", f.root, {"new_password": NEW_PASSWORD},
                {"email": f.reset_target["email"]})


async def _invite(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/invitations", f.root, {"email": unique_email(), "role": "viewer"})


async def _accept(f: Fuzz) -> Call:
    email = unique_email("invited")
    response = await f.auth.post("/api/v1/auth/invitations", token=f.root, json={"email": email, "role": "viewer"})
    assert response.status_code == 201, response.text
    return Call("POST", "/api/v1/auth/invitations/accept", None,
                {"token": response.json()["token"], "name": "Accepting Person", "password": PASSWORD}, {"email": email})


async def _api_key(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/api-keys", f.root, {"name": "Input Key", "permissions": ["talent:read"],
                                                          "expires_in_days": 30})


async def _org(f: Fuzz) -> Call:
    return Call("POST", "/api/v1/auth/orgs", f.root, {"name": "Input Org"})


@dataclass(frozen=True)
class Endpoint:
    prepare: Callable[[Fuzz], Awaitable[Call]]
    ok: int  # what the valid call answers
    fields: dict[str, type]  # every body field and its JSON type
    text: dict[str, str]  # the text fields and their kind (see the module docstring)
    required: tuple[str, ...]


ENDPOINTS = {
    "login": Endpoint(_login, 401, {"email": str, "password": str}, {"email": "reject", "password": "reject"},
                      ("email", "password")),
    "refresh": Endpoint(_refresh, 401, {"refresh_token": str}, {"refresh_token": "reject"}, ("refresh_token",)),
    "logout": Endpoint(_logout, 204, {"refresh_token": str}, {"refresh_token": "lookup"}, ()),
    "token-client": Endpoint(_client_token, 401, {"grant_type": str, "client_id": str, "client_secret": str},
                             {"grant_type": "reject", "client_id": "reject", "client_secret": "reject"},
                             ("grant_type", "client_secret")),
    "token-api-key": Endpoint(_api_key_token, 401, {"grant_type": str, "api_key": str},
                              {"api_key": "reject"}, ("grant_type", "api_key")),
    "own-password": Endpoint(_own_password, 200, {"current_password": str, "new_password": str},
                             {"current_password": "reject", "new_password": "secret"},
                             ("current_password", "new_password")),
    "users-create": Endpoint(_create_user, 201,
                             {"email": str, "name": str, "role": str, "password": str, "org_id": str},
                             {"email": "reject", "name": "stored", "role": "reject", "password": "secret",
                              "org_id": "reject"}, ("email", "name", "role", "password")),
    "users-update": Endpoint(_update_user, 200, {"name": str, "role": str, "status": str},
                             {"name": "stored", "role": "reject", "status": "reject"}, ()),
    "users-reset": Endpoint(_reset_password, 204, {"new_password": str}, {"new_password": "secret"},
                            ("new_password",)),
    "invitations": Endpoint(_invite, 201, {"email": str, "role": str}, {"email": "reject", "role": "reject"},
                            ("email", "role")),
    "accept": Endpoint(_accept, 201, {"token": str, "name": str, "password": str},
                       {"token": "reject", "name": "stored", "password": "secret"}, ("token", "name", "password")),
    "api-keys": Endpoint(_api_key, 201, {"name": str, "permissions": list, "expires_in_days": int},
                         {"name": "stored", "permissions": "reject"}, ("name", "permissions")),
    "orgs": Endpoint(_org, 201, {"name": str}, {"name": "stored"}, ("name",)),
}
WRONG_TYPES = {str: (5, ["x"]), list: ("talent:read", 5), int: ("soon", [30])}


# --- reading back what was stored --------------------------------------------------------------------


async def stored_name(f: Fuzz, endpoint: str, call: Call, response: httpx.Response) -> str:
    """The name the service holds after `call` succeeded."""
    auth = f.auth
    if endpoint == "users-create":
        return str((await auth.get(f"{USERS}/{response.json()['id']}", token=f.root)).json()["name"])
    if endpoint == "users-update":
        return str((await auth.get(f"{USERS}/{f.target['id']}", token=f.root)).json()["name"])
    if endpoint == "accept":
        return str((await auth.me(response.json()["access_token"])).json()["name"])
    if endpoint == "api-keys":
        keys = (await auth.get("/api/v1/auth/api-keys", token=f.root)).json()["items"]
        return str(next(key for key in keys if key["id"] == response.json()["id"])["name"])
    assert endpoint == "orgs"
    orgs = (await auth.get("/api/v1/auth/orgs", token=f.root)).json()["items"]
    return str(next(org for org in orgs if org["id"] == response.json()["id"])["name"])


def password_owner(endpoint: str, call: Call) -> str:
    """Whose password `call` set."""
    return str(call.body["email"] if endpoint == "users-create" else call.about["email"])


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    return auth_settings(tmp_path_factory.mktemp("input"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def auth(settings: LoomaSettings) -> AsyncIterator[AuthHarness]:
    async for harness in started(settings):
        yield harness


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz(auth: AuthHarness) -> Fuzz:
    root = await auth.root_token()
    org_id = (await auth.me(root)).json()["org_id"]
    return Fuzz(auth, root, org_id, await auth.create_user(root, name="Target Person"), await auth.create_user(root),
                await auth.create_user(root))


def check_client_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in CLIENT_ERRORS, response.text[:500]
    return assert_problem(response, response.status_code)


# --- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_the_valid_call_is_answered_as_expected(fuzz: Fuzz, endpoint: str) -> None:
    """Each test below changes one thing of this call, so this call must be right."""
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    response = await fuzz.send(call)
    assert response.status_code == ENDPOINTS[endpoint].ok, response.text


@pytest.mark.parametrize("content", [b'{"email": ', b"{'email': 'a@b.test'}", b'{"a": 1,}', b"\xff\xfe"],
                         ids=["truncated", "single-quotes", "trailing-comma", "not-utf8"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_malformed_json_is_400(fuzz: Fuzz, endpoint: str, content: bytes) -> None:
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    response = await fuzz.send(call, content=content)
    assert_problem(response, 400, "invalid-encoding" if content == b"\xff\xfe" else "malformed-json")


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"42", b"null"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_body_that_is_not_an_object_is_422(fuzz: Fuzz, endpoint: str, content: bytes) -> None:
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    body = assert_problem(await fuzz.send(call, content=content), 422, "validation-failed")
    assert [error["loc"] for error in body["errors"]] == ["body"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_body_that_is_not_json_is_415(fuzz: Fuzz, endpoint: str) -> None:
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    response = await fuzz.send(call, content=b"email=a@b.test", headers={"Content-Type": "text/plain"})
    assert_problem(response, 415, "unsupported-media-type")


@pytest.mark.parametrize(("endpoint", "name", "value"), [
    pytest.param(endpoint, name, value, id=f"{endpoint}-{name}-{value!r}")
    for endpoint, spec in ENDPOINTS.items() for name, kind in spec.fields.items() for value in WRONG_TYPES[kind]
])
async def test_a_field_of_the_wrong_type_is_422_naming_it(fuzz: Fuzz, endpoint: str, name: str, value: Any) -> None:
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    call.body[name] = value
    body = assert_problem(await fuzz.send(call), 422, "validation-failed")
    assert [error["loc"] for error in body["errors"]] == [f"body.{name}"]
    assert name in body["detail"]


@pytest.mark.parametrize(("endpoint", "name"), [
    pytest.param(endpoint, name, id=f"{endpoint}-{name}") for endpoint, spec in ENDPOINTS.items()
    for name in spec.required
])
async def test_a_missing_field_is_422_naming_it(fuzz: Fuzz, endpoint: str, name: str) -> None:
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    del call.body[name]
    body = assert_problem(await fuzz.send(call), 422, "validation-failed")
    assert [error["loc"] for error in body["errors"]] == [f"body.{name}"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_an_unknown_field_is_422_naming_it(fuzz: Fuzz, endpoint: str) -> None:
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    call.body["is_superadmin"] = True
    body = assert_problem(await fuzz.send(call), 422, "validation-failed")
    assert [error["loc"] for error in body["errors"]] == ["body.is_superadmin"]


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(("endpoint", "name"), [
    pytest.param(endpoint, name, id=f"{endpoint}-{name}") for endpoint, spec in ENDPOINTS.items() for name in spec.text
])
async def test_hostile_text_is_refused_or_kept_verbatim(fuzz: Fuzz, endpoint: str, name: str, payload: str) -> None:
    kind = ENDPOINTS[endpoint].text[name]
    call = await ENDPOINTS[endpoint].prepare(fuzz)
    if name == "permissions":
        call.body[name] = [payload]
    else:
        call.body[name] = payload

    response = await fuzz.send(call)

    assert not any(marker in response.text for marker in STACK_TRACE_MARKERS), response.text[:500]
    if response.status_code >= 400 or kind == "reject":
        check_client_error(response)
    elif kind == "stored":
        assert response.status_code in (200, 201), response.text[:500]
        if "name" in response.json():
            assert response.json()["name"] == payload
        assert await stored_name(fuzz, endpoint, call, response) == payload
    elif kind == "secret":
        assert response.status_code in (200, 201, 204), response.text[:500]
        assert (await fuzz.auth.login(password_owner(endpoint, call), payload))["access_token"]
    else:
        assert kind == "lookup" and response.status_code == 204, response.text[:500]
        assert_problem(await fuzz.auth.me(str(call.token)), 401, "invalid-token")
    assert fuzz.auth.tables() >= AUTH_TABLES
    assert fuzz.auth.sql("SELECT count(*) FROM auth_users WHERE id = ?", fuzz.target["id"]) == [(1,)]


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(("method", "template"), [
    ("GET", USERS + "/{}"), ("PATCH", USERS + "/{}"), ("DELETE", USERS + "/{}"), ("POST", USERS + "/{}/password"),
    ("DELETE", "/api/v1/auth/invitations/{}"), ("DELETE", "/api/v1/auth/api-keys/{}"),
], ids=["get-user", "patch-user", "delete-user", "reset-password", "revoke-invitation", "revoke-api-key"])
async def test_hostile_ids_in_the_path_are_404(fuzz: Fuzz, method: str, template: str, payload: str) -> None:
    body = {"name": "Renamed"} if method == "PATCH" else {"new_password": NEW_PASSWORD} if method == "POST" else None
    path = template.format(quote(payload, safe="", errors="surrogatepass"))
    response = await fuzz.auth.request(method, path, token=fuzz.root, json=body)
    assert assert_problem(response, 404)["type"].endswith("-not-found")
    assert fuzz.auth.tables() >= AUTH_TABLES


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("query", [USERS + "?org_id={}", USERS + "?cursor={}", "/api/v1/auth/audit?action={}",
                                   "/api/v1/auth/audit?actor={}"],
                         ids=["users-org", "users-cursor", "audit-action", "audit-actor"])
async def test_hostile_query_parameters_find_nothing(fuzz: Fuzz, query: str, payload: str) -> None:
    response = await fuzz.auth.get(query.format(quote(payload, safe="", errors="surrogatepass")), token=fuzz.root)
    if response.status_code == 200 and "cursor" not in query:
        assert response.json()["items"] == []
    else:  # a cursor this API did not hand out, or text no store can hold
        assert assert_problem(response, 400)["type"] in {"urn:looma:problem:invalid-cursor",
                                                         "urn:looma:problem:invalid-parameter"}
    assert fuzz.auth.tables() >= AUTH_TABLES
