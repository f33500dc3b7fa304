"""event spool; API-key scopes and event source

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        # Keys issued before scopes existed keep what they could do: the /v1 API.
        batch.add_column(sa.Column("scopes", sa.String(length=64), server_default="api", nullable=False))
        batch.add_column(sa.Column("source", sa.String(length=64), nullable=True))
    op.create_table(
        "event_spool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("load_batch", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_spool")),
        sa.UniqueConstraint("source", "message_id", name=op.f("uq_event_spool_source")),
    )
    op.create_index("ix_event_spool_claim", "event_spool", ["load_batch", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_spool_claim", table_name="event_spool")
    op.drop_table("event_spool")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("source")
        batch.drop_column("scopes")
