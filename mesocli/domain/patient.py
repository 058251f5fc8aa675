"""The patient: what meso must know to keep a cocktail safe for one person."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mesocli.domain.model import Distinction, UnrelatedTerm
from mesocli.errors import InputError

PATIENT_FIELDS = ("allergies", "conditions", "medications", "age", "weight", "sex")
# The sexes a patient can be recorded as; absent means unknown (never assumed).
SEXES = ("female", "male")
_KNOWN_FIELDS = frozenset(PATIENT_FIELDS)
MAX_TERMS = 100


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient as given by the user: names are resolved against the catalogue later.

    ``weight`` is text such as ``"70 kg"`` or a ``{"value", "unit"}`` mapping; ``sex`` is one
    of :data:`SEXES` or ``None`` (unknown).
    """

    allergies: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    age: int | None = None
    weight: str | Mapping[str, Any] | None = None
    sex: str | None = None

    def __post_init__(self) -> None:
        for name in ("allergies", "conditions", "medications"):
            value = getattr(self, name)
            given_tuple = type(value) is tuple
            if not given_tuple and (isinstance(value, str) or not isinstance(value, Sequence)):
                raise InputError(f"patient {name}: expected a list of names")
            if len(value) > MAX_TERMS:
                raise InputError(f"patient {name}: more than {MAX_TERMS} entries")
            for item in value:
                if not isinstance(item, str):
                    raise InputError(f"patient {name}: every entry must be a name (text)")
            if not given_tuple:
                object.__setattr__(self, name, tuple(value))
        age = self.age
        if type(age) is int:  # the usual case: a plain whole number, only its range to check
            if not 0 <= age <= 130:
                raise InputError(f"patient age: {age!r} is not a whole number of years from 0 to 130")
        elif age is not None:
            if isinstance(age, bool) or not isinstance(age, int | float):
                raise InputError("patient age: expected a whole number of years")
            if isinstance(age, float) and not math.isfinite(age):
                raise InputError("patient age: expected a whole number of years")
            if age != int(age) or not 0 <= age <= 130:
                raise InputError(f"patient age: {age!r} is not a whole number of years from 0 to 130")
            object.__setattr__(self, "age", int(age))
        weight = self.weight
        if weight is not None and not isinstance(weight, str) and not isinstance(weight, Mapping):
            raise InputError("patient weight: expected a quantity such as '70 kg'")
        if self.sex is not None and (type(self.sex) is not str or self.sex not in SEXES):
            raise InputError(f"patient sex: must be one of {', '.join(SEXES)} (or left out when unknown), "
                             f"not {self.sex!r}")

    @property
    def is_empty(self) -> bool:
        return not (self.allergies or self.conditions or self.medications)


def patient_from_mapping(data: Any, *, what: str = "patient", catalogue: Any = None) -> Patient:
    """Build a :class:`Patient` from a parsed JSON/TOML document, refusing unknown fields.

    A FHIR R4 Bundle (a document with a ``resourceType``) is read by :mod:`mesocli.fhir_input`,
    with the code table of ``catalogue`` (default: the catalogue the command uses).
    """
    if isinstance(data, Mapping) and "resourceType" in data:  # FHIR input: see mesocli.fhir_input
        from mesocli.fhir_input import patient_from_fhir

        return patient_from_fhir(data, what=what, catalogue=catalogue)
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InputError(f"{what}: expected an object with {', '.join(PATIENT_FIELDS)}")
    if not _KNOWN_FIELDS.issuperset(data):
        from mesocli.strictjson import refuse_unknown_keys

        refuse_unknown_keys(data, PATIENT_FIELDS, what)
    return patient_of_fields(data, what)


def patient_of_fields(data: Mapping[str, Any], what: str = "patient") -> Patient:
    """The :class:`Patient` the patient fields of ``data`` (:data:`PATIENT_FIELDS`) give; any
    other key of ``data`` is not read (a request's other fields, checked by its reader)."""
    get = data.get
    return Patient(_names(data, "allergies", what), _names(data, "conditions", what),
                   _names(data, "medications", what), get("age"), get("weight"), get("sex"))


def _names(data: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise InputError(f"{what} {key}: expected a list of names")
    return tuple(value)


def merge(base: Patient, *, allergies: Sequence[str] = (), conditions: Sequence[str] = (),
          medications: Sequence[str] = (), age: int | None = None,
          weight: str | None = None, sex: str | None = None) -> Patient:
    """A patient file plus command-line options (options add to lists and override scalars)."""
    return Patient(
        allergies=(*base.allergies, *allergies),
        conditions=(*base.conditions, *conditions),
        medications=(*base.medications, *medications),
        age=base.age if age is None else age,
        weight=base.weight if weight is None else weight,
        sex=base.sex if sex is None else sex,
    )


@dataclass(frozen=True, slots=True)
class ResolvedPatient:
    """A patient whose every term is a catalogue id."""

    allergies: tuple[tuple[str, str], ...] = ()  # (kind: group|substance, id)
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()  # medication ids
    medication_classes: tuple[str, ...] = ()  # classes reached through medications or named directly
    age: int | None = None
    weight_kg: float | None = None
    sex: str | None = None  # female | male | None (unknown)
    raw: Patient = field(default_factory=Patient)
    # terms meso knows that concern no catalogue item: (the term as given, its vocabulary row)
    unrelated: tuple[tuple[str, UnrelatedTerm], ...] = ()
    # terms on one side of a distinction: (kind, the term as given, the id it reached, distinction)
    distinctions: tuple[tuple[str, str, str, Distinction], ...] = ()
