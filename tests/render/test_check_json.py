"""The check document as compact JSON text (what a batch line holds) equals the serialised document."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.domain.engine import Alternative, CheckResult, Finding
from mesocli.domain.patient import Patient
from mesocli.render.documents import check_document
from mesocli.render.jsontext import compact, printable

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compact(document: object) -> str:
    # json.dumps leaves DEL, C1 controls and invisible format characters raw; meso escapes them
    return printable(json.dumps(document, ensure_ascii=False, separators=(",", ":")))


_text = st.text(max_size=12)
_findings = st.builds(
    Finding, st.sampled_from(["contraindicated", "caution", "info"]), _text, _text, _text, _text,
    st.lists(_text, max_size=3).map(tuple), _text, st.none() | _text, st.none() | _text, st.none() | _text,
)
_results = st.builds(
    CheckResult, st.sampled_from(["ok", "caution", "contraindicated"]), st.lists(_findings, max_size=4).map(tuple),
    st.lists(st.builds(Alternative, _text, st.lists(_text, max_size=3).map(tuple), st.none() | _text),
             max_size=2).map(tuple),
    st.booleans(), st.none(), st.lists(_text, max_size=3).map(tuple),
)


@PROPERTY
@given(_results)
def test_any_result_reads_as_its_document(result):
    """Any text (quotes, control characters, non-ASCII) comes out as the serialised document has it."""
    assert compact(check_document(result)) == _compact(check_document(result))
    assert json.loads(compact(check_document(result))) == json.loads(json.dumps(check_document(result)))


@PROPERTY
@given(data=st.data())
def test_checks_and_screens_read_as_their_documents(catalogue, data):
    """Real checks and screens (findings, alternatives, checked list) serialise as their documents."""
    names = sorted(catalogue.products) + sorted(catalogue.substances)
    patient = Patient(
        allergies=tuple(data.draw(st.lists(st.sampled_from(sorted(catalogue.substances) + sorted(catalogue.groups)),
                                           max_size=3))),
        conditions=tuple(data.draw(st.lists(st.sampled_from(sorted(catalogue.conditions)), max_size=2))),
        medications=tuple(data.draw(st.lists(st.sampled_from(sorted(catalogue.medications)), max_size=2))),
        age=data.draw(st.none() | st.integers(0, 130)),
    )
    ingredients = data.draw(st.lists(st.sampled_from(names), max_size=4))
    indication = data.draw(st.none() | st.sampled_from(sorted(catalogue.indications)))
    result = api.check(patient, ingredients=ingredients, indication=indication, catalogue=catalogue)
    assert compact(check_document(result)) == _compact(check_document(result))
    assert json.loads(compact(check_document(result))) == check_document(result)
