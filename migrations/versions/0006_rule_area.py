"""rule area

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A rule may be limited to one body area (``rule.area_id``): the deoxycholic acid label's dose
limits hold at the submental area, not for off-label body use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its reference in place. Batch mode would copy the table and
        # write its foreign keys in an order that varies from run to run, so two builds of the
        # same catalogue would differ.
        op.execute('ALTER TABLE rule ADD COLUMN area_id VARCHAR(100) '
                   'CONSTRAINT fk_rule_area_id_area REFERENCES area (id)')
        return
    op.add_column('rule', sa.Column('area_id', sa.String(length=100), nullable=True))
    op.create_foreign_key(op.f('fk_rule_area_id_area'), 'rule', 'area', ['area_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # The reference was added in place (unnamed to reflection); batch mode copies the table
        # without the column, and so without its reference.
        with op.batch_alter_table('rule', schema=None) as batch_op:
            batch_op.drop_column('area_id')
        return
    op.drop_constraint(op.f('fk_rule_area_id_area'), 'rule', type_='foreignkey')
    op.drop_column('rule', 'area_id')
