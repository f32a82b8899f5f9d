"""inventory reserved and tracked, order channel details

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 03:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Shopify's reserved quantity, kept apart from committed (both on hand, not sellable)
    op.add_column('inventory_snapshots', sa.Column('reserved', sa.Float(), nullable=True))
    # InventoryItem.tracked: False when the shop does not count the item's stock; NULL when
    # the source did not say (the item then counts as tracked)
    op.add_column('variants', sa.Column('tracked', sa.Boolean(), nullable=True))
    # the order's sales channel (core.channels) next to its raw source name
    op.add_column('orders', sa.Column('channel', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('channel')
    with op.batch_alter_table('variants') as batch:
        batch.drop_column('tracked')
    with op.batch_alter_table('inventory_snapshots') as batch:
        batch.drop_column('reserved')
