"""conditions, medication classes and medications carry evidence and sources

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A condition, medication class or medication row makes clinical claims (an alias says two names
are one condition; a drug is said to belong to a class), so each gains an ``evidence`` grade,
and its sources are cited in ``citation`` (subjects ``condition:<id>``, ``medication-class:<id>``
and ``medication:<id>``). Rows written before this revision have no grade (NULL, read as
unsourced) until ``meso db upgrade`` writes the catalogue again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('condition', 'medication_class', 'medication')
SUBJECTS = ('condition:%', 'medication-class:%', 'medication:%')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('evidence', sa.String(length=20), nullable=True))


def downgrade() -> None:
    # The older schema cannot hold these rows' grades, so their citations go with them (and a
    # source no other row cites), as 'meso db upgrade' would write them again.
    for subject in SUBJECTS:
        op.execute(sa.text("DELETE FROM citation WHERE subject LIKE :subject").bindparams(subject=subject))
    op.execute("DELETE FROM source WHERE id NOT IN (SELECT source_id FROM citation)")
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('evidence')
