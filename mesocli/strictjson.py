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


def refuse_unknown_keys(data: Any, known: Any, what: str) -> None:
    """Raise :class:`InputError` when ``data`` has a key not in ``known``, naming each such key
    and, when one is close (another case, a typing slip), the key that was probably meant.

    A key meso does not read would otherwise be ignored, and a misspelled ``"Volume"`` would let
    a check pass without the volume it was given.
    """
    unknown = [key for key in data if key not in known]
    if unknown:
        named = ", ".join(f"{_shown(key)}{_hint(key, known)}" for key in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise InputError(f"{what}: unknown field(s) {named}{more}; "
                         f"expected one of {', '.join(_listed(known))}")


def refuse_both(data: Any, first: str, second: str, what: str) -> None:
    """Raise :class:`InputError` when ``data`` has both ``first`` and ``second``: an ambiguous shape."""
    if first in data and second in data:
        raise InputError(f"{what}: give '{first}' or '{second}', not both (the document is ambiguous)")


def likely_key(key: Any, known: Any) -> str | None:
    """The known key ``key`` was probably meant to be: the same in another case or spelling."""
    if not isinstance(key, str):
        return None
    folded = _fold(key)
    for candidate in sorted(known):
        if _fold(candidate) == folded:
            return str(candidate)
    import difflib

    close = difflib.get_close_matches(folded, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _listed(known: Any) -> list[str]:
    """The known keys in their given order, or sorted when they come as a set."""
    return sorted(known) if isinstance(known, set | frozenset) else list(known)


def _fold(key: str) -> str:
    return key.casefold().strip().replace("-", "_").replace(" ", "_")


def _hint(key: Any, known: Any) -> str:
    meant = likely_key(key, known)
    return f" (did you mean {meant!r}?)" if meant else ""


def _shown(key: Any) -> str:
    text = repr(key[:40] if isinstance(key, str) else key)
    return text.encode("ascii", "backslashreplace").decode("ascii")
