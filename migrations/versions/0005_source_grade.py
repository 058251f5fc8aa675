"""each source's own grade; a protocol's technique may be unknown

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A source carries the grade of the document it is (a label is ``label`` whatever the fact citing
it is graded), so ``source`` gains ``grade``. Rows written before this revision have none until
``meso db upgrade`` rewrites them; they are read as the grade of the fact that cites them.

A protocol whose sources give no technique records none, so ``protocol.technique`` may be NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grade', sa.String(length=20), nullable=True))
    _technique(nullable=True)


def downgrade() -> None:
    # The older schema requires a technique: a protocol without one cannot be kept.
    op.execute("DELETE FROM protocol WHERE technique IS NULL")
    _technique(nullable=False)
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('grade')


def _technique(*, nullable: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('protocol', 'technique', existing_type=sa.String(length=30), nullable=nullable)
        return
    # SQLite cannot change a column's nullability in place. The table is rebuilt from this fixed
    # definition (batch mode would copy its constraints in no fixed order, and the built
    # catalogue file must be the same on every build).
    op.create_table('_protocol_new',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indication_id', sa.String(length=100), nullable=False),
    sa.Column('area_id', sa.String(length=100), nullable=False),
    sa.Column('technique', sa.String(length=30), nullable=nullable),
    sa.Column('depth_min_value', sa.Float(), nullable=True),
    sa.Column('depth_min_unit', sa.String(length=40), nullable=True),
    sa.Column('depth_max_value', sa.Float(), nullable=True),
    sa.Column('depth_max_unit', sa.String(length=40), nullable=True),
    sa.Column('needle', sa.String(length=60), nullable=True),
    sa.Column('volume_per_point_value', sa.Float(), nullable=True),
    sa.Column('volume_per_point_unit', sa.String(length=40), nullable=True),
    sa.Column('max_volume_per_point_value', sa.Float(), nullable=True),
    sa.Column('max_volume_per_point_unit', sa.String(length=40), nullable=True),
    sa.Column('spacing_value', sa.Float(), nullable=True),
    sa.Column('spacing_unit', sa.String(length=40), nullable=True),
    sa.Column('max_points', sa.Integer(), nullable=True),
    sa.Column('session_volume_value', sa.Float(), nullable=True),
    sa.Column('session_volume_unit', sa.String(length=40), nullable=True),
    sa.Column('sessions_min', sa.Integer(), nullable=True),
    sa.Column('sessions_max', sa.Integer(), nullable=True),
    sa.Column('interval_min_value', sa.Float(), nullable=True),
    sa.Column('interval_min_unit', sa.String(length=40), nullable=True),
    sa.Column('interval_max_value', sa.Float(), nullable=True),
    sa.Column('interval_max_unit', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_protocol_area_id_area')),
    sa.ForeignKeyConstraint(['indication_id'], ['indication.id'], name=op.f('fk_protocol_indication_id_indication')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol'))
    )
    op.execute("INSERT INTO _protocol_new SELECT * FROM protocol")
    op.drop_table('protocol')
    op.rename_table('_protocol_new', 'protocol')
