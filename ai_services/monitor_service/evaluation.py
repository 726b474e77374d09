"""Evaluating the rules against a fleet snapshot: alerts pending, firing and resolved.

Each rule's metric gives one value per label set (`readings`); a label set whose value meets the
condition is an alert, keyed by (rule, labels). It is `pending` from the first evaluation that sees
the condition, and `firing` once the condition has held for the rule's `for` (at once without one).
When the condition stops holding, or its label set has no value any more, a firing alert is
`resolved` and a pending one is dropped. A metric the snapshot could not read at all (the
gateway's registry, the outbox, the disk) changes none of its open alerts. One evaluation is one
transaction: the alerts it changes and the notifications it queues commit together.

Notifications: a firing alert is announced once, as soon as no silence matches it (so an alert
that outlives its silence is announced then); its resolution is announced when its firing was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai_services.monitor_service import rules as grammar
from ai_services.monitor_service.fleet import UP, FleetSnapshot
from ai_services.monitor_service.notify import Notice, enqueue
from ai_services.monitor_service.tables import alerts, delivery_attempts, notifications, rules, silences

log = logging.getLogger("looma.monitor")

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass
class Readings:
    samples: dict[str, list[Sample]]
    unreadable: set[str]  # metrics this snapshot could not read in full: their open alerts stand as they are


REGISTRY_METRICS = ("error_rate", "latency_p50", "latency_p95", "latency_p99", "instance_down", "breaker_open")


def readings(snapshot: FleetSnapshot) -> Readings:
    """Every metric the grammar knows, with one sample per label set the snapshot has a value for."""
    found: dict[str, list[Sample]] = {metric: [] for metric in grammar.METRICS}
    for service, instances in snapshot.services().items():
        traffic = snapshot.service_traffic(instances)
        if traffic is not None:
            rate = traffic.error_rate
            if rate is not None:
                found["error_rate"].append(Sample({"service": service}, rate))
            for metric, q in (("latency_p50", 0.5), ("latency_p95", 0.95), ("latency_p99", 0.99)):
                value = traffic.quantile(q)
                if value is not None:
                    found[metric].append(Sample({"service": service}, value))
        for instance in instances:
            labels = {"service": service, "instance": instance.instance_id}
            found["instance_down"].append(Sample(labels, 0.0 if instance.status == UP else 1.0))
            if instance.registry is not None:
                found["breaker_open"].append(Sample(labels, 1.0 if instance.registry.breaker == "open" else 0.0))
    if snapshot.outbox is not None:
        found["outbox_lag_seconds"].append(Sample({}, float(snapshot.outbox["lag_seconds"])))
    if snapshot.disk is not None and snapshot.disk.get("free_ratio") is not None:
        found["disk_free_ratio"].append(Sample({}, float(snapshot.disk["free_ratio"])))
    # Without the registry the instances are unknown, not gone: a gateway blip must not resolve
    # (and then re-fire) every instance's alerts.
    unreadable = set(REGISTRY_METRICS) if not snapshot.gateway["reachable"] else set()
    if snapshot.outbox is None:
        unreadable.add("outbox_lag_seconds")
    if not found["disk_free_ratio"]:
        unreadable.add("disk_free_ratio")
    return Readings(found, unreadable)


def fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def silenced_by(alert: dict[str, Any], active_silences: list[Any]) -> list[str]:
    """Ids of the silences that match an alert (its rule name and every label the silence names)."""
    return [s.id for s in active_silences
            if (s.rule_name is None or s.rule_name == alert["rule_name"])
            and all(alert["labels"].get(name) == value for name, value in s.labels.items())]


async def active_silences(conn: AsyncConnection, now: float) -> list[Any]:
    query = sa.select(silences).where(silences.c.starts_at <= now, silences.c.ends_at > now)
    return list((await conn.execute(query)).all())


@dataclass
class Outcome:
    """What one evaluation changed, for logs and tests."""

    pending: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notifications: int = 0


async def evaluate(conn: AsyncConnection, snapshot: FleetSnapshot, now: float,
                   public_url: str | None = None) -> Outcome:
    """Apply every rule to `snapshot` at `now`, inside the caller's write transaction."""
    outcome = Outcome()
    seen = readings(snapshot)
    rule_rows = (await conn.execute(sa.select(rules))).all()
    active = {row.active_key: dict(row._mapping)
              for row in (await conn.execute(sa.select(alerts).where(alerts.c.active_key.is_not(None)))).all()}
    quiet = await active_silences(conn, now)
    standing: set[str] = set()  # rules whose open alerts this snapshot can neither confirm nor clear
    for rule in rule_rows:
        try:
            expression = grammar.parse(rule.expression)
        except grammar.RuleSyntaxError as error:  # only the API writes rules, and it parses them first
            log.error("a stored rule does not parse", extra={"rule": rule.name, "error": str(error)})
            standing.add(rule.id)
            continue
        if expression.metric in seen.unreadable:
            standing.add(rule.id)
        for sample in seen.samples[expression.metric]:
            if not expression.selects(sample.labels) or not expression.holds(sample.value):
                continue
            key = f"{rule.id}:{fingerprint(sample.labels)}"
            alert = active.pop(key, None)
            annotations = _annotations(rule, expression, sample)
            if alert is None:
                alert = _new_alert(rule, key, sample, annotations, expression.for_seconds == 0, now)
                await conn.execute(alerts.insert().values(**alert))
                (outcome.fired if alert["state"] == FIRING else outcome.pending).append(alert["id"])
            else:
                change: dict[str, Any] = {"value": sample.value, "annotations": annotations, "evaluated_at": now}
                if alert["state"] == PENDING and now - alert["active_at"] >= expression.for_seconds:
                    change.update(state=FIRING, fired_at=now)
                    outcome.fired.append(alert["id"])
                await conn.execute(alerts.update().where(alerts.c.id == alert["id"]).values(**change))
                alert.update(change)
            if alert["state"] == FIRING and not alert["notified"] and not silenced_by(alert, quiet):
                outcome.notifications += await enqueue(conn, _notice(alert, FIRING, now), rule.targets, now,
                                                       public_url)
                await conn.execute(alerts.update().where(alerts.c.id == alert["id"]).values(notified=True))
    targets = {rule.id: rule.targets for rule in rule_rows}
    for alert in active.values():  # conditions that no longer hold, or whose value is gone
        if alert["rule_id"] in standing:
            continue
        if alert["state"] == PENDING:
            await conn.execute(alerts.delete().where(alerts.c.id == alert["id"]))
            outcome.dropped.append(alert["id"])
            continue
        await conn.execute(alerts.update().where(alerts.c.id == alert["id"])
                           .values(state=RESOLVED, resolved_at=now, active_key=None, evaluated_at=now))
        outcome.resolved.append(alert["id"])
        if alert["notified"] and alert["rule_id"] in targets:
            alert.update(resolved_at=now)
            outcome.notifications += await enqueue(conn, _notice(alert, RESOLVED, now), targets[alert["rule_id"]],
                                                   now, public_url)
    return outcome


async def forget_old(conn: AsyncConnection, now: float, retention: float) -> None:
    """Drop resolved alerts, finished notifications and ended silences older than `retention`."""
    cutoff = now - retention
    finished = sa.select(notifications.c.id).where(notifications.c.status != "pending",
                                                    notifications.c.created_at < cutoff)
    await conn.execute(delivery_attempts.delete().where(delivery_attempts.c.notification_id.in_(finished)))
    await conn.execute(notifications.delete().where(notifications.c.status != "pending",
                                                    notifications.c.created_at < cutoff))
    await conn.execute(alerts.delete().where(alerts.c.state == RESOLVED, alerts.c.resolved_at < cutoff))
    await conn.execute(silences.delete().where(silences.c.ends_at < cutoff))


def _new_alert(rule: Any, key: str, sample: Sample, annotations: dict[str, str], firing: bool,
               now: float) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "rule_id": rule.id, "rule_name": rule.name, "severity": rule.severity,
            "fingerprint": key.split(":", 1)[1], "active_key": key, "labels": sample.labels,
            "annotations": annotations, "state": FIRING if firing else PENDING, "value": sample.value,
            "active_at": now, "fired_at": now if firing else None, "resolved_at": None, "evaluated_at": now,
            "notified": False}


def _annotations(rule: Any, expression: grammar.Expression, sample: Sample) -> dict[str, str]:
    labels = ", ".join(f'{name}="{value}"' for name, value in sorted(sample.labels.items()))
    series = f"{expression.metric}{{{labels}}}" if labels else expression.metric
    summary = f"{series} is {sample.value:.4g}, {expression.comparison} {expression.threshold:g}"
    annotations = {"summary": summary, "expression": rule.expression}
    if rule.description:
        annotations["description"] = rule.description
    return annotations


def _notice(alert: dict[str, Any], status: str, now: float) -> Notice:
    return Notice(alert_id=alert["id"], rule_id=alert["rule_id"], rule_name=alert["rule_name"],
                  severity=alert["severity"], status=status, labels=alert["labels"],
                  annotations=alert["annotations"], value=alert["value"],
                  started_at=alert["fired_at"] or alert["active_at"],
                  ended_at=now if status == RESOLVED else None, fingerprint=alert["fingerprint"])
