"""catalogue schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alias',
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=200), nullable=False),
    sa.Column('norm', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'target', 'position', name=op.f('pk_alias'))
    )
    with op.batch_alter_table('alias', schema=None) as batch_op:
        batch_op.create_index('ix_alias_kind_norm', ['kind', 'norm'], unique=False)

    op.create_table('allergen_group',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('member_severity', sa.String(length=20), nullable=False),
    sa.Column('origin_severity', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allergen_group'))
    )
    op.create_table('area',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area'))
    )
    op.create_table('condition',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_condition'))
    )
    op.create_table('formulation_default',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_formulation_default'))
    )
    op.create_table('indication',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indication'))
    )
    op.create_table('medication',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medication'))
    )
    op.create_table('medication_class',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medication_class'))
    )
    op.create_table('product',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('generic', sa.Boolean(), nullable=False),
    sa.Column('vehicle', sa.String(length=20), nullable=False),
    sa.Column('ph', sa.String(length=40), nullable=True),
    sa.Column('dose', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('container_volume_value', sa.Float(), nullable=True),
    sa.Column('container_volume_unit', sa.String(length=40), nullable=True),
    sa.Column('do_not_admix', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.Column('is_local', sa.Boolean(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product'))
    )
    op.create_table('source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source')),
    sa.UniqueConstraint('title', 'url', name=op.f('uq_source_title'))
    )
    op.create_table('substance',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('class', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('origin', sa.String(length=40), nullable=True),
    sa.Column('unii', sa.String(length=10), nullable=True),
    sa.Column('injectable', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('iu_mass_value', sa.Float(), nullable=True),
    sa.Column('iu_mass_unit', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.Column('is_local', sa.Boolean(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_substance'))
    )
    with op.batch_alter_table('substance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_substance_class'), ['class'], unique=False)

    op.create_table('allergen_member',
    sa.Column('group_id', sa.String(length=100), nullable=False),
    sa.Column('substance_id', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['allergen_group.id'], name=op.f('fk_allergen_member_group_id_allergen_group')),
    sa.ForeignKeyConstraint(['substance_id'], ['substance.id'], name=op.f('fk_allergen_member_substance_id_substance')),
    sa.PrimaryKeyConstraint('group_id', 'substance_id', name=op.f('pk_allergen_member'))
    )
    op.create_table('allergen_origin',
    sa.Column('group_id', sa.String(length=100), nullable=False),
    sa.Column('origin', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['allergen_group.id'], name=op.f('fk_allergen_origin_group_id_allergen_group')),
    sa.PrimaryKeyConstraint('group_id', 'origin', name=op.f('pk_allergen_origin'))
    )
    op.create_table('citation',
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_citation_source_id_source')),
    sa.PrimaryKeyConstraint('subject', 'position', name=op.f('pk_citation'))
    )
    op.create_table('cross_reaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_group_id', sa.String(length=100), nullable=False),
    sa.Column('target_group_id', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['source_group_id'], ['allergen_group.id'], name=op.f('fk_cross_reaction_source_group_id_allergen_group')),
    sa.ForeignKeyConstraint(['target_group_id'], ['allergen_group.id'], name=op.f('fk_cross_reaction_target_group_id_allergen_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cross_reaction'))
    )
    op.create_table('indication_area',
    sa.Column('indication_id', sa.String(length=100), nullable=False),
    sa.Column('area_id', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_indication_area_area_id_area')),
    sa.ForeignKeyConstraint(['indication_id'], ['indication.id'], name=op.f('fk_indication_area_indication_id_indication')),
    sa.PrimaryKeyConstraint('indication_id', 'area_id', name=op.f('pk_indication_area'))
    )
    op.create_table('indication_fit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indication_id', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('fit', sa.String(length=20), nullable=False),
    sa.Column('final_concentration_value', sa.Float(), nullable=True),
    sa.Column('final_concentration_unit', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['indication_id'], ['indication.id'], name=op.f('fk_indication_fit_indication_id_indication')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indication_fit'))
    )
    with op.batch_alter_table('indication_fit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indication_fit_indication_id'), ['indication_id'], unique=False)

    op.create_table('medication_class_link',
    sa.Column('medication_id', sa.String(length=100), nullable=False),
    sa.Column('class_id', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['medication_class.id'], name=op.f('fk_medication_class_link_class_id_medication_class')),
    sa.ForeignKeyConstraint(['medication_id'], ['medication.id'], name=op.f('fk_medication_class_link_medication_id_medication')),
    sa.PrimaryKeyConstraint('medication_id', 'class_id', name=op.f('pk_medication_class_link'))
    )
    op.create_table('product_area',
    sa.Column('product_id', sa.String(length=100), nullable=False),
    sa.Column('area_id', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_product_area_area_id_area')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_area_product_id_product')),
    sa.PrimaryKeyConstraint('product_id', 'area_id', name=op.f('pk_product_area'))
    )
    op.create_table('product_component',
    sa.Column('product_id', sa.String(length=100), nullable=False),
    sa.Column('substance_id', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('concentration_value', sa.Float(), nullable=True),
    sa.Column('concentration_unit', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_component_product_id_product')),
    sa.ForeignKeyConstraint(['substance_id'], ['substance.id'], name=op.f('fk_product_component_substance_id_substance')),
    sa.PrimaryKeyConstraint('product_id', 'substance_id', name=op.f('pk_product_component'))
    )
    with op.batch_alter_table('product_component', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_component_substance_id'), ['substance_id'], unique=False)

    op.create_table('protocol',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indication_id', sa.String(length=100), nullable=False),
    sa.Column('area_id', sa.String(length=100), nullable=False),
    sa.Column('technique', sa.String(length=30), nullable=False),
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
    op.create_table('rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('scope_kind', sa.String(length=20), nullable=False),
    sa.Column('scope_ref', sa.String(length=100), nullable=True),
    sa.Column('condition_id', sa.String(length=100), nullable=True),
    sa.Column('medication_id', sa.String(length=100), nullable=True),
    sa.Column('medication_class_id', sa.String(length=100), nullable=True),
    sa.Column('indication_id', sa.String(length=100), nullable=True),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('max_age', sa.Integer(), nullable=True),
    sa.Column('a_ref', sa.String(length=110), nullable=True),
    sa.Column('b_ref', sa.String(length=110), nullable=True),
    sa.Column('dose_kind', sa.String(length=30), nullable=True),
    sa.Column('amount_value', sa.Float(), nullable=True),
    sa.Column('amount_unit', sa.String(length=40), nullable=True),
    sa.Column('cap_value', sa.Float(), nullable=True),
    sa.Column('cap_unit', sa.String(length=40), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('unless_with', sa.String(length=100), nullable=True),
    sa.Column('only_with', sa.String(length=100), nullable=True),
    sa.Column('vehicle', sa.String(length=20), nullable=True),
    sa.Column('target_class', sa.String(length=40), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('advice', sa.Text(), nullable=True),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['condition_id'], ['condition.id'], name=op.f('fk_rule_condition_id_condition')),
    sa.ForeignKeyConstraint(['indication_id'], ['indication.id'], name=op.f('fk_rule_indication_id_indication')),
    sa.ForeignKeyConstraint(['medication_class_id'], ['medication_class.id'], name=op.f('fk_rule_medication_class_id_medication_class')),
    sa.ForeignKeyConstraint(['medication_id'], ['medication.id'], name=op.f('fk_rule_medication_id_medication')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule'))
    )
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_kind'), ['kind'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_kind'))

    op.drop_table('rule')
    op.drop_table('protocol')
    with op.batch_alter_table('product_component', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_component_substance_id'))

    op.drop_table('product_component')
    op.drop_table('product_area')
    op.drop_table('medication_class_link')
    with op.batch_alter_table('indication_fit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indication_fit_indication_id'))

    op.drop_table('indication_fit')
    op.drop_table('indication_area')
    op.drop_table('cross_reaction')
    op.drop_table('citation')
    op.drop_table('allergen_origin')
    op.drop_table('allergen_member')
    with op.batch_alter_table('substance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_substance_class'))

    op.drop_table('substance')
    op.drop_table('source')
    op.drop_table('product')
    op.drop_table('medication_class')
    op.drop_table('medication')
    op.drop_table('indication')
    op.drop_table('formulation_default')
    op.drop_table('condition')
    op.drop_table('area')
    op.drop_table('allergen_group')
    with op.batch_alter_table('alias', schema=None) as batch_op:
        batch_op.drop_index('ix_alias_kind_norm')

    op.drop_table('alias')
