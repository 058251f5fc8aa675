"""each source's own grade; a protocol's technique may be unknown

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-06

A source carries the grade of the document it is (a label is ``label`` whatever the fact citing
it is graded), so ``source`` gains ``grade``. Rows written before this revision have none until
``meso db upgrade`` rewrites them; they are read as the grade of the fact that cites them.

A protocol whose sources give no technique records none, so ``protocol.technique`` may be NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grade', sa.String(length=20), nullable=True))
    with op.batch_alter_table('protocol', schema=None) as batch_op:
        batch_op.alter_column('technique', existing_type=sa.String(length=30), nullable=True)


def downgrade() -> None:
    # A protocol without a technique cannot be kept by the older schema, which requires one.
    op.execute("DELETE FROM protocol WHERE technique IS NULL")
    with op.batch_alter_table('protocol', schema=None) as batch_op:
        batch_op.alter_column('technique', existing_type=sa.String(length=30), nullable=False)
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('grade')
