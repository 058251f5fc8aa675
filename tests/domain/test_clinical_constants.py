"""The engine's and the formulator's constants come from the catalogue (data/clinical.toml):
change a row and the behaviour follows; a catalogue without them is refused; bad values are
rejected when the catalogue is read."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mesocli import api
from mesocli.config import data_dir
from mesocli.domain.catalogue import Catalogue
from mesocli.domain.model import EVIDENCE_GRADES
from mesocli.domain.patient import Patient
from mesocli.errors import CatalogueDataError, DatabaseError
from mesocli.storage.text import FILES, load_toml, parse_documents, validate_references


def _rebuilt(cat: Catalogue, *, rules: Any = None, defaults: Any = None) -> Catalogue:
    """The shipped catalogue with other rules or formulation defaults."""
    return Catalogue(
        substances=cat.substances.values(), products=cat.products.values(), groups=cat.groups.values(),
        crosses=cat.crosses, conditions=cat.conditions.values(),
        medication_classes=cat.medication_classes.values(), medications=cat.medications.values(),
        areas=cat.areas.values(), indications=cat.indications.values(), protocols=cat.protocols,
        rules=cat.rules if rules is None else rules,
        defaults=cat.defaults.values() if defaults is None else defaults)


def _docs(**clinical_defaults: str) -> dict[str, Any]:
    docs = {name: load_toml(data_dir() / name) for name in FILES}
    for row in docs["clinical.toml"]["formulation_default"]:
        if row["key"] in clinical_defaults:
            row["value"] = clinical_defaults[row["key"]]
    return docs


def _withdrawn_substance(cat: Catalogue) -> str:
    return next(s.id for s in sorted(cat.substances.values(), key=lambda s: s.id) if s.status == "withdrawn")


def test_status_findings_are_worded_by_their_rule(catalogue):
    """The withdrawn finding's severity, message and advice are those of the [[status_withdrawn]] rule."""
    sid = _withdrawn_substance(catalogue)
    rule = catalogue.rules_by_kind["status_withdrawn"][0]
    reworded = dataclasses.replace(rule, severity="caution", message="{name}: off the market.", advice="Check.")
    cat = _rebuilt(catalogue, rules=[reworded if r is rule else r for r in catalogue.rules])
    found = [f for f in api.check(Patient(), ingredients=[sid], catalogue=cat).findings if f.trigger == "withdrawn"]
    assert [(f.severity, f.message.split(".")[0], f.advice) for f in found] == [
        ("caution", f"{cat.substances[sid].name}: off the market", "Check.")]


def test_a_catalogue_without_a_status_wording_is_refused(catalogue):
    """Without its wording rule a withdrawn ingredient is not waved through: the check is refused."""
    sid = _withdrawn_substance(catalogue)
    cat = _rebuilt(catalogue, rules=[r for r in catalogue.rules if r.kind != "status_withdrawn"])
    with pytest.raises(DatabaseError, match=r"\[\[status_withdrawn\]\].*meso db upgrade"):
        api.check(Patient(), ingredients=[sid], catalogue=cat)


def test_adjunct_classes_come_from_the_catalogue(catalogue):
    """An anaesthetic with no recorded fit is an adjunct only while an [[adjunct_class]] rule names its class."""
    def fit_cautions(cat: Catalogue) -> list[str]:
        result = api.check(Patient(), ingredients=["lidocaine"], indication="hair-loss", catalogue=cat)
        return [f.subject for f in result.findings if f.kind == "fit" and f.severity == "caution"]

    assert fit_cautions(catalogue) == []
    without = [r for r in catalogue.rules
               if not (r.kind == "adjunct_class" and r.scope.ref == "local-anaesthetic")]
    assert fit_cautions(_rebuilt(catalogue, rules=without)) == ["lidocaine"]


def test_the_diluent_is_the_catalogues(catalogue):
    """The formulator makes up volume with the product the "diluent" default names."""
    def diluents(cat: Catalogue) -> set[str]:
        recipe = api.build("hyperpigmentation", Patient(), volume="4 mL", catalogue=cat)
        return {c.product.id for s in recipe.syringes for c in s.components if c.purpose == "diluent"}

    assert diluents(catalogue) == {"sodium-chloride-0-9pct"}
    defaults = [dataclasses.replace(d, value="sterile-water-for-injection") if d.key == "diluent" else d
                for d in catalogue.defaults.values()]
    assert diluents(_rebuilt(catalogue, defaults=defaults)) == {"sterile-water-for-injection"}


def test_no_anaesthetic_where_a_purpose_conflict_would_concern_one(catalogue):
    """The formulator leaves the anaesthetic out exactly where the engine's purpose-conflict
    matching would flag one: with the rule gone, an anaesthetic is added."""
    def anaesthetics(cat: Catalogue) -> list[str]:
        recipe = api.build("cellulite", Patient(), volume="4 mL", treatment_area="100 cm^2",
                           catalogue=cat)
        return [c.product.id for s in recipe.syringes for c in s.components if c.purpose == "anaesthetic"]

    assert anaesthetics(catalogue) == []
    without = [r for r in catalogue.rules
               if not (r.kind == "purpose_conflict" and r.params.indication == "cellulite"
                       and r.scope.ref == "local-anaesthetic")]
    assert anaesthetics(_rebuilt(catalogue, rules=without)) != []


def test_the_evidence_order_lists_every_grade_once():
    """The shipped evidence order is the grades' order, and an order missing a grade is rejected."""
    shipped = next(d for d in parse_documents(_docs()).defaults if d.key == "evidence-order")
    assert tuple(shipped.value.split()) == EVIDENCE_GRADES
    with pytest.raises(CatalogueDataError, match="evidence-order"):
        validate_references(parse_documents(_docs(**{"evidence-order": "label peer-reviewed reference"})))


@pytest.mark.parametrize(("key", "value"), [("diluent", "no-such-product"),
                                            ("amide-anaesthetic-group", "no-such-group"),
                                            ("vasoconstrictor-class", "no-such-class")])
def test_a_constant_naming_nothing_is_rejected(key: str, value: str):
    """A formulator constant that names no product, group or class stops the catalogue build."""
    with pytest.raises(CatalogueDataError, match=key):
        validate_references(parse_documents(_docs(**{key: value})))
