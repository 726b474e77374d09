"""Resume tables: original files (content-addressed per org), resumes with their parse, batches.
Owned by the resume service.

Revision ID: 0010_resumes
Revises: 0009_monitor
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_resumes"
down_revision = "0009_monitor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resume_files",
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "resumes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("talent_id", sa.String(64), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("parsed", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # stored, then linked once the talent exists
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("linked_at", sa.Float(), nullable=True),
        sa.UniqueConstraint("org_id", "idempotency_key", name="uq_resumes_idempotency"),
    )
    op.create_index("ix_resumes_org_sha", "resumes", ["org_id", "sha256"])
    op.create_index("ix_resumes_org_talent", "resumes", ["org_id", "talent_id"])
    op.create_table(
        "resume_batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("resume_batches")
    op.drop_index("ix_resumes_org_talent", "resumes")
    op.drop_index("ix_resumes_org_sha", "resumes")
    op.drop_table("resumes")
    op.drop_table("resume_files")
