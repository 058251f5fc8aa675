"""substance dose_as: a substance dosed as another

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

``substance.dose_as`` names the substance another one is dosed as (e.g. phosphatidylcholine
whose source is not declared is dosed as phosphatidylcholine): their amounts add up under that
substance, and its dose limits apply to the sum. Absent (NULL) for every other substance.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('substance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dose_as', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('substance', schema=None) as batch_op:
        batch_op.drop_column('dose_as')
