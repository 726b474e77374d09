"""Every route of every Looma process declares who may call it, and the declarations hold at run time.

The first tests build each process in `shared.fleet.PROCESSES` and list the routes that carry no
`requires` / `authenticated` / `public` declaration: once as `create_app()` leaves them, once as a
started server serves them (sanic-ext adds HEAD and OPTIONS routes at startup). The others drive
a small service through the ASGI client: an undeclared route is refused, a guarded one answers
401 / 403 / 200 by the token it is shown, a public one needs no token.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json
from sanic_testing.testing import SanicASGITestClient
from sanic_testing.testing import TestingResponse as SanicResponse  # aliased: pytest would collect "Test*"

from shared.config import LoomaSettings
from shared.database.schema import upgrade
from shared.fleet import PROCESSES, ServiceSpec
from shared.service import BaseAIService, LoomaApp
from shared.service.auth import authenticated, caller, public, requires
from shared.service.auth.access import declared_access
from shared.service.auth.permissions import JOB_READ, TALENT_READ
from tests.tokens import TestIssuer, bearer

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def settings(tmp_path: Path) -> LoomaSettings:
    # Explicit Nones so a developer's LOOMA_* environment cannot point the test at real servers.
    return LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                         database_url=None, redis_url=None, gateway_url=None)


@pytest.fixture
def migrated(settings: LoomaSettings) -> None:
    upgrade(settings.sqlalchemy_url)


# --- the fleet --------------------------------------------------------------------------------------


def service_class(spec: ServiceSpec) -> type[BaseAIService]:
    """The BaseAIService subclass `{spec.module}.app` defines for `spec`."""
    module = importlib.import_module(f"{spec.module}.app")
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, BaseAIService)
             and value.__module__ == module.__name__ and getattr(value, "spec", None) is spec]
    assert len(found) == 1, f"{module.__name__} should define exactly one service for {spec.name}: {found}"
    return found[0]


def fleet_apps(settings: LoomaSettings) -> list[tuple[str, LoomaApp]]:
    return [(spec.name, service_class(spec)(settings).create_app()) for spec in PROCESSES]


def undeclared_routes(service: str, app: LoomaApp) -> list[str]:
    """`service METHOD path` for every route (and method) without an access declaration."""
    return [f"{service} {method} {route.uri}"
            for route in app.router.routes if declared_access(route) is None
            for method in sorted(route.methods)]


def report(missing: list[str]) -> str:
    return f"{len(missing)} route(s) declare no access (requires / authenticated / public):\n" + "\n".join(
        f"  {line}" for line in sorted(missing))


def test_every_route_of_every_process_declares_its_access(settings: LoomaSettings) -> None:
    apps = fleet_apps(settings)
    missing = [line for name, app in apps for line in undeclared_routes(name, app)]

    assert [name for name, _ in apps] == [spec.name for spec in PROCESSES]
    assert all(any(route.uri == "/health" for route in app.router.routes) for _, app in apps)
    assert not missing, report(missing)


async def test_every_route_a_started_process_serves_declares_its_access(
    settings: LoomaSettings, migrated: None
) -> None:
    missing: list[str] = []
    for name, app in fleet_apps(settings):
        _, response = await app.asgi_client.get("/health")  # runs the startup listeners, which add routes
        assert response.status == 200, f"{name}: {response.text}"
        missing += undeclared_routes(name, app)

    assert not missing, report(missing)


# --- enforcement at run time ------------------------------------------------------------------------

GUARDED = ServiceSpec("guarded", "Guarded service", 20001, "tests.unit.test_route_access", ("/api/v1/guarded",))


class GuardedService(BaseAIService):
    spec = GUARDED
    registers_with_gateway = False

    def blueprints(self) -> Sequence[Blueprint]:
        bp = Blueprint("guarded", url_prefix="/api/v1/guarded")

        @bp.get("/undeclared")
        async def undeclared(request: Request) -> HTTPResponse:
            return json({"reached": True})

        @bp.get("/talents")
        @requires(TALENT_READ)
        async def talents(request: Request) -> HTTPResponse:
            return json({"talents": [], "caller": caller(request).subject})

        @bp.get("/whoami")
        @authenticated
        async def whoami(request: Request) -> HTTPResponse:
            return json(caller(request).public_view())

        @bp.get("/open")
        @public
        async def open_route(request: Request) -> HTTPResponse:
            return json({"open": True})

        return (bp,)


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def client(settings: LoomaSettings, migrated: None, issuer: TestIssuer) -> SanicASGITestClient:
    app = GuardedService(settings).create_app()
    issuer.install(app)
    return app.asgi_client


def assert_problem(response: SanicResponse, status: int, slug: str) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json
    assert body["type"] == f"urn:looma:problem:{slug}"
    assert body["status"] == status
    return body


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "with-a-token"])
async def test_an_undeclared_route_is_refused_to_everyone(
    client: SanicASGITestClient, issuer: TestIssuer, with_token: bool
) -> None:
    headers = bearer(issuer.token(role="admin")) if with_token else {}

    _, response = await client.get("/api/v1/guarded/undeclared", headers=headers)

    assert_problem(response, 403, "undeclared-route")
    assert "reached" not in response.text


async def test_a_guarded_route_without_a_token_answers_401_missing_token(client: SanicASGITestClient) -> None:
    _, response = await client.get("/api/v1/guarded/talents")

    assert_problem(response, 401, "missing-token")
    assert response.headers["www-authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Bearer garbage", "the token is malformed"),
        ("Bearer a.b.c", "the token is malformed"),
        ("Basic dXNlcjpwYXNz", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer ", "the Authorization header must be 'Bearer <token>'"),
    ],
    ids=["garbage", "three-garbage-segments", "basic-scheme", "empty-bearer"],
)
async def test_a_guarded_route_with_an_unacceptable_token_answers_401_invalid_token(
    client: SanicASGITestClient, authorization: str, detail: str
) -> None:
    _, response = await client.get("/api/v1/guarded/talents", headers={"Authorization": authorization})

    body = assert_problem(response, 401, "invalid-token")
    assert body["detail"] == detail
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge


async def test_a_token_from_an_untrusted_key_answers_401_invalid_token(client: SanicASGITestClient) -> None:
    impostor = TestIssuer()  # same kid, another key

    _, response = await client.get("/api/v1/guarded/talents", headers=bearer(impostor.token()))

    body = assert_problem(response, 401, "invalid-token")
    assert body["detail"] == "the token's signature does not verify"
    assert "www-authenticate" in response.headers


async def test_a_token_lacking_the_permission_answers_403_permission_denied(
    client: SanicASGITestClient, issuer: TestIssuer
) -> None:
    token = issuer.token(permissions=[JOB_READ])

    _, response = await client.get("/api/v1/guarded/talents", headers=bearer(token))

    body = assert_problem(response, 403, "permission-denied")
    assert body["permission"] == TALENT_READ


async def test_a_token_holding_the_permission_answers_200(client: SanicASGITestClient, issuer: TestIssuer) -> None:
    token = issuer.token(subject="user-7", permissions=[TALENT_READ])

    _, response = await client.get("/api/v1/guarded/talents", headers=bearer(token))

    assert response.status == 200, response.text
    assert response.json == {"talents": [], "caller": "user-7"}


async def test_an_authenticated_route_takes_any_valid_token(client: SanicASGITestClient, issuer: TestIssuer) -> None:
    _, anonymous = await client.get("/api/v1/guarded/whoami")
    _, response = await client.get("/api/v1/guarded/whoami",
                                   headers=bearer(issuer.token(subject="user-8", org="org-b", permissions=[])))

    assert_problem(anonymous, 401, "missing-token")
    assert response.status == 200, response.text
    assert response.json == {"subject": "user-8", "kind": "user", "org_id": "org-b", "role": "admin",
                             "permissions": []}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer garbage"}], ids=["no-token", "garbage-token"])
async def test_a_public_route_answers_200_whatever_the_token(
    client: SanicASGITestClient, headers: dict[str, str]
) -> None:
    _, response = await client.get("/api/v1/guarded/open", headers=headers)

    assert response.status == 200, response.text
    assert response.json == {"open": True}


async def test_head_follows_the_declaration_of_the_get_route(client: SanicASGITestClient, issuer: TestIssuer) -> None:
    """sanic-ext answers HEAD for every GET route; it must be neither refused nor a way around a guard."""
    _, public_head = await client.head("/api/v1/guarded/open")
    _, health_head = await client.head("/health")
    _, guarded_anonymous = await client.head("/api/v1/guarded/talents")
    _, guarded_with_token = await client.head("/api/v1/guarded/talents",
                                              headers=bearer(issuer.token(permissions=[TALENT_READ])))

    assert public_head.status == 200
    assert health_head.status == 200
    assert guarded_anonymous.status == 401
    assert guarded_with_token.status == 200
