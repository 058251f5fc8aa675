"""Batch mode: one NDJSON request per line in, one NDJSON result per line out, in order.

Each request is ``{"id": ..., "action": "build" | "check", ...}`` with the same fields as the
command-line options and the patient file. A line that is malformed or invalid yields an error
document carrying its line number, and the run goes on. Requests are processed one at a time,
so memory stays flat however long the input. Results of identical requests are computed once
(the engine is deterministic), which keeps repetitive pipeline input fast.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.patient import Patient
from mesocli.errors import EXIT_FINDINGS, EXIT_OK, InputError, MesoError

ACTIONS = ("build", "check")
MAX_LINE = 1024 * 1024
CACHE_SIZE = 4096

# Request fields, with the command-line spelling accepted as an alias of each.
_ALIASES = {
    "allergy": "allergies", "condition": "conditions", "medication": "medications",
    "ingredient": "ingredients", "treatment-area": "treatment_area", "max-products": "max_products",
    "fail-on": "fail_on",
}
_COMMON = {"id", "action", "allergies", "conditions", "medications", "age", "weight", "patient",
           "indication", "area", "treatment_area", "max_products"}
_FIELDS = {
    "check": _COMMON | {"ingredients", "recipe", "fail_on"},
    "build": _COMMON | {"volume"},
}


@dataclass(frozen=True, slots=True)
class BatchResult:
    line: int
    exit_code: int
    document: dict[str, Any]


def run_batch(lines: Iterable[str], catalogue: Catalogue) -> Iterator[BatchResult]:
    """Process NDJSON ``lines`` lazily; blank lines are skipped, every other line answered."""
    cache: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text:
            continue
        request_id: Any = None
        try:
            if len(text) > MAX_LINE:
                raise InputError(f"line longer than {MAX_LINE} characters")
            try:
                request = json.loads(text, parse_constant=_reject_constant)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            except RecursionError:
                raise InputError("JSON nested too deeply") from None
            if not isinstance(request, dict):
                raise InputError("a request must be a JSON object")
            request_id = request.get("id")
            if request_id is not None and not isinstance(request_id, str | int):
                request_id = None
                raise InputError("'id' must be text or a number")
            key = json.dumps({k: v for k, v in request.items() if k != "id"}, sort_keys=True)
            cached = cache.get(key)
            if cached is None:
                cached = _answer(request, catalogue)
                cache[key] = cached
                if len(cache) > CACHE_SIZE:
                    cache.popitem(last=False)
            else:
                cache.move_to_end(key)
            code, document = cached
            yield BatchResult(number, code, {"id": request_id, **document})
        except MesoError as exc:
            from mesocli.render.documents import error_document

            yield BatchResult(number, exc.exit_code,
                              {"id": request_id, **error_document(exc.exit_code, exc.message, line=number)})


def _reject_constant(name: str) -> Any:
    raise InputError(f"{name} is not a valid number")


def _normalise(request: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    action = request.get("action")
    if action not in ACTIONS:
        raise InputError(f"'action' must be 'build' or 'check', not {action!r}")
    fields: dict[str, Any] = {}
    for key, value in request.items():
        name = _ALIASES.get(key, key)
        if name in fields:
            raise InputError(f"field {name!r} is given twice")
        fields[name] = value
    unknown = sorted(set(fields) - _FIELDS[action])
    if unknown:
        raise InputError(f"unknown field(s) for {action}: {', '.join(unknown)}")
    return action, fields


def _patient(fields: Mapping[str, Any]) -> Patient:
    from mesocli.domain.patient import merge, patient_from_mapping

    given = {k: fields[k] for k in ("allergies", "conditions", "medications", "age", "weight") if k in fields}
    extra = patient_from_mapping(given)
    if fields.get("patient") is None:
        return extra  # the same patient merge() would make with an empty base
    base = patient_from_mapping(fields["patient"])
    return merge(base, allergies=extra.allergies, conditions=extra.conditions, medications=extra.medications,
                 age=extra.age, weight=extra.weight)  # type: ignore[arg-type]


def _answer(request: Mapping[str, Any], catalogue: Catalogue) -> tuple[int, dict[str, Any]]:
    from mesocli import api

    action, fields = _normalise(request)
    patient = _patient(fields)
    max_products = fields.get("max_products", 3)
    if isinstance(max_products, bool) or not isinstance(max_products, int):
        raise InputError("'max_products' must be a whole number")
    for key in ("indication", "area"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise InputError(f"'{key}' must be text")
    if action == "check":
        from mesocli.render.documents import check_document

        ingredients = fields.get("ingredients", [])
        if isinstance(ingredients, str) or not isinstance(ingredients, list):
            raise InputError("'ingredients' must be a list of names")
        fail_on = fields.get("fail_on", "contraindicated")
        if fail_on not in ("caution", "contraindicated"):
            raise InputError("'fail_on' must be 'caution' or 'contraindicated'")
        result = api.check(patient, ingredients=ingredients, recipe=fields.get("recipe"),
                           indication=fields.get("indication"), area=fields.get("area"),
                           treatment_area=fields.get("treatment_area"), max_products=max_products,
                           catalogue=catalogue)
        code = EXIT_FINDINGS if result.at_or_above(fail_on) else EXIT_OK
        return code, check_document(result)
    from mesocli.render.recipe import recipe_document

    if not isinstance(fields.get("indication"), str):
        raise InputError("a build request needs 'indication'")
    recipe = api.build(fields["indication"], patient, area=fields.get("area"), volume=fields.get("volume"),
                       treatment_area=fields.get("treatment_area"), max_products=max_products,
                       catalogue=catalogue)
    return (EXIT_FINDINGS if recipe.status == "refused" else EXIT_OK), recipe_document(recipe, catalogue)
