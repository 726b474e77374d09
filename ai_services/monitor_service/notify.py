"""Notifications: one body per webhook format, a queue in the database, delivery with retries.

Evaluation only writes notification rows, in its own transaction (`enqueue`); the courier posts
them from a separate task, several at a time, each attempt bounded by a short timeout. So a target
that is down or hangs delays only its own notifications, never an evaluation or another target.
A failed attempt is retried after `notify_backoff` seconds, doubling up to `notify_backoff_max`,
until `notify_attempts` attempts; an answer that retrying cannot change (a 4xx other than 408 and
429) gives up at once. Every attempt is recorded in monitor_delivery_attempts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai_services.monitor_service.settings import MonitorSettings
from ai_services.monitor_service.tables import delivery_attempts, notifications, webhooks
from shared.database.relational import RelationalStore
from shared.utils.time import rfc3339

log = logging.getLogger("looma.monitor")

PENDING, SENT, FAILED = "pending", "sent", "failed"
STILL_FIRING = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert that has not ended
WECOM_LIMIT = 4096  # bytes of markdown content WeCom accepts
DISPATCH_BATCH = 100
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Notice:
    """What a notification says about one alert at one transition."""

    alert_id: str
    rule_id: str
    rule_name: str
    severity: str
    status: str  # firing or resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    started_at: float
    ended_at: float | None
    fingerprint: str

    @property
    def headline(self) -> str:
        return f"[{self.status.upper()}] {self.rule_name}"


def render(format: str, notice: Notice, receiver: str, public_url: str | None = None) -> dict[str, Any]:
    """The request body `format` expects for `notice`."""
    if format == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": _truncate(_wecom_markdown(notice), WECOM_LIMIT)}}
    if format == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": notice.headline, "text": _dingtalk_markdown(notice)}}
    if format == "slack":
        return _slack(notice)
    return _generic(notice, receiver, public_url)


def _generic(notice: Notice, receiver: str, public_url: str | None) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4), one alert per notification."""
    labels = {"alertname": notice.rule_name, "severity": notice.severity, **notice.labels}
    base = (public_url or "").rstrip("/")
    alert = {
        "status": notice.status,
        "labels": labels,
        "annotations": notice.annotations,
        "startsAt": rfc3339(notice.started_at),
        "endsAt": rfc3339(notice.ended_at) if notice.ended_at is not None else STILL_FIRING,
        "generatorURL": f"{base}/api/v1/monitor/alerts/{notice.alert_id}" if base else "",
        "fingerprint": notice.fingerprint,
    }
    return {
        "version": "4",
        "groupKey": f"{notice.rule_id}:{notice.fingerprint}",
        "truncatedAlerts": 0,
        "status": notice.status,
        "receiver": receiver,
        "groupLabels": {"alertname": notice.rule_name},
        "commonLabels": labels,
        "commonAnnotations": notice.annotations,
        "externalURL": base,
        "alerts": [alert],
        "looma": {"alert_id": notice.alert_id, "rule_id": notice.rule_id, "value": notice.value},
    }


def _facts(notice: Notice) -> list[tuple[str, str]]:
    facts = [("severity", notice.severity), *sorted(notice.labels.items())]
    if notice.value is not None:
        facts.append(("value", f"{notice.value:g}"))
    facts.append(("since", rfc3339(notice.started_at) or ""))
    if notice.ended_at is not None:
        facts.append(("resolved", rfc3339(notice.ended_at) or ""))
    return facts


def _wecom_markdown(notice: Notice) -> str:
    colour = "info" if notice.status == "resolved" else "warning"
    lines = [f'**<font color="{colour}">{notice.status.upper()}</font> {notice.rule_name}**',
             f"> {notice.annotations.get('summary', '')}"]
    lines += [f'> {name}: <font color="comment">{value}</font>' for name, value in _facts(notice)]
    if notice.annotations.get("description"):
        lines.append(notice.annotations["description"])
    return "\n".join(lines)


def _dingtalk_markdown(notice: Notice) -> str:
    lines = [f"### {notice.headline}", "", f"> {notice.annotations.get('summary', '')}", ""]
    lines += [f"- **{name}**: {value}" for name, value in _facts(notice)]
    if notice.annotations.get("description"):
        lines += ["", notice.annotations["description"]]
    return "\n".join(lines)


def _slack(notice: Notice) -> dict[str, Any]:
    """An incoming-webhook message: `text` for notifications and old clients, `blocks` for the layout."""
    summary = notice.annotations.get("summary", "")
    fields = [{"type": "mrkdwn", "text": f"*{_slack_escape(name)}*\n{_slack_escape(value)}"}
              for name, value in _facts(notice)[:10]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": notice.headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(summary)[:3000] or " "}},
        {"type": "section", "fields": fields},
    ]
    if notice.annotations.get("description"):
        description = _slack_escape(notice.annotations["description"])[:3000]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": description}]})
    return {"text": _slack_escape(f"{notice.headline} ({notice.severity}): {summary}"), "blocks": blocks}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit - 3].decode(errors="ignore") + "..."


# --- the queue ------------------------------------------------------------------------------------


async def enqueue(conn: AsyncConnection, notice: Notice, targets: list[str], now: float,
                  public_url: str | None = None) -> int:
    """Queue `notice` for each webhook the rule targets ("*": every webhook); how many were queued."""
    query = sa.select(webhooks.c.id, webhooks.c.name, webhooks.c.format)
    if "*" not in targets:
        query = query.where(webhooks.c.name.in_(targets))
    rows = (await conn.execute(query)).all()
    if rows:
        await conn.execute(notifications.insert(), [
            {"id": str(uuid.uuid4()), "alert_id": notice.alert_id, "webhook_id": row.id, "webhook_name": row.name,
             "event": notice.status, "payload": render(row.format, notice, row.name, public_url),
             "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now, "sent_at": None,
             "last_error": None}
            for row in rows
        ])
    return len(rows)


class Courier:
    """Delivers due notifications from a task of its own, at most `notify_concurrency` at once."""

    def __init__(self, relational: Callable[[], RelationalStore], config: MonitorSettings,
                 clock: Callable[[], float], active: Callable[[], bool] = lambda: True) -> None:
        self._relational, self.config, self._clock, self._active = relational, config, clock, active
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._limit = asyncio.Semaphore(config.notify_concurrency)
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        """New notifications are queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if self._active():  # only the monitor instance that evaluates delivers
                    await self.dispatch()
            except Exception as error:
                log.warning("cannot read the notification queue", extra={"error": f"{type(error).__name__}: {error}"})
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except TimeoutError:
                pass

    async def dispatch(self) -> int:
        """Start delivering every due notification that is not already on its way; how many started."""
        now = self._clock()
        query = (sa.select(notifications.c.id, notifications.c.attempts, notifications.c.payload,
                           webhooks.c.url, webhooks.c.format)
                 .select_from(notifications.outerjoin(webhooks, notifications.c.webhook_id == webhooks.c.id))
                 .where(notifications.c.status == PENDING, notifications.c.next_attempt_at <= now)
                 .order_by(notifications.c.next_attempt_at).limit(DISPATCH_BATCH))
        async with self._relational().read() as conn:
            rows = (await conn.execute(query)).all()
        started = 0
        for row in rows:
            if row.id in self._in_flight:
                continue
            task = asyncio.create_task(self._deliver(row), name=f"monitor-notification-{row.id}")
            self._in_flight[row.id] = task
            task.add_done_callback(lambda _, key=row.id: self._in_flight.pop(key, None))
            started += 1
        return started

    async def drain(self) -> None:
        """Wait for the deliveries under way (shutdown, tests)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver(self, row: Any) -> None:
        async with self._limit:
            at, started = self._clock(), time.perf_counter()
            status_code, error, final = await self._post(row)
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
        attempt = row.attempts + 1
        if error is None:
            change = {"status": SENT, "sent_at": self._clock(), "last_error": None}
        elif final or attempt >= self.config.notify_attempts:
            change = {"status": FAILED, "last_error": error}
            log.warning("gave up a notification", extra={"notification": row.id, "attempts": attempt, "error": error})
        else:
            change = {"next_attempt_at": self._clock() + self.backoff(attempt), "last_error": error}
        try:
            async with self._relational().write() as conn:
                await conn.execute(delivery_attempts.insert().values(
                    notification_id=row.id, attempt=attempt, at=at, status_code=status_code, error=error,
                    duration_ms=duration_ms))
                await conn.execute(notifications.update().where(notifications.c.id == row.id)
                                   .values(attempts=attempt, **change))
        except Exception as failure:  # the row stays due and is tried again
            log.warning("cannot record a delivery attempt", extra={"error": f"{type(failure).__name__}: {failure}"})

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failed attempt."""
        return min(self.config.notify_backoff * 2 ** (attempt - 1), self.config.notify_backoff_max)

    async def _post(self, row: Any) -> tuple[int | None, str | None, bool]:
        """(status code, why it failed or None, whether retrying is pointless)."""
        if row.url is None:
            return None, "the webhook was deleted", True
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.config.notify_timeout,
                                            sock_connect=min(2.0, self.config.notify_timeout))
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.post(row.url, json=row.payload, allow_redirects=False) as response:
                body = await response.content.read(65536)
                return response.status, _refusal(row.format, response.status, body), _final(response.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            reason = f"no answer within {self.config.notify_timeout:g}s" if isinstance(error, TimeoutError) else (
                f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
            return None, reason, False


def _refusal(format: str, status: int, body: bytes) -> str | None:
    """Why the target did not take the message, or None. WeCom and DingTalk answer 200 with an errcode."""
    if not 200 <= status < 300:
        return f"answered {status}: {body[:200].decode(errors='replace')}"
    if format in ("wecom", "dingtalk"):
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
    return None


def _final(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 429)
