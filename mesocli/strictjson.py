"""JSON as meso reads it from users: no NaN or Infinity, and no key repeated in one object
(a repeated key would silently drop a value, an allergy say)."""

from __future__ import annotations

import json
from typing import Any

from mesocli.errors import InputError


def loads(text: str) -> Any:
    """Parse ``text``; raises :class:`json.JSONDecodeError` for bad syntax, :class:`InputError`
    for a non-finite constant or a repeated key, :class:`RecursionError` for deep nesting."""
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):
            return _DECODER.decode(text)
        # Bytes, and text with a byte-order mark, take json.loads's own path (and its errors).
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except ValueError:  # Python refuses to read a whole number of more than 4,300 digits
        raise InputError("a number with thousands of digits is not a valid number in meso's input") from None


def _reject_constant(name: str) -> Any:
    raise InputError(f"{name} is not a valid number in meso's input")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InputError(f"key {key[:40]!r} appears twice in one object")
            seen.add(key)
    return result


# One decoder for every call (json.loads would build a new one each time it is given options).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
