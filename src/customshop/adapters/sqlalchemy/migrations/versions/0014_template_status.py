"""Template versions get a status: draft, published or retired.

Every version stored before this revision was public and immutable: it becomes ``published``.
Going down, drafts are deleted (with the option sets they named): before this revision every
version is public, and a draft is an unfinished one that no session, cart or order can be on.
Retired versions become plain versions again.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="published"))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "DELETE FROM template_option_sets WHERE template_id IN "
            "(SELECT id FROM templates WHERE status = 'draft')"
        )
    )
    conn.execute(sa.text("DELETE FROM templates WHERE status = 'draft'"))
    # A plain ALTER TABLE ... DROP COLUMN (SQLite has it since 3.35): a batch operation would rebuild
    # the table on SQLite, which its foreign keys refuse while sessions refer to its rows.
    op.drop_column("templates", "status")
