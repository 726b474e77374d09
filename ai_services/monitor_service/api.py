"""The monitor's HTTP surface under /api/v1/monitor: the fleet, alerts, and what drives them.

Reads need `monitor:read`; writes (rules, silences, webhooks) need `monitor:write`, a platform
permission, because rules and their notifications cover the whole fleet. No record here belongs
to an org.
"""

from __future__ import annotations

import re

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.monitor_service import store
from ai_services.monitor_service.models import RuleCreate, SilenceCreate, WebhookCreate
from ai_services.monitor_service.service import Monitor
from shared.service import Problem, parse_body
from shared.service.auth import caller, requires
from shared.service.auth.permissions import MONITOR_READ, MONITOR_WRITE


def _monitor(request: Request) -> Monitor:
    return request.app.ctx.monitor


def _page(request: Request, default: int = 50, most: int = 200) -> store.Page:
    raw = request.args.get("limit")
    if raw is not None and (not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= most):
        raise Problem(400, f"limit must be a whole number from 1 to {most}", slug="invalid-parameter",
                      errors=[{"loc": "query.limit", "msg": f"1..{most}"}])
    return store.Page(int(raw) if raw is not None else default, request.args.get("cursor") or None)


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise Problem(400, f"{name} must be one of {', '.join(allowed)}", slug="invalid-parameter",
                      errors=[{"loc": f"query.{name}", "msg": f"one of {', '.join(allowed)}"}])
    return value


def _text(request: Request, name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and ("\x00" in value or len(value) > 200):
        raise Problem(400, f"{name} is at most 200 characters, without NUL", slug="invalid-parameter",
                      errors=[{"loc": f"query.{name}", "msg": "invalid"}])
    return value


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and (not key.strip() or len(key) > 200 or "\x00" in key):
        raise Problem(400, "Idempotency-Key must be 1 to 200 characters", slug="invalid-header")
    return key


def _created(item: dict, created: bool) -> HTTPResponse:
    return json(item, status=201 if created else 200)


def monitor_blueprint() -> Blueprint:
    bp = Blueprint("monitor", url_prefix="/api/v1/monitor")

    @bp.get("/fleet")
    @requires(MONITOR_READ)
    @openapi.summary("Every service and instance: status, uptime, error rate, latency p50/p95; outbox lag, disk")
    async def fleet(request: Request) -> HTTPResponse:
        return json((await _monitor(request).snapshot()).view())

    @bp.get("/alerts")
    @requires(MONITOR_READ)
    @openapi.summary("Alerts, newest first: ?state=pending|firing|resolved, ?rule=<name>, ?severity=")
    async def list_alerts(request: Request) -> HTTPResponse:
        monitor = _monitor(request)
        state = _choice(request, "state", store.ALERT_STATES)
        severity = _choice(request, "severity", ("info", "warning", "critical"))
        return json(await store.list_alerts(request.app.ctx.store, _page(request), state, _text(request, "rule"),
                                            severity, monitor.clock()))

    @bp.get("/alerts/<alert_id:str>")
    @requires(MONITOR_READ)
    @openapi.summary("One alert, with whether a silence matches it")
    async def get_alert(request: Request, alert_id: str) -> HTTPResponse:
        monitor = _monitor(request)
        return json(await store.get_alert(request.app.ctx.store, alert_id, monitor.clock()))

    @bp.get("/rules")
    @requires(MONITOR_READ)
    @openapi.summary("Alert rules")
    async def list_rules(request: Request) -> HTTPResponse:
        return json(await store.list_rules(request.app.ctx.store, _page(request)))

    @bp.post("/rules")
    @requires(MONITOR_WRITE)
    @openapi.body({"application/json": RuleCreate})
    @openapi.summary("Create an alert rule; an expression that does not parse answers 422 with its column")
    async def create_rule(request: Request) -> HTTPResponse:
        body = parse_body(request, RuleCreate)
        monitor = _monitor(request)
        return _created(*await store.create_rule(request.app.ctx.store, body, caller(request).subject,
                                                 _idempotency_key(request), monitor.clock()))

    @bp.get("/rules/<rule_id:str>")
    @requires(MONITOR_READ)
    @openapi.summary("One alert rule")
    async def get_rule(request: Request, rule_id: str) -> HTTPResponse:
        return json(await store.get_rule(request.app.ctx.store, rule_id))

    @bp.delete("/rules/<rule_id:str>")
    @requires(MONITOR_WRITE)
    @openapi.summary("Delete an alert rule; its open alerts resolve without notifications")
    async def delete_rule(request: Request, rule_id: str) -> HTTPResponse:
        monitor = _monitor(request)
        await store.delete_rule(request.app.ctx.store, rule_id, monitor.clock())
        return empty()

    @bp.get("/silences")
    @requires(MONITOR_READ)
    @openapi.summary("Silences not yet over (?expired=true for all)")
    async def list_silences(request: Request) -> HTTPResponse:
        monitor = _monitor(request)
        expired = _choice(request, "expired", ("true", "false")) == "true"
        return json(await store.list_silences(request.app.ctx.store, _page(request), monitor.clock(), expired))

    @bp.post("/silences")
    @requires(MONITOR_WRITE)
    @openapi.body({"application/json": SilenceCreate})
    @openapi.summary("Silence alerts by rule name and/or labels between two times")
    async def create_silence(request: Request) -> HTTPResponse:
        body = parse_body(request, SilenceCreate)
        monitor = _monitor(request)
        return _created(*await store.create_silence(request.app.ctx.store, body, caller(request).subject,
                                                    _idempotency_key(request), monitor.clock()))

    @bp.delete("/silences/<silence_id:str>")
    @requires(MONITOR_WRITE)
    @openapi.summary("End a silence now")
    async def expire_silence(request: Request, silence_id: str) -> HTTPResponse:
        monitor = _monitor(request)
        await store.expire_silence(request.app.ctx.store, silence_id, monitor.clock())
        return empty()

    @bp.get("/webhooks")
    @requires(MONITOR_READ)
    @openapi.summary("Notification targets (URLs shown without their secret parts)")
    async def list_webhooks(request: Request) -> HTTPResponse:
        return json(await store.list_webhooks(request.app.ctx.store, _page(request)))

    @bp.post("/webhooks")
    @requires(MONITOR_WRITE)
    @openapi.body({"application/json": WebhookCreate})
    @openapi.summary("Add a webhook target: generic JSON, WeCom, DingTalk or Slack")
    async def create_webhook(request: Request) -> HTTPResponse:
        body = parse_body(request, WebhookCreate)
        monitor = _monitor(request)
        return _created(*await store.create_webhook(request.app.ctx.store, body, caller(request).subject,
                                                    _idempotency_key(request), monitor.clock()))

    @bp.delete("/webhooks/<webhook_id:str>")
    @requires(MONITOR_WRITE)
    @openapi.summary("Remove a webhook target; what is queued for it is given up")
    async def delete_webhook(request: Request, webhook_id: str) -> HTTPResponse:
        await store.delete_webhook(request.app.ctx.store, webhook_id)
        return empty()

    @bp.get("/notifications")
    @requires(MONITOR_READ)
    @openapi.summary("Notifications and their delivery attempts: ?alert_id=, ?status=pending|sent|failed")
    async def list_notifications(request: Request) -> HTTPResponse:
        return json(await store.list_notifications(request.app.ctx.store, _page(request), _text(request, "alert_id"),
                                                   _choice(request, "status", store.NOTIFICATION_STATES)))

    return bp
