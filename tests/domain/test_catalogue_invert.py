"""The catalogue's inverted indexes (item -> owners): each owner once, in the order first met."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mesocli.domain.catalogue import _invert


def _the_long_way(pairs):
    out: dict[str, list[str]] = {}
    for owner, items in pairs:
        for item in items:
            owners = out.setdefault(item, [])
            if owner not in owners:
                owners.append(owner)
    return {item: tuple(owners) for item, owners in out.items()}


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.lists(st.sampled_from("uvwxyz"), max_size=4)), max_size=12))
def test_each_owner_once_in_the_order_first_met(pairs):
    assert _invert(pairs) == _the_long_way(pairs)
    assert list(_invert(pairs)) == list(_the_long_way(pairs))


def test_products_by_substance_names_each_product_once(catalogue):
    for substance, products in catalogue.products_by_substance.items():
        assert len(products) == len(set(products))
        assert all(substance in catalogue.products[p].substance_ids() for p in products)
