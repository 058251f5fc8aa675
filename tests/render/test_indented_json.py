"""``indented``: the same text as ``json.dumps(..., ensure_ascii=False, indent=2)``, by orjson or
by the C encoder. Documents hold finite numbers only (meso refuses NaN and infinity wherever a
number comes in), so the properties draw finite floats, small ones included."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli.render.jsontext import indented

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                     st.floats(min_value=-1e-3, max_value=1e-3), st.text(max_size=8))
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.tuples(children, children),
                               st.dictionaries(st.text(max_size=5), children, max_size=4)),
    max_leaves=25,
)


def _standard(document):
    return json.dumps(document, ensure_ascii=False, indent=2)


@settings(max_examples=400, deadline=None, database=None)
@given(document=_values)
def test_gives_exactly_what_the_standard_library_gives(document):
    assert indented(document) == _standard(document)


@settings(max_examples=100, deadline=None, database=None)
@given(document=st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none(), st.text(max_size=3)),
                                _values, max_size=4))
def test_keys_that_are_not_text_are_converted_as_json_converts_them(document):
    assert indented(document) == _standard(document)
    assert indented([document, {"a": [document]}]) == _standard([document, {"a": [document]}])


def test_deep_and_empty_containers():
    document = {"a": [], "b": {}, "c": [[], {}, [[1, [2, {"d": ()}]]]], "e": {"f": {"g": {"h": [None]}}}}
    assert indented(document) == _standard(document)
    assert indented([]) == "[]" and indented({}) == "{}" and indented("x\u2028") == _standard("x\u2028")


def test_a_check_document_reads_back_the_same(catalogue):
    from mesocli import Patient, check
    from mesocli.render.documents import check_document

    document = check_document(check(Patient(allergies=["lidocaine"]), catalogue=catalogue), catalogue)
    assert indented(document) == _standard(document)


def test_an_everyday_document_is_written_by_orjson(monkeypatch, catalogue):
    from mesocli import Patient, check
    from mesocli.render import jsontext
    from mesocli.render.documents import check_document

    document = check_document(check(Patient(allergies=["lidocaine"]), catalogue=catalogue), catalogue)
    expected = _standard(document)

    def refuse(*_args):
        raise AssertionError("the Python walk was used")

    monkeypatch.setattr(jsontext, "_indented", refuse)
    assert indented(document) == expected
