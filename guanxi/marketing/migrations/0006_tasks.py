"""sales-rep tasks and customer owners

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("customer_name", sa.String(length=255), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=128), nullable=True),
        sa.Column("campaign_key", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_tasks_idempotency_key")),
    )
    op.create_index("ix_tasks_assignee_state_due", "tasks", ["assignee", "state", "due_at"], unique=False)
    op.create_index(op.f("ix_tasks_customer_id"), "tasks", ["customer_id"], unique=False)
    op.create_table(
        "customer_owners",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("assigned_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_owners")),
    )
    op.create_index(op.f("ix_customer_owners_username"), "customer_owners", ["username"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_owners_username"), table_name="customer_owners")
    op.drop_table("customer_owners")
    op.drop_index(op.f("ix_tasks_customer_id"), table_name="tasks")
    op.drop_index("ix_tasks_assignee_state_due", table_name="tasks")
    op.drop_table("tasks")
