"""Per-session dose caps of the systemic actives, through ``meso check --json``.

For every per-session cap of the catalogue, a session just above it must give a ``dose`` finding
of the cap's severity for that substance, and a session just below it must not. The table is
checked against ``data/rules.toml`` so that a cap added there without a case here fails.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RULES = Path(__file__).resolve().parents[3] / "data" / "rules.toml"


@dataclass(frozen=True)
class Cap:
    substance: str
    severity: str
    cap_mg: float
    component: dict[str, Any]  # a product id, or a hand-mixed substance with its concentration
    mg_per_ml: float


def _product(pid: str) -> dict[str, Any]:
    return {"id": pid}


def _mixed(sid: str, concentration: str) -> dict[str, Any]:
    return {"substances": [{"id": sid, "concentration": concentration}]}


CAPS = [
    Cap("minoxidil", "caution", 10, _product("minoxidil-0-5pct"), 5),
    Cap("minoxidil", "contraindicated", 100, _mixed("minoxidil", "20 mg/mL"), 20),
    Cap("dutasteride", "caution", 0.5, _product("dutasteride-0-05pct"), 0.5),
    Cap("tranexamic-acid", "caution", 100, _product("tranexamic-acid-100mg-ml"), 100),
    Cap("tranexamic-acid", "contraindicated", 1000, _product("tranexamic-acid-100mg-ml"), 100),
    Cap("aminophylline", "caution", 250, _product("aminophylline-25mg-ml"), 25),
    Cap("aminophylline", "contraindicated", 500, _product("aminophylline-25mg-ml"), 25),
    Cap("caffeine", "caution", 250, _mixed("caffeine", "125 mg/mL"), 125),
    Cap("caffeine", "contraindicated", 500, _mixed("caffeine", "125 mg/mL"), 125),
    Cap("phosphatidylcholine", "caution", 2500, _product("pc-dc-injection"), 50),
    Cap("procaine", "caution", 350, _mixed("procaine", "20 mg/mL"), 20),
    Cap("procaine", "contraindicated", 600, _mixed("procaine", "20 mg/mL"), 20),
    Cap("deoxycholic-acid", "contraindicated", 100, _product("deoxycholic-acid-10mg-ml"), 10),
]


def _session_caps() -> set[tuple[str, str, float]]:
    """(substance, severity, cap in mg) of every per-session dose limit in the catalogue."""
    rules = tomllib.loads(RULES.read_text(encoding="utf-8"))["dose_limit"]
    out = set()
    for rule in rules:
        if rule["kind"] != "per-session":
            continue
        value, unit = rule["cap"].split()
        assert unit == "mg", f"{rule['substance']}: per-session cap not in mg: {rule['cap']}"
        out.add((rule["substance"], rule["severity"], float(value)))
    return out


def test_every_per_session_cap_has_a_case() -> None:
    assert _session_caps() == {(c.substance, c.severity, float(c.cap_mg)) for c in CAPS}


def _volume(cap: Cap, factor: float) -> str:
    return f"{cap.cap_mg * factor / cap.mg_per_ml:.6g} mL"


def _check(meso, volume: str, cap: Cap, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    recipe = {"syringes": [{"components": [{**cap.component, "volume": volume}]}]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe.json"
        path.write_text(json.dumps(recipe), encoding="utf-8")
        # deoxycholic acid also has a per-area limit: give an area that allows well above its cap
        result = meso("check", "--json", "--recipe", str(path), "--treatment-area", "500 cm^2", *extra)
    assert result.exit_code in (0, 1), result.stderr
    return result.json()["findings"]


def _cap_findings(findings: list[dict[str, Any]], cap: Cap) -> list[dict[str, Any]]:
    subject = cap.component.get("id", cap.substance)
    return [
        f for f in findings
        if f["kind"] == "dose" and f["trigger"] == cap.substance and f["subject"] == subject
        and f["severity"] == cap.severity and f"limit {cap.cap_mg:g} mg" in f["message"]
    ]


@pytest.mark.parametrize("cap", CAPS, ids=lambda c: f"{c.substance}-{c.severity}-{c.cap_mg:g}mg")
def test_just_above_the_cap_fires(meso, cap: Cap) -> None:
    findings = _check(meso, _volume(cap, 1.1), cap)
    hits = _cap_findings(findings, cap)
    assert len(hits) == 1, json.dumps(findings, indent=1)
    assert hits[0]["sources"], "a dose finding cites its sources"


@pytest.mark.parametrize("cap", CAPS, ids=lambda c: f"{c.substance}-{c.severity}-{c.cap_mg:g}mg")
def test_just_below_the_cap_does_not_fire(meso, cap: Cap) -> None:
    findings = _check(meso, _volume(cap, 0.9), cap)
    assert not _cap_findings(findings, cap), json.dumps(findings, indent=1)


def test_contraindicated_cap_sets_the_status_and_exit_code(meso) -> None:
    cap = next(c for c in CAPS if c.substance == "aminophylline" and c.severity == "contraindicated")
    recipe = {"syringes": [{"components": [{**cap.component, "volume": "24 mL"}]}]}  # 600 mg
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe.json"
        path.write_text(json.dumps(recipe), encoding="utf-8")
        result = meso("check", "--json", "--recipe", str(path))
    assert result.exit_code == 1
    assert result.json()["status"] == "contraindicated"


def test_amounts_add_up_across_syringes(meso) -> None:
    """Two syringes of 6 mg minoxidil each make 12 mg in the session: over the 10 mg cap."""
    cap = CAPS[0]
    recipe = {"syringes": [{"components": [{**cap.component, "volume": "1.2 mL"}]} for _ in range(2)]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe.json"
        path.write_text(json.dumps(recipe), encoding="utf-8")
        findings = meso("check", "--json", "--recipe", str(path)).json()["findings"]
    hits = _cap_findings(findings, cap)
    assert hits and "12 mg" in hits[0]["message"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cap=st.sampled_from(CAPS), factor=st.floats(min_value=0.05, max_value=3.0).filter(
    lambda f: abs(f - 1) > 0.01))
def test_a_cap_fires_exactly_when_the_session_exceeds_it(meso, cap: Cap, factor: float) -> None:
    hits = _cap_findings(_check(meso, _volume(cap, factor), cap), cap)
    assert bool(hits) == (factor > 1)


def test_a_capped_substance_of_unknown_strength_is_a_caution_not_ok(meso) -> None:
    """The catalogue's caffeine injection has no sourced concentration: its amount cannot be
    checked against the caffeine caps, and the check says so instead of passing it."""
    recipe = {"syringes": [{"components": [{"id": "caffeine-injection", "volume": "2 mL"}]}]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe.json"
        path.write_text(json.dumps(recipe), encoding="utf-8")
        doc = meso("check", "--json", "--recipe", str(path)).json()
    hits = [f for f in doc["findings"] if f["kind"] == "dose" and f["trigger"] == "caffeine"]
    assert hits and all(f["severity"] == "caution" for f in hits)
    assert all("cannot be worked out" in f["message"] for f in hits)
    assert doc["status"] != "ok"


# ------------------------------------------------------------------ the Kybella caps: submental only
def _syringe_volumes(doc: dict[str, Any]) -> list[str]:
    return [f"{s['total_volume']['value']:g} {s['total_volume']['unit']}" for s in doc["syringes"]]


def test_kybella_caps_do_not_cut_a_body_pc_dc_plan(meso) -> None:
    """The deoxycholic acid label's caps (100 mg, 2 mg/cm2, 50 points) are for the submental area:
    a 40 mL abdominal PC/DC plan is not silently cut to 4 mL by them."""
    result = meso("build", "--indication", "localized-fat", "--area", "abdomen", "--volume", "40 mL",
                  "--weight", "70 kg", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert _syringe_volumes(doc) == ["40 mL"], doc["syringes"]
    assert not any("Deoxycholic acid" in r for r in doc["reasons"]), doc["reasons"]
    unchecked = [f for f in doc["findings"]
                 if f["trigger"] == "deoxycholic-acid" and "no sourced limit" in f["message"]]
    assert unchecked and unchecked[0]["severity"] == "info", doc["findings"]


def test_kybella_caps_bound_a_submental_plan(meso) -> None:
    result = meso("build", "--indication", "submental-fat", "--volume", "20 mL", "--treatment-area", "100 cm^2",
                  "--weight", "70 kg", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert _syringe_volumes(doc) == ["10 mL"], doc["syringes"]  # 100 mg at 10 mg/mL


def test_a_dose_limit_held_at_one_area_is_read_and_shown(catalogue) -> None:
    from mesocli.render.documents import rule_document

    rules = [r for r in catalogue.rules_by_kind["dose_limit"] if r.scope.ref == "deoxycholic-acid"]
    assert rules and all(r.params.area == "submental" for r in rules)
    assert rule_document(rules[0])["area"] == "submental"
    assert all("(Submental area only)" in catalogue.limit_texts[r.id] for r in rules if r.id in catalogue.limit_texts)
