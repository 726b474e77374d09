"""The auth service's tables, as SQLAlchemy Core sees them (created by migration 0006_auth)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

orgs = sa.Table(
    "auth_orgs", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("updated_at", sa.Float(), nullable=False),
)
users = sa.Table(
    "auth_users", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text()),
    sa.Column("password_changed_at", sa.Float()),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("updated_at", sa.Float(), nullable=False),
    sa.Column("deleted_at", sa.Float()),
    sa.Column("version", sa.Integer(), nullable=False),
)
refresh_tokens = sa.Table(
    "auth_refresh_tokens", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("family_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.Float(), nullable=False),
    sa.Column("expires_at", sa.Float(), nullable=False),
    sa.Column("rotated_at", sa.Float()),
    sa.Column("revoked_at", sa.Float()),
)
invitations = sa.Table(
    "auth_invitations", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("expires_at", sa.Float(), nullable=False),
    sa.Column("accepted_at", sa.Float()),
    sa.Column("revoked_at", sa.Float()),
)
api_keys = sa.Table(
    "auth_api_keys", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("owner_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("permissions", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("expires_at", sa.Float()),
    sa.Column("revoked_at", sa.Float()),
    sa.Column("last_used_at", sa.Float()),
)
service_clients = sa.Table(
    "auth_service_clients", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.Text(), nullable=False),
    sa.Column("permissions", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("revoked_at", sa.Float()),
)
signing_keys = sa.Table(
    "auth_signing_keys", metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("private_pem", sa.Text(), nullable=False),
    sa.Column("public_jwk", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("retired_at", sa.Float()),
    sa.Column("publish_until", sa.Float()),
)
audit_log = sa.Table(
    "auth_audit_log", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float(), nullable=False),
    sa.Column("org_id", sa.String(64)),
    sa.Column("actor", sa.String(128)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(128)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("detail", sa.JSON(), nullable=False),
)
