"""The strict JSON reader: the same values and the same errors as a plain, pair-by-pair reading."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import strictjson
from mesocli.errors import InputError


def _reference_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"key {key[:40]!r} appears twice in one object")
        result[key] = value
    return result


def _reference_constant(name: str) -> Any:
    raise InputError(f"{name} is not a valid number in meso's input")


def _reference(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_reference_constant, object_pairs_hook=_reference_pairs)


def _outcome(read, text):  # type: ignore[no-untyped-def]
    try:
        return ("value", read(text))
    except json.JSONDecodeError as exc:
        return ("syntax", exc.msg, exc.pos)
    except InputError as exc:
        return ("input", exc.message)


_keys = st.sampled_from(["a", "b", "id", "allergies", "x" * 50, "é"])
_scalar_text = st.one_of(st.sampled_from(["1", "1.0", "-0", "true", "null", '"t"', "NaN", "Infinity", "-Infinity",
                                          "1e400"]), st.integers().map(str))


@st.composite
def _json_text(draw, depth: int = 0) -> str:  # type: ignore[no-untyped-def]
    if depth >= 3 or draw(st.booleans()):
        return draw(_scalar_text)
    if draw(st.booleans()):
        return "[" + ",".join(draw(st.lists(_json_text(depth + 1), max_size=3))) + "]"
    pairs = draw(st.lists(st.tuples(_keys, _json_text(depth + 1)), max_size=4))  # keys may repeat
    return "{" + ",".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}"


@settings(max_examples=300, deadline=None)
@given(_json_text(), st.sampled_from(["", " ", "\ufeff", "x"]), st.sampled_from(["", " ", "]"]))
def test_reads_as_a_pair_by_pair_reading_does(text, prefix, suffix):
    """Values, repeated-key and constant errors, and syntax errors all match the plain reading."""
    whole = prefix + text + suffix
    assert _outcome(strictjson.loads, whole) == _outcome(_reference, whole)
    assert _outcome(strictjson.loads, whole.encode()) == _outcome(_reference, whole.encode())


def test_the_first_repeated_key_is_named():
    with pytest.raises(InputError, match="'b' appears twice"):
        strictjson.loads('{"a": 1, "b": 2, "b": 3, "a": 4}')
