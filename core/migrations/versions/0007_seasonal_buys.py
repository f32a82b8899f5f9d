"""seasonal buys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 03:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


_COLUMNS = (
    ('season_start', sa.Date()),
    ('season_end', sa.Date()),
    ('season_demand', sa.Float()),
    ('season_buy_qty', sa.Integer()),
    ('critical_ratio', sa.Float()),
)


def upgrade() -> None:
    # core.season: the season window, expected demand to its end, the newsvendor season buy
    # and its critical ratio, per plan line (NULL on staple lines)
    for name, type_ in _COLUMNS:
        op.add_column('plan_lines', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan_lines') as batch:
        for name, _type in reversed(_COLUMNS):
            batch.drop_column(name)
