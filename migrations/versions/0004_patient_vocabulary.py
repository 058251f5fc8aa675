"""patient vocabulary: unrelated terms and distinctions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Patient terms meso knows that concern no catalogue item (``unrelated_term``: an allergy,
condition or medication, with why it is not relevant and, where it matters to the procedure, a
note), and pairs of terms that must never be taken for one another (``distinction``). Both are
sourced facts, cited in ``citation``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unrelated_term',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('procedure_note', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'id', name=op.f('pk_unrelated_term'))
    )
    op.create_table('distinction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('a', sa.String(length=100), nullable=False),
    sa.Column('b', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distinction'))
    )


def downgrade() -> None:
    op.drop_table('distinction')
    op.drop_table('unrelated_term')
