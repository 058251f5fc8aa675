"""Which catalogue answered: its identity, as every JSON document carries it.

The identity is the schema revision, a SHA-256 of the catalogue's content and the count of
rows a clinic imported. The hash is taken over a canonical text of the loaded catalogue (every
substance, product, group, rule, ... with every field; collections in a fixed order), so the
same catalogue gives the same hash wherever it is stored (the shipped file, a copy, a clinic's
SQLite or PostgreSQL database), and any change to a fact changes it. It is computed once per
loaded catalogue and kept with it (and with its snapshot).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

# The catalogue's collections, in the order they are hashed. A collection a catalogue lacks is
# left out, so the hash follows the content whatever shape the catalogue's class takes.
PARTS = ("substances", "products", "groups", "crosses", "conditions", "medication_classes", "medications",
         "areas", "indications", "protocols", "rules", "defaults", "fhir_codes", "unrelated", "distinctions")
ATTRIBUTE = "content_identity"


def catalogue_identity(catalogue: Any) -> dict[str, Any]:
    """``{"schema_revision", "content_sha256", "clinic_rows"}`` of ``catalogue`` (a fresh dict)."""
    found = getattr(catalogue, ATTRIBUTE, None)
    if found is None:
        found = {
            "schema_revision": getattr(catalogue, "revision", None),
            "content_sha256": content_sha256(catalogue),
            "clinic_rows": clinic_rows(catalogue),
        }
        setattr(catalogue, ATTRIBUTE, found)
    return dict(found)


def clinic_rows(catalogue: Any) -> int:
    """How many substances, products and FHIR codes a clinic imported (marked local)."""
    total = 0
    for part in ("substances", "products", "fhir_codes"):
        value = getattr(catalogue, part, ())
        total += sum(1 for entry in (value.values() if isinstance(value, dict) else value)
                     if getattr(entry, "local", False))
    return total


def content_sha256(catalogue: Any) -> str:
    """The SHA-256 of the canonical text of ``catalogue``'s content."""
    digest = hashlib.sha256()
    for part in PARTS:
        value = getattr(catalogue, part, None)
        if value is None:
            continue
        entries = value.values() if isinstance(value, dict) else value
        # The order rows come from a database in is not content: each collection is sorted.
        texts = sorted(_text(_plain(entry)) for entry in entries)
        digest.update(f"{part}:{len(texts)}\n".encode())
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass"))
            digest.update(b"\n")
    return digest.hexdigest()


_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr,
                           check_circular=False).encode


def _text(value: Any) -> str:
    return _encode(value)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data with a fixed order: a dataclass as its class name and its
    fields' values in declaration order (not those derived from the others, such as an amount's
    canonical number), sets sorted, dicts by key."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(kind):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind) if not f.metadata.get("derived"))
    if names is not None:
        return [kind.__name__, *[_plain(getattr(value, name)) for name in names]]
    if kind is tuple or kind is list:
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) for item in value), key=_text)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return str(value)
