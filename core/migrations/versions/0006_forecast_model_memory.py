"""forecast model memory; the plan run's uncertainty parameters

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 03:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('forecast_memory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('unique_id', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('selected_on', sa.Date(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                            name=op.f('fk_forecast_memory_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecast_memory')),
    sa.UniqueConstraint('shop_id', 'unique_id', name=op.f('uq_forecast_memory_shop_id_unique_id'))
    )
    op.create_index(op.f('ix_forecast_memory_shop_id'), 'forecast_memory', ['shop_id'],
                    unique=False)
    with op.batch_alter_table('plan_runs') as batch:
        batch.add_column(sa.Column('uncertainty', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan_runs') as batch:
        batch.drop_column('uncertainty')
    op.drop_index(op.f('ix_forecast_memory_shop_id'), table_name='forecast_memory')
    op.drop_table('forecast_memory')
