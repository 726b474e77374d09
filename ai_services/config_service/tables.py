"""The config service's tables, as SQLAlchemy Core sees them (created by migration 0008_config).

`config_values` holds the current value of each key in each scope: the service-wide value has
`org_id` GLOBAL (the empty string, so the pair stays a plain primary key), an org's override its
org id. `config_versions` keeps every value each scope has ever had, with who set it and why.

`seq` numbers every change across all keys and scopes. It comes from the one row of
`config_sequence`, which each write updates first: the row lock queues writers, so changes commit
in `seq` order and a watcher that has seen `seq` N has seen every change up to N.
"""

from __future__ import annotations

import sqlalchemy as sa

GLOBAL = ""  # the org_id of service-wide rows

metadata = sa.MetaData()

values = sa.Table(
    "config_values", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("org_id", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.Float(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)
versions = sa.Table(
    "config_versions", metadata,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("value", sa.JSON(), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # set, rollback
    sa.Column("rolled_back_to", sa.Integer()),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("author_kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.UniqueConstraint("key", "org_id", "version", name="config_versions_scope_version"),
    sa.Index("config_versions_key_seq", "key", "seq"),
)
sequence = sa.Table(
    "config_sequence", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
)
SEQUENCE_ROW = 1
