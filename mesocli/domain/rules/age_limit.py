"""Age limits: a minimum and/or maximum age for the procedure or for the ingredients in scope.
Without a stated age, a procedure-wide limit is reported as information."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mesocli.domain.rules.base import PROCEDURE, Check, Context, Finding, finding_of


@dataclass(frozen=True, slots=True)
class Params:
    min_age: int | None = None
    max_age: int | None = None

    def bounds(self) -> str:
        if self.min_age is not None and self.max_age is not None:
            return f"allowed from {self.min_age} to {self.max_age} years"
        if self.min_age is not None:
            return f"minimum age {self.min_age} years"
        return f"maximum age {self.max_age} years"


def read(row: Any) -> Params:
    params = Params(row.integer("min_age"), row.integer("max_age"))
    if params.min_age is None and params.max_age is None:
        raise row.fail("an age limit needs min_age and/or max_age")
    return params


def evaluate(ctx: Context) -> Iterator[Finding]:
    age = ctx.patient.age
    for rule in ctx.rules("age_limit"):
        params: Params = rule.params
        if age is None:
            if rule.scope.kind == PROCEDURE and not ctx.patient.raw.is_empty:
                yield finding_of(rule, "age", PROCEDURE, "age",
                                 f"Age not stated; {params.bounds()}. {rule.message}", "info")
            continue
        too_young = params.min_age is not None and age < params.min_age
        too_old = params.max_age is not None and age > params.max_age
        if too_young or too_old:
            yield from ctx.scoped(rule, "age", "age", f"Patient is {age}; {params.bounds()}. {rule.message}")


CHECK = Check("age_limit", "patient", evaluate, params=Params, read=read, scoped=True,
              columns={"min_age": "min_age", "max_age": "max_age"}, reads=frozenset({"age"}))
