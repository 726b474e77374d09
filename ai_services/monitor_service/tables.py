"""The monitor's tables, as SQLAlchemy Core sees them (created by migration 0009_monitor).

Fleet-wide data: no row belongs to an org. An alert is one (rule, labels) pair from the moment
its condition first holds; `active_key` carries "<rule id>:<labels fingerprint>" while the alert is
pending or firing and is NULL once resolved, so the unique index on it keeps one active alert per
pair (dedup), whichever monitor instance evaluates. Notifications are a queue in the database:
written in the evaluation's transaction, delivered later, so no transition is lost or blocked.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

rules = sa.Table(
    "monitor_rules", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("expression", sa.Text(), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("targets", sa.JSON(), nullable=False),  # webhook names; ["*"] for every webhook
    sa.Column("description", sa.Text()),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("idempotency_key", sa.String(200), unique=True),
)
alerts = sa.Table(
    "monitor_alerts", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("rule_name", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("active_key", sa.String(200), unique=True),
    sa.Column("labels", sa.JSON(), nullable=False),
    sa.Column("annotations", sa.JSON(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending, firing, resolved
    sa.Column("value", sa.Float()),
    sa.Column("active_at", sa.Float(), nullable=False),  # when the condition first held
    sa.Column("fired_at", sa.Float()),
    sa.Column("resolved_at", sa.Float()),
    sa.Column("evaluated_at", sa.Float(), nullable=False),
    sa.Column("notified", sa.Boolean(), nullable=False),  # a firing notification went out for it
)
silences = sa.Table(
    "monitor_silences", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("rule_name", sa.String(200)),
    sa.Column("labels", sa.JSON(), nullable=False),
    sa.Column("starts_at", sa.Float(), nullable=False),
    sa.Column("ends_at", sa.Float(), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("idempotency_key", sa.String(200), unique=True),
)
webhooks = sa.Table(
    "monitor_webhooks", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),  # generic, wecom, dingtalk, slack
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("idempotency_key", sa.String(200), unique=True),
)
notifications = sa.Table(
    "monitor_notifications", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("alert_id", sa.String(64), nullable=False),
    sa.Column("webhook_id", sa.String(64), nullable=False),
    sa.Column("webhook_name", sa.String(200), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),  # firing, resolved
    sa.Column("payload", sa.JSON(), nullable=False),  # the body as sent, in the webhook's format
    sa.Column("status", sa.String(16), nullable=False),  # pending, sent, failed
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.Float(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("sent_at", sa.Float()),
    sa.Column("last_error", sa.Text()),
)
delivery_attempts = sa.Table(
    "monitor_delivery_attempts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("at", sa.Float(), nullable=False),
    sa.Column("status_code", sa.Integer()),
    sa.Column("error", sa.Text()),
    sa.Column("duration_ms", sa.Float(), nullable=False),
)
