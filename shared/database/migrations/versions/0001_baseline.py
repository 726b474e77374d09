"""Baseline: the empty schema every later revision builds on.

Services add their own tables in revisions of their own; each service owns and writes only those.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-24
"""

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
