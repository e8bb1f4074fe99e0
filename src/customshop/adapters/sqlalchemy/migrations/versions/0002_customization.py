"""Customization: guest design sessions, uploaded assets, preview render jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("guest", sa.String(64), nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("template_id", ID, nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_sessions_product_id_products"),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"], name="fk_sessions_template_id_templates"),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_guest", "sessions", ["guest"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "assets",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_assets_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
    )
    op.create_index("ix_assets_session_id", "assets", ["session_id"])
    op.create_table(
        "preview_jobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("design_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_preview_jobs_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_preview_jobs"),
    )
    op.create_index("ix_preview_jobs_design_hash", "preview_jobs", ["design_hash"])
    op.create_index("ix_preview_jobs_status_updated_at", "preview_jobs", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_preview_jobs_status_updated_at", table_name="preview_jobs")
    op.drop_index("ix_preview_jobs_design_hash", table_name="preview_jobs")
    op.drop_table("preview_jobs")
    op.drop_index("ix_assets_session_id", table_name="assets")
    op.drop_table("assets")
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    op.drop_index("ix_sessions_guest", table_name="sessions")
    op.drop_table("sessions")
