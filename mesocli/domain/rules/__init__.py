"""The registry of checks: one module per kind, one line per kind in :data:`REGISTRY`.

The engine runs the checks with an evaluator in this order (each when its stage allows: see
:data:`mesocli.domain.rules.base.STAGES`). A kind that reads rules from the catalogue
(``[[<name>]]`` tables in ``data/rules.toml`` and ``data/clinical.toml``) is also in
:data:`RULE_KINDS`, which the catalogue reader, writer and snapshot use to read, store and
load its parameters.
"""

from __future__ import annotations

from mesocli.domain.rules import (
    advisory,
    age_limit,
    allergy,
    contraindication,
    dose_limit,
    fit,
    incompatibility,
    protocol,
    purpose_conflict,
    regulatory,
    sex_caution,
    studied_strength,
    syringe,
    unknowns,
    vehicle_rule,
)
from mesocli.domain.rules.base import Check

REGISTRY: tuple[Check, ...] = (
    allergy.CHECK,  # the patient's allergies, directly, by group, origin and cross-reaction
    contraindication.CHECK,  # [[contraindication]]: conditions and medications
    age_limit.CHECK,  # [[age_limit]]
    sex_caution.CHECK,  # [[sex_caution]]
    regulatory.CHECK,  # market status, unknown vehicle, off-label area
    *regulatory.WORDING,  # [[status_withdrawn]] ... [[off_label]]: how those findings are worded
    unknowns.CHECK,  # no source, unknown strength, unknown market status: never a silent "ok"
    *unknowns.WORDING,  # [[unknown_source]], [[unknown_strength]], [[unknown_status]]
    vehicle_rule.CHECK,  # [[vehicle_rule]]
    fit.CHECK,  # fit for the indication
    fit.ADJUNCT,  # [[adjunct_class]]: classes that need no recorded fit
    purpose_conflict.CHECK,  # [[purpose_conflict]]
    advisory.CHECK,  # [[advisory]]: a standing note whenever an ingredient is used
    syringe.CHECK,  # products per syringe, do-not-admix
    incompatibility.CHECK,  # [[incompatibility]]
    dose_limit.CHECK,  # [[dose_limit]]
    dose_limit.WORDING,  # [[no_dose_limit]]: an amount no sourced limit governs
    studied_strength.CHECK,  # principal actives at the final concentration their sources studied
    protocol.CHECK,  # the catalogue protocol for the indication and area
)

# What the engine walks, in order: the kinds with an evaluator.
CHECKS: tuple[Check, ...] = tuple(check for check in REGISTRY if check.evaluate is not None)
# What the catalogue reads, stores and loads: the kinds with rules in the data.
RULE_KINDS: dict[str, Check] = {check.name: check for check in REGISTRY if check.read is not None}
