"""Deterministic inputs for the benchmarks: batch requests and an enlarged catalogue.

Every name a request uses is drawn, with a fixed seed, from the catalogue's own lists (read
through the public Python API), so requests look like a clinic's pipeline: a different patient
on almost every line, a few ingredients or an indication each.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import tomllib
from pathlib import Path
from typing import Any

SEED = 20261121


@functools.cache
def vocabulary() -> dict[str, Any]:
    """Names from the shipped catalogue: what a request may mention."""
    from mesocli import load_catalogue

    cat = load_catalogue()
    injectable = [p.id for p in cat.products.values()]
    return {
        "allergies": sorted([*cat.substances, *cat.groups]),
        "conditions": sorted(cat.conditions),
        "medications": sorted([*cat.medications, *cat.medication_classes]),
        "ingredients": sorted([*injectable, *(s.id for s in cat.substances.values() if s.role == "active")]),
        "indications": sorted(cat.indications),
        "areas": {i.id: list(i.areas) for i in cat.indications.values()},  # type: ignore[dict-item]
        # (indication, area) pairs whose protocol gives no session volume: a build must name one.
        "needs_volume": sorted(f"{i.id}/{a}" for i in cat.indications.values() for a in i.areas  # type: ignore[misc]
                               if (p := cat.protocol_for(i.id, a)) is None or p.session_volume is None),
    }


def _patient(rng: random.Random, vocab: dict[str, Any]) -> dict[str, Any]:
    patient: dict[str, Any] = {}
    allergies = rng.choices([0, 1, 2, 3], weights=[40, 35, 18, 7])[0]
    if allergies:
        patient["allergies"] = rng.sample(vocab["allergies"], allergies)
    conditions = rng.choices([0, 1, 2], weights=[60, 30, 10])[0]
    if conditions:
        patient["conditions"] = rng.sample(vocab["conditions"], conditions)
    medications = rng.choices([0, 1, 2], weights=[60, 30, 10])[0]
    if medications:
        patient["medications"] = rng.sample(vocab["medications"], medications)
    if rng.random() < 0.7:
        patient["age"] = rng.randint(18, 85)
    if rng.random() < 0.5:
        patient["weight"] = f"{rng.randint(45, 120)} kg"
    return patient


def check_request(rng: random.Random, vocab: dict[str, Any], number: int) -> dict[str, Any]:
    request: dict[str, Any] = {"id": f"c{number}", "action": "check", **_patient(rng, vocab)}
    request["ingredients"] = rng.sample(vocab["ingredients"], rng.choices([1, 2, 3, 4], weights=[35, 35, 20, 10])[0])
    if rng.random() < 0.3:
        indication = rng.choice(vocab["indications"])
        request["indication"] = indication
        if vocab["areas"][indication] and rng.random() < 0.5:
            request["area"] = rng.choice(vocab["areas"][indication])
    if rng.random() < 0.2:
        request["fail_on"] = "caution"
    return request


def build_request(rng: random.Random, vocab: dict[str, Any], number: int) -> dict[str, Any]:
    indication = rng.choice(vocab["indications"])
    request: dict[str, Any] = {"id": f"b{number}", "action": "build", "indication": indication,
                               **_patient(rng, vocab)}
    areas = vocab["areas"][indication]
    if areas and rng.random() < 0.3:
        request["area"] = rng.choice(areas)
    area = request.get("area", areas[0] if areas else None)
    if rng.random() < 0.3 or f"{indication}/{area}" in vocab["needs_volume"]:
        request["volume"] = f"{rng.choice([1, 2, 2.5, 3, 4, 5, 6, 8, 10])} mL"
    if rng.random() < 0.2:
        request["treatment_area"] = f"{rng.randint(10, 200)} cm**2"
    return request


def write_batch(path: Path, action: str, count: int, *, seed: int = SEED) -> dict[str, Any]:
    """Write ``count`` requests to ``path``; return how many are repeats of an earlier one."""
    rng = random.Random(f"{seed}-{action}")
    vocab = vocabulary()
    make = check_request if action == "check" else build_request
    seen: set[str] = set()
    duplicates = 0
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, count + 1):
            request = make(rng, vocab, number)
            key = json.dumps({k: v for k, v in request.items() if k != "id"}, sort_keys=True)
            duplicates += key in seen
            seen.add(key)
            out.write(json.dumps(request) + "\n")
    return {"requests": count, "duplicates": duplicates, "duplicate_share": duplicates / count}


def write_mixed(path: Path, count: int, *, build_share: float = 0.1, seed: int = SEED) -> None:
    """``count`` requests, about ``build_share`` of them builds and the rest checks."""
    rng = random.Random(f"{seed}-mixed")
    vocab = vocabulary()
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, count + 1):
            make = build_request if rng.random() < build_share else check_request
            out.write(json.dumps(make(rng, vocab, number)) + "\n")


def write_big_source(source: Path, target: Path, extra: int, *, seed: int = SEED) -> None:
    """Copy the catalogue's TOML sources to ``target`` and append ``extra`` generated products.

    Each generated product mixes one to three real substances at plausible concentrations; it
    is sourced as ``unsourced`` with no citation, as the format requires for invented rows.
    """
    rng = random.Random(f"{seed}-catalogue")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.sqlite", "*.md"))
    with (source / "substances.toml").open("rb") as handle:
        substances = [s for s in tomllib.load(handle)["substance"]
                      if s.get("injectable", True) and s.get("role") == "active"]
    areas_doc = tomllib.loads((source / "areas.toml").read_text(encoding="utf-8"))
    areas = [a["id"] for a in areas_doc["area"]]
    lines = ["", "# Generated for the scale benchmark."]
    for number in range(1, extra + 1):
        picked = rng.sample(substances, rng.choice([1, 1, 2, 3]))
        lines += [
            "", "[[product]]",
            f'id = "bench-product-{number:05d}"',
            f'name = "Benchmark product {number} ({", ".join(s["name"] for s in picked)})"',
            f'aliases = ["bench {number}"]',
            "generic = true",
            f'vehicle = "{rng.choice(["aqueous", "aqueous", "aqueous", "unknown"])}"',
            f'dose = "{rng.choice(["single", "multi"])}"',
            'status = "medicine"',
            f'container_volume = "{rng.choice([1, 2, 5, 10])} mL"',
            f"areas = {json.dumps(rng.sample(areas, rng.choice([0, 0, 1, 2])))}",
            'evidence = "unsourced"',
            "sources = []",
        ]
        for substance in picked:
            lines += ["", "[[product.component]]", f'substance = "{substance["id"]}"', 'role = "active"']
            if rng.random() < 0.8:
                lines.append(f'concentration = "{rng.choice([0.5, 1, 2, 5, 10, 20])} mg/mL"')
    with (target / "products.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


# Excipients a clinic's products carry, with the concentration a label would give (None: not
# stated, which the catalogue records as unknown). Methylparaben and benzyl alcohol preserve
# multi-dose vials; the bisulfites protect epinephrine and ascorbic acid.
_PRESERVATIVES = [("methylparaben", "1 mg/mL"), ("benzyl-alcohol", "9 mg/mL"), ("methylparaben", None)]
_OTHER_EXCIPIENTS = [("sodium-chloride", "9 mg/mL"), ("edetate-disodium", None), ("sodium-phosphate-dibasic", None),
                     ("polysorbate-80", None), ("sodium-bicarbonate", None), ("sodium-hydroxide", None)]
_ANTIOXIDANTS = [("sodium-metabisulfite", None), ("sodium-bisulfite", None)]
_VEHICLES = [("water-for-injection", None), ("phosphate-buffered-saline", None), ("sodium-chloride", "9 mg/mL")]
# Product families a clinic stocks, as (weight, actives drawn from these substance ids or classes).
_FAMILIES = [
    (18, ["hyaluronic-acid"], ["lidocaine"]),                     # skin boosters, half with lidocaine
    (12, ["class:local-anaesthetic"], ["epinephrine"]),          # anaesthetics, some with epinephrine
    (12, ["class:vitamin"], ["class:vitamin", "class:amino-acid"]),
    (10, ["class:plant-extract"], ["class:plant-extract", "class:antioxidant"]),
    (8, ["class:lipolytic", "class:methylxanthine"], ["levocarnitine", "class:methylxanthine"]),
    (8, ["class:hair-growth-drug"], ["biotin", "dexpanthenol", "class:mineral"]),
    (8, ["class:nucleic-acid"], ["hyaluronic-acid"]),
    (8, ["class:antioxidant", "class:depigmenting"], ["ascorbic-acid", "class:antioxidant"]),
    (6, ["class:enzyme"], []),
    (10, ["class:any"], ["class:any"]),
]


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# Products per import file: meso refuses an import file over 32 MiB, and a generated product
# takes about 500 bytes of TOML, so a clinic with 100,000 products imports them in several files.
PRODUCTS_PER_FILE = 40_000


def clinic_import(count: int, source: Path, *, seed: int = SEED, prefix: str = "clinic",
                  per_file: int = PRODUCTS_PER_FILE) -> list[str]:
    """A clinic's import files (``meso catalogue import``) with ``count`` generated products.

    The first file also holds the clinic's own substances; each file holds at most ``per_file``
    products, to be imported in order.

    The products are made like a clinic's stock list: families of actives (skin boosters with
    and without lidocaine, anaesthetics with epinephrine, vitamin and plant-extract cocktails,
    lipolytics, hair-loss, enzymes), concentrations taken from the shipped products of the same
    substance, preservatives in multi-dose vials (methylparaben, benzyl alcohol), buffers,
    antioxidants with epinephrine and ascorbic acid, and a vehicle (aqueous, gel, oily or not
    stated). One product in 500 uses one of the clinic's own plant extracts, imported in the
    same file. Every row is ``evidence = "unsourced"`` with no citation, as the format requires
    for invented rows.
    """
    rng = random.Random(f"{seed}-clinic-{count}")
    with (source / "substances.toml").open("rb") as handle:
        substances = tomllib.load(handle)["substance"]
    with (source / "products.toml").open("rb") as handle:
        shipped = tomllib.load(handle)["product"]
    with (source / "areas.toml").open("rb") as handle:
        areas = [a["id"] for a in tomllib.load(handle)["area"]]
    actives = {s["id"]: s for s in substances
               if s.get("role") == "active" and s.get("injectable", True)
               and s.get("status") not in ("withdrawn", "cosmetic-only", "unapproved")}
    by_class: dict[str, list[str]] = {}
    for substance in actives.values():
        by_class.setdefault(substance["class"], []).append(substance["id"])
    by_class["any"] = sorted(actives)
    strengths: dict[str, list[str]] = {}
    for product in shipped:
        for component in product.get("component", []):
            if component.get("role", "active") == "active" and component.get("concentration"):
                strengths.setdefault(component["substance"], []).append(component["concentration"])

    def pick(choices: list[str]) -> str:
        choice = rng.choice(choices)
        return rng.choice(by_class[choice[6:]]) if choice.startswith("class:") else choice

    def strength(substance: str) -> str | None:
        if rng.random() < 0.15:
            return None  # not stated on the clinic's sheet: unknown
        known = strengths.get(substance)
        if known:
            return rng.choice(known)
        return f"{rng.choice([0.5, 1, 2, 5, 10, 20, 50])} mg/mL"

    own = max(1, count // 500)
    heading = "# Generated clinic products for the scale benchmark (not real products), file {} of {}."
    files: list[list[str]] = [[]]
    lines = files[0]
    for number in range(1, own + 1):
        lines += [
            "[[substance]]", f'id = "{prefix}-extract-{number:04d}"', f'name = "Clinic plant extract {number}"',
            f'aliases = ["house extract {number}"]', 'class = "plant-extract"', 'role = "active"',
            'origin = "plant-other"', 'evidence = "unsourced"', "sources = []", "",
        ]
    weights = [w for w, _, _ in _FAMILIES]
    for number in range(1, count + 1):
        if number > 1 and (number - 1) % per_file == 0:
            lines = []
            files.append(lines)
        _, main, extra = rng.choices(_FAMILIES, weights=weights)[0]
        picked = [pick(main)]
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            if extra:
                candidate = pick(extra)
                if candidate not in picked:
                    picked.append(candidate)
        if number % 500 == 0:
            picked.append(f"{prefix}-extract-{rng.randint(1, own):04d}")
        dose = rng.choice(["single", "single", "multi", "unknown"])
        vehicle = rng.choice(["aqueous", "aqueous", "aqueous", "gel", "oily", "unknown"])
        names = [actives[s]["name"] if s in actives else s for s in picked]
        lines += [
            "[[product]]",
            f'id = "{prefix}-product-{number:06d}"',
            f"name = {_toml_str('Clinic ' + ' + '.join(names) + f' no. {number}')}",
            f"aliases = [\"{prefix} {number}\"]" if rng.random() < 0.3 else "aliases = []",
            "generic = true",
            f'vehicle = "{vehicle}"',
            f'dose = "{dose}"',
            f'status = "{rng.choice(["medicine", "medicine", "device", "compounded", "unknown"])}"',
            f'container_volume = "{rng.choice([1, 2, 2.5, 3, 5, 10, 20])} mL"',
            f"do_not_admix = {str(rng.random() < 0.03).lower()}",
            f"areas = {json.dumps(rng.sample(areas, rng.choice([0, 0, 1, 1, 2, 3])))}",
            'evidence = "unsourced"',
            "sources = []",
        ]
        components = [(s, strength(s) if not s.startswith(prefix) else None, "active") for s in picked]
        if dose == "multi" or rng.random() < 0.1:
            components.append((*rng.choice(_PRESERVATIVES), "excipient"))
        if any(s in ("epinephrine", "ascorbic-acid") for s in picked) and rng.random() < 0.7:
            components.append((*rng.choice(_ANTIOXIDANTS), "excipient"))
        if rng.random() < 0.4:
            components.append((*rng.choice(_OTHER_EXCIPIENTS), "excipient"))
        if vehicle == "aqueous" and rng.random() < 0.5:
            components.append((*rng.choice(_VEHICLES), "vehicle"))
        seen: set[str] = set()
        for substance, concentration, role in components:
            if substance in seen:
                continue
            seen.add(substance)
            lines += ["", "[[product.component]]", f'substance = "{substance}"', f'role = "{role}"']
            if concentration is not None:
                lines.append(f'concentration = "{concentration}"')
        lines.append("")
    return ["\n".join([heading.format(n, len(files)), "", *body]) + "\n" for n, body in enumerate(files, 1)]
