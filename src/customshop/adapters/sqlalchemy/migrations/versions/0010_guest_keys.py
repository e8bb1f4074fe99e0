"""The session keys the server issued, by hash, with when each expires.

A key that is not recorded here (or has expired) is never adopted again. The guests that own
sessions, cart lines or orders already keep their keys: each is recorded as issued now, for the
lifetime of a key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
#: ``customshop.domain.customization.GUEST_KEY_LIFETIME`` when this revision was written.
KEY_LIFETIME = timedelta(days=365)


def upgrade() -> None:
    op.create_table(
        "guest_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_guest_keys_expires_at", "guest_keys", ["expires_at"])
    now = datetime.now(UTC)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO guest_keys (key_hash, issued_at, expires_at) "
            "SELECT guest, :issued_at, :expires_at FROM ("
            "SELECT guest FROM sessions UNION SELECT guest FROM cart_items UNION SELECT guest FROM orders"
            ") AS owners"
        ).bindparams(
            sa.bindparam("issued_at", now, type_=TS), sa.bindparam("expires_at", now + KEY_LIFETIME, type_=TS)
        )
    )


def downgrade() -> None:
    op.drop_index("ix_guest_keys_expires_at", table_name="guest_keys")
    op.drop_table("guest_keys")
