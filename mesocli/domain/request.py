"""One request: what ``meso build`` and ``meso check`` options, patient and recipe files and
``meso batch`` lines all become, validated in one place.

The command line gathers its options into the same mapping a batch line holds (fields named as
in the JSON contract; a batch line may also spell them as the options, ``max-products``) and
reads it with :func:`request_from_mapping`, so a rule about a request is written once: which
fields each action takes, how the patient is put together from a patient document and the
fields beside it, which ``fail_on`` and ``max_products`` are valid, and which exit code an
answer gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mesocli.domain.engine import DEFAULT_MAX_PRODUCTS
from mesocli.domain.patient import PATIENT_FIELDS, SEXES, Patient, merge, patient_from_mapping, patient_of_fields
from mesocli.domain.recipe import RecipeInput, recipe_from_mapping
from mesocli.errors import EXIT_FINDINGS, EXIT_OK, InputError
from mesocli.strictjson import refuse_unknown_keys

ACTIONS = ("build", "check")
FAIL_ON = ("caution", "contraindicated")
DEFAULT_FAIL_ON = "contraindicated"

# The command-line spelling of a field, accepted in a batch line as an alias of the field.
ALIASES = {
    "allergy": "allergies", "condition": "conditions", "medication": "medications",
    "ingredient": "ingredients", "treatment-area": "treatment_area", "max-products": "max_products",
    "fail-on": "fail_on",
}
_COMMON = ("action", "patient", *PATIENT_FIELDS, "indication", "area", "treatment_area", "max_products")
FIELDS = {
    "check": frozenset({*_COMMON, "ingredients", "recipe", "fail_on"}),
    "build": frozenset({*_COMMON, "volume"}),
}
# How the command line names a field in its messages; a batch line names it as it is written.
OPTION_NAMES = {"max_products": "--max-products", "fail_on": "--fail-on", "indication": "--indication",
                "area": "--area", "ingredients": "--ingredient", "volume": "--volume",
                "treatment_area": "--treatment-area", "sex": "--sex"}


def field_name(name: str) -> str:
    """How a batch line's error message names field ``name``."""
    return f"'{name}'"


def option_name(name: str) -> str:
    """How the command line's error message names field ``name``: by its option."""
    return OPTION_NAMES.get(name, f"'{name}'")


@dataclass(frozen=True, slots=True)
class Request:
    """A check or a build, as every input form asks for it."""

    action: str  # build | check
    patient: Patient = field(default_factory=Patient)
    indication: str | None = None
    area: str | None = None
    treatment_area: Any = None  # text or {"value", "unit"}; parsed with the catalogue at hand
    max_products: int = DEFAULT_MAX_PRODUCTS
    fail_on: str = DEFAULT_FAIL_ON  # check: the severity that makes exit code 1
    ingredients: tuple[str, ...] = ()  # check: one syringe of these
    recipe: RecipeInput | None = None  # check: or this recipe
    volume: Any = None  # build: the session's cocktail volume

    def exit_code(self, answer: Any) -> int:
        """1 for a check with a finding at or above ``fail_on`` or a refused build, else 0."""
        if self.action == "check":
            return EXIT_FINDINGS if answer.reaches(self.fail_on) else EXIT_OK
        return EXIT_FINDINGS if answer.status == "refused" else EXIT_OK


def request_from_mapping(data: Any, *, action: str | None = None,
                         name: Callable[[str], str] = field_name, catalogue: Any = None) -> Request:
    """Read a request from a batch line or the gathered options of a command.

    ``action`` is the command's own (the mapping's ``action`` field otherwise); ``name`` says
    how messages name a field. ``patient`` may be a patient document or a :class:`Patient`,
    ``recipe`` a recipe document or a :class:`RecipeInput`. Unknown fields, fields given twice
    (under both spellings) and values of the wrong type raise :class:`InputError`. A FHIR
    Bundle as ``patient`` is read with ``catalogue``'s code table (default: the catalogue the
    command uses).
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InputError("a request must be a JSON object")
    fields = _canonical(data)
    if action is None:
        action = fields.get("action")
        if action not in ACTIONS:
            raise InputError(f"'action' must be 'build' or 'check', not {action!r}")
    known = FIELDS[action]
    if not known.issuperset(fields):
        refuse_unknown_keys(fields, known, f"{action} request")
    get = fields.get
    indication, area = get("indication"), get("area")
    if indication is not None and type(indication) is not str:
        raise InputError(f"{name('indication')} must be text")
    if area is not None and type(area) is not str:
        raise InputError(f"{name('area')} must be text")
    max_products = get("max_products", DEFAULT_MAX_PRODUCTS)
    if type(max_products) is not int or max_products < 1:
        max_products_of(max_products, name("max_products"))  # raises, saying why
    sex = get("sex")
    if sex is not None and (type(sex) is not str or sex not in SEXES):
        raise InputError(f"{name('sex')} must be one of {', '.join(SEXES)} (or left out when unknown), not {sex!r}")
    patient = _patient(fields, catalogue)
    if action == "build":
        if indication is None:
            raise InputError(f"a build request needs {name('indication')}")
        return Request(action, patient, indication, area, get("treatment_area"), max_products,
                       volume=get("volume"))
    ingredients = get("ingredients", ())
    if type(ingredients) not in (list, tuple):
        raise InputError(f"{name('ingredients')} must be a list of names")
    for item in ingredients:
        if type(item) is not str:
            raise InputError(f"{name('ingredients')}: every entry must be a name (text)")
    recipe = get("recipe")
    if recipe is not None and not isinstance(recipe, RecipeInput):
        recipe = recipe_from_mapping(recipe)
    if ingredients and recipe is not None:
        raise InputError(f"give {name('ingredients')} or a recipe, not both")
    fail_on = get("fail_on", DEFAULT_FAIL_ON)
    if fail_on not in FAIL_ON:
        fail_on_of(fail_on, name("fail_on"))  # raises, saying why
    return Request(action, patient, indication, area, get("treatment_area"), max_products, fail_on,
                   tuple(ingredients), recipe)


def _canonical(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every field under its own name; the id of a batch line is not a field."""
    if ALIASES.keys().isdisjoint(data):
        fields = dict(data)
    else:
        fields = {}
        for key, value in data.items():
            canonical = ALIASES.get(key, key)
            if canonical in fields:
                raise InputError(f"field {canonical!r} is given twice")
            fields[canonical] = value
    fields.pop("id", None)
    return fields


def _patient(fields: Mapping[str, Any], catalogue: Any = None) -> Patient:
    """The patient document (if any) plus the patient fields beside it: lists add, scalars override."""
    extra = patient_of_fields(fields)  # the patient fields beside the document
    base = fields.get("patient")
    if base is None:
        return extra  # the same patient merge() would make with an empty base
    if not isinstance(base, Patient):
        base = patient_from_mapping(base, catalogue=catalogue)
    return merge(base, allergies=extra.allergies, conditions=extra.conditions, medications=extra.medications,
                 age=extra.age, weight=extra.weight, sex=extra.sex)  # type: ignore[arg-type]


def max_products_of(value: Any, what: str = "the product limit per syringe") -> int:
    """The most products in one syringe: a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number")
    if value < 1:
        raise InputError(f"{what} must be at least 1")
    return value


def fail_on_of(value: Any, what: str = "fail_on") -> str:
    """The severity at which a check's exit code becomes 1."""
    if value not in FAIL_ON:
        raise InputError(f"{what} must be one of {', '.join(FAIL_ON)}, not {value!r}")
    return str(value)
