"""Golden outputs of the safety engine and the formulator on the shipped catalogue.

``python tests/golden/record.py`` (re)writes the files next to this script; ``tests/product/test_golden.py``
works every case out again in-process and asserts the same bytes. Cases come from a seeded
generator, so the matrix is the same on every machine:

- ``builds``: every indication x area for a patient with nothing to declare;
- ``patient-builds``: builds for generated patients (allergies, conditions, medications, age,
  weight, sex), some with a session volume and a treated area;
- ``checks``: generated patients against one to three ingredients, some for an indication and area;
- ``recipe-checks``: built recipes checked again for other patients, with a schedule (points,
  volume per point, sessions, interval) and a treated area, so the dose and protocol rules run;
- ``screens``: generated patients screened against the whole catalogue;
- ``fhir``: the builds with a volume and the first checks again, as FHIR bundles (JSON only).

Each family is one ``.ndjson`` file (the JSON documents) and one ``.txt`` file (what a person
reads, with ``--explain`` for builds). A case that the core refuses records the error instead.
"""

from __future__ import annotations

import io
import json
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 13
TEXT_WIDTH = 100  # the text families are laid out at this width, whatever the terminal or COLUMNS

Case = dict[str, Any]


def _catalogue() -> Any:
    from mesocli.api import load_catalogue

    return load_catalogue()


def _patient(case: Case) -> Any:
    from mesocli.domain.patient import Patient

    return Patient(allergies=list(case.get("allergies", ())), conditions=list(case.get("conditions", ())),
                   medications=list(case.get("medications", ())), age=case.get("age"),
                   weight=case.get("weight"), sex=case.get("sex"))


def _generated_patient(rng: random.Random, cat: Any) -> Case:
    allergens = sorted(cat.groups) + sorted(cat.substances)
    medications = sorted(cat.medications) + sorted(cat.medication_classes)
    case: Case = {}
    for key, pool, most in (("allergies", allergens, 2), ("conditions", sorted(cat.conditions), 2),
                            ("medications", medications, 2)):
        count = rng.choice([0, 0, 1, 1, most])
        if count:
            case[key] = rng.sample(pool, count)
    age = rng.choice([None, None, 15, 17, 30, 45, 70, 90])
    if age is not None:
        case["age"] = age
    weight = rng.choice([None, None, "45 kg", "70 kg", "120 kg"])
    if weight is not None:
        case["weight"] = weight
    # The sex is picked from the case itself, not drawn from ``rng``, so every other field of
    # every case stays what the seeded sequence gave before patients had a sex.
    sex = (None, "female", "male")[len(json.dumps(case, sort_keys=True)) % 3]
    if sex is not None:
        case["sex"] = sex
    return case


def _indication_areas(cat: Any) -> list[tuple[str, str]]:
    return [(ind.id, area) for ind in sorted(cat.indications.values(), key=lambda i: i.id) for area in ind.areas]


# ----------------------------------------------------------------------------- the families
def _builds(cat: Any, rng: random.Random) -> Iterator[Case]:
    for indication, area in _indication_areas(cat):
        yield {"indication": indication, "area": area}
        yield {"indication": indication, "area": area, "volume": "4 mL", "treatment_area": "100 cm^2",
               "weight": "70 kg"}


def _patient_builds(cat: Any, rng: random.Random) -> Iterator[Case]:
    pairs = _indication_areas(cat)
    for _ in range(120):
        indication, area = rng.choice(pairs)
        case = {"indication": indication, "area": area, **_generated_patient(rng, cat)}
        if rng.random() < 0.9:
            case["volume"] = rng.choice(["2 mL", "4 mL", "10 mL"])
        if rng.random() < 0.3:
            case["treatment_area"] = rng.choice(["25 cm^2", "100 cm^2", "400 cm^2"])
        if rng.random() < 0.2:
            case["max_products"] = rng.choice([1, 2, 4])
        yield case


def _checks(cat: Any, rng: random.Random) -> Iterator[Case]:
    ingredients = sorted(cat.products) + sorted(cat.substances)
    pairs = _indication_areas(cat)
    for _ in range(300):
        case = {**_generated_patient(rng, cat), "ingredients": rng.sample(ingredients, rng.choice([1, 1, 2, 3]))}
        if rng.random() < 0.25:  # an allergy that reaches what is checked, so alternatives are offered
            first = case["ingredients"][0]
            sids = ([c.substance for c in cat.products[first].components] if first in cat.products else [first])
            case["allergies"] = [*case.get("allergies", ()), rng.choice(sids)]
        if rng.random() < 0.4:
            case["indication"], case["area"] = rng.choice(pairs)
        if rng.random() < 0.1:
            case["max_products"] = rng.choice([1, 2])
        yield case


def _recipe_checks(cat: Any, rng: random.Random) -> Iterator[Case]:
    pairs = _indication_areas(cat)
    for _ in range(60):
        indication, area = rng.choice(pairs)
        case: Case = {"build": {"indication": indication, "area": area,
                                "volume": rng.choice(["2 mL", "4 mL", "10 mL", "40 mL"])},
                      **_generated_patient(rng, cat)}
        if rng.random() < 0.5:
            case["treatment_area"] = rng.choice(["25 cm^2", "100 cm^2", "900 cm^2"])
        protocol = {}
        if rng.random() < 0.6:
            protocol["points"] = rng.choice([10, 40, 120, 400])
        if rng.random() < 0.6:
            protocol["volume_per_point"] = rng.choice(["0.02 mL", "0.05 mL", "0.1 mL", "0.5 mL"])
        if rng.random() < 0.5:
            protocol["sessions"] = rng.choice([1, 4, 10, 30])
        if rng.random() < 0.5:
            protocol["interval"] = rng.choice(["1 day", "7 day", "2 week", "30 day"])
        case["protocol"] = protocol
        yield case


def _screens(cat: Any, rng: random.Random) -> Iterator[Case]:
    for _ in range(12):
        yield _generated_patient(rng, cat)


# ----------------------------------------------------------------------------- running a case
def _build(cat: Any, case: Case) -> Any:
    from mesocli.api import build

    return build(case["indication"], _patient(case), area=case.get("area"), volume=case.get("volume"),
                 treatment_area=case.get("treatment_area"), max_products=case.get("max_products", 3),
                 catalogue=cat)


def _recipe_outputs(cat: Any, case: Case) -> tuple[Any, str]:
    from mesocli.render.human import Printer
    from mesocli.render.recipe import recipe_document, render_recipe

    recipe = _build(cat, case)
    text = io.StringIO()
    render_recipe(Printer(text, rich=False, width=TEXT_WIDTH), recipe, cat, explain=True)
    return recipe_document(recipe, cat), text.getvalue()


def _check_outputs(cat: Any, case: Case, **kwargs: Any) -> tuple[Any, str]:
    from mesocli.api import check
    from mesocli.render.check_view import patient_line, render_check
    from mesocli.render.documents import check_document
    from mesocli.render.human import Printer

    result = check(_patient(case), catalogue=cat, **kwargs)
    text = io.StringIO()
    render_check(Printer(text, rich=False, width=TEXT_WIDTH), cat, result, patient_line(result))
    return check_document(result), text.getvalue()


def _run_check(cat: Any, case: Case) -> tuple[Any, str]:
    return _check_outputs(cat, case, ingredients=case["ingredients"], indication=case.get("indication"),
                          area=case.get("area"), max_products=case.get("max_products", 3))


def _run_recipe_check(cat: Any, case: Case) -> tuple[Any, str]:
    from mesocli.render.recipe import recipe_document

    recipe = _build(cat, {k: v for k, v in case["build"].items() if v is not None})
    document = json.loads(json.dumps(recipe_document(recipe, cat)))
    if not document.get("syringes"):
        return {"not-checked": "the build was refused", "reasons": document.get("reasons")}, ""
    document["protocol"] = case["protocol"]
    return _check_outputs(cat, case, recipe=document, treatment_area=case.get("treatment_area"))


def _run_screen(cat: Any, case: Case) -> tuple[Any, str]:
    return _check_outputs(cat, case)


FHIR_TIME = "2026-01-01T00:00:00Z"


def _fhir_cases(cat: Any, rng: random.Random) -> Iterator[Case]:
    """A slice of the other families, written as FHIR bundles."""
    builds = list(_builds(cat, random.Random(f"{SEED}-builds")))
    checks = list(_checks(cat, random.Random(f"{SEED}-checks")))
    for case in builds[1::2]:  # the builds with a volume
        yield {"build": case}
    for case in checks[:80]:
        yield {"check": case}


def _run_fhir(cat: Any, case: Case) -> tuple[Any, str]:
    from mesocli.api import check
    from mesocli.render.fhir import check_bundle, recipe_bundle

    if "build" in case:
        return recipe_bundle(_build(cat, case["build"]), cat, timestamp=FHIR_TIME), ""
    request = case["check"]
    result = check(_patient(request), catalogue=cat, ingredients=request["ingredients"],
                   indication=request.get("indication"), area=request.get("area"),
                   max_products=request.get("max_products", 3))
    return check_bundle(result, cat, timestamp=FHIR_TIME), ""


FAMILIES: dict[str, tuple[Callable[[Any, random.Random], Iterator[Case]], Callable[[Any, Case], tuple[Any, str]]]] = {
    "builds": (_builds, _recipe_outputs),
    "patient-builds": (_patient_builds, _recipe_outputs),
    "checks": (_checks, _run_check),
    "recipe-checks": (_recipe_checks, _run_recipe_check),
    "screens": (_screens, _run_screen),
    "fhir": (_fhir_cases, _run_fhir),
}


def render_family(cat: Any, family: str) -> tuple[str, str]:
    """The NDJSON and the text of one family, as the golden files hold them."""
    from mesocli.errors import MesoError

    cases, run = FAMILIES[family]
    rng = random.Random(f"{SEED}-{family}")
    lines: list[str] = []
    texts: list[str] = []
    for number, case in enumerate(cases(cat, rng), 1):
        try:
            document, text = run(cat, case)
        except MesoError as error:
            document, text = {"error": str(error), "exit_code": error.exit_code}, f"error: {error}\n"
        lines.append(json.dumps({"case": number, "input": case, "output": document},
                                ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        texts.append(f"### {family} {number}: {json.dumps(case, ensure_ascii=False, sort_keys=True)}\n{text}")
    return "\n".join(lines) + "\n", "".join(texts)


def main() -> int:
    cat = _catalogue()
    for family in FAMILIES:
        ndjson, text = render_family(cat, family)
        (HERE / f"{family}.ndjson").write_text(ndjson, encoding="utf-8")
        (HERE / f"{family}.txt").write_text(text, encoding="utf-8")
        print(f"{family}: {ndjson.count(chr(10))} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
