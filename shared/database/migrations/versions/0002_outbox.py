"""Outbox and projection state: what the projector delivers, and what it has applied.

Revision ID: 0002_outbox
Revises: 0001_baseline
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_outbox"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
