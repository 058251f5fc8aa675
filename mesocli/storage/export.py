"""Write substances, products and FHIR codes back out in the catalogue's TOML text format.

The output is what ``meso catalogue import`` reads, so a clinic's rows can be reviewed, kept
under version control and moved between databases. Reading it back gives the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mesocli.domain.model import FhirCode, Product, Provenance, Substance


def export_toml(substances: Iterable[Substance], products: Iterable[Product], *, header: str,
                codes: Iterable[FhirCode] = ()) -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for s in substances:
        lines += ["", "[[substance]]"]
        lines += _fields({
            "id": s.id, "name": s.name, "aliases": list(s.aliases), "class": s.cls, "role": s.role,
            "origin": s.origin, "unii": s.unii, "injectable": s.injectable, "status": s.status,
            "iu_mass": s.iu_mass, "notes": s.notes, "dose_as": s.dose_as,
        })
        lines += _provenance(s.provenance)
    for p in products:
        lines += ["", "[[product]]"]
        lines += _fields({
            "id": p.id, "name": p.name, "aliases": list(p.aliases), "generic": p.generic,
            "vehicle": p.vehicle, "ph": p.ph, "dose": p.dose, "status": p.status,
            "container_volume": p.container_volume, "do_not_admix": p.do_not_admix,
            "areas": list(p.areas), "notes": p.notes,
        })
        lines += _provenance(p.provenance)
        for c in p.components:
            lines += ["", "[[product.component]]"]
            lines += _fields({"substance": c.substance, "role": c.role, "concentration": c.concentration})
    for code in codes:
        if code.kind == "observation":
            lines += ["", "[[observation]]"]
            lines += _fields({"system": code.system, "code": code.code, "display": code.display,
                              "reads": code.reads})
        elif code.term is None:
            lines += ["", "[[none]]"]
            lines += _fields({"system": code.system, "codes": [code.code], "kind": code.kind})
        else:
            lines += ["", "[[code]]"]
            lines += _fields({"system": code.system, "code": code.code, "display": code.display,
                              "kind": code.kind, "term": code.term, "history": code.history or None})
        lines += _provenance(code.provenance)
    return "\n".join(lines) + "\n"


def _fields(values: dict[str, Any]) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in values.items() if value is not None]


def _provenance(provenance: Provenance) -> list[str]:
    lines = [f"evidence = {_value(provenance.evidence)}"]
    if not provenance.sources:
        return [*lines, "sources = []"]
    lines.append("sources = [")
    for source in provenance.sources:
        # a grade is written only where it is not the row's own (the reader's default)
        parts = {"title": source.title, "url": source.url,
                 "grade": source.grade if source.grade != provenance.evidence else None}
        inner = ", ".join(f"{k} = {_value(v)}" for k, v in parts.items() if v is not None)
        lines.append(f"  {{{inner}}},")
    return [*lines, "]"]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    return _string(str(value))  # an Amount: "20 mg/mL"


def _string(text: str) -> str:
    # JSON's string escapes are a subset of TOML's basic-string escapes; TOML also forbids a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
