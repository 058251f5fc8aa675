"""rule area

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-06

A rule may be limited to one body area (``rule.area_id``): the deoxycholic acid label's dose
limits hold at the submental area, not for off-label body use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.String(length=100), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_rule_area_id_area'), 'area', ['area_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rule_area_id_area'), type_='foreignkey')
        batch_op.drop_column('area_id')
