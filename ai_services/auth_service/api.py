"""The auth service's HTTP surface. Handlers parse, call one function, and answer."""

from __future__ import annotations

import re

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.auth_service import api_keys, audit, sessions, users
from ai_services.auth_service.keys import rotate_signing_key
from ai_services.auth_service.models import (
    ApiKeyCreate, InvitationAccept, InvitationCreate, LoginRequest, LogoutRequest, OrgCreate, PasswordChange,
    PasswordReset, RefreshRequest, TokenPair, TokenRequest, UserCreate, UserUpdate,
)
from shared.service import Problem, parse_body
from shared.service.auth import authenticated, caller, public, requires
from shared.service.auth.permissions import (
    APIKEY_ADMIN, AUDIT_READ, KEYS_ADMIN, ORG_ADMIN, SUPERADMIN, USER_ADMIN,
)
from shared.service.requests import if_match


def _ip(request: Request) -> str | None:
    return request.remote_addr or request.ip or None


def _arg(request: Request, name: str) -> str | None:
    """A query parameter as text a database accepts (PostgreSQL refuses NUL)."""
    raw = request.args.get(name)
    if raw is not None and "\x00" in raw:
        raise Problem(400, f"{name} must not contain NUL characters", slug="invalid-parameter",
                      errors=[{"loc": f"query.{name}", "msg": "NUL character"}])
    return raw


def _limit(request: Request, default: int = 20, most: int = 200) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= most:
        raise Problem(400, f"limit must be a whole number from 1 to {most}", slug="invalid-parameter",
                      errors=[{"loc": "query.limit", "msg": f"1..{most}"}])
    return int(raw)


def _with_etag(body: dict, status: int = 200) -> HTTPResponse:
    return json(body, status=status, headers={"ETag": f'"{body["version"]}"'})


def account_blueprint() -> Blueprint:
    bp = Blueprint("auth", url_prefix="/api/v1/auth")

    @bp.post("/login")
    @public
    @openapi.body({"application/json": LoginRequest})
    @openapi.response(200, {"application/json": TokenPair})
    @openapi.summary("Sign in with email and password")
    async def login(request: Request) -> HTTPResponse:
        body = parse_body(request, LoginRequest)
        return json(await sessions.login(request.app.ctx, body.email, body.password, _ip(request)))

    @bp.post("/refresh")
    @public
    @openapi.body({"application/json": RefreshRequest})
    @openapi.summary("Spend a refresh token for a new pair (a reused one revokes its family)")
    async def refresh(request: Request) -> HTTPResponse:
        body = parse_body(request, RefreshRequest)
        return json(await sessions.refresh(request.app.ctx, body.refresh_token, _ip(request)))

    @bp.post("/logout")
    @authenticated
    @openapi.summary("Revoke this access token and, if given, the refresh token's family")
    async def logout(request: Request) -> HTTPResponse:
        body = parse_body(request, LogoutRequest) if request.body else LogoutRequest()
        await sessions.logout(request.app.ctx, caller(request), body.refresh_token, _ip(request))
        return empty()

    @bp.post("/token")
    @public
    @openapi.body({"application/json": TokenRequest})
    @openapi.summary("Access tokens for services (client_credentials) and integrations (api_key)")
    async def token(request: Request) -> HTTPResponse:
        body = parse_body(request, TokenRequest)
        ctx = request.app.ctx
        if body.grant_type == "client_credentials":
            missing = [name for name in ("client_id", "client_secret") if not getattr(body, name)]
            if missing:
                raise Problem(422, "client_credentials needs client_id and client_secret", slug="validation-failed",
                              errors=[{"loc": f"body.{name}", "msg": "required"} for name in missing])
            return json(await sessions.client_credentials(ctx, body.client_id, body.client_secret, _ip(request)))
        if not body.api_key:
            raise Problem(422, "api_key grants need api_key", slug="validation-failed",
                          errors=[{"loc": "body.api_key", "msg": "required"}])
        return json(await sessions.api_key_grant(ctx, body.api_key, _ip(request)))

    @bp.get("/me")
    @authenticated
    @openapi.summary("Who the caller is, with their permissions")
    async def me(request: Request) -> HTTPResponse:
        principal = caller(request)
        if principal.kind == "user":
            return json(await users.get_user(request.app.ctx, principal, principal.subject))
        return json(principal.public_view())

    @bp.post("/password")
    @authenticated
    @openapi.body({"application/json": PasswordChange})
    @openapi.summary("Change your own password; other sessions are signed out")
    async def change_password(request: Request) -> HTTPResponse:
        body = parse_body(request, PasswordChange)
        return json(await users.change_own_password(request.app.ctx, caller(request), body.current_password,
                                                    body.new_password, _ip(request)))

    return bp


def users_blueprint() -> Blueprint:
    bp = Blueprint("auth_users", url_prefix="/api/v1/auth/users")

    @bp.get("/")
    @requires(USER_ADMIN)
    @openapi.summary("Users of your org (every org for a superadmin, or ?org_id=)")
    async def list_users(request: Request) -> HTTPResponse:
        return json(await users.list_users(request.app.ctx, caller(request), _limit(request),
                                           _arg(request, "cursor"), _arg(request, "org_id")))

    @bp.post("/")
    @requires(USER_ADMIN)
    @openapi.body({"application/json": UserCreate})
    @openapi.summary("Create a user with a password")
    async def create_user(request: Request) -> HTTPResponse:
        body = parse_body(request, UserCreate)
        return _with_etag(await users.create_user(request.app.ctx, caller(request), body, _ip(request)), 201)

    @bp.get("/<user_id:str>")
    @requires(USER_ADMIN)
    @openapi.summary("One user")
    async def get_user(request: Request, user_id: str) -> HTTPResponse:
        return _with_etag(await users.get_user(request.app.ctx, caller(request), user_id))

    @bp.patch("/<user_id:str>")
    @requires(USER_ADMIN)
    @openapi.body({"application/json": UserUpdate})
    @openapi.summary("Change a user's name, role or status (If-Match optional)")
    async def update_user(request: Request, user_id: str) -> HTTPResponse:
        body = parse_body(request, UserUpdate)
        return _with_etag(await users.update_user(request.app.ctx, caller(request), user_id, body, if_match(request),
                                                  _ip(request)))

    @bp.delete("/<user_id:str>")
    @requires(USER_ADMIN)
    @openapi.summary("Delete a user: signed out everywhere, email and name scrubbed")
    async def delete_user(request: Request, user_id: str) -> HTTPResponse:
        await users.delete_user(request.app.ctx, caller(request), user_id, _ip(request))
        return empty()

    @bp.post("/<user_id:str>/password")
    @requires(USER_ADMIN)
    @openapi.body({"application/json": PasswordReset})
    @openapi.summary("Set a user's password; their sessions are signed out")
    async def reset_password(request: Request, user_id: str) -> HTTPResponse:
        body = parse_body(request, PasswordReset)
        await users.reset_password(request.app.ctx, caller(request), user_id, body.new_password, _ip(request))
        return empty()

    return bp


def admin_blueprint() -> Blueprint:
    bp = Blueprint("auth_admin", url_prefix="/api/v1/auth")

    @bp.post("/invitations")
    @requires(USER_ADMIN)
    @openapi.body({"application/json": InvitationCreate})
    @openapi.summary("Invite someone: a single-use link to set their password")
    async def invite(request: Request) -> HTTPResponse:
        body = parse_body(request, InvitationCreate)
        return json(await users.invite(request.app.ctx, caller(request), body.email, body.role, _ip(request)),
                    status=201)

    @bp.get("/invitations")
    @requires(USER_ADMIN)
    @openapi.summary("Your org's invitations")
    async def list_invitations(request: Request) -> HTTPResponse:
        return json(await users.list_invitations(request.app.ctx, caller(request)))

    @bp.delete("/invitations/<invitation_id:str>")
    @requires(USER_ADMIN)
    @openapi.summary("Withdraw an invitation that has not been accepted")
    async def revoke_invitation(request: Request, invitation_id: str) -> HTTPResponse:
        await users.revoke_invitation(request.app.ctx, caller(request), invitation_id, _ip(request))
        return empty()

    @bp.post("/invitations/accept")
    @public
    @openapi.body({"application/json": InvitationAccept})
    @openapi.summary("Accept an invitation: set a name and password, get signed in")
    async def accept(request: Request) -> HTTPResponse:
        body = parse_body(request, InvitationAccept)
        return json(await users.accept_invitation(request.app.ctx, body.token, body.name, body.password,
                                                  _ip(request)), status=201)

    @bp.post("/api-keys")
    @requires(APIKEY_ADMIN)
    @openapi.body({"application/json": ApiKeyCreate})
    @openapi.summary("Create an API key; the key is shown in this answer only")
    async def create_key(request: Request) -> HTTPResponse:
        body = parse_body(request, ApiKeyCreate)
        return json(await api_keys.create_key(request.app.ctx, caller(request), body.name, body.permissions,
                                              body.expires_in_days, _ip(request)), status=201)

    @bp.get("/api-keys")
    @requires(APIKEY_ADMIN)
    @openapi.summary("Your org's API keys (never the keys themselves)")
    async def list_keys(request: Request) -> HTTPResponse:
        return json(await api_keys.list_keys(request.app.ctx, caller(request)))

    @bp.delete("/api-keys/<key_id:str>")
    @requires(APIKEY_ADMIN)
    @openapi.summary("Revoke an API key, and the access tokens issued for it")
    async def revoke_key(request: Request, key_id: str) -> HTTPResponse:
        await api_keys.revoke_key(request.app.ctx, caller(request), key_id, _ip(request))
        return empty()

    @bp.get("/audit")
    @requires(AUDIT_READ)
    @openapi.summary("The audit log, newest first (?action=, ?actor=, ?before=<id>, ?limit=)")
    async def audit_log(request: Request) -> HTTPResponse:
        principal = caller(request)
        before = request.args.get("before")
        if before is not None and not re.fullmatch(r"[0-9]{1,18}", before):
            raise Problem(400, "before must be an entry id", slug="invalid-parameter")
        limit = _limit(request, 50, 500)
        async with request.app.ctx.store.relational.read() as conn:
            items = await audit.query(conn, org_id=None if principal.role == SUPERADMIN else principal.org_id,
                                      action=_arg(request, "action"), actor=_arg(request, "actor"),
                                      before=int(before) if before else None, limit=limit)
        next_cursor = str(items[-1]["id"]) if len(items) == limit else None
        return json({"items": items, "total": len(items), "next_cursor": next_cursor})

    @bp.post("/orgs")
    @requires(ORG_ADMIN)
    @openapi.body({"application/json": OrgCreate})
    @openapi.summary("Create an org (superadmin); add its first admin with POST /users and org_id")
    async def create_org(request: Request) -> HTTPResponse:
        body = parse_body(request, OrgCreate)
        return json(await users.create_org(request.app.ctx, caller(request), body.name, _ip(request)), status=201)

    @bp.get("/orgs")
    @requires(ORG_ADMIN)
    @openapi.summary("Every org (superadmin)")
    async def list_orgs(request: Request) -> HTTPResponse:
        return json(await users.list_orgs(request.app.ctx))

    @bp.post("/keys/rotate")
    @requires(KEYS_ADMIN)
    @openapi.summary("Sign with a new key from now on; the old one verifies until its tokens expire")
    async def rotate(request: Request) -> HTTPResponse:
        ctx = request.app.ctx
        kid = await rotate_signing_key(ctx.store, ctx.settings.auth_algorithm, overlap_seconds(ctx.settings))
        async with ctx.store.relational.write() as conn:
            await audit.record(conn, "keys.rotate", actor=caller(request).subject, target=kid, ip=_ip(request))
        await ctx.keys.load(ctx.store)
        ctx.verifier.forget_keys()
        return json({"kid": kid}, status=201)

    return bp


def overlap_seconds(settings) -> float:  # type: ignore[no-untyped-def]
    return float(settings.access_token_ttl + settings.token_leeway)


def jwks_blueprint() -> Blueprint:
    bp = Blueprint("jwks")

    @bp.get("/.well-known/jwks.json")
    @public
    @openapi.summary("The public keys that verify Looma access tokens")
    async def jwks(request: Request) -> HTTPResponse:
        ctx = request.app.ctx
        if ctx.keys.stale():
            await ctx.keys.load(ctx.store)
        return json(ctx.keys.jwks, headers={"Cache-Control": "public, max-age=60"})

    return bp
