"""Monitor tables: alert rules (with the default rules), alerts, silences, webhooks, the notification
queue and its delivery attempts. Owned by the monitor service.

Revision ID: 0009_monitor
Revises: 0008_config
Create Date: 2026-11-25
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0009_monitor"
down_revision = "0008_config"
branch_labels = None
depends_on = None

# One rule per kind of trouble the monitor can see; operators change or delete them through the API.
DEFAULT_RULES = (
    ("84649220-9f91-4a93-9294-74036a92fe16", "ServiceErrorRate", "error_rate > 0.05 for 2m", "warning",
     "More than 5% of a service's answers are server errors."),
    ("a14b589c-67d0-4e3f-8f20-a8c544286978", "ServiceSlow", "latency_p95 > 1 for 5m", "warning",
     "A service's 95th percentile response time is above one second."),
    ("776933e1-7b69-4b21-8568-0fd04c594261", "InstanceDown", "instance_down > 0 for 1m", "critical",
     "An instance does not answer /ready, or answers that it is not ready."),
    ("49662a10-2b5e-4f3f-b848-f4d628fdd6a0", "OutboxLagging", "outbox_lag_seconds > 300 for 5m", "warning",
     "Projections (graph, vectors, full text) are more than five minutes behind the database."),
    ("a5d50d3f-b51c-4992-9e3f-94247e99c317", "BreakerOpen", "breaker_open > 0 for 1m", "warning",
     "The gateway has stopped sending requests to an instance that keeps failing."),
    ("2504d39f-4118-4061-84f9-11ae923642f1", "LowDiskSpace", "disk_free_ratio < 0.1 for 5m", "critical",
     "Less than 10% of the disk holding the data directory is free."),
)


def upgrade() -> None:
    rules = op.create_table(
        "monitor_rules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False, index=True),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("active_key", sa.String(200), nullable=True, unique=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("active_at", sa.Float(), nullable=False),
        sa.Column("fired_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("evaluated_at", sa.Float(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
    )
    op.create_index("monitor_alerts_state", "monitor_alerts", ["state", "active_at", "id"])
    op.create_table(
        "monitor_silences",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rule_name", sa.String(200), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False, index=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_table(
        "monitor_webhooks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_table(
        "monitor_notifications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.String(64), nullable=False, index=True),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("webhook_name", sa.String(200), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("monitor_notifications_due", "monitor_notifications", ["status", "next_attempt_at"])
    op.create_table(
        "monitor_delivery_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(64), nullable=False, index=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
    )
    now = time.time()
    op.bulk_insert(rules, [
        {"id": rule_id, "name": name, "expression": expression, "severity": severity, "targets": ["*"],
         "description": description, "created_at": now, "created_by": None, "idempotency_key": None}
        for rule_id, name, expression, severity, description in DEFAULT_RULES
    ])


def downgrade() -> None:
    for table in ("monitor_delivery_attempts", "monitor_notifications", "monitor_webhooks", "monitor_silences",
                  "monitor_alerts", "monitor_rules"):
        op.drop_table(table)
