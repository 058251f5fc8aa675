"""The registry of checks: one module per kind, one line per kind in :data:`CHECKS`.

The engine runs the checks in this order (each when its stage allows: see
:data:`mesocli.domain.rules.base.STAGES`). A kind that reads rules from the catalogue
(``[[<name>]]`` tables in ``data/rules.toml``) is also in :data:`RULE_KINDS`, which the
catalogue reader, writer and snapshot use to read, store and load its parameters.
"""

from __future__ import annotations

from mesocli.domain.rules import (
    age_limit,
    allergy,
    contraindication,
    dose_limit,
    fit,
    incompatibility,
    protocol,
    purpose_conflict,
    regulatory,
    syringe,
    vehicle_rule,
)
from mesocli.domain.rules.base import Check

CHECKS: tuple[Check, ...] = (
    allergy.CHECK,  # the patient's allergies, directly, by group, origin and cross-reaction
    contraindication.CHECK,  # [[contraindication]]: conditions and medications
    age_limit.CHECK,  # [[age_limit]]
    regulatory.CHECK,  # market status, unknown vehicle, off-label area
    vehicle_rule.CHECK,  # [[vehicle_rule]]
    fit.CHECK,  # fit for the indication
    purpose_conflict.CHECK,  # [[purpose_conflict]]
    syringe.CHECK,  # products per syringe, do-not-admix
    incompatibility.CHECK,  # [[incompatibility]]
    dose_limit.CHECK,  # [[dose_limit]]
    protocol.CHECK,  # the catalogue protocol for the indication and area
)

RULE_KINDS: dict[str, Check] = {check.name: check for check in CHECKS if check.read is not None}
