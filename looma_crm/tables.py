"""The CRM core's tables (created by migration 0007_crm).

Every entity table has the same spine: id, org_id, version, timestamps, a soft-delete mark, who
created it, and `data`, the entity's JSON as the API shows it. `version` is the entity's own (its
ETag); `revision` counts what the projections see, and also moves when something the projection
includes changes elsewhere (a talent's relationships), so outbox events are ordered by it. The columns beside `data` are
copies of the fields that lists filter and sort on. `crm_talent_keys` holds a talent's emails,
phones, skills, tags, employers and schools, one row each, for filters and duplicate search.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _spine(name: str, *columns: sa.Column, indexes: tuple[sa.Index, ...] = ()) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float()),
        sa.Column("created_by", sa.String(128)),
        sa.Column("data", sa.JSON(), nullable=False),
        *columns,
        *indexes,
    )


talents = _spine(
    "crm_talents",
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False),
    sa.Column("city", sa.String(100)),
    sa.Column("years_of_experience", sa.Float()),
    sa.Column("job_status", sa.String(32)),
    sa.Column("source", sa.String(64)),
    sa.Column("current_company", sa.String(200)),
    sa.Column("merged_into", sa.String(64)),
)
talent_keys = sa.Table(
    "crm_talent_keys", metadata,
    sa.Column("talent_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # email, phone, skill, tag, employer, school
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
)
companies = _spine(
    "crm_companies",
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False),
)
jobs = _spine(
    "crm_jobs",
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("company_id", sa.String(64)),
    sa.Column("hiring_manager_id", sa.String(64)),
)
projects = _spine(
    "crm_projects",
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)
applications = _spine(
    "crm_applications",
    sa.Column("talent_id", sa.String(64), nullable=False),
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("source", sa.String(64)),
    sa.Column("stage_changed_at", sa.Float()),
    sa.Column("next_action_due", sa.Float()),
)
stage_history = sa.Table(
    "crm_stage_history", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("application_id", sa.String(64), nullable=False),
    sa.Column("from_stage", sa.String(16)),
    sa.Column("to_stage", sa.String(16), nullable=False),
    sa.Column("at", sa.Float(), nullable=False),
    sa.Column("by", sa.String(128)),
    sa.Column("reason", sa.Text()),
)
notes = _spine(
    "crm_notes",
    sa.Column("subject_type", sa.String(16), nullable=False),  # talent or application
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
)
relationships = _spine(
    "crm_relationships",
    sa.Column("source_id", sa.String(64), nullable=False),
    sa.Column("target_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("strength", sa.Float(), nullable=False),
)
import_jobs = sa.Table(
    "crm_import_jobs", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer(), nullable=False),
    sa.Column("processed", sa.Integer(), nullable=False),
    sa.Column("imported", sa.Integer(), nullable=False),
    sa.Column("report", sa.JSON(), nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("finished_at", sa.Float()),
)
