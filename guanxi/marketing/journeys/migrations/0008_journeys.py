"""journeys, their versions and enrollments; journey step runs know their enrollment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recipe", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.Column("cursor", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("key", name=op.f("uq_journeys_key")),
    )
    op.create_table(
        "journey_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_versions_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_versions")),
        sa.UniqueConstraint("journey_id", "version", name=op.f("uq_journey_versions_journey_id")),
    )
    op.create_index(op.f("ix_journey_versions_journey_id"), "journey_versions", ["journey_id"], unique=False)
    op.create_table(
        "journey_enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("occurrence_key", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=True),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("control", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("variant", sa.String(length=64), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_enrollments")),
        sa.UniqueConstraint(
            "journey_key", "customer_id", "occurrence_key", name=op.f("uq_journey_enrollments_journey_key")
        ),
    )
    op.create_index(
        "ix_journey_enrollments_customer", "journey_enrollments", ["customer_id", "entered_at"], unique=False
    )
    op.create_index(
        "ix_journey_enrollments_state", "journey_enrollments", ["journey_key", "state"], unique=False
    )
    with op.batch_alter_table("journey_step_runs") as batch:
        batch.add_column(sa.Column("enrollment_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_journey_step_runs_enrollment_id"), ["enrollment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("journey_step_runs") as batch:
        batch.drop_index(op.f("ix_journey_step_runs_enrollment_id"))
        batch.drop_column("enrollment_id")
    op.drop_index("ix_journey_enrollments_state", table_name="journey_enrollments")
    op.drop_index("ix_journey_enrollments_customer", table_name="journey_enrollments")
    op.drop_table("journey_enrollments")
    op.drop_index(op.f("ix_journey_versions_journey_id"), table_name="journey_versions")
    op.drop_table("journey_versions")
    op.drop_table("journeys")
