"""Full-text tables: the embedded keyword index, CJK-aware.

Text is analysed in application code (shared.database.fulltext.analyse), so both backends hold
the same postings and run the same queries. Postings and keyword values are clustered by their
lookup key (WITHOUT ROWID on SQLite) and name a document by a small integer key; each posting
carries its field's length, so a search reads only the postings of its terms. A document row
keeps the terms and keywords it was indexed under, so replacing or deleting it removes exactly
those rows by key, with no second index over the postings. fulltext_stats keeps, per index, org
and field, the document count and total length BM25 needs, updated in the same transaction.

Revision ID: 0005_fulltext
Revises: 0004_vectors
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_fulltext"
down_revision = "0004_vectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulltext_indexes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("filterable", sa.JSON(), nullable=False),
        sa.Column("next_doc_key", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "fulltext_documents",
        sa.Column("index_name", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("doc_key", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("lengths", sa.JSON(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.UniqueConstraint("index_name", "doc_key", name="fulltext_documents_key"),
    )
    op.create_index("fulltext_documents_org", "fulltext_documents", ["index_name", "org_id"])
    op.create_table(
        "fulltext_postings",
        sa.Column("index_name", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("term", sa.String(255), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("doc_key", sa.BigInteger(), primary_key=True),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "fulltext_filters",
        sa.Column("index_name", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("doc_key", sa.BigInteger(), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "fulltext_stats",
        sa.Column("index_name", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("doc_count", sa.BigInteger(), nullable=False),
        sa.Column("total_length", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fulltext_stats")
    op.drop_table("fulltext_filters")
    op.drop_table("fulltext_postings")
    op.drop_index("fulltext_documents_org", table_name="fulltext_documents")
    op.drop_table("fulltext_documents")
    op.drop_table("fulltext_indexes")
