"""``encoder_of``: the same text as ``JSONEncoder.encode``, from an encoder built once; ``compact``:
the standard library's compact text, written by orjson where that gives the same text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli.render import jsontext
from mesocli.render.jsontext import compact, compact_utf8, encoder_of, printable

_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.tuples(children, children),
                               st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=12,
)

_CONFIGURATIONS = [
    {"ensure_ascii": False, "separators": (",", ":")},
    {"sort_keys": True},
    {"ensure_ascii": True, "separators": (", ", ": "), "sort_keys": True},
]


@pytest.mark.parametrize("options", _CONFIGURATIONS)
@settings(max_examples=200, deadline=None, database=None)
@given(document=_values)
def test_gives_exactly_what_the_encoder_gives(options, document):
    template = json.JSONEncoder(check_circular=False, **options)
    encode = encoder_of(template)
    assert encode(document) == template.encode(document)
    assert encode(document) == template.encode(document)  # and again: nothing is left over from a call


def test_a_failed_call_leaves_the_next_one_unharmed():
    encode = encoder_of(json.JSONEncoder(check_circular=False))
    with pytest.raises(TypeError):
        encode({"a": [1, object()]})
    assert encode({"a": [1, 2]}) == '{"a": [1, 2]}'


def test_an_encoder_that_checks_for_cycles_is_refused():
    with pytest.raises(ValueError, match="check_circular"):
        encoder_of(json.JSONEncoder())


# ------------------------------------------------------------------ compact: orjson, checked

_small_floats = st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False, allow_infinity=False)
_compact_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              _small_floats, st.text(max_size=12), st.sampled_from(["e-1", "type-1,", "0.00001", "e-5]"])),
    lambda children: st.one_of(st.lists(children, max_size=3), st.tuples(children, children),
                               st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=12,
)


def _nested(depth):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _stdlib(document):
    return printable(json.dumps(document, ensure_ascii=False, separators=(",", ":")))


@settings(max_examples=500, deadline=None, database=None)
@given(document=_compact_values)
def test_compact_is_the_standard_librarys_text(document):
    """Whatever orjson would write differently (small floats, huge integers, lone surrogates,
    invisible characters) comes out as the standard library writes it, escaped as printable."""
    assert compact(document) == _stdlib(document)
    # in UTF-8, as a batch writes it; a lone surrogate (refused in meso's input) as an escape
    assert compact_utf8(document) == _stdlib(document).encode("utf-8", "backslashreplace")


@pytest.mark.parametrize("document", [
    {"a": 1e-05}, [2.5e-06], 1e-07, {"n": 2**64}, {"n": -(2**63) - 1}, {1: "key not text"},
    {"s": "\ud800"}, {"s": "bidi \u202e and DEL \x7f"}, {"deep": _nested(300)},
])
def test_compact_cases_orjson_writes_otherwise(document):
    assert compact(document) == _stdlib(document)
    assert compact_utf8(document) == _stdlib(document).encode("utf-8", "backslashreplace")


def test_compact_refuses_what_json_cannot_write():
    with pytest.raises(TypeError):
        compact({"a": object()})
    with pytest.raises(TypeError):
        compact({"when": __import__("datetime").date(2026, 1, 1)})


def test_a_plain_document_is_written_by_orjson(monkeypatch):
    """The fast writer is the one used for an everyday document (the standard library only
    for the cases above)."""
    document = {"id": "c1", "findings": [{"severity": "info", "message": "Age not stated; 18 years.",
                                          "sources": ["Kybella label <https://dailymed.nlm.nih.gov/>"]}],
                "verdict": "Verdict: OK.", "count": 3, "ratio": 0.25, "flag": True, "none": None}
    expected = _stdlib(document)

    def refuse(_document):
        raise AssertionError("the standard library was used")

    monkeypatch.setattr(jsontext, "_stdlib_compact", refuse)
    assert compact(document) == expected
    assert compact_utf8(document) == expected.encode()
