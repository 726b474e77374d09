"""CRM core tables: talents and their keys, companies, jobs, projects, applications and their
stage history, notes, relationships, and CSV import jobs. Owned by looma_crm.

Revision ID: 0007_crm
Revises: 0006_auth
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_crm"
down_revision = "0006_auth"
branch_labels = None
depends_on = None


def _spine(*columns: sa.Column) -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        *columns,
    ]


def upgrade() -> None:
    op.create_table("crm_talents", *_spine(
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("city", sa.String(100), nullable=True),
        sa.Column("years_of_experience", sa.Float(), nullable=True),
        sa.Column("job_status", sa.String(32), nullable=True),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("current_company", sa.String(200), nullable=True),
        sa.Column("merged_into", sa.String(64), nullable=True),
    ))
    op.create_index("crm_talents_org_created", "crm_talents", ["org_id", "created_at", "id"])
    op.create_index("crm_talents_org_name", "crm_talents", ["org_id", "name_key"])
    op.create_table(
        "crm_talent_keys",
        sa.Column("talent_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
    )
    op.create_index("crm_talent_keys_lookup", "crm_talent_keys", ["org_id", "kind", "value"])
    op.create_table("crm_companies", *_spine(
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
    ))
    op.create_index("crm_companies_org_created", "crm_companies", ["org_id", "created_at", "id"])
    op.create_table("crm_jobs", *_spine(
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("company_id", sa.String(64), nullable=True),
        sa.Column("hiring_manager_id", sa.String(64), nullable=True),
    ))
    op.create_index("crm_jobs_org_created", "crm_jobs", ["org_id", "created_at", "id"])
    op.create_table("crm_projects", *_spine(
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    ))
    op.create_index("crm_projects_org_created", "crm_projects", ["org_id", "created_at", "id"])
    op.create_table("crm_applications", *_spine(
        sa.Column("talent_id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("stage_changed_at", sa.Float(), nullable=True),
        sa.Column("next_action_due", sa.Float(), nullable=True),
    ))
    op.create_index("crm_applications_job", "crm_applications", ["org_id", "job_id", "stage"])
    op.create_index("crm_applications_talent", "crm_applications", ["org_id", "talent_id"])
    op.create_table(
        "crm_stage_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False, index=True),
        sa.Column("from_stage", sa.String(16), nullable=True),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("by", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_table("crm_notes", *_spine(
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    ))
    op.create_index("crm_notes_subject", "crm_notes", ["org_id", "subject_type", "subject_id", "created_at"])
    op.create_table("crm_relationships", *_spine(
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
    ))
    op.create_index("crm_relationships_source", "crm_relationships", ["org_id", "source_id"])
    op.create_index("crm_relationships_target", "crm_relationships", ["org_id", "target_id"])
    op.create_table(
        "crm_import_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    for table in ("crm_import_jobs", "crm_relationships", "crm_notes", "crm_stage_history", "crm_applications",
                  "crm_projects", "crm_jobs", "crm_companies", "crm_talent_keys", "crm_talents"):
        op.drop_table(table)
