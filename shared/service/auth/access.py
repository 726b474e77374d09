"""Every route declares who may call it; one request middleware enforces the declarations.

    @bp.get("/talents/<id>")
    @requires(TALENT_READ)
    async def read_talent(request, id): ...

`requires(p)` needs a valid token holding `p`, `authenticated` any valid token, `public` none.
A route with no declaration is refused (403) at run time, and tests/unit/test_route_access.py
fails on it before it ships. The only routes declared by name instead are sanic-ext's OpenAPI
pages, which Looma does not write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sanic import Request
from sanic.models.handler_types import RouteHandler
from sanic_routing import Route

from shared.service.auth.principal import Principal
from shared.service.auth.verifier import KeysUnavailable, TokenRejected
from shared.service.problems import Problem

H = TypeVar("H", bound=Callable[..., Any])
ATTRIBUTE = "__looma_access__"
THIRD_PARTY_PUBLIC = (".openapi.",)  # sanic-ext's /docs pages


@dataclass(frozen=True)
class Access:
    public: bool = False
    permission: str | None = None  # None with public=False: any valid token

    def describe(self) -> str:
        return "public" if self.public else (self.permission or "authenticated")


def requires(permission: str) -> Callable[[H], H]:
    def declare(handler: H) -> H:
        setattr(handler, ATTRIBUTE, Access(permission=permission))
        return handler

    return declare


def authenticated(handler: H) -> H:
    setattr(handler, ATTRIBUTE, Access())
    return handler


def public(handler: H) -> H:
    setattr(handler, ATTRIBUTE, Access(public=True))
    return handler


def declared_access(route: Route) -> Access | None:
    handler: RouteHandler | Any = route.handler
    if getattr(handler, "__auto_handler__", False):  # sanic-ext's automatic HEAD and OPTIONS routes
        target = getattr(handler, "__route_handler__", None)
        if target is None:
            return Access(public=True)  # OPTIONS only lists the methods the path allows
        handler = target  # HEAD runs the GET handler, so it takes that route's declaration
    while hasattr(handler, "func") and not hasattr(handler, ATTRIBUTE):  # functools.partial
        handler = handler.func
    access = getattr(handler, ATTRIBUTE, None)
    if access is None and any(marker in route.name for marker in THIRD_PARTY_PUBLIC):
        return Access(public=True)
    return access


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def unauthorized(reason: str) -> Problem:
    challenge = f'Bearer realm="looma", error="invalid_token", error_description="{reason}"'
    return Problem(401, reason, slug="invalid-token", title="Unauthorized", headers={"WWW-Authenticate": challenge})


async def authenticate(request: Request) -> Principal:
    """The caller's principal from the bearer token: 401 when absent or not acceptable."""
    token = bearer_token(request)
    if token is None:
        raise Problem(401, "this route needs a bearer token", slug="missing-token", title="Unauthorized",
                      headers={"WWW-Authenticate": 'Bearer realm="looma"'})
    try:
        principal = await request.app.ctx.verifier.verify(token)
    except TokenRejected as rejected:
        raise unauthorized(rejected.reason) from None
    except KeysUnavailable:
        raise Problem(503, "the signing keys cannot be fetched from the auth service right now",
                      slug="auth-keys-unavailable", headers={"Retry-After": "2"}) from None
    request.ctx.principal = principal
    return principal


async def enforce_declared_access(request: Request) -> None:
    """Request middleware: the route's declaration, enforced before its handler runs."""
    route = request.route
    if route is None:
        return
    access = declared_access(route)
    if access is None:
        raise Problem(403, "this route declares no permission, so nobody may call it", slug="undeclared-route")
    if access.public:
        return
    principal = await authenticate(request)
    if access.permission is not None and not principal.can(access.permission):
        raise Problem(403, f"this needs the {access.permission!r} permission", slug="permission-denied",
                      permission=access.permission)


def caller(request: Request) -> Principal:
    """The principal the middleware verified; only on routes that are not public."""
    principal = getattr(request.ctx, "principal", None)
    if principal is None:
        raise RuntimeError("caller() on a route that does not authenticate; declare it with requires()")
    return principal
