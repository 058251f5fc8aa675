"""Incompatibilities: ``a`` must not share a syringe with ``b`` (an ingredient, a class or ``*``).

Every rule of the shipped catalogue is held against pairs of ingredients in one syringe: the
check finds it exactly when the other ingredient is ``b``, holds ``b``, holds a member of
``b``'s class, or ``b`` is ``*`` (what :func:`refs_of` lists for an ingredient).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.domain.engine import _item
from mesocli.domain.patient import ResolvedPatient
from mesocli.domain.rules import incompatibility
from mesocli.domain.rules.base import CheckOptions, Context


@pytest.fixture(scope="module")
def cat():
    return api.load_catalogue()


def _refs(cat, kind: str, entry_id: str) -> frozenset[str]:
    if kind == "product":
        return cat.product_refs(entry_id)
    substance = cat.substances[entry_id]
    return incompatibility.refs_of(None, [entry_id], [substance.cls])


def test_the_catalogue_has_incompatibilities_by_ingredient_and_by_class(cat):
    bs = [rule.params.b for rule in cat.rules_by_kind["incompatibility"]]
    assert any(b.startswith("class:") for b in bs) and any(not b.startswith("class:") for b in bs)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_an_incompatibility_is_found_exactly_when_the_other_ingredient_holds_b(cat, data):
    rules = cat.rules_by_kind["incompatibility"]
    entries = [*(("product", pid) for pid in sorted(cat.products)),
               *(("substance", sid) for sid in sorted(cat.substances))]
    rule = data.draw(st.sampled_from(rules))  # an ingredient that is the ``a`` of a rule, and any other
    first = data.draw(st.sampled_from([e for e in entries if rule.params.a in _refs(cat, *e)]))
    other = data.draw(st.sampled_from([e for e in entries if e[1] != first[1]]))
    ctx = Context(cat, ResolvedPatient(), [_item(cat, *first), _item(cat, *other)], CheckOptions(), screened=False)
    found = {(f.subject, f.trigger, f.message) for f in incompatibility.evaluate(ctx)}
    expected = {(x[1], y[1], r.message) for x, y in ((first, other), (other, first)) for r in rules
                if r.params.a in _refs(cat, *x) and (r.params.b == "*" or r.params.b in _refs(cat, *y))}
    assert found == expected


def test_the_index_holds_the_rules_each_ingredient_alone_is_the_a_of(cat):
    """What the check reads from the index for a catalogue product or a lone substance is what
    matching its references against every rule gives."""
    for kind, entries in (("product", cat.products), ("substance", cat.substances)):
        index = cat.product_incompatible_as_a if kind == "product" else cat.substance_incompatible_as_a
        for entry_id in entries:
            expected = incompatibility.as_a(cat, _refs(cat, kind, entry_id))
            assert index.get(entry_id, ()) == expected, entry_id
            item = _item(cat, kind, entry_id)
            ctx = Context(cat, ResolvedPatient(), [item], CheckOptions(), screened=False)
            assert incompatibility._as_a(ctx, item) == expected, entry_id
    assert cat.substance_incompatible_as_a  # the comparison is not empty
