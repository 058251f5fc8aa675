"""FHIR code tables in the catalogue

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

The codings meso maps in a FHIR Bundle (``data/codes/fhir.toml``) become catalogue rows with
their sources, so a clinic's shared database carries them and a clinic import can add codes;
the import log counts the codes each import added.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fhir_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('system', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('display', sa.String(length=300), nullable=True),
    sa.Column('term', sa.String(length=200), nullable=True),
    sa.Column('history', sa.Boolean(), nullable=False),
    sa.Column('reads', sa.String(length=30), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.Column('is_local', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_code')),
    sa.UniqueConstraint('kind', 'system', 'code', name=op.f('uq_fhir_code_kind'))
    )
    with op.batch_alter_table('catalogue_import') as batch_op:
        batch_op.add_column(sa.Column('codes', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    # The code rows go with their table; their citations, and sources no other row cites, go too.
    # A clinic's imported codes are lost: export them first ('meso catalogue export').
    op.execute("DELETE FROM citation WHERE subject LIKE 'fhir-code:%'")
    op.execute("DELETE FROM source WHERE id NOT IN (SELECT source_id FROM citation)")
    with op.batch_alter_table('catalogue_import') as batch_op:
        batch_op.drop_column('codes')
    op.drop_table('fhir_code')
