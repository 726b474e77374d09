"""The resume service's tables (migration 0010_resumes)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

resume_files = sa.Table(
    "resume_files", metadata,
    sa.Column("org_id", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
)
resumes = sa.Table(
    "resumes", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("talent_id", sa.String(64)),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(255)),
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("language", sa.String(8)),
    sa.Column("parsed", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("linked_at", sa.Float()),
)
resume_batches = sa.Table(
    "resume_batches", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer(), nullable=False),
    sa.Column("processed", sa.Integer(), nullable=False),
    sa.Column("succeeded", sa.Integer(), nullable=False),
    sa.Column("failed", sa.Integer(), nullable=False),
    sa.Column("items", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("finished_at", sa.Float()),
)
