"""Read and validate the catalogue's source text (TOML under ``data/``).

The same reader serves the shipped catalogue (``meso db build``) and a clinic's own file
(``meso catalogue import``): every row is checked before anything is written, and an error
names the file, the row and the problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesocli.domain.model import (
    EVIDENCE_GRADES,
    FHIR_CODE_KINDS,
    OBSERVATION_READS,
    ROLES,
    SEVERITIES,
    SOURCE_GRADES,
    TERM_KINDS,
    AllergenGroup,
    Component,
    CrossReaction,
    Distinction,
    FhirCode,
    Fit,
    FormulationDefault,
    Indication,
    Medication,
    Product,
    Protocol,
    Provenance,
    Rule,
    Scope,
    Source,
    Substance,
    Term,
    UnrelatedTerm,
)
from mesocli.domain.rules import RULE_KINDS as _RULE_KINDS
from mesocli.errors import CatalogueDataError, UnitError
from mesocli.units import Amount, parse_amount

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

FILES = (
    "substances.toml",
    "products.toml",
    "allergens.toml",
    "conditions.toml",
    "medications.toml",
    "areas.toml",
    "indications.toml",
    "protocols.toml",
    "rules.toml",
    "clinical.toml",
    "vocabulary.toml",
    "codes/fhir.toml",
)

# The code systems a FHIR code row may name: the canonical URIs FHIR R4 gives them.
FHIR_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://fdasis.nlm.nih.gov": "UNII",
    "http://loinc.org": "LOINC",
    "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips": "IPS absent and unknown data",
}
# A FHIR code: no leading or trailing whitespace, and single spaces only (FHIR R4 datatype "code").
_FHIR_CODE = re.compile(r"^\S+( \S+)*$")

SUBSTANCE_CLASSES = frozenset(
    [
        "glycosaminoglycan", "vitamin", "amino-acid", "peptide", "nucleic-acid", "lipolytic",
        "local-anaesthetic", "vasoconstrictor", "vasoactive", "plant-extract", "mineral", "antioxidant",
        "depigmenting", "hair-growth-drug", "enzyme", "methylxanthine", "preservative",
        "antioxidant-excipient", "chelating-agent", "stabiliser", "buffer", "vehicle", "coenzyme",
    ]
)
ORIGINS = frozenset(
    [
        "synthetic", "bacterial-fermentation", "avian", "bovine", "ovine", "recombinant-human",
        "human-plasma", "soy", "egg", "salmon", "milk", "plant-asteraceae", "plant-apiaceae",
        "plant-fabaceae", "plant-ginkgoaceae", "plant-other",
    ]
)
# "unknown" is what an absent value means: meso never turns a missing fact into a safe default.
STATUSES = frozenset(["medicine", "device", "cosmetic-only", "withdrawn", "unapproved", "compounded", "unknown"])
VEHICLES = frozenset(["aqueous", "oily", "alcoholic", "gel", "unknown"])
TECHNIQUES = frozenset(
    ["papule", "nappage", "point-by-point", "micro-depot", "linear-retrograde", "deep-subcutaneous"]
)
# The rule kinds: each table name in rules.toml is a kind registered in mesocli.domain.rules.
RULE_KINDS = _RULE_KINDS


@dataclass
class CatalogueData:
    """Validated catalogue content, ready to be written to a database."""

    substances: list[Substance] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    groups: list[AllergenGroup] = field(default_factory=list)
    crosses: list[CrossReaction] = field(default_factory=list)
    conditions: list[Term] = field(default_factory=list)
    medication_classes: list[Term] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    areas: list[Term] = field(default_factory=list)
    indications: list[Indication] = field(default_factory=list)
    protocols: list[Protocol] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    defaults: list[FormulationDefault] = field(default_factory=list)
    unrelated: list[UnrelatedTerm] = field(default_factory=list)
    distinctions: list[Distinction] = field(default_factory=list)
    fhir_codes: list[FhirCode] = field(default_factory=list)


class _Row:
    """One TOML table being read, with the location its errors report."""

    def __init__(self, where: str, data: Any) -> None:
        self.where = where
        if not isinstance(data, Mapping):
            raise CatalogueDataError(f"{where}: expected a table, got {type(data).__name__}")
        self.data = data
        self.used: set[str] = set()

    def fail(self, problem: str) -> CatalogueDataError:
        label = self.data.get("id") if isinstance(self.data.get("id"), str) else None
        at = f"{self.where} ({label})" if label else self.where
        return CatalogueDataError(f"{at}: {problem}")

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def text(self, key: str, *, required: bool = True, limit: int = 2000) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be non-empty text")
        if len(value) > limit:
            raise self.fail(f"'{key}' is longer than {limit} characters")
        if any(not ch.isprintable() for ch in value if ch not in "\n"):
            raise self.fail(f"'{key}' contains control characters")
        return value.strip()

    def slug(self, key: str, *, required: bool = True) -> str | None:
        value = self.text(key, required=required, limit=100)
        if value is not None and not SLUG.match(value):
            raise self.fail(f"'{key}' = {value!r} is not a lowercase slug such as 'hyaluronic-acid'")
        return value

    def choice(self, key: str, allowed: Iterable[str], default: str | None = None) -> str:
        value = self.get(key, default)
        allowed = tuple(sorted(allowed))
        if value not in allowed:
            raise self.fail(f"'{key}' = {value!r} is not one of: {', '.join(allowed)}")
        return str(value)

    def ref(self, key: str, *, allow_any: bool = False) -> str:
        """An ingredient reference: an id, ``class:<class>``, or ``*`` where ``allow_any``."""
        return _ref(self, key, allow_any=allow_any)

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false")
        return value

    def integer(self, key: str, *, minimum: int = 0) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"'{key}' must be a whole number >= {minimum}")
        return value

    def slugs(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and SLUG.match(v) for v in value):
            raise self.fail(f"'{key}' must be a list of ids")
        return tuple(value)

    def names(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"'{key}' must be a list of names")
        return tuple(v.strip() for v in value)

    def amount(self, key: str, kind: str, *, required: bool = False) -> Amount | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is required")
            return None
        try:
            return parse_amount(value, kind=kind, what=key)
        except UnitError as exc:
            raise self.fail(str(exc)) from None

    def provenance(self) -> Provenance:
        evidence = self.choice("evidence", EVIDENCE_GRADES)
        raw = self.get("sources", [])
        if not isinstance(raw, list):
            raise self.fail("'sources' must be a list of {title, url, grade} tables")
        sources = []
        for index, item in enumerate(raw, 1):
            if not isinstance(item, Mapping) or set(item) - {"title", "url", "grade"}:
                raise self.fail(f"source {index} must be a table with 'title' and/or 'url', and an optional 'grade'")
            title, url, grade = item.get("title"), item.get("url"), item.get("grade")
            if grade is not None and grade not in SOURCE_GRADES:
                raise self.fail(f"source {index} has grade {grade!r}; expected one of {', '.join(SOURCE_GRADES)}")
            if not (isinstance(title, str) and title.strip()) and not (isinstance(url, str) and url.strip()):
                raise self.fail(f"source {index} has neither a title nor a URL")
            if url is not None and (not isinstance(url, str) or not re.match(r"^https?://\S+$", url)):
                raise self.fail(f"source {index} has a URL that is not http(s): {url!r}")
            # No grade: the row's own (Provenance gives it), so a label row's label needs none.
            sources.append(Source(title.strip() if isinstance(title, str) else None, url, grade))
        if evidence == "unsourced" and sources:
            raise self.fail("a row with sources cannot be graded 'unsourced'")
        if evidence != "unsourced" and not sources:
            raise self.fail(f"evidence '{evidence}' needs at least one source (or grade it 'unsourced')")
        return Provenance(evidence, tuple(sources))

    def finish(self) -> None:
        unknown = set(self.data) - self.used
        if unknown:
            raise self.fail(f"unknown field(s): {', '.join(sorted(unknown))}")


def read_directory(directory: Path) -> CatalogueData:
    """Read every catalogue file under ``directory`` (all must exist) and validate them."""
    docs = {}
    for name in FILES:
        path = directory / name
        if not path.is_file():
            raise CatalogueDataError(f"{path.name}: missing from the catalogue source")
        docs[name] = load_toml(path)
    data = parse_documents(docs)
    validate_references(data)
    return data


def load_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise CatalogueDataError(f"{path.name}: is a directory, not a file") from None
    except OSError as exc:
        raise CatalogueDataError(f"{path.name}: cannot read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CatalogueDataError(f"{path.name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueDataError(f"{path.name}: invalid TOML ({exc})") from None


def parse_documents(docs: Mapping[str, Mapping[str, Any]], *, local: bool = False) -> CatalogueData:
    """Turn parsed TOML documents (keyed by file name) into validated catalogue data."""
    data = CatalogueData()
    readers: dict[str, Callable[[_Row], None]] = {
        "substance": lambda r: data.substances.append(_substance(r, local)),
        "product": lambda r: data.products.append(_product(r, local)),
        "group": lambda r: data.groups.append(_group(r)),
        "cross": lambda r: data.crosses.append(_cross(r)),
        "condition": lambda r: data.conditions.append(_term(r, sourced="condition")),
        "medication_class": lambda r: data.medication_classes.append(_term(r, sourced="medication_class")),
        "medication": lambda r: data.medications.append(_medication(r)),
        "area": lambda r: data.areas.append(_term(r)),
        "indication": lambda r: data.indications.append(_indication(r)),
        "protocol": lambda r: data.protocols.append(_protocol(r)),
        "formulation_default": lambda r: data.defaults.append(_default(r)),
        "unrelated": lambda r: data.unrelated.append(_unrelated(r)),
        "distinction": lambda r: data.distinctions.append(_distinction(r)),
        "code": lambda r: data.fhir_codes.append(_fhir_code(r, local)),
        "none": lambda r: data.fhir_codes.extend(_fhir_none(r, local)),
        "observation": lambda r: data.fhir_codes.append(_fhir_observation(r, local)),
    }
    for kind in RULE_KINDS:
        readers[kind] = lambda r, kind=kind: data.rules.append(_rule(r, kind, len(data.rules) + 1))
    for file_name, doc in docs.items():
        for table, rows in doc.items():
            if table not in readers:
                raise CatalogueDataError(f"{file_name}: unknown table [[{table}]]")
            if not isinstance(rows, list):
                raise CatalogueDataError(f"{file_name}: [[{table}]] must be an array of tables")
            for index, raw in enumerate(rows, 1):
                readers[table](_Row(f"{file_name}: [[{table}]] #{index}", raw))
    return data


def _vocabulary_provenance(row: _Row, table: str) -> Provenance:
    """The provenance of a condition, medication class or medication row. Each makes clinical
    claims (an alias says two names are one condition; a drug is said to belong to a class), so
    each needs a source: 'unsourced' is refused."""
    provenance = row.provenance()
    if provenance.evidence == "unsourced":
        raise row.fail("a vocabulary row needs 'evidence' and a source for its names and aliases"
                       + (" and classes" if table == "medication" else "") + "; 'unsourced' is not accepted")
    return provenance


def _term(row: _Row, sourced: str | None = None) -> Term:
    """An area (no provenance) or, with ``sourced`` (its table), a condition or medication class."""
    term = Term(
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        notes=row.text("notes", required=False),
        provenance=_vocabulary_provenance(row, sourced) if sourced is not None else None,
    )
    row.finish()
    return term


def _substance(row: _Row, local: bool) -> Substance:
    substance = Substance(
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        cls=row.choice("class", SUBSTANCE_CLASSES),
        role=row.choice("role", ROLES, "active"),
        origin=row.choice("origin", ORIGINS) if row.get("origin") is not None else None,
        unii=_unii(row),
        injectable=row.flag("injectable", True),
        status=row.choice("status", STATUSES, "unknown"),
        iu_mass=row.amount("iu_mass", "mass"),
        notes=row.text("notes", required=False),
        provenance=row.provenance(),
        local=local,
        dose_as=row.slug("dose_as", required=False),
    )
    row.finish()
    return substance


def _unii(row: _Row) -> str | None:
    value = row.get("unii")
    if value is not None and (not isinstance(value, str) or not re.match(r"^[A-Z0-9]{10}$", value)):
        raise row.fail("'unii' must be a 10-character UNII code")
    return value


def _product(row: _Row, local: bool) -> Product:
    components = []
    raw_components = row.get("component", [])
    if not isinstance(raw_components, list) or not raw_components:
        raise row.fail("a product needs at least one [[product.component]]")
    for index, raw in enumerate(raw_components, 1):
        sub = _Row(f"{row.where} component #{index}", raw)
        components.append(
            Component(
                substance=sub.slug("substance"),  # type: ignore[arg-type]
                role=sub.choice("role", ROLES, "active"),
                concentration=sub.amount("concentration", "concentration"),
            )
        )
        sub.finish()
    seen = [c.substance for c in components]
    if len(set(seen)) != len(seen):
        raise row.fail("a substance is listed twice in the composition")
    product = Product(
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        generic=row.flag("generic", True),
        vehicle=row.choice("vehicle", VEHICLES, "unknown"),
        ph=row.text("ph", required=False, limit=40),
        dose=row.choice("dose", ("single", "multi", "unknown"), "unknown"),
        status=row.choice("status", STATUSES, "unknown"),
        container_volume=row.amount("container_volume", "volume"),
        do_not_admix=row.flag("do_not_admix", False),
        areas=row.slugs("areas"),
        notes=row.text("notes", required=False),
        components=tuple(components),
        provenance=row.provenance(),
        local=local,
    )
    row.finish()
    return product


def _group(row: _Row) -> AllergenGroup:
    group = AllergenGroup(
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        members=frozenset(row.slugs("members")),
        origins=frozenset(row.slugs("origins")),
        member_severity=row.choice("member_severity", SEVERITIES, "contraindicated"),
        origin_severity=row.choice("origin_severity", SEVERITIES, "contraindicated"),
        notes=row.text("notes", required=False),
        provenance=row.provenance(),
    )
    if not group.members and not group.origins:
        row.used.add("members")
    row.finish()
    return group


def _cross(row: _Row) -> CrossReaction:
    cross = CrossReaction(
        source_group=row.slug("from"),  # type: ignore[arg-type]
        target_group=row.slug("to"),  # type: ignore[arg-type]
        severity=row.choice("severity", SEVERITIES),
        message=row.text("message"),  # type: ignore[arg-type]
        provenance=row.provenance(),
    )
    row.finish()
    return cross


def _unrelated(row: _Row) -> UnrelatedTerm:
    term = UnrelatedTerm(
        kind=row.choice("kind", TERM_KINDS),
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        reason=row.text("reason"),  # type: ignore[arg-type]
        procedure_note=row.text("procedure_note", required=False),
        provenance=row.provenance(),
    )
    row.finish()
    return term


def _distinction(row: _Row) -> Distinction:
    distinction = Distinction(
        kind=row.choice("kind", TERM_KINDS),
        a=row.slug("a"),  # type: ignore[arg-type]
        b=row.slug("b"),  # type: ignore[arg-type]
        message=row.text("message"),  # type: ignore[arg-type]
        provenance=row.provenance(),
    )
    if distinction.a == distinction.b:
        raise row.fail("'a' and 'b' must differ")
    row.finish()
    return distinction


def _medication(row: _Row) -> Medication:
    medication = Medication(
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        classes=row.slugs("classes"),
        provenance=_vocabulary_provenance(row, "medication"),
    )
    row.text("notes", required=False)
    row.finish()
    return medication


def _indication(row: _Row) -> Indication:
    fits = []
    for index, raw in enumerate(row.get("fit", []) or [], 1):
        sub = _Row(f"{row.where} fit #{index}", raw)
        fits.append(
            Fit(
                target=sub.slug("target"),  # type: ignore[arg-type]
                fit=sub.choice("fit", ("principal", "complementary")),
                final_concentration=sub.amount("final_concentration", "concentration"),
                notes=sub.text("notes", required=False),
                provenance=sub.provenance(),
            )
        )
        sub.finish()
    indication = Indication(
        id=row.slug("id"),  # type: ignore[arg-type]
        name=row.text("name"),  # type: ignore[arg-type]
        aliases=row.names("aliases"),
        areas=row.slugs("areas"),
        notes=row.text("notes", required=False),
        fits=tuple(fits),
        provenance=row.provenance(),
    )
    row.finish()
    return indication


def _protocol(row: _Row) -> Protocol:
    protocol = Protocol(
        indication=row.slug("indication"),  # type: ignore[arg-type]
        area=row.slug("area"),  # type: ignore[arg-type]
        # absent when no source gives a technique for this indication and area: unknown, never a guess
        technique=row.choice("technique", TECHNIQUES) if "technique" in row.data else None,
        depth_min=row.amount("depth_min", "length"),
        depth_max=row.amount("depth_max", "length"),
        needle=row.text("needle", required=False, limit=60),
        volume_per_point=row.amount("volume_per_point", "volume"),
        max_volume_per_point=row.amount("max_volume_per_point", "volume"),
        spacing=row.amount("spacing", "length"),
        max_points=row.integer("max_points", minimum=1),
        session_volume=row.amount("session_volume", "volume"),
        sessions_min=row.integer("sessions_min", minimum=1),
        sessions_max=row.integer("sessions_max", minimum=1),
        interval_min=row.amount("interval_min", "time"),
        interval_max=row.amount("interval_max", "time"),
        notes=row.text("notes", required=False),
        provenance=row.provenance(),
    )
    row.finish()
    return protocol


def _default(row: _Row) -> FormulationDefault:
    default = FormulationDefault(
        key=row.slug("key"),  # type: ignore[arg-type]
        value=str(row.text("value", limit=60)),
        notes=row.text("notes", required=False),
        provenance=row.provenance(),
    )
    row.finish()
    return default


def _fhir_system(row: _Row) -> str:
    system = row.text("system", limit=200)
    if system not in FHIR_SYSTEMS:
        raise row.fail(f"'system' = {system!r} is not a code system meso knows; use one of: "
                       f"{', '.join(sorted(FHIR_SYSTEMS))}")
    return system  # type: ignore[return-value]


def _fhir_code_text(row: _Row, value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > 100 or not _FHIR_CODE.match(value) \
            or any(not ch.isprintable() for ch in value):
        raise row.fail(f"{what} must be a FHIR code: text of at most 100 characters, no leading, trailing "
                       "or double spaces")
    return value


def _sourced(row: _Row) -> Provenance:
    """A code row's provenance: a code is only mapped on a source that shows its meaning."""
    provenance = row.provenance()
    if provenance.evidence == "unsourced":
        raise row.fail("a code needs a source that shows its meaning; 'unsourced' is not accepted")
    return provenance


def _fhir_code(row: _Row, local: bool) -> FhirCode:
    """A ``[[code]]`` row: a coding that gives a catalogue term."""
    kind = row.choice("kind", FHIR_CODE_KINDS)
    history = row.flag("history", False)
    if history and kind != "condition":
        raise row.fail("only a condition can be a history ('history = true')")
    code = FhirCode(
        kind=kind,
        system=_fhir_system(row),
        code=_fhir_code_text(row, row.get("code"), "'code'"),
        display=row.text("display", limit=300),
        term=row.text("term", limit=200),
        history=history,
        provenance=_sourced(row),
        local=local,
    )
    row.finish()
    return code


def _fhir_none(row: _Row, local: bool) -> list[FhirCode]:
    """A ``[[none]]`` row: absent-or-unknown codes, each one "nothing to record"."""
    kind = row.choice("kind", FHIR_CODE_KINDS)
    system = _fhir_system(row)
    codes = row.get("codes")
    if not isinstance(codes, list) or not codes:
        raise row.fail("'codes' must be a non-empty list of codes")
    provenance = _sourced(row)
    row.finish()
    return [FhirCode(kind=kind, system=system, code=_fhir_code_text(row, code, "every code in 'codes'"),
                     provenance=provenance, local=local) for code in codes]


def _fhir_observation(row: _Row, local: bool) -> FhirCode:
    """An ``[[observation]]`` row: an Observation meso reads, and what for."""
    code = FhirCode(
        kind="observation",
        system=_fhir_system(row),
        code=_fhir_code_text(row, row.get("code"), "'code'"),
        display=row.text("display", limit=300),
        reads=row.choice("reads", OBSERVATION_READS),
        provenance=_sourced(row),
        local=local,
    )
    row.finish()
    return code


def _scope(row: _Row) -> Scope:
    given = [k for k in ("procedure", "class", "substance", "product") if row.data.get(k) is not None]
    if len(given) != 1:
        raise row.fail("a rule needs exactly one scope: procedure, class, substance or product")
    kind = given[0]
    if kind == "procedure":
        if row.get("procedure") is not True:
            raise row.fail("'procedure' must be true")
        return Scope("procedure")
    return Scope(kind, row.slug(kind))


def _rule(row: _Row, kind: str, rule_id: int) -> Rule:
    """One ``[[<kind>]]`` table: what every rule has, and the kind's own parameters, read by
    the kind's module (see :mod:`mesocli.domain.rules`)."""
    check = RULE_KINDS[kind]
    assert check.read is not None
    params = check.read(row)
    rule = Rule(
        id=rule_id,
        kind=kind,
        severity=row.choice("severity", SEVERITIES),
        message=row.text("message"),  # type: ignore[arg-type]
        advice=row.text("advice", required=False),
        scope=_scope(row) if check.scoped else Scope("procedure"),
        provenance=row.provenance(),
        params=params,
    )
    row.text("notes", required=False)
    row.finish()
    return rule


def _ref(row: _Row, key: str, *, allow_any: bool = False) -> str:
    value = row.text(key, limit=100)
    assert value is not None
    if allow_any and value == "*":
        return value
    if value.startswith("class:") and SLUG.match(value[6:]):
        return value
    if not SLUG.match(value):
        raise row.fail(f"'{key}' must be an id, 'class:<class>'" + (" or '*'" if allow_any else ""))
    return value


def term_names(data: CatalogueData, kind: str) -> dict[str, str]:
    """Every name a patient term of ``kind`` resolves by (folded) -> the id it reaches: for an
    allergy the allergen groups and substances (a group wins), for a condition the conditions,
    for a medication the medications and classes; then the unrelated terms of that kind."""
    from mesocli.domain.catalogue import normalise

    entries: list[Any] = {
        "allergy": [*data.groups, *data.substances],
        "condition": [*data.conditions],
        "medication": [*data.medications, *data.medication_classes],
    }[kind]
    out: dict[str, str] = {}
    for entry in entries:
        for text in (entry.id, entry.name, *entry.aliases):
            out.setdefault(normalise(text), entry.id)
    return out


def _vocabulary_valid(data: CatalogueData, base: CatalogueData) -> None:
    """Unrelated terms: unique, and no name of one is a name the catalogue already resolves
    (the term would mean two things); distinctions name terms of their kind."""
    from mesocli.domain.catalogue import normalise

    merged = CatalogueData(substances=[*base.substances, *data.substances], groups=[*base.groups, *data.groups],
                           conditions=[*base.conditions, *data.conditions],
                           medication_classes=[*base.medication_classes, *data.medication_classes],
                           medications=[*base.medications, *data.medications])
    known = {kind: term_names(merged, kind) for kind in TERM_KINDS}
    ids: dict[str, set[str]] = {kind: set(known[kind].values()) for kind in TERM_KINDS}
    for term in data.unrelated:
        if term.id in ids[term.kind]:
            raise CatalogueDataError(f"unrelated {term.kind} {term.id!r}: the id is already a {term.kind} term")
        ids[term.kind].add(term.id)
        for text in (term.id, term.name, *term.aliases):
            key = normalise(text)
            owner = known[term.kind].setdefault(key, term.id)
            if owner != term.id:
                raise CatalogueDataError(f"{term.kind} name or alias {text!r} is used by both {owner!r} "
                                         f"and the unrelated term {term.id!r}")
    for d in data.distinctions:
        for side in (d.a, d.b):
            if side not in ids[d.kind]:
                raise CatalogueDataError(f"distinction {d.a!r} / {d.b!r}: unknown {d.kind} term {side!r}")


def dose_as_valid(substance: Substance, by_id: Mapping[str, Substance]) -> None:
    """A substance dosed as another: that other exists, is not itself dosed as a third (one
    step, so no chain or loop) and is of the same class (the same class-wide dose rules)."""
    target_id = substance.dose_as
    if target_id is None:
        return
    where = f"substance {substance.id!r}: dose_as {target_id!r}"
    target = by_id.get(target_id)
    if target_id == substance.id:
        raise CatalogueDataError(f"{where} names the substance itself")
    if target is None:
        raise CatalogueDataError(f"{where} names no substance of the catalogue")
    if target.dose_as is not None:
        raise CatalogueDataError(f"{where} is itself dosed as {target.dose_as!r}; name {target.dose_as!r}")
    if target.cls != substance.cls:
        raise CatalogueDataError(f"{where} is of class {target.cls!r}, not {substance.cls!r}; a substance is "
                                 "dosed only as one of its own class")


def validate_references(data: CatalogueData, known: CatalogueData | None = None) -> None:
    """Check uniqueness of ids and names and that every reference points at something.

    ``known`` is catalogue content that ``data`` may refer to (a clinic import refers to the
    shipped catalogue's substances).
    """
    base = known or CatalogueData()
    substances = {s.id for s in [*base.substances, *data.substances]}
    products = {p.id for p in [*base.products, *data.products]}
    groups = {g.id for g in [*base.groups, *data.groups]}
    conditions = {c.id for c in [*base.conditions, *data.conditions]}
    med_classes = {c.id for c in [*base.medication_classes, *data.medication_classes]}
    medications = {m.id for m in [*base.medications, *data.medications]}
    areas = {a.id for a in [*base.areas, *data.areas]}
    indications = {i.id for i in [*base.indications, *data.indications]}
    classes = {s.cls for s in [*base.substances, *data.substances]} | SUBSTANCE_CLASSES

    def unique(kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for entry_id in ids:
            if entry_id in seen:
                raise CatalogueDataError(f"{kind} id {entry_id!r} is defined twice")
            seen.add(entry_id)

    unique("substance", [s.id for s in [*base.substances, *data.substances]])
    unique("product", [p.id for p in [*base.products, *data.products]])
    if substances & products:
        raise CatalogueDataError(
            f"id(s) used for both a substance and a product: {', '.join(sorted(substances & products))}"
        )
    for kind, rows in (
        ("allergen group", data.groups),
        ("condition", data.conditions),
        ("medication class", data.medication_classes),
        ("medication", data.medications),
        ("area", data.areas),
        ("indication", data.indications),
    ):
        unique(kind, [r.id for r in rows])

    from mesocli.domain.catalogue import normalise

    def names_unique(kind: str, entries: list[Any]) -> None:
        owner: dict[str, str] = {}
        for entry in entries:
            for text in (entry.id, entry.name, *entry.aliases):
                key = normalise(text)
                if owner.setdefault(key, entry.id) != entry.id:
                    raise CatalogueDataError(
                        f"{kind} name or alias {text!r} is used by both {owner[key]!r} and {entry.id!r}"
                    )

    all_substances = [*base.substances, *data.substances]
    all_products = [*base.products, *data.products]
    names_unique("substance", all_substances)
    names_unique("product", all_products)
    # A product may share a name with a substance only when it contains that substance
    # (e.g. "water for injection"); any other clash would make --ingredient ambiguous.
    substance_names = {normalise(t): e.id for e in all_substances for t in (e.id, e.name, *e.aliases)}
    for product in all_products:
        for text in (product.id, product.name, *product.aliases):
            owner = substance_names.get(normalise(text))
            if owner is not None and owner not in product.substance_ids():
                raise CatalogueDataError(
                    f"product {product.id!r} uses the name {text!r} of substance {owner!r}, "
                    "which it does not contain"
                )
    names_unique("medication", [*data.medications, *data.medication_classes])
    names_unique("condition", data.conditions)
    _vocabulary_valid(data, base)

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise CatalogueDataError(message)

    for product in data.products:
        for component in product.components:
            need(component.substance in substances,
                 f"product {product.id!r}: unknown substance {component.substance!r}")
        for area in product.areas:
            need(area in areas or not areas, f"product {product.id!r}: unknown area {area!r}")
    for group in data.groups:
        for member in group.members:
            need(member in substances, f"allergen group {group.id!r}: unknown substance {member!r}")
    by_id = {s.id: s for s in all_substances}
    for substance in data.substances:
        dose_as_valid(substance, by_id)
    for cross in data.crosses:
        need(cross.source_group in groups and cross.target_group in groups,
             f"cross-reaction {cross.source_group!r} -> {cross.target_group!r}: unknown group")
    for medication in data.medications:
        for cls in medication.classes:
            need(cls in med_classes, f"medication {medication.id!r}: unknown class {cls!r}")
    for indication in data.indications:
        for area in indication.areas:
            need(area in areas, f"indication {indication.id!r}: unknown area {area!r}")
        for fit in indication.fits:
            need(fit.target in substances or fit.target in products,
                 f"indication {indication.id!r}: fit names unknown ingredient {fit.target!r}")
    # The formulation defaults the code relies on name catalogue entries (data/clinical.toml).
    for default in data.defaults:
        where = f"formulation default {default.key!r}"
        if default.key == "diluent":
            need(default.value in products, f"{where}: unknown product {default.value!r}")
        elif default.key == "amide-anaesthetic-group":
            need(default.value in groups, f"{where}: unknown allergen group {default.value!r}")
        elif default.key == "vasoconstrictor-class":
            need(default.value in classes, f"{where}: unknown class {default.value!r}")
        elif default.key == "evidence-order":
            need(sorted(default.value.split()) == sorted(EVIDENCE_GRADES),
                 f"{where}: must list each evidence grade once ({', '.join(EVIDENCE_GRADES)})")
    for protocol in data.protocols:
        need(protocol.indication in indications,
             f"protocol: unknown indication {protocol.indication!r}")
        need(protocol.area in areas, f"protocol for {protocol.indication!r}: unknown area {protocol.area!r}")

    _validate_codes(data, base)

    def ingredient_ref(ref: str | None, rule: Rule) -> None:
        if ref is None or ref == "*":
            return
        if ref.startswith("class:"):
            need(ref[6:] in classes, f"{rule.kind} rule #{rule.id}: unknown class {ref[6:]!r}")
        else:
            need(ref in substances or ref in products,
                 f"{rule.kind} rule #{rule.id}: unknown ingredient {ref!r}")

    for rule in data.rules:
        scope = rule.scope
        if scope.kind == "class":
            need(scope.ref in classes, f"{rule.kind} rule #{rule.id}: unknown class {scope.ref!r}")
        elif scope.kind == "substance":
            need(scope.ref in substances, f"{rule.kind} rule #{rule.id}: unknown substance {scope.ref!r}")
            dosed_as = by_id[scope.ref].dose_as if scope.ref in by_id else None
            need(rule.kind != "dose_limit" or dosed_as is None,
                 f"dose_limit rule #{rule.id}: substance {scope.ref!r} is dosed as {dosed_as!r}, whose dose "
                 f"limits apply to it; give the limit to {dosed_as!r}")
        elif scope.kind == "product":
            need(scope.ref in products, f"{rule.kind} rule #{rule.id}: unknown product {scope.ref!r}")
        references = RULE_KINDS[rule.kind].references
        for what, ref in references(rule.params) if references is not None else ():
            if what == "ingredient":
                ingredient_ref(ref, rule)
                continue
            known_ids = {"condition": conditions, "medication": medications, "medication_class": med_classes,
                         "indication": indications, "substance": substances, "area": areas}[what]
            label = what.replace("_", " ")
            need(ref in known_ids, f"{rule.kind} rule #{rule.id}: unknown {label} {ref!r}")
    validate_source_grades(data, known)


def cited_facts(data: CatalogueData) -> Iterator[tuple[str, Provenance]]:
    """Every fact of ``data`` that carries a provenance, with the words an error names it by."""
    for s in data.substances:
        yield f"substance {s.id!r}", s.provenance
    for p in data.products:
        yield f"product {p.id!r}", p.provenance
    for g in data.groups:
        yield f"allergen group {g.id!r}", g.provenance
    for c in data.crosses:
        yield f"cross-reaction {c.source_group!r} -> {c.target_group!r}", c.provenance
    for i in data.indications:
        yield f"indication {i.id!r}", i.provenance
        for f in i.fits:
            yield f"indication {i.id!r} fit {f.target!r}", f.provenance
    for pr in data.protocols:
        yield f"protocol {pr.indication!r}/{pr.area!r}", pr.provenance
    for r in data.rules:
        yield f"{r.kind} rule #{r.id}", r.provenance
    for d in data.defaults:
        yield f"formulation default {d.key!r}", d.provenance
    for t in data.conditions:
        if t.provenance is not None:
            yield f"condition {t.id!r}", t.provenance
    for t in data.medication_classes:
        if t.provenance is not None:
            yield f"medication class {t.id!r}", t.provenance
    for med in data.medications:
        if med.provenance is not None:
            yield f"medication {med.id!r}", med.provenance
    for u in data.unrelated:
        yield f"{u.kind} term {u.id!r} (vocabulary)", u.provenance
    for x in data.distinctions:
        yield f"distinction {x.a!r} / {x.b!r}", x.provenance
    for code in data.fhir_codes:
        yield f"FHIR code {code.system}|{code.code}", code.provenance


def validate_source_grades(data: CatalogueData, known: CatalogueData | None = None) -> None:
    """One document, one grade: the same source (title and URL) is graded alike wherever it is
    cited. A source given without a grade takes its row's, so a document cited by rows of
    different grades needs its own ``grade`` written out."""
    graded: dict[tuple[str | None, str | None], tuple[str, str]] = {}
    for where, provenance in [*cited_facts(known or CatalogueData()), *cited_facts(data)]:
        for source in provenance.sources:
            grade = source.grade or provenance.evidence
            first = graded.setdefault((source.title, source.url), (grade, where))
            if first[0] != grade:
                raise CatalogueDataError(
                    f"{where}: source {str(source)!r} is graded {grade!r} here but {first[0]!r} in {first[1]}; "
                    "give it one grade (grade = \"...\") wherever it is cited")


def fhir_code_key(code: FhirCode) -> tuple[str, str, str]:
    """What makes a code row one of a kind: an Observation code is one whatever it reads."""
    return (code.kind, code.system, code.code)


def _validate_codes(data: CatalogueData, base: CatalogueData) -> None:
    """Each (kind, system, code) once, across the shipped rows and ``data``; a code is either a
    term or "nothing to record" for a kind, never both; every term resolves in the catalogue."""
    from mesocli.domain.catalogue import normalise

    seen: dict[tuple[str, str, str], FhirCode] = {}
    for code in [*base.fhir_codes, *data.fhir_codes]:
        key = fhir_code_key(code)
        if key in seen:
            first = seen[key]
            how = "a term and 'nothing to record'" if (first.term is None) != (code.term is None) else "twice"
            raise CatalogueDataError(f"FHIR code {code.system}|{code.code} is mapped {how} for {code.kind}")
        seen[key] = code

    def named(*groups: Iterable[Any]) -> set[str]:
        return {normalise(text) for entries in groups for e in entries for text in (e.id, e.name, *e.aliases)}

    names = {
        "allergy": named(base.groups, data.groups, base.substances, data.substances),
        "condition": named(base.conditions, data.conditions),
        "medication": named(base.medications, data.medications, base.medication_classes,
                            data.medication_classes),
    }
    accepts = {"allergy": "an allergen group or substance", "condition": "a condition",
               "medication": "a medication or medication class"}
    for code in data.fhir_codes:
        if code.term is not None and normalise(code.term) not in names[code.kind]:
            raise CatalogueDataError(f"FHIR code {code.system}|{code.code}: term {code.term!r} is not "
                                     f"{accepts[code.kind]} in the catalogue")
