"""catalogue import log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Records every ``meso catalogue import`` (time, file name, SHA-256 of the file, rows added), so
a clinic can tell where each of its local products came from.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('substances', sa.Integer(), nullable=False),
    sa.Column('products', sa.Integer(), nullable=False),
    sa.Column('replaced', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_import'))
    )


def downgrade() -> None:
    op.drop_table('catalogue_import')
