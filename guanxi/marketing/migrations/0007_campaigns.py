"""campaigns, consent ledger, suppressions, contacts for caps; outbox messages know their person and campaign

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.Column("launched_by", sa.String(length=128), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("key", name=op.f("uq_campaigns_key")),
    )
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("medium", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("proof", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(op.f("ix_consent_records_customer_id"), "consent_records", ["customer_id"], unique=False)
    op.create_index("ix_consent_records_point", "consent_records", ["medium", "address"], unique=False)
    op.create_table(
        "consent_states",
        sa.Column("medium", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("medium", "address", name=op.f("pk_consent_states")),
    )
    op.create_table(
        "marketing_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_contacts")),
    )
    op.create_index(
        "ix_marketing_contacts_customer_at", "marketing_contacts", ["customer_id", "at"], unique=False
    )
    op.create_index(
        op.f("ix_marketing_contacts_message_id"), "marketing_contacts", ["message_id"], unique=False
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("medium", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    op.create_index(op.f("ix_suppressions_address"), "suppressions", ["address"], unique=False)
    op.create_index(op.f("ix_suppressions_medium"), "suppressions", ["medium"], unique=False)
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("wave_index", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("not_before", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id", "wave_index", "customer_id", name=op.f("uq_campaign_recipients_campaign_id")
        ),
    )
    op.create_index(
        "ix_campaign_recipients_customer", "campaign_recipients", ["campaign_id", "customer_id"], unique=False
    )
    op.create_table(
        "campaign_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_versions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_versions")),
        sa.UniqueConstraint("campaign_id", "version", name=op.f("uq_campaign_versions_campaign_id")),
    )
    op.create_index(
        op.f("ix_campaign_versions_campaign_id"), "campaign_versions", ["campaign_id"], unique=False
    )
    op.create_table(
        "campaign_waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("wave_index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_waves_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_waves")),
        sa.UniqueConstraint("campaign_id", "wave_index", name=op.f("uq_campaign_waves_campaign_id")),
    )
    op.create_index("ix_campaign_waves_due", "campaign_waves", ["state", "due_at"], unique=False)
    op.add_column("outbox_messages", sa.Column("customer_id", sa.String(length=128), nullable=True))
    op.add_column("outbox_messages", sa.Column("medium", sa.String(length=32), nullable=True))
    op.add_column(
        "outbox_messages", sa.Column("transactional", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("outbox_messages", sa.Column("campaign_id", sa.Integer(), nullable=True))
    op.add_column("outbox_messages", sa.Column("wave_index", sa.Integer(), nullable=True))
    op.add_column("outbox_messages", sa.Column("receipt", sa.String(length=16), nullable=True))
    op.add_column("outbox_messages", sa.Column("receipt_at", sa.DateTime(), nullable=True))
    op.add_column("outbox_messages", sa.Column("receipt_error", sa.String(length=255), nullable=True))
    op.create_index(op.f("ix_outbox_messages_campaign_id"), "outbox_messages", ["campaign_id"], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_messages_campaign_id"), table_name="outbox_messages")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("receipt_error")
        batch.drop_column("receipt_at")
        batch.drop_column("receipt")
        batch.drop_column("wave_index")
        batch.drop_column("campaign_id")
        batch.drop_column("transactional")
        batch.drop_column("medium")
        batch.drop_column("customer_id")
    op.drop_index("ix_campaign_waves_due", table_name="campaign_waves")
    op.drop_table("campaign_waves")
    op.drop_index(op.f("ix_campaign_versions_campaign_id"), table_name="campaign_versions")
    op.drop_table("campaign_versions")
    op.drop_index("ix_campaign_recipients_customer", table_name="campaign_recipients")
    op.drop_table("campaign_recipients")
    op.drop_index(op.f("ix_suppressions_medium"), table_name="suppressions")
    op.drop_index(op.f("ix_suppressions_address"), table_name="suppressions")
    op.drop_table("suppressions")
    op.drop_index(op.f("ix_marketing_contacts_message_id"), table_name="marketing_contacts")
    op.drop_index("ix_marketing_contacts_customer_at", table_name="marketing_contacts")
    op.drop_table("marketing_contacts")
    op.drop_table("consent_states")
    op.drop_index("ix_consent_records_point", table_name="consent_records")
    op.drop_index(op.f("ix_consent_records_customer_id"), table_name="consent_records")
    op.drop_table("consent_records")
    op.drop_table("campaigns")
    # ### end Alembic commands ###
