"""``encoder_of``: the same text as ``JSONEncoder.encode``, from an encoder built once."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli.render.jsontext import encoder_of

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
