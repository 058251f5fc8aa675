"""Sex cautions: a caution for the ingredients in scope for every patient not recorded as the
rule's ``unless_sex``. An unknown sex is not that sex: the caution fires (fail closed).

The 5-alpha-reductase inhibitors are the reason: their labels keep them from anyone who is or
may become pregnant, including handling them, so every patient not recorded as male is told to
exclude pregnancy and use reliable contraception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mesocli.domain.patient import SEXES
from mesocli.domain.rules.base import Check, Context, Finding


@dataclass(frozen=True, slots=True)
class Params:
    unless_sex: str  # the rule does not fire for a patient recorded as this sex


def read(row: Any) -> Params:
    # Only a caution: the screen judges alternatives term by term (allergy, condition, ...,
    # age) and the sex is not one of its terms, so a sex rule must never contraindicate.
    if row.data.get("severity") != "caution":
        raise row.fail("a sex_caution rule must have severity = \"caution\"")
    return Params(row.choice("unless_sex", SEXES))


def evaluate(ctx: Context) -> Iterator[Finding]:
    sex = ctx.patient.sex
    for rule in ctx.rules("sex_caution"):
        if sex == rule.params.unless_sex:
            continue
        if sex is None:
            said = f"Sex not recorded, so the patient is not known to be {rule.params.unless_sex}."
        else:
            said = f"Patient recorded as {sex}, not {rule.params.unless_sex}."
        message = f"{said} {rule.message}"
        yield from ctx.scoped(rule, "sex", sex or "sex-unknown", message)


CHECK = Check("sex_caution", "patient", evaluate, params=Params, read=read, scoped=True,
              columns={"unless_sex": "unless_with"}, reads=frozenset())  # the sex, which is no term
