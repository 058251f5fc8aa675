"""Properties of ``meso check`` over the whole shipped catalogue (hypothesis).

The expected allergy reach is worked out here, independently of the engine, from the catalogue's
own data: allergen groups (members, origins, member/origin severities) and cross-reactions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mesocli.api import check
from mesocli.domain.engine import FINDING_KINDS
from mesocli.domain.model import SEVERITY_RANK
from mesocli.domain.patient import Patient

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PATIENT_KINDS = ("allergy", "condition", "medication", "age")


# ------------------------------------------------------------------------------ helpers
def rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "", 0)


def worst(severities) -> str | None:  # type: ignore[no-untyped-def]
    severities = [s for s in severities if s]
    return max(severities, key=rank) if severities else None


def reached_by_group(cat, group_id: str) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """(members, substances reached through the group's origins)."""
    group = cat.groups[group_id]
    by_origin = {s.id for s in cat.substances.values() if s.origin and s.origin in group.origins}
    return set(group.members), by_origin


def expected_exposure(cat, kind: str, entry_id: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Substance -> severities an allergy to (kind, entry_id) reaches it with, from the data."""
    out: dict[str, list[str]] = defaultdict(list)
    if kind == "group":
        members, by_origin = reached_by_group(cat, entry_id)
        for sid in members:
            out[sid].append("contraindicated")
        for sid in by_origin:
            out[sid].append(cat.groups[entry_id].origin_severity)
        sources = [entry_id]
    else:
        # A substance belongs to a group as a listed member or through its source organism;
        # an allergy to it reaches the group's other substances at the group's member severity.
        out[entry_id].append("contraindicated")
        origin = cat.substances[entry_id].origin
        sources = [
            g.id for g in cat.groups.values() if entry_id in g.members or (origin and origin in g.origins)
        ]
        for gid in sources:
            members, by_origin = reached_by_group(cat, gid)
            for sid in (members | by_origin) - {entry_id}:
                out[sid].append(cat.groups[gid].member_severity)
    for gid in sources:
        for cross in cat.crosses:
            if cross.source_group == gid:
                members, by_origin = reached_by_group(cat, cross.target_group)
                for sid in members | by_origin:
                    out[sid].append(cross.severity)
    return out


def allergy_findings(result, subject: str, trigger: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return [
        f for f in result.findings if f.kind == "allergy" and f.subject == subject and f.trigger == trigger
    ]


def products_with(cat, substance_ids: set[str]) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.id for p in cat.products.values() if set(p.substance_ids()) & substance_ids)


def status_of(findings) -> str:  # type: ignore[no-untyped-def]
    top = max((rank(f.severity) for f in findings), default=0)
    return {3: "contraindicated", 2: "caution"}.get(top, "ok")


@st.composite
def patients(draw, cat, *, allow_empty: bool = True):  # type: ignore[no-untyped-def]
    allergy_terms = sorted(cat.groups) + sorted(cat.substances)
    medication_terms = sorted(cat.medications) + sorted(cat.medication_classes)
    patient = Patient(
        allergies=tuple(draw(st.lists(st.sampled_from(allergy_terms), max_size=2, unique=True))),
        conditions=tuple(draw(st.lists(st.sampled_from(sorted(cat.conditions)), max_size=2, unique=True))),
        medications=tuple(draw(st.lists(st.sampled_from(medication_terms), max_size=2, unique=True))),
        age=draw(st.none() | st.integers(min_value=12, max_value=90)),
        weight=draw(st.none() | st.integers(min_value=40, max_value=150).map(lambda w: f"{w} kg")),
    )
    if not allow_empty:
        assume(not patient.is_empty)
    return patient


def ingredient_ids(cat):  # type: ignore[no-untyped-def]
    return sorted(cat.products) + sorted(cat.substances)


# ------------------------------------------------------------------------------ allergy reach
@SETTINGS
@given(data=st.data())
def test_substance_allergy_contraindicates_every_product_containing_it(catalogue, data) -> None:
    sid = data.draw(st.sampled_from(sorted(catalogue.substances)), label="allergy")
    patient = Patient(allergies=(sid,))
    containing = products_with(catalogue, {sid})
    # The substance itself, checked alone.
    alone = check(patient, ingredients=[sid], catalogue=catalogue)
    assert [f.severity for f in allergy_findings(alone, sid, sid)] == ["contraindicated"]
    assert alone.status == "contraindicated"
    for pid in containing:
        roles = {c.role for c in catalogue.products[pid].components if c.substance == sid}
        result = check(patient, ingredients=[pid], catalogue=catalogue)
        found = allergy_findings(result, pid, sid)
        assert [f.severity for f in found] == ["contraindicated"], (sid, pid, roles, result.findings)
        assert result.status == "contraindicated"
        assert result.at_or_above("contraindicated")


@SETTINGS
@given(data=st.data())
def test_group_allergy_reaches_members_and_origins_at_the_group_severity(catalogue, data) -> None:
    gid = data.draw(st.sampled_from(sorted(catalogue.groups)), label="group")
    group = catalogue.groups[gid]
    members, by_origin = reached_by_group(catalogue, gid)
    expected = expected_exposure(catalogue, "group", gid)
    patient = Patient(allergies=(gid,))
    for pid in products_with(catalogue, members | by_origin):
        result = check(patient, ingredients=[pid], catalogue=catalogue)
        found = allergy_findings(result, pid, gid)
        assert len(found) == 1, (gid, pid, result.findings)
        severity = found[0].severity
        substances = set(catalogue.products[pid].substance_ids())
        if substances & members:
            assert severity == "contraindicated", (gid, pid)
        else:
            assert rank(severity) >= rank(group.origin_severity), (gid, pid)
        want = worst(s for sid in substances for s in expected.get(sid, ()))
        assert severity == want, (gid, pid, severity, want)
    # Substances reached by origin, checked alone, get exactly the group's origin severity
    # (unless a cross-reaction of the same group reaches them harder).
    for sid in sorted(by_origin - members):
        result = check(patient, ingredients=[sid], catalogue=catalogue)
        [finding] = allergy_findings(result, sid, gid)
        assert finding.severity == worst(expected[sid])
        assert rank(finding.severity) >= rank(group.origin_severity)


def test_fish_allergy_is_a_caution_on_salmon_derived_products(catalogue) -> None:
    """The one group whose origin severity is not absolute: salmon DNA in fish allergy."""
    assert catalogue.groups["fish"].origin_severity == "caution"
    _, by_origin = reached_by_group(catalogue, "fish")
    assert {"pdrn", "polynucleotides"} <= by_origin
    for pid in products_with(catalogue, by_origin):
        result = check(Patient(allergies=("fish",)), ingredients=[pid], catalogue=catalogue)
        assert [f.severity for f in allergy_findings(result, pid, "fish")] == ["caution"]
        assert result.status != "contraindicated"


@SETTINGS
@given(data=st.data())
def test_cross_reaction_reaches_the_target_group(catalogue, data) -> None:
    cross = data.draw(st.sampled_from(list(catalogue.crosses)), label="cross")
    source = catalogue.groups[cross.source_group]
    # The allergy may be recorded as the group, or as one of its member substances.
    choices = [("group", cross.source_group)] + [("substance", m) for m in sorted(source.members)]
    kind, term = data.draw(st.sampled_from(choices), label="allergy")
    expected = expected_exposure(catalogue, kind, term)
    members, by_origin = reached_by_group(catalogue, cross.target_group)
    targets = products_with(catalogue, members | by_origin)
    assume(targets)
    pid = data.draw(st.sampled_from(targets), label="product")
    result = check(Patient(allergies=(term,)), ingredients=[pid], catalogue=catalogue)
    found = allergy_findings(result, pid, term)
    assert len(found) == 1, (term, pid, result.findings)
    severity = found[0].severity
    if cross.severity in ("caution", "contraindicated"):
        assert rank(severity) >= rank(cross.severity), (term, pid, severity, cross.severity)
    want = worst(s for sid in catalogue.products[pid].substance_ids() for s in expected.get(sid, ()))
    assert severity == want, (term, pid, severity, want)


@SETTINGS
@given(data=st.data())
def test_allergy_findings_are_exactly_the_catalogue_reach(catalogue, data) -> None:
    """No allergy finding on a product the data does not connect to the allergy, and the
    severity is the worst way any of its components is reached."""
    kind = data.draw(st.sampled_from(["group", "substance"]))
    term = data.draw(st.sampled_from(sorted(catalogue.groups if kind == "group" else catalogue.substances)))
    pid = data.draw(st.sampled_from(sorted(catalogue.products)))
    expected = expected_exposure(catalogue, kind, term)
    want = worst(s for sid in catalogue.products[pid].substance_ids() for s in expected.get(sid, ()))
    result = check(Patient(allergies=(term,)), ingredients=[pid], catalogue=catalogue)
    got = [f for f in result.findings if f.kind == "allergy"]
    if want is None:
        assert got == []
    else:
        assert [(f.severity, f.subject, f.trigger) for f in got] == [(want, pid, term)]


# ------------------------------------------------------------------------------ nobody, nothing
@SETTINGS
@given(data=st.data())
def test_patient_without_data_gets_no_patient_findings(catalogue, data) -> None:
    names = data.draw(st.lists(st.sampled_from(ingredient_ids(catalogue)), min_size=1, max_size=4))
    result = check(Patient(), ingredients=names, catalogue=catalogue)
    kinds = {f.kind for f in result.findings}
    assert not kinds & {"allergy", "condition", "medication", "age"}, result.findings


def test_screen_of_nobody_is_empty(catalogue) -> None:
    """A screen of a man with nothing recorded finds nothing."""
    result = check(Patient(sex="male"), catalogue=catalogue)
    assert result.screened
    assert result.findings == ()
    assert result.status == "ok"


def test_screen_of_nobody_of_unknown_sex_has_only_the_sex_cautions(catalogue) -> None:
    """With nothing recorded, not even the sex, the only findings are the cautions for a patient
    not recorded as male (an unknown sex is not assumed male)."""
    result = check(Patient(), catalogue=catalogue)
    assert result.screened
    assert result.findings
    assert {(f.kind, f.severity, f.trigger) for f in result.findings} == {("sex", "caution", "sex-unknown")}
    assert result.status == "caution"


# ------------------------------------------------------------------------------ status and exit
@SETTINGS
@given(data=st.data())
def test_status_is_the_worst_severity_and_at_or_above_agrees(catalogue, data) -> None:
    patient = data.draw(patients(catalogue))
    names = data.draw(st.lists(st.sampled_from(ingredient_ids(catalogue)), max_size=4))
    result = check(patient, ingredients=names, catalogue=catalogue)
    assert result.status == status_of(result.findings)
    for f in result.findings:
        assert f.kind in FINDING_KINDS
        assert f.severity in SEVERITY_RANK
        assert (
            f.subject == "procedure" or f.subject in catalogue.products or f.subject in catalogue.substances
        )
        assert f.sources and all(isinstance(s, str) and s for s in f.sources)
    caution_up = result.at_or_above("caution")
    contra = result.at_or_above("contraindicated")
    assert set(contra) <= set(caution_up)
    assert bool(contra) == (result.status == "contraindicated")
    assert bool(caution_up) == (result.status in ("caution", "contraindicated"))
    assert all(rank(f.severity) >= rank("caution") for f in caution_up)
    # Findings come worst first.
    ranks = [rank(f.severity) for f in result.findings]
    assert ranks == sorted(ranks, reverse=True)


@FEW
@given(data=st.data())
def test_cli_exit_code_follows_fail_on(catalogue, meso, data) -> None:
    patient = data.draw(patients(catalogue))
    names = data.draw(st.lists(st.sampled_from(ingredient_ids(catalogue)), max_size=3))
    args = ["check", "--json"]
    for flag, values in (
        ("--allergy", patient.allergies),
        ("--condition", patient.conditions),
        ("--medication", patient.medications),
        ("--ingredient", names),
    ):
        for value in values:
            args += [flag, value]
    if patient.age is not None:
        args += ["--age", str(patient.age)]
    if patient.weight is not None:
        args += ["--weight", str(patient.weight)]
    outcome = meso(*args)
    code, doc = outcome.exit_code, outcome.json()
    severities = {f["severity"] for f in doc["findings"]}
    assert code == (1 if "contraindicated" in severities else 0)
    strict = meso(*args, "--fail-on", "caution")
    code_caution = strict.exit_code
    assert strict.json()["status"] == doc["status"]
    assert code_caution == (1 if severities & {"caution", "contraindicated"} else 0)
    assert doc["status"] == {3: "contraindicated", 2: "caution"}.get(
        max(map(rank, severities), default=0), "ok"
    )


# ------------------------------------------------------------------------------ the screen
@SETTINGS
@given(data=st.data())
def test_screen_contains_every_patient_finding_of_a_direct_check(catalogue, data) -> None:
    patient = data.draw(patients(catalogue, allow_empty=False))
    screen = check(patient, catalogue=catalogue)
    assert screen.screened
    listed = {(f.kind, f.subject, f.trigger, f.severity) for f in screen.findings}
    names = data.draw(
        st.lists(st.sampled_from(ingredient_ids(catalogue)), min_size=1, max_size=5, unique=True)
    )
    for name in names:
        direct = check(patient, ingredients=[name], catalogue=catalogue)
        for f in direct.findings:
            if f.kind in PATIENT_KINDS and f.severity in ("contraindicated", "caution"):
                assert (f.kind, f.subject, f.trigger, f.severity) in listed, (name, f)


@SETTINGS
@given(data=st.data())
def test_screen_for_one_allergy_lists_every_product_a_direct_check_flags(catalogue, data) -> None:
    term = data.draw(st.sampled_from(sorted(catalogue.groups) + sorted(catalogue.substances)))
    patient = Patient(allergies=(term,))
    screen = check(patient, catalogue=catalogue)
    avoid = {f.subject for f in screen.findings if f.severity == "contraindicated" and f.kind == "allergy"}
    flagged = set()
    for pid in catalogue.products:
        direct = check(patient, ingredients=[pid], catalogue=catalogue)
        if any(f.kind == "allergy" and f.severity == "contraindicated" for f in direct.findings):
            flagged.add(pid)
    assert flagged <= avoid, flagged - avoid


@SETTINGS
@given(data=st.data())
def test_alternatives_are_safe_for_the_patient(catalogue, data) -> None:
    """What meso offers instead is never itself contraindicated for this patient (apart from
    procedure-wide contraindications, which no ingredient can avoid)."""
    patient = data.draw(patients(catalogue, allow_empty=False))
    names = data.draw(st.lists(st.sampled_from(ingredient_ids(catalogue)), max_size=1))
    result = check(patient, ingredients=names, catalogue=catalogue)
    contraindicated = {f.subject for f in result.findings if f.severity == "contraindicated"} - {"procedure"}
    for alternative in result.alternatives:
        assert alternative.replaces in contraindicated
        for use in alternative.use:
            assert use != alternative.replaces
            alone = check(patient, ingredients=[use], catalogue=catalogue)
            bad = [f for f in alone.findings if f.severity == "contraindicated" and f.subject != "procedure"]
            assert not bad, (alternative.replaces, use, bad)


# ------------------------------------------------------------------------------ mixing and dose
@SETTINGS
@given(data=st.data())
def test_two_ingredient_mixing_does_not_depend_on_order(catalogue, data) -> None:
    a, b = data.draw(
        st.lists(st.sampled_from(ingredient_ids(catalogue)), min_size=2, max_size=2, unique=True)
    )
    one = check(Patient(), ingredients=[a, b], catalogue=catalogue)
    two = check(Patient(), ingredients=[b, a], catalogue=catalogue)
    key = lambda r: {(f.severity, f.kind, f.subject, f.trigger) for f in r.findings}  # noqa: E731
    assert key(one) == key(two)


PLAIN_LIDOCAINE = {
    "lidocaine-1pct-sd": 10,
    "lidocaine-2pct-sd": 20,
    "lidocaine-1pct-md-methylparaben": 10,
    "lidocaine-2pct-md-methylparaben": 20,
}


@SETTINGS
@given(
    pid=st.sampled_from(sorted(PLAIN_LIDOCAINE)),
    tenths_ml=st.integers(min_value=1, max_value=400),
    weight=st.integers(min_value=20, max_value=200),
)
def test_plain_lidocaine_limit_is_the_lower_of_per_kg_and_cap(catalogue, pid, tenths_ml, weight) -> None:
    """4.5 mg/kg, never above 300 mg: the lower wins; an amount near it is a caution."""
    mg_per_ml = PLAIN_LIDOCAINE[pid]
    # Catalogue concentrations are what the table says.
    [active] = [c for c in catalogue.products[pid].components if c.substance == "lidocaine"]
    assert (active.concentration.value, active.concentration.unit) == (mg_per_ml, "mg/mL")
    amount = mg_per_ml * tenths_ml / 10
    limit = min(4.5 * weight, 300.0)
    assume(abs(amount - limit) > 1e-6)
    recipe = {"components": [{"id": pid, "volume": f"{tenths_ml / 10} mL"}]}
    result = check(Patient(weight=f"{weight} kg"), recipe=recipe, catalogue=catalogue)
    doses = [f for f in result.findings if f.kind == "dose" and f.trigger == "lidocaine"]
    near = float(catalogue.setting("dose-near-fraction"))
    if amount > limit:
        assert [f.severity for f in doses] == ["contraindicated"], (amount, limit, result.findings)
        assert doses[0].subject == pid
    elif amount >= near * limit * (1 + 1e-9):
        assert [f.severity for f in doses] == ["caution"], (amount, limit, result.findings)
        assert "near the limit" in doses[0].message
    elif amount < near * limit * (1 - 1e-9):
        assert doses == [], (amount, limit, result.findings)


@SETTINGS
@given(tenths_ml=st.integers(min_value=1, max_value=150), area=st.integers(min_value=1, max_value=100))
def test_deoxycholic_acid_per_area_and_session_limits(catalogue, tenths_ml, area) -> None:
    """2 mg/cm2 of treated area, and never more than 100 mg in a session."""
    amount = 10 * tenths_ml / 10
    assume(abs(amount - 2 * area) > 1e-6 and abs(amount - 100) > 1e-6)
    recipe = {"components": [{"id": "deoxycholic-acid-10mg-ml", "volume": f"{tenths_ml / 10} mL"}]}
    result = check(Patient(), recipe=recipe, treatment_area=f"{area} cm^2", catalogue=catalogue)
    doses = [f for f in result.findings if f.kind == "dose" and f.trigger == "deoxycholic-acid"]
    assert all(f.severity == "contraindicated" and f.subject == "deoxycholic-acid-10mg-ml" for f in doses)
    assert bool(doses) == (amount > 2 * area or amount > 100), (amount, area, result.findings)


@SETTINGS
@given(
    pid=st.sampled_from(sorted(PLAIN_LIDOCAINE)),
    tenths_ml=st.integers(min_value=1, max_value=400),
    weight=st.integers(min_value=20, max_value=200),
)
def test_volume_and_weight_units_do_not_change_the_result(catalogue, pid, tenths_ml, weight) -> None:
    millilitres = tenths_ml / 10
    key = lambda r: sorted((f.severity, f.kind, f.subject, f.trigger) for f in r.findings)  # noqa: E731
    base = check(
        Patient(weight=f"{weight} kg"),
        catalogue=catalogue,
        recipe={"components": [{"id": pid, "volume": f"{millilitres} mL"}]},
    )
    litres = check(
        Patient(weight=f"{weight * 1000} g"),
        catalogue=catalogue,
        recipe={"components": [{"id": pid, "volume": {"value": millilitres / 1000, "unit": "L"}}]},
    )
    assert key(base) == key(litres)
