"""People and their orgs through the auth API: users, roles, passwords, invitations and API keys.

One embedded auth service serves the module. Its superadmin creates a second org ("org B") and an
admin there; most tests act as that admin, each on users it creates for itself, so no test depends
on another's leftovers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from shared.config import LoomaSettings
from shared.service.auth.permissions import permissions_for
from tests.unit.test_auth_accounts import (
    PASSWORD, AuthHarness, assert_problem, auth_settings, claims_of, started, unique_email,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NEW_PASSWORD = "another fine password 7"
USERS = "/api/v1/auth/users"


@dataclass(frozen=True)
class Org:
    id: str
    admin: dict[str, Any]
    token: str  # the admin's access token; no test takes it away


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    return auth_settings(tmp_path_factory.mktemp("users"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def auth(settings: LoomaSettings) -> AsyncIterator[AuthHarness]:
    async for harness in started(settings):
        yield harness


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org_b(auth: AuthHarness) -> Org:
    root = await auth.root_token()
    response = await auth.post("/api/v1/auth/orgs", token=root, json={"name": "Org B"})
    assert response.status_code == 201, response.text
    org_id = response.json()["id"]
    admin = await auth.create_user(root, role="admin", org_id=org_id, name="Org B Admin")
    assert admin["org_id"] == org_id
    return Org(org_id, admin, (await auth.login(admin["email"], PASSWORD))["access_token"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outsider(auth: AuthHarness) -> dict[str, Any]:
    """A user of the superadmin's org, which org B's admin must not reach."""
    return await auth.create_user(await auth.root_token(), role="recruiter", name="Outside Person")


async def signed_in(auth: AuthHarness, org: Org, role: str = "viewer",
                    **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new user of `org` and their token pair."""
    user = await auth.create_user(org.token, role=role, **fields)
    return user, await auth.login(user["email"], user["password"])


async def revoked(auth: AuthHarness, token: str) -> None:
    body = assert_problem(await auth.me(token), 401, "invalid-token")
    assert body["detail"] == "the token has been revoked"


# --- listing and tenancy --------------------------------------------------------------------------


async def test_an_org_admin_lists_only_their_org_page_by_page(auth: AuthHarness, org_b: Org,
                                                              outsider: dict[str, Any]) -> None:
    for _ in range(3):
        await auth.create_user(org_b.token)
    everything = (await auth.get(f"{USERS}?limit=200", token=org_b.token)).json()
    assert set(everything) == {"items", "total", "next_cursor"}
    assert everything["next_cursor"] is None
    assert everything["total"] == len(everything["items"]) >= 4
    assert {user["org_id"] for user in everything["items"]} == {org_b.id}
    assert outsider["id"] not in {user["id"] for user in everything["items"]}

    pages, cursor = [], None
    while True:
        response = await auth.get(f"{USERS}?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=org_b.token)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2 and page["total"] == everything["total"]
        pages.append([user["id"] for user in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    walked = [user_id for page in pages for user_id in page]
    assert walked == [user["id"] for user in everything["items"]]
    assert all(len(page) == 2 for page in pages[:-1])


async def test_a_superadmin_lists_one_org_on_request(auth: AuthHarness, org_b: Org, outsider: dict[str, Any]) -> None:
    response = await auth.get(f"{USERS}?limit=200&org_id={org_b.id}", token=await auth.root_token())
    ids = {user["id"] for user in response.json()["items"]}
    assert org_b.admin["id"] in ids and outsider["id"] not in ids
    every_org = (await auth.get(f"{USERS}?limit=200", token=await auth.root_token())).json()["items"]
    assert {org_b.admin["id"], outsider["id"]} <= {user["id"] for user in every_org}


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "cursor=not-a-cursor!"])
async def test_bad_paging_parameters_are_400(auth: AuthHarness, org_b: Org, query: str) -> None:
    assert_problem(await auth.get(f"{USERS}?{query}", token=org_b.token), 400)


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None),
    ("PATCH", "", {"name": "Renamed From Outside", "status": "disabled"}),
    ("DELETE", "", None),
    ("POST", "/password", {"new_password": NEW_PASSWORD}),
], ids=["get", "patch", "delete", "reset-password"])
async def test_another_orgs_user_answers_like_a_missing_one(auth: AuthHarness, org_b: Org, outsider: dict[str, Any],
                                                            method: str, suffix: str, body: Any) -> None:
    missing_id = str(uuid.uuid4())

    real = await auth.request(method, f"{USERS}/{outsider['id']}{suffix}", token=org_b.token, json=body)
    missing = await auth.request(method, f"{USERS}/{missing_id}{suffix}", token=org_b.token, json=body)

    seen, unseen = assert_problem(real, 404, "user-not-found"), assert_problem(missing, 404, "user-not-found")
    assert set(seen) == set(unseen)
    assert (seen["title"], seen["type"]) == (unseen["title"], unseen["type"])
    assert seen["detail"].replace(outsider["id"], "<id>") == unseen["detail"].replace(missing_id, "<id>")
    assert "ETag" not in real.headers
    untouched = (await auth.get(f"{USERS}/{outsider['id']}", token=await auth.root_token())).json()
    assert (untouched["name"], untouched["status"], untouched["version"]) == ("Outside Person", "active", 1)


async def test_an_org_admin_cannot_create_users_in_another_org(auth: AuthHarness, org_b: Org,
                                                               outsider: dict[str, Any]) -> None:
    body = {"email": unique_email(), "name": "Smuggled", "role": "viewer", "password": PASSWORD}
    real = await auth.post(USERS, token=org_b.token, json={**body, "org_id": outsider["org_id"]})
    missing = await auth.post(USERS, token=org_b.token, json={**body, "org_id": str(uuid.uuid4())})
    assert_problem(real, 404, "org-not-found")
    assert_problem(missing, 404, "org-not-found")
    assert auth.sql("SELECT count(*) FROM auth_users WHERE email = ?", body["email"]) == [(0,)]


# --- roles ------------------------------------------------------------------------------------------


async def test_an_org_admin_cannot_grant_superadmin(auth: AuthHarness, org_b: Org) -> None:
    target = await auth.create_user(org_b.token)
    create = await auth.post(USERS, token=org_b.token, json={"email": unique_email(), "name": "Would Be Root",
                                                             "role": "superadmin", "password": PASSWORD})
    promote = await auth.patch(f"{USERS}/{target['id']}", token=org_b.token, json={"role": "superadmin"})
    invite = await auth.post("/api/v1/auth/invitations", token=org_b.token,
                             json={"email": unique_email(), "role": "superadmin"})

    for response in (create, promote, invite):
        assert_problem(response, 403, "permission-denied")
    assert (await auth.get(f"{USERS}/{target['id']}", token=org_b.token)).json()["role"] == "viewer"
    own = await auth.patch(f"{USERS}/{org_b.admin['id']}", token=org_b.token, json={"role": "viewer"})
    assert_problem(own, 409, "own-role")


@pytest.mark.parametrize("role", ["viewer", "recruiter"])
async def test_users_without_user_admin_cannot_manage_users(auth: AuthHarness, org_b: Org, role: str) -> None:
    target = await auth.create_user(org_b.token)
    _, tokens = await signed_in(auth, org_b, role)
    token = tokens["access_token"]

    attempts = [
        await auth.get(USERS, token=token),
        await auth.get(f"{USERS}/{target['id']}", token=token),
        await auth.patch(f"{USERS}/{target['id']}", token=token, json={"role": "admin"}),
        await auth.post(USERS, token=token, json={"email": unique_email(), "name": "X", "role": "viewer",
                                                  "password": PASSWORD}),
        await auth.post("/api/v1/auth/invitations", token=token, json={"email": unique_email(), "role": "viewer"}),
        await auth.post("/api/v1/auth/api-keys", token=token, json={"name": "k", "permissions": ["talent:read"]}),
    ]

    for response in attempts:
        body = assert_problem(response, 403, "permission-denied")
        assert body["permission"] in {"user:admin", "apikey:admin"}
    assert (await auth.get(f"{USERS}/{target['id']}", token=org_b.token)).json()["role"] == "viewer"


async def test_a_role_change_cuts_off_the_live_token(auth: AuthHarness, org_b: Org) -> None:
    user, tokens = await signed_in(auth, org_b, "viewer")
    assert (await auth.me(tokens["access_token"])).json()["role"] == "viewer"

    response = await auth.patch(f"{USERS}/{user['id']}", token=org_b.token, json={"role": "recruiter"})

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["role"] == "recruiter" and changed["version"] == 2
    assert changed["permissions"] == sorted(permissions_for("recruiter"))
    assert response.headers["ETag"] == '"2"'
    await revoked(auth, tokens["access_token"])
    fresh = (await auth.login(user["email"], PASSWORD))["access_token"]
    assert claims_of(fresh)["perms"] == sorted(permissions_for("recruiter"))
    assert claims_of(fresh)["role"] == "recruiter"
    me = (await auth.me(fresh)).json()
    assert me["role"] == "recruiter" and me["permissions"] == sorted(permissions_for("recruiter"))


async def test_a_disabled_user_is_signed_out_and_cannot_sign_in(auth: AuthHarness, org_b: Org) -> None:
    user, tokens = await signed_in(auth, org_b)

    response = await auth.patch(f"{USERS}/{user['id']}", token=org_b.token, json={"status": "disabled"})

    assert response.status_code == 200 and response.json()["status"] == "disabled"
    await revoked(auth, tokens["access_token"])
    assert_problem(await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}),
                   403, "account-disabled")
    # A wrong password still says only that the credentials are wrong.
    assert_problem(await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong guess 1"}),
                   401, "invalid-credentials")
    assert_problem(await auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    assert (await auth.patch(f"{USERS}/{user['id']}", token=org_b.token, json={"status": "active"})).status_code == 200
    assert (await auth.login(user["email"], PASSWORD))["access_token"]


async def test_a_deleted_user_is_gone_and_scrubbed(auth: AuthHarness, org_b: Org) -> None:
    user, tokens = await signed_in(auth, org_b, name="Deletable Person")

    response = await auth.delete(f"{USERS}/{user['id']}", token=org_b.token)

    assert response.status_code == 204, response.text
    await revoked(auth, tokens["access_token"])
    assert_problem(await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}),
                   401, "invalid-credentials")
    assert_problem(await auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    assert_problem(await auth.get(f"{USERS}/{user['id']}", token=org_b.token), 404, "user-not-found")
    assert_problem(await auth.delete(f"{USERS}/{user['id']}", token=org_b.token), 404, "user-not-found")
    listed = (await auth.get(f"{USERS}?limit=200", token=org_b.token)).json()["items"]
    assert user["id"] not in {row["id"] for row in listed}
    [(email, name, status, password_hash, deleted_at)] = auth.sql(
        "SELECT email, name, status, password_hash, deleted_at FROM auth_users WHERE id = ?", user["id"])
    assert user["email"] not in email and "Deletable" not in name
    assert name == "" and status == "deleted" and password_hash is None and deleted_at is not None
    assert auth.sql("SELECT count(*) FROM auth_users WHERE email = ? OR name = ?", user["email"],
                    "Deletable Person") == [(0,)]


async def test_if_match_guards_against_lost_updates(auth: AuthHarness, org_b: Org) -> None:
    created = await auth.post(USERS, token=org_b.token, json={"email": unique_email(), "name": "Versioned",
                                                              "role": "viewer", "password": PASSWORD})
    assert created.headers["ETag"] == '"1"'
    user_id = created.json()["id"]
    got = await auth.get(f"{USERS}/{user_id}", token=org_b.token)
    assert got.headers["ETag"] == '"1"' and got.json()["version"] == 1

    first = await auth.patch(f"{USERS}/{user_id}", token=org_b.token, json={"name": "First Edit"},
                             headers={"If-Match": '"1"'})
    stale = await auth.patch(f"{USERS}/{user_id}", token=org_b.token, json={"name": "Stale Edit"},
                             headers={"If-Match": '"1"'})

    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    assert_problem(stale, 412, "version-mismatch")
    assert_problem(await auth.patch(f"{USERS}/{user_id}", token=org_b.token, json={"name": "Bad Tag"},
                                    headers={"If-Match": "yesterday"}), 412, "version-mismatch")
    got = await auth.get(f"{USERS}/{user_id}", token=org_b.token)
    assert got.json()["name"] == "First Edit" and got.headers["ETag"] == '"2"'
    weak = await auth.patch(f"{USERS}/{user_id}", token=org_b.token, json={"name": "Weak Tag"},
                            headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200 and weak.json()["name"] == "Weak Tag" and weak.headers["ETag"] == '"3"'


# --- invitations -------------------------------------------------------------------------------------


async def test_an_invitation_is_accepted_once(auth: AuthHarness, org_b: Org) -> None:
    email = unique_email("invited")
    response = await auth.post("/api/v1/auth/invitations", token=org_b.token,
                               json={"email": email, "role": "recruiter"})
    assert response.status_code == 201, response.text
    invitation = response.json()
    assert invitation["token"] and invitation["token"] in invitation["accept_url"]
    assert (invitation["email"], invitation["role"], invitation["org_id"]) == (email, "recruiter", org_b.id)
    accept = {"token": invitation["token"], "name": "Invited Person", "password": PASSWORD}

    response = await auth.post("/api/v1/auth/invitations/accept", json=accept)

    assert response.status_code == 201, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["access_token"] and tokens["refresh_token"]
    me = (await auth.me(tokens["access_token"])).json()
    assert (me["email"], me["name"], me["role"], me["org_id"]) == (email, "Invited Person", "recruiter", org_b.id)
    assert (await auth.get(f"{USERS}/{me['id']}", token=org_b.token)).json()["role"] == "recruiter"
    listed = (await auth.get("/api/v1/auth/invitations", token=org_b.token)).json()["items"]
    assert next(item for item in listed if item["id"] == invitation["id"])["accepted_at"] is not None
    assert_problem(await auth.post("/api/v1/auth/invitations/accept",
                                   json={**accept, "password": NEW_PASSWORD}), 410, "invitation-invalid")
    assert auth.sql("SELECT count(*) FROM auth_users WHERE email = ?", email) == [(1,)]


async def test_a_revoked_invitation_cannot_be_accepted(auth: AuthHarness, org_b: Org) -> None:
    email = unique_email("withdrawn")
    invitation = (await auth.post("/api/v1/auth/invitations", token=org_b.token,
                                  json={"email": email, "role": "viewer"})).json()

    assert (await auth.delete(f"/api/v1/auth/invitations/{invitation['id']}", token=org_b.token)).status_code == 204

    response = await auth.post("/api/v1/auth/invitations/accept",
                               json={"token": invitation["token"], "name": "Too Late", "password": PASSWORD})
    assert_problem(response, 410, "invitation-invalid")
    assert auth.sql("SELECT count(*) FROM auth_users WHERE email = ?", email) == [(0,)]
    assert_problem(await auth.delete(f"/api/v1/auth/invitations/{invitation['id']}", token=org_b.token), 404)


async def test_another_orgs_invitation_cannot_be_revoked(auth: AuthHarness, org_b: Org) -> None:
    invitation = (await auth.post("/api/v1/auth/invitations", token=await auth.root_token(),
                                  json={"email": unique_email(), "role": "viewer"})).json()
    response = await auth.delete(f"/api/v1/auth/invitations/{invitation['id']}", token=org_b.token)
    assert_problem(response, 404, "invitation-not-found")
    assert auth.sql("SELECT revoked_at FROM auth_invitations WHERE id = ?", invitation["id"]) == [(None,)]


async def test_inviting_an_existing_email_conflicts(auth: AuthHarness, org_b: Org, outsider: dict[str, Any]) -> None:
    for email in (outsider["email"], outsider["email"].upper()):  # the account exists, in whichever org
        response = await auth.post("/api/v1/auth/invitations", token=org_b.token,
                                   json={"email": email, "role": "viewer"})
        assert_problem(response, 409, "email-taken")
    assert auth.sql("SELECT count(*) FROM auth_invitations WHERE email = ?", outsider["email"]) == [(0,)]


# --- passwords ---------------------------------------------------------------------------------------


async def test_changing_your_own_password(auth: AuthHarness, org_b: Org) -> None:
    user, tokens = await signed_in(auth, org_b)
    token = tokens["access_token"]

    wrong = await auth.post("/api/v1/auth/password", token=token,
                            json={"current_password": "not my password", "new_password": NEW_PASSWORD})
    weak = await auth.post("/api/v1/auth/password", token=token,
                           json={"current_password": PASSWORD, "new_password": "short"})
    assert_problem(wrong, 403, "wrong-password")
    body = assert_problem(weak, 422)
    assert [error["loc"] for error in body["errors"]] == ["body.new_password"]
    assert (await auth.me(token)).status_code == 200  # neither attempt changed anything

    response = await auth.post("/api/v1/auth/password", token=token,
                               json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["access_token"] != token and renewed["refresh_token"] != tokens["refresh_token"]
    assert (await auth.me(renewed["access_token"])).json()["id"] == user["id"]
    await revoked(auth, token)
    assert_problem(await auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    assert (await auth.login(user["email"], NEW_PASSWORD))["access_token"]
    assert_problem(await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}), 401)


async def test_an_admin_reset_signs_the_user_out(auth: AuthHarness, org_b: Org) -> None:
    user, tokens = await signed_in(auth, org_b)
    weak = await auth.post(f"{USERS}/{user['id']}/password", token=org_b.token, json={"new_password": "short"})
    assert [error["loc"] for error in assert_problem(weak, 422)["errors"]] == ["body.new_password"]

    response = await auth.post(f"{USERS}/{user['id']}/password", token=org_b.token,
                               json={"new_password": NEW_PASSWORD})

    assert response.status_code == 204, response.text
    await revoked(auth, tokens["access_token"])
    assert_problem(await auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    assert (await auth.login(user["email"], NEW_PASSWORD))["access_token"]
    assert_problem(await auth.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}), 401)


# --- API keys ----------------------------------------------------------------------------------------


async def test_an_api_key_is_shown_once_and_exchanged_for_its_scopes(auth: AuthHarness, org_b: Org) -> None:
    response = await auth.post("/api/v1/auth/api-keys", token=org_b.token,
                               json={"name": "CI export", "permissions": ["talent:read", "job:read", "talent:read"],
                                     "expires_in_days": 30})
    assert response.status_code == 201, response.text
    created = response.json()
    key = created["key"]
    assert key.startswith(f"lk_{created['prefix']}_")
    assert created["permissions"] == ["job:read", "talent:read"]
    assert (created["org_id"], created["owner_id"]) == (org_b.id, org_b.admin["id"])
    assert created["expires_at"] is not None and created["revoked_at"] is None

    listed = await auth.get("/api/v1/auth/api-keys", token=org_b.token)
    item = next(row for row in listed.json()["items"] if row["id"] == created["id"])
    assert "key" not in item and "key_hash" not in item
    assert key not in listed.text and key.rsplit("_", 1)[1] not in listed.text

    exchanged = await auth.post("/api/v1/auth/token", json={"grant_type": "api_key", "api_key": key})
    assert exchanged.status_code == 200, exchanged.text
    token = exchanged.json()["access_token"]
    assert "refresh_token" not in exchanged.json()
    me = await auth.me(token)
    assert me.json() == {"subject": created["id"], "kind": "api_key", "org_id": org_b.id, "role": None,
                         "permissions": ["job:read", "talent:read"]}
    assert_problem(await auth.get(USERS, token=token), 403, "permission-denied")

    assert (await auth.delete(f"/api/v1/auth/api-keys/{created['id']}", token=org_b.token)).status_code == 204

    assert_problem(await auth.post("/api/v1/auth/token", json={"grant_type": "api_key", "api_key": key}),
                   401, "invalid-api-key")
    await revoked(auth, token)
    listed = (await auth.get("/api/v1/auth/api-keys", token=org_b.token)).json()["items"]
    assert next(row for row in listed if row["id"] == created["id"])["revoked_at"] is not None


async def test_a_key_cannot_hold_more_than_its_creator(auth: AuthHarness, org_b: Org) -> None:
    for permissions in (["talent:read", "keys:admin"], ["org:admin"]):
        response = await auth.post("/api/v1/auth/api-keys", token=org_b.token,
                                   json={"name": "Too Strong", "permissions": permissions})
        body = assert_problem(response, 403, "permission-denied")
        assert permissions[-1] in body["detail"]
    unknown = await auth.post("/api/v1/auth/api-keys", token=org_b.token,
                              json={"name": "Typo", "permissions": ["talent:delete"]})
    assert "body.permissions" in [error["loc"] for error in assert_problem(unknown, 422)["errors"]]
    assert auth.sql("SELECT count(*) FROM auth_api_keys WHERE name IN ('Too Strong', 'Typo')") == [(0,)]


# --- email addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["a@b.test", "x@corp.local", "用户@例子.测试"])
async def test_reserved_and_international_addresses_are_accepted(auth: AuthHarness, org_b: Org, email: str) -> None:
    response = await auth.post(USERS, token=org_b.token,
                               json={"email": email, "name": "Mail Person", "role": "viewer", "password": PASSWORD})

    assert response.status_code == 201, response.text
    assert response.json()["email"] == email
    assert (await auth.get(f"{USERS}/{response.json()['id']}", token=org_b.token)).json()["email"] == email


@pytest.mark.parametrize("email", ["not-an-email", "a@-x.com"])
@pytest.mark.parametrize(("path", "body"), [
    (USERS, {"name": "Mail Person", "role": "viewer", "password": PASSWORD}),
    ("/api/v1/auth/invitations", {"role": "viewer"}),
    ("/api/v1/auth/login", {"password": PASSWORD}),
], ids=["users", "invitations", "login"])
async def test_malformed_addresses_are_422_naming_the_email(auth: AuthHarness, org_b: Org, email: str, path: str,
                                                           body: dict[str, Any]) -> None:
    response = await auth.post(path, token=org_b.token, json={**body, "email": email})

    problem = assert_problem(response, 422, "validation-failed")
    assert [error["loc"] for error in problem["errors"]] == ["body.email"]
    assert auth.sql("SELECT count(*) FROM auth_users WHERE email = ?", email) == [(0,)]
