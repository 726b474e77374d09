"""The monitor's records as the API shows them: rules, alerts, silences, webhooks, notifications.

Creates honour an Idempotency-Key through a unique column of each table, so a retried create
answers the first result even across monitor instances. Lists are keyset-paginated with an
opaque cursor; alerts and notifications newest first, configuration oldest first.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ai_services.monitor_service import rules as grammar
from ai_services.monitor_service.evaluation import RESOLVED, active_silences, silenced_by
from ai_services.monitor_service.models import EVERY_WEBHOOK, RuleCreate, SilenceCreate, WebhookCreate
from ai_services.monitor_service.notify import FAILED, PENDING
from ai_services.monitor_service.tables import alerts, delivery_attempts, notifications, rules, silences, webhooks
from shared.database import UnifiedDataAccess
from shared.service.problems import Problem
from shared.utils.time import rfc3339

# --- views ------------------------------------------------------------------------------------------


def rule_view(row: Any) -> dict[str, Any]:
    expression = grammar.parse(row.expression)
    return {"id": row.id, "name": row.name, "expression": row.expression, "metric": expression.metric,
            "for_seconds": expression.for_seconds, "severity": row.severity, "targets": row.targets,
            "description": row.description, "created_at": rfc3339(row.created_at), "created_by": row.created_by}


def alert_view(row: Any, quiet: list[Any]) -> dict[str, Any]:
    alert = dict(row._mapping)
    matching = silenced_by(alert, quiet) if alert["state"] != RESOLVED else []
    return {"id": row.id, "rule_id": row.rule_id, "rule_name": row.rule_name, "severity": row.severity,
            "state": row.state, "labels": row.labels, "annotations": row.annotations, "value": row.value,
            "active_at": rfc3339(row.active_at), "fired_at": rfc3339(row.fired_at),
            "resolved_at": rfc3339(row.resolved_at), "evaluated_at": rfc3339(row.evaluated_at),
            "notified": row.notified, "silenced": bool(matching), "silenced_by": matching}


def silence_view(row: Any, now: float) -> dict[str, Any]:
    state = "pending" if now < row.starts_at else "active" if now < row.ends_at else "expired"
    return {"id": row.id, "rule": row.rule_name, "labels": row.labels, "starts_at": rfc3339(row.starts_at),
            "ends_at": rfc3339(row.ends_at), "state": state, "author": row.author, "comment": row.comment,
            "created_at": rfc3339(row.created_at), "created_by": row.created_by}


def webhook_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "url": redacted(row.url), "format": row.format,
            "created_at": rfc3339(row.created_at), "created_by": row.created_by}


def redacted(url: str) -> str:
    """A webhook URL without what makes it a credential (WeCom keys, DingTalk tokens, Slack paths)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def notification_view(row: Any, attempts: list[Any]) -> dict[str, Any]:
    return {"id": row.id, "alert_id": row.alert_id, "webhook_id": row.webhook_id, "webhook_name": row.webhook_name,
            "event": row.event, "status": row.status, "attempts": row.attempts,
            "next_attempt_at": rfc3339(row.next_attempt_at) if row.status == PENDING else None,
            "created_at": rfc3339(row.created_at), "sent_at": rfc3339(row.sent_at), "last_error": row.last_error,
            "payload": row.payload,
            "deliveries": [{"attempt": a.attempt, "at": rfc3339(a.at), "status_code": a.status_code,
                            "error": a.error, "duration_ms": a.duration_ms} for a in attempts]}


# --- pages ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    limit: int
    cursor: str | None


def _encode(position: float, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{position!r}|{row_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[float, str]:
    try:
        position, row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1)
        if "\x00" in row_id:
            raise ValueError(row_id)
        return float(position), row_id
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "the cursor is not one this API handed out", slug="invalid-cursor",
                      errors=[{"loc": "query.cursor", "msg": "unknown cursor"}]) from None


async def _page(conn: AsyncConnection, table: sa.Table, order: sa.Column, where: list[Any], page: Page,
                newest_first: bool) -> tuple[list[Any], int, str | None]:
    query = sa.select(table).where(*where)
    if page.cursor is not None:
        position, row_id = _decode(page.cursor)
        if newest_first:
            query = query.where(sa.or_(order < position, sa.and_(order == position, table.c.id < row_id)))
        else:
            query = query.where(sa.or_(order > position, sa.and_(order == position, table.c.id > row_id)))
    ordering = (order.desc(), table.c.id.desc()) if newest_first else (order, table.c.id)
    rows = (await conn.execute(query.order_by(*ordering).limit(page.limit + 1))).all()
    total = (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one()
    more = len(rows) > page.limit
    rows = rows[:page.limit]
    next_cursor = _encode(getattr(rows[-1], order.name), rows[-1].id) if more else None
    return rows, total, next_cursor


def _listing(items: list[dict[str, Any]], total: int, next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "total": total, "next_cursor": next_cursor}


# --- rules ------------------------------------------------------------------------------------------


def parsed_expression(text: str) -> grammar.Expression:
    """The expression, or 422 naming the column where it stops parsing and what was expected there."""
    try:
        return grammar.parse(text)
    except grammar.RuleSyntaxError as error:
        raise Problem(422, f"the expression does not parse {error}", slug="invalid-expression",
                      errors=[{"loc": "body.expression", "msg": str(error), "position": error.position,
                               "column": error.position + 1, "expected": error.expected, "found": error.found}]
                      ) from None


async def list_rules(data: UnifiedDataAccess, page: Page) -> dict[str, Any]:
    async with data.relational.read() as conn:
        rows, total, cursor = await _page(conn, rules, rules.c.created_at, [], page, newest_first=False)
    return _listing([rule_view(r) for r in rows], total, cursor)


async def get_rule(data: UnifiedDataAccess, rule_id: str) -> dict[str, Any]:
    async with data.relational.read() as conn:
        row = (await conn.execute(sa.select(rules).where(rules.c.id == rule_id))).first()
    if row is None:
        raise Problem(404, f"no alert rule {rule_id!r}", slug="not-found")
    return rule_view(row)


async def create_rule(data: UnifiedDataAccess, body: RuleCreate, actor: str, key: str | None,
                      now: float) -> tuple[dict[str, Any], bool]:
    parsed_expression(body.expression)

    async def check(conn: AsyncConnection) -> None:
        named = [t for t in body.targets if t != EVERY_WEBHOOK]
        known = set((await conn.execute(sa.select(webhooks.c.name).where(webhooks.c.name.in_(named)))).scalars())
        errors = [{"loc": f"body.targets.{i}", "msg": f"no webhook named {t!r}; create it first"}
                  for i, t in enumerate(body.targets) if t != EVERY_WEBHOOK and t not in known]
        if errors:
            raise Problem(422, "the rule targets webhooks that do not exist", slug="validation-failed",
                          errors=errors)

    values = {"name": body.name, "expression": body.expression, "severity": body.severity,
              "targets": body.targets, "description": body.description}
    row, created = await _create(data, rules, values, actor, key, now, check, "an alert rule")
    return rule_view(row), created


async def delete_rule(data: UnifiedDataAccess, rule_id: str, now: float) -> None:
    """Delete a rule; its open alerts are resolved with it, without notifications."""
    async with data.relational.write() as conn:
        deleted = await conn.execute(rules.delete().where(rules.c.id == rule_id))
        if deleted.rowcount == 0:
            raise Problem(404, f"no alert rule {rule_id!r}", slug="not-found")
        await conn.execute(alerts.delete().where(alerts.c.rule_id == rule_id, alerts.c.state == "pending"))
        await conn.execute(alerts.update().where(alerts.c.rule_id == rule_id, alerts.c.active_key.is_not(None))
                           .values(state=RESOLVED, resolved_at=now, evaluated_at=now, active_key=None))


# --- alerts -----------------------------------------------------------------------------------------

ALERT_STATES = ("pending", "firing", "resolved")


async def list_alerts(data: UnifiedDataAccess, page: Page, state: str | None, rule: str | None,
                      severity: str | None, now: float) -> dict[str, Any]:
    where: list[Any] = []
    if state is not None:
        where.append(alerts.c.state == state)
    if rule is not None:
        where.append(alerts.c.rule_name == rule)
    if severity is not None:
        where.append(alerts.c.severity == severity)
    async with data.relational.read() as conn:
        rows, total, cursor = await _page(conn, alerts, alerts.c.active_at, where, page, newest_first=True)
        quiet = await active_silences(conn, now)
    return _listing([alert_view(r, quiet) for r in rows], total, cursor)


async def get_alert(data: UnifiedDataAccess, alert_id: str, now: float) -> dict[str, Any]:
    async with data.relational.read() as conn:
        row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
        quiet = await active_silences(conn, now)
    if row is None:
        raise Problem(404, f"no alert {alert_id!r}", slug="not-found")
    return alert_view(row, quiet)


# --- silences ---------------------------------------------------------------------------------------


async def list_silences(data: UnifiedDataAccess, page: Page, now: float, include_expired: bool) -> dict[str, Any]:
    where = [] if include_expired else [silences.c.ends_at > now]
    async with data.relational.read() as conn:
        rows, total, cursor = await _page(conn, silences, silences.c.created_at, where, page, newest_first=False)
    return _listing([silence_view(r, now) for r in rows], total, cursor)


async def create_silence(data: UnifiedDataAccess, body: SilenceCreate, actor: str, key: str | None,
                         now: float) -> tuple[dict[str, Any], bool]:
    starts_at, ends_at = body.window(now)
    if ends_at <= now:
        raise Problem(422, "the silence would already be over", slug="validation-failed",
                      errors=[{"loc": "body.ends_at", "msg": "must be in the future"}])
    values = {"rule_name": body.rule, "labels": body.labels, "starts_at": starts_at, "ends_at": ends_at,
              "author": body.author or actor, "comment": body.comment}
    row, created = await _create(data, silences, values, actor, key, now, None, "a silence")
    return silence_view(row, now), created


async def expire_silence(data: UnifiedDataAccess, silence_id: str, now: float) -> None:
    async with data.relational.write() as conn:
        row = (await conn.execute(sa.select(silences).where(silences.c.id == silence_id))).first()
        if row is None:
            raise Problem(404, f"no silence {silence_id!r}", slug="not-found")
        if row.ends_at > now:
            await conn.execute(silences.update().where(silences.c.id == silence_id)
                               .values(ends_at=now, starts_at=min(row.starts_at, now)))


# --- webhooks ---------------------------------------------------------------------------------------


async def list_webhooks(data: UnifiedDataAccess, page: Page) -> dict[str, Any]:
    async with data.relational.read() as conn:
        rows, total, cursor = await _page(conn, webhooks, webhooks.c.created_at, [], page, newest_first=False)
    return _listing([webhook_view(r) for r in rows], total, cursor)


async def create_webhook(data: UnifiedDataAccess, body: WebhookCreate, actor: str, key: str | None,
                         now: float) -> tuple[dict[str, Any], bool]:
    values = {"name": body.name, "url": body.url, "format": body.format}
    row, created = await _create(data, webhooks, values, actor, key, now, None, "a webhook")
    return webhook_view(row), created


async def delete_webhook(data: UnifiedDataAccess, webhook_id: str) -> None:
    """Delete a webhook; what was still queued for it is given up."""
    async with data.relational.write() as conn:
        deleted = await conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id))
        if deleted.rowcount == 0:
            raise Problem(404, f"no webhook {webhook_id!r}", slug="not-found")
        await conn.execute(notifications.update()
                           .where(notifications.c.webhook_id == webhook_id, notifications.c.status == PENDING)
                           .values(status=FAILED, last_error="the webhook was deleted"))


# --- notifications ----------------------------------------------------------------------------------

NOTIFICATION_STATES = ("pending", "sent", "failed")


async def list_notifications(data: UnifiedDataAccess, page: Page, alert_id: str | None,
                             status: str | None) -> dict[str, Any]:
    where: list[Any] = []
    if alert_id is not None:
        where.append(notifications.c.alert_id == alert_id)
    if status is not None:
        where.append(notifications.c.status == status)
    async with data.relational.read() as conn:
        rows, total, cursor = await _page(conn, notifications, notifications.c.created_at, where, page,
                                          newest_first=True)
        ids = [r.id for r in rows]
        attempts = (await conn.execute(sa.select(delivery_attempts)
                                       .where(delivery_attempts.c.notification_id.in_(ids))
                                       .order_by(delivery_attempts.c.notification_id,
                                                 delivery_attempts.c.attempt))).all() if ids else []
    by_notification: dict[str, list[Any]] = {}
    for attempt in attempts:
        by_notification.setdefault(attempt.notification_id, []).append(attempt)
    return _listing([notification_view(r, by_notification.get(r.id, [])) for r in rows], total, cursor)


# --- creating, once per Idempotency-Key -------------------------------------------------------------


async def _create(data: UnifiedDataAccess, table: sa.Table, values: dict[str, Any], actor: str, key: str | None,
                  now: float, check: Any, kind: str) -> tuple[Any, bool]:
    """Insert a row (or find the one an earlier request with `key` made); (row, whether it is new)."""
    by_key = sa.select(table).where(table.c.idempotency_key == key)
    try:
        async with data.relational.write() as conn:
            if key is not None and (earlier := (await conn.execute(by_key)).first()) is not None:
                return earlier, False
            if "name" in values:
                taken = (await conn.execute(sa.select(table.c.id).where(table.c.name == values["name"]))).first()
                if taken is not None:
                    raise Problem(409, f"{kind} named {values['name']!r} exists already", slug="name-taken",
                                  errors=[{"loc": "body.name", "msg": "taken"}])
            if check is not None:
                await check(conn)
            row_id = str(uuid.uuid4())
            await conn.execute(table.insert().values(id=row_id, created_at=now, created_by=actor,
                                                     idempotency_key=key, **values))
            return (await conn.execute(sa.select(table).where(table.c.id == row_id))).one(), True
    except IntegrityError:  # a concurrent create took the key or the name first
        if key is not None:
            async with data.relational.read() as conn:
                earlier = (await conn.execute(by_key)).first()
            if earlier is not None:
                return earlier, False
        raise Problem(409, f"{kind} with this name exists already", slug="name-taken",
                      errors=[{"loc": "body.name", "msg": "taken"}]) from None
