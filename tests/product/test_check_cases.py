"""Clinical cases for ``meso check``: a table of patients and cocktails, each with the findings
that must appear and the findings that must not.

Every case runs through the real command line (``meso check ... --json``) and is matched on
the finding's (severity, kind, subject, trigger), or on a subset of those keys. An extra key
``in_message`` asserts that a piece of text (e.g. the worked-out limit) is in the message; any
other key of the finding document (``path``, ``evidence``) may be matched too.

Each case says, in its ``fact`` field, the clinical fact it encodes. Cases whose expectation the
current code or catalogue does not meet are marked ``xfail(strict=True)`` with the reason: a bug
in ``mesocli`` or a data gap in the catalogue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests._findings import matches, show, want

SEVERITIES = ("info", "caution", "contraindicated")
RANK = {"ok": 0, "info": 1, "caution": 2, "contraindicated": 3}


# ------------------------------------------------------------------------------ the table
def product(pid: str, volume: str | None = None) -> dict[str, Any]:
    return {"id": pid, **({"volume": volume} if volume is not None else {})}


def mix(sid: str, concentration: str | None, volume: str | None) -> dict[str, Any]:
    sub: dict[str, Any] = {"id": sid}
    if concentration is not None:
        sub["concentration"] = concentration
    return {"substances": [sub], **({"volume": volume} if volume is not None else {})}


def recipe(*syringes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"syringes": [{"components": list(s)} for s in syringes], **extra}


@dataclass(frozen=True)
class Case:
    id: str
    fact: str
    allergies: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    age: int | None = None
    weight: str | None = None
    sex: str | None = None
    ingredients: tuple[str, ...] = ()
    recipe: dict[str, Any] | None = None
    indication: str | None = None
    area: str | None = None
    treatment_area: str | None = None
    max_products: int | None = None
    must: tuple[dict[str, Any], ...] = ()
    must_not: tuple[dict[str, Any], ...] = ()
    status: str | None = None
    xfail: str | None = None


CONTRA, CAUTION, INFO = "contraindicated", "caution", "info"

CASES: list[Case] = [
    # ------------------------------------------------------------------ allergy: direct and group
    Case(
        "amide-allergy-premixed-restylane-vital-lidocaine",
        "Restylane IFU: contraindicated in allergy to lidocaine or other amide-type anaesthetics; "
        "the skin booster comes pre-mixed with lidocaine 3 mg/mL.",
        allergies=("amide local anaesthetics",),
        ingredients=("restylane-vital-lidocaine",),
        must=(
            want(
                CONTRA, "allergy", "restylane-vital-lidocaine", "amide-local-anaesthetics", path="pre-mixed"
            ),
        ),
        status=CONTRA,
    ),
    Case(
        "lidocaine-allergy-premixed-restylane-vital-lidocaine",
        "A lidocaine allergy excludes every product that contains lidocaine, pre-mixed or not.",
        allergies=("lidocaine",),
        ingredients=("restylane-vital-lidocaine",),
        must=(want(CONTRA, "allergy", "restylane-vital-lidocaine", "lidocaine"),),
        status=CONTRA,
    ),
    Case(
        "lidocaine-allergy-direct-plain-vial",
        "Direct allergy to the active of a plain lidocaine vial.",
        allergies=("Xylocaine",),
        ingredients=("lidocaine-1pct-sd",),
        must=(want(CONTRA, "allergy", "lidocaine-1pct-sd", "lidocaine", path="direct"),),
        status=CONTRA,
    ),
    Case(
        "lidocaine-allergy-reaches-mepivacaine",
        "Lidocaine labels contraindicate hypersensitivity to amide anaesthetics as a class: a "
        "lidocaine allergy excludes mepivacaine too.",
        allergies=("lidocaine",),
        ingredients=("mepivacaine",),
        must=(want(CONTRA, "allergy", "mepivacaine", "lidocaine", path="group"),),
        status=CONTRA,
    ),
    Case(
        "amide-allergy-procaine-is-not-contraindicated",
        "Amides and esters do not cross-react: procaine is a possible alternative for a true amide "
        "allergy (an info note at most, never a contraindication).",
        allergies=("amide local anaesthetics",),
        ingredients=("novocain-1pct-ampul",),
        must=(want(INFO, "allergy", "novocain-1pct-ampul", "amide-local-anaesthetics"),),
        must_not=(want(CONTRA), want(CAUTION)),
        status="ok",
    ),
    Case(
        "lidocaine-allergy-procaine-is-not-contraindicated",
        "Same rule reached from a single amide: lidocaine allergy, procaine injection.",
        allergies=("lidocaine",),
        ingredients=("novocain-1pct-ampul",),
        must_not=(want(CONTRA, "allergy"), want(CAUTION, "allergy")),
        status="ok",
    ),
    # ------------------------------------------------------------------ allergy: excipients
    Case(
        "paraben-allergy-methylparaben-in-multidose-lidocaine",
        "Multi-dose lidocaine vials contain methylparaben 1 mg/mL: excluded in paraben allergy.",
        allergies=("parabens",),
        ingredients=("lidocaine-2pct-md-methylparaben",),
        must=(want(CONTRA, "allergy", "lidocaine-2pct-md-methylparaben", "parabens", path="excipient"),),
        status=CONTRA,
    ),
    Case(
        "paraben-allergy-methylparaben-free-lidocaine-is-fine",
        "The methylparaben-free single-dose vial is the alternative for a paraben allergy.",
        allergies=("parabens",),
        ingredients=("lidocaine-2pct-sd",),
        must_not=(want(kind="allergy"),),
        status="ok",
    ),
    Case(
        "ester-paba-allergy-paraben-preserved-lidocaine-swiss-label",
        "Swiss lidocaine label: paraben-preserved lidocaine must not be given to patients allergic "
        "to ester anaesthetics or PABA.",
        allergies=("PABA",),
        ingredients=("lidocaine-2pct-md-methylparaben",),
        must=(want(CONTRA, "allergy", "lidocaine-2pct-md-methylparaben", "ester-local-anaesthetics"),),
        status=CONTRA,
    ),
    Case(
        "procaine-allergy-paraben-preserved-lidocaine",
        "The same Swiss rule reached from a single ester anaesthetic (procaine).",
        allergies=("procaine",),
        ingredients=("lidocaine-1pct-md-methylparaben",),
        must=(want(CONTRA, "allergy", "lidocaine-1pct-md-methylparaben", "procaine"),),
        status=CONTRA,
    ),
    Case(
        "ester-allergy-paraben-free-lidocaine-is-not-contraindicated",
        "Glydo label: PABA-allergic patients have not shown cross-sensitivity to lidocaine; "
        "paraben-free amide is the usual alternative.",
        allergies=("ester local anaesthetics",),
        ingredients=("lidocaine-2pct-sd",),
        must_not=(want(CONTRA), want(CAUTION)),
        status="ok",
    ),
    Case(
        "paraben-allergy-ester-anaesthetic-caution",
        "Paraben-PABA cross-reactivity is disputed: a paraben allergy is a caution, not a "
        "contraindication, for procaine.",
        allergies=("methylparaben",),
        ingredients=("procaine-injection",),
        must=(want(CAUTION, "allergy", "procaine-injection", "methylparaben"),),
        must_not=(want(CONTRA, "allergy"),),
        status=CAUTION,
    ),
    Case(
        "sulfite-allergy-metabisulfite-in-lidocaine-with-epinephrine",
        "Epinephrine-containing lidocaine contains sodium metabisulfite: excluded in sulfite allergy.",
        allergies=("sulphites",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CONTRA, "allergy", "lidocaine-1pct-epinephrine", "sulfites", path="excipient"),),
        status=CONTRA,
    ),
    Case(
        "sulfite-allergy-plain-lidocaine-is-fine",
        "Plain lidocaine has no sulfite antioxidant.",
        allergies=("sulfites",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="allergy"),),
        status="ok",
    ),
    Case(
        "benzyl-alcohol-allergy-deoxycholic-acid",
        "Kybella contains benzyl alcohol 18 mg per vial: excluded in benzyl alcohol hypersensitivity.",
        allergies=("benzyl alcohol",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CONTRA, "allergy", "deoxycholic-acid-10mg-ml", "benzyl-alcohol", path="excipient"),),
        status=CONTRA,
    ),
    Case(
        "benzyl-alcohol-allergy-bacteriostatic-saline",
        "Bacteriostatic saline is preserved with benzyl alcohol 9 mg/mL.",
        allergies=("benzyl alcohol allergy",),
        ingredients=("bacteriostatic-sodium-chloride",),
        must=(want(CONTRA, "allergy", "bacteriostatic-sodium-chloride", "benzyl-alcohol-preservative"),),
        status=CONTRA,
    ),
    Case(
        "ethylenediamine-allergy-aminophylline",
        "Aminophylline is theophylline plus ethylenediamine, a frequent sensitiser (urticaria after "
        "mesotherapy reported).",
        allergies=("ethylenediamine",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CONTRA, "allergy", "aminophylline-25mg-ml", "ethylenediamine"),),
        status=CONTRA,
    ),
    Case(
        "edta-allergy-aminophylline-caution",
        "Ethylenediamine and edetate share a sensitising structure: caution with aminophylline.",
        allergies=("EDTA",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "allergy", "aminophylline-25mg-ml", "edetates"),),
        must_not=(want(CONTRA, "allergy"),),
        status=CAUTION,
    ),
    Case(
        "ethylenediamine-allergy-edetate-in-ascorbic-acid-caution",
        "Ascorbic acid injection contains disodium edetate, which can cross-react with ethylenediamine.",
        allergies=("ethylenediamine",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must=(want(CAUTION, "allergy", "ascorbic-acid-500mg-ml", "ethylenediamine", path="excipient"),),
        status=CAUTION,
    ),
    Case(
        "thimerosal-allergy-bovine-hyaluronidase",
        "Amphadase (bovine hyaluronidase) contains thimerosal.",
        allergies=("thiomersal",),
        ingredients=("hyaluronidase-bovine-150",),
        must=(want(CONTRA, "allergy", "hyaluronidase-bovine-150", "thimerosal"),),
        status=CONTRA,
    ),
    Case(
        "albumin-allergy-recombinant-hyaluronidase",
        "Hylenex (recombinant hyaluronidase) contains human albumin.",
        allergies=("human serum albumin",),
        ingredients=("hyaluronidase-recombinant-150",),
        must=(want(CONTRA, "allergy", "hyaluronidase-recombinant-150", "human-albumin"),),
        status=CONTRA,
    ),
    Case(
        "salicylate-allergy-organic-silicium",
        "Conjonctyl (organic silicium) is stabilised with salicylate: limitation of use in patients "
        "allergic to salicylic acid.",
        allergies=("salicylic acid",),
        ingredients=("organic-silicium",),
        must=(want(CONTRA, "allergy", "organic-silicium", "salicylates"),),
        status=CONTRA,
    ),
    Case(
        "aspirin-allergy-organic-silicium",
        "Salicylate allergy is usually recorded as an aspirin (acetylsalicylic acid) allergy; it "
        "should reach the salicylate in organic silicium.",
        allergies=("aspirin",),
        ingredients=("organic-silicium",),
        must=(want(kind="allergy", subject="organic-silicium", trigger="salicylates"),),
    ),
    Case(
        "thiamine-allergy-thiamine-injection",
        "Thiamine is the most allergenic vitamin (anaphylaxis after parenteral doses).",
        allergies=("vitamin B1 allergy",),
        ingredients=("thiamine-100mg-ml",),
        must=(want(CONTRA, "allergy", "thiamine-100mg-ml", "thiamine-hypersensitivity"),),
        status=CONTRA,
    ),
    # ------------------------------------------------------------------ allergy: source organisms
    Case(
        "soy-allergy-phosphatidylcholine",
        "Phosphatidylcholine in mesotherapy is soy lecithin: excluded in soy allergy.",
        allergies=("soya",),
        ingredients=("phosphatidylcholine",),
        must=(want(CONTRA, "allergy", "phosphatidylcholine", "soy", path="origin"),),
        status=CONTRA,
    ),
    Case(
        "soy-allergy-pc-dc-injection",
        "The PC/DC (Lipostabil-type) injection carries soy phosphatidylcholine.",
        allergies=("soy",),
        ingredients=("pc-dc-injection",),
        must=(want(CONTRA, "allergy", "pc-dc-injection", "soy"),),
        status=CONTRA,
    ),
    Case(
        "peanut-allergy-soy-phosphatidylcholine",
        "EMA draft monograph: soya lecithin must not be used in people hypersensitive to peanut or "
        "other legumes.",
        allergies=("peanut",),
        ingredients=("phosphatidylcholine",),
        must=(want(CONTRA, "allergy", "phosphatidylcholine", "peanut-legumes"),),
        status=CONTRA,
    ),
    Case(
        "peanut-allergy-pc-dc-injection",
        "The same exclusion reaches the PC/DC injection that carries soy phosphatidylcholine.",
        allergies=("groundnut",),
        ingredients=("pc-dc-injection",),
        must=(want(CONTRA, "allergy", "pc-dc-injection", "peanut-legumes"),),
        status=CONTRA,
    ),
    Case(
        "birch-pollen-allergy-soy-phosphatidylcholine",
        "The same monograph lists birch-pollen hypersensitivity as a reason not to use soya lecithin.",
        allergies=("birch pollen",),
        ingredients=("dermaheal-ll",),
        must=(want(CONTRA, "allergy", "dermaheal-ll", "birch-pollen"),),
    ),
    Case(
        "egg-allergy-egg-lecithin",
        "Lipid-emulsion labels: contraindicated in egg protein hypersensitivity (egg phospholipids).",
        allergies=("egg",),
        ingredients=("egg-lecithin",),
        must=(want(CONTRA, "allergy", "egg-lecithin", "egg", path="origin"),),
        status=CONTRA,
    ),
    Case(
        "egg-allergy-pc-of-undeclared-source",
        "Injectable phosphatidylcholine comes from soy or egg yolk, and egg-phospholipid products are "
        "contraindicated in egg hypersensitivity: a product that does not declare its PC source "
        "(Dermaheal LL) is excluded until the source is confirmed.",
        allergies=("egg",),
        ingredients=("dermaheal-ll",),
        must=(want(CONTRA, "allergy", "dermaheal-ll", "egg", in_message="does not declare"),),
        status=CONTRA,
    ),
    Case(
        "soy-allergy-pc-of-undeclared-source",
        "The same undeclared source may be soy: a soy allergy excludes it too.",
        allergies=("soya",),
        ingredients=("dermaheal-ll",),
        must=(want(CONTRA, "allergy", "dermaheal-ll", "soy", in_message="does not declare"),),
        status=CONTRA,
    ),
    Case(
        "paraben-allergy-pc-of-undeclared-source",
        "An allergy that reaches neither soy nor egg (parabens) says nothing about the PC source.",
        allergies=("parabens",),
        ingredients=("dermaheal-ll",),
        must_not=(want(kind="allergy"),),
    ),
    Case(
        "egg-allergy-soy-pc-is-not-flagged",
        "Soy phosphatidylcholine is not egg-derived.",
        allergies=("egg",),
        ingredients=("pc-dc-injection",),
        must_not=(want(kind="allergy"),),
    ),
    Case(
        "fish-allergy-pdrn-caution-not-absolute",
        "PDRN is salmon-trout sperm DNA; no label contraindicates it in fish allergy: caution, not absolute.",
        allergies=("fish",),
        ingredients=("pdrn-injection",),
        must=(want(CAUTION, "allergy", "pdrn-injection", "fish", path="origin"),),
        must_not=(want(CONTRA),),
        status=CAUTION,
    ),
    Case(
        "fish-allergy-polynucleotides-caution",
        "Polynucleotides (PN) are also salmon-derived.",
        allergies=("salmon",),
        ingredients=("polynucleotide-injection",),
        must=(want(CAUTION, "allergy", "polynucleotide-injection", "fish"),),
        must_not=(want(CONTRA, "allergy"),),
    ),
    Case(
        "fish-allergy-ha-booster-is-not-contraindicated",
        "Bacterial-fermentation hyaluronic acid has nothing to do with fish.",
        allergies=("fish",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="allergy"), want(CONTRA)),
        status="ok",
    ),
    Case(
        "avian-allergy-hylaform",
        "Hylaform was extracted from rooster combs: risky in avian-protein hypersensitivity.",
        allergies=("chicken",),
        ingredients=("hylaform-avian-ha",),
        must=(want(CONTRA, "allergy", "hylaform-avian-ha", "avian-protein"),),
        status=CONTRA,
    ),
    Case(
        "avian-allergy-bacterial-ha-is-fine",
        "Non-animal (bacterial) HA is the alternative for an avian-protein allergy.",
        allergies=("avian protein",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="allergy"),),
        status="ok",
    ),
    Case(
        "gram-positive-allergy-bacterial-ha",
        "Restylane IFU: bacterial HA may contain trace gram-positive bacterial proteins; "
        "contraindicated if allergic.",
        allergies=("gram-positive bacterial proteins",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CONTRA, "allergy", "ha-nonxl-booster", "gram-positive-bacterial-protein"),),
        status=CONTRA,
    ),
    Case(
        "gram-positive-allergy-premixed-restylane",
        "The same applies to the pre-mixed Restylane skin booster.",
        allergies=("bacterial protein",),
        ingredients=("restylane-vital-lidocaine",),
        must=(want(CONTRA, "allergy", "restylane-vital-lidocaine", "gram-positive-bacterial-protein"),),
    ),
    Case(
        "hymenoptera-venom-allergy-hyaluronidase-caution",
        "Bee and wasp venoms contain hyaluronidase; some venom-allergic patients react to medical "
        "hyaluronidase: a caution flag, not absolute.",
        allergies=("wasp venom",),
        ingredients=("hyaluronidase-ovine-200",),
        must=(want(CAUTION, "allergy", "hyaluronidase-ovine-200", "hymenoptera-venom", path="cross"),),
        must_not=(want(CONTRA),),
        status=CAUTION,
    ),
    Case(
        "bovine-allergy-bovine-hyaluronidase-not-recombinant",
        "Amphadase is bovine testicular hyaluronidase; the recombinant human enzyme is not bovine.",
        allergies=("bovine",),
        ingredients=("hyaluronidase-bovine-150", "hyaluronidase-recombinant-150"),
        must=(want(CONTRA, "allergy", "hyaluronidase-bovine-150", "bovine-protein"),),
        must_not=(want(kind="allergy", subject="hyaluronidase-recombinant-150"),),
    ),
    Case(
        "asteraceae-allergy-artichoke",
        "Artichoke is an Asteraceae (Compositae); ragweed/mugwort sensitisation cross-reacts.",
        allergies=("ragweed",),
        ingredients=("artichoke-extract-injection",),
        must=(want(CONTRA, "allergy", "artichoke-extract-injection", "asteraceae", path="origin"),),
        status=CONTRA,
    ),
    Case(
        "asteraceae-allergy-centella-is-not-asteraceae",
        "Centella asiatica is Apiaceae, not Asteraceae: do not map it to the Asteraceae allergy.",
        allergies=("compositae",),
        ingredients=("centella-extract-injection",),
        must_not=(want(kind="allergy"),),
    ),
    Case(
        "apiaceae-allergy-centella",
        "Centella is contraindicated in hypersensitivity to Apiaceae.",
        allergies=("umbelliferae",),
        ingredients=("centella-extract-injection",),
        must=(want(CONTRA, "allergy", "centella-extract-injection", "apiaceae"),),
        status=CONTRA,
    ),
    Case(
        "chamomile-allergy-reaches-other-asteraceae-extracts",
        "Cross-reactivity between Asteraceae is common: an allergy to one Compositae extract "
        "(chamomile) should at least caution against another (artichoke).",
        allergies=("chamomile",),
        ingredients=("artichoke-extract-injection",),
        must=(want(CAUTION, "allergy", "artichoke-extract-injection", "chamomile-extract"),),
        must_not=(want(CONTRA, "allergy"),),
    ),
    Case(
        "pdrn-allergy-reaches-polynucleotides",
        "PDRN and polynucleotides are both salmon DNA: an allergy to one must flag the other.",
        allergies=("polydeoxyribonucleotide",),
        ingredients=("polynucleotide-injection",),
        must=(want(CAUTION, "allergy", "polynucleotide-injection", "pdrn"),),
    ),
    # ------------------------------------------------------------------ conditions
    Case(
        "pregnancy-procedure-wide",
        "Elective mesotherapy in pregnancy: no safety data; excluded for the whole procedure.",
        conditions=("pregnant",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CONTRA, "condition", "procedure", "pregnancy"),),
        status=CONTRA,
    ),
    Case(
        "pregnancy-dutasteride",
        "Dutasteride label: contraindicated in women who are or may become pregnant.",
        conditions=("pregnancy",),
        ingredients=("dutasteride-0-05pct",),
        must=(
            want(CONTRA, "condition", "dutasteride-0-05pct", "pregnancy"),
            want(CONTRA, "condition", "procedure", "pregnancy"),
        ),
    ),
    Case(
        "childbearing-potential-dutasteride",
        "Women who may become pregnant must not even handle dutasteride.",
        conditions=("woman of childbearing age",),
        ingredients=("dutasteride-0-01pct",),
        must=(want(CONTRA, "condition", "dutasteride-0-01pct", "childbearing-potential"),),
        must_not=(want(subject="procedure", severity=CONTRA),),
    ),
    Case(
        "breastfeeding-minoxidil",
        "Topical minoxidil: do not use when breast-feeding; the procedure itself is a caution.",
        conditions=("breast-feeding",),
        ingredients=("minoxidil-0-5pct",),
        must=(
            want(CONTRA, "condition", "minoxidil-0-5pct", "breastfeeding"),
            want(CAUTION, "condition", "procedure", "breastfeeding"),
        ),
    ),
    Case(
        "heart-block-lidocaine",
        "Swiss lidocaine label: contraindicated in heart block and other conduction disorders.",
        conditions=("AV block",),
        ingredients=("lidocaine-1pct-sd",),
        must=(want(CONTRA, "condition", "lidocaine-1pct-sd", "heart-block"),),
        status=CONTRA,
    ),
    Case(
        "heart-block-premixed-lidocaine",
        "The conduction-disorder rule reaches lidocaine inside a pre-mixed HA booster.",
        conditions=("heart-block",),
        ingredients=("teosyal-redensity-ii",),
        must=(want(CONTRA, "condition", "teosyal-redensity-ii", "heart-block"),),
    ),
    Case(
        "myasthenia-lidocaine",
        "Swiss lidocaine label: contraindicated in myasthenia gravis.",
        conditions=("myasthenia gravis",),
        ingredients=("lidocaine-2pct-sd",),
        must=(want(CONTRA, "condition", "lidocaine-2pct-sd", "myasthenia-gravis"),),
    ),
    Case(
        "pheochromocytoma-minoxidil",
        "Minoxidil is contraindicated in pheochromocytoma.",
        conditions=("phaeochromocytoma",),
        ingredients=("minoxidil-0-5pct",),
        must=(want(CONTRA, "condition", "minoxidil-0-5pct", "pheochromocytoma"),),
        status=CONTRA,
    ),
    Case(
        "seizure-disorder-tranexamic-acid",
        "Swiss tranexamic acid label: contraindicated with a known seizure tendency.",
        conditions=("epilepsy",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "seizure-disorder"),),
        status=CONTRA,
    ),
    Case(
        "thrombosis-history-tranexamic-acid",
        "Oral tranexamic acid: contraindicated with a history of thrombosis.",
        conditions=("DVT",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "thrombosis-history"),),
    ),
    Case(
        "g6pd-ascorbic-acid-caution",
        "Ascor label: in G6PD deficiency do not exceed the RDA (haemolysis): caution.",
        conditions=("favism",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must=(want(CAUTION, "condition", "ascorbic-acid-500mg-ml", "g6pd-deficiency"),),
        must_not=(want(CONTRA),),
        status=CAUTION,
    ),
    Case(
        "dysphagia-deoxycholic-acid-caution",
        "Kybella: pre-existing dysphagia may be exacerbated.",
        conditions=("difficulty swallowing",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CAUTION, "condition", "deoxycholic-acid-10mg-ml", "dysphagia"),),
        status=CAUTION,
    ),
    Case(
        "bleeding-disorder-restylane",
        "Restylane Vital: not for patients with bleeding disorders.",
        conditions=("haemophilia",),
        ingredients=("restylane-vital-lidocaine",),
        must=(
            want(CONTRA, "condition", "restylane-vital-lidocaine", "bleeding-disorder"),
            want(CAUTION, "condition", "procedure", "bleeding-disorder"),
        ),
    ),
    Case(
        "asthma-sulfite-containing-lidocaine",
        "Sulfite sensitivity is more frequent in asthmatics.",
        conditions=("asthmatic",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "condition", "lidocaine-1pct-epinephrine", "asthma"),),
    ),
    Case(
        "active-infection-procedure-wide",
        "Kybella and hyaluronidase labels: do not inject into infected areas.",
        conditions=("skin infection",),
        ingredients=("biotin-0-5mg-ml",),
        must=(want(CONTRA, "condition", "procedure", "infection-at-site"),),
        status=CONTRA,
    ),
    # ------------------------------------------------------------------ medications
    Case(
        "warfarin-restylane-contraindicated",
        "Restylane Vital: not for use in patients taking anticoagulants (warfarin is one).",
        medications=("coumadin",),
        ingredients=("restylane-vital-lidocaine",),
        must=(
            want(CONTRA, "medication", "restylane-vital-lidocaine", "warfarin"),
            want(CAUTION, "medication", "procedure", "warfarin"),
        ),
        status=CONTRA,
    ),
    Case(
        "anticoagulant-class-restylane-contraindicated",
        "The anticoagulant rule also applies when only the class is recorded.",
        medications=("blood thinner",),
        ingredients=("restylane-vital-light-lidocaine",),
        must=(want(CONTRA, "medication", "restylane-vital-light-lidocaine", "anticoagulant"),),
    ),
    Case(
        "warfarin-plain-ha-booster-caution-only",
        "Anticoagulants make bruising likely: a caution for other boosters, not a contraindication.",
        medications=("warfarin",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CAUTION, "medication", "procedure", "warfarin"),),
        must_not=(want(CONTRA),),
        status=CAUTION,
    ),
    Case(
        "combined-contraceptive-tranexamic-acid",
        "Cyklokapron: avoid with pro-thrombotic products including hormonal contraceptives.",
        medications=("combined pill",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(
            want(
                CAUTION, "medication", "tranexamic-acid-100mg-ml", "ethinylestradiol-combined-contraceptive"
            ),
        ),
    ),
    Case(
        "aspirin-deoxycholic-acid",
        "Kybella: caution with antiplatelet therapy (submental haematoma).",
        medications=("acetylsalicylic acid",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CAUTION, "medication", "deoxycholic-acid-10mg-ml", "aspirin"),),
    ),
    Case(
        "anticoagulant-ginkgo",
        "Ginkgo: bleeding case reports; caution with anticoagulants.",
        medications=("apixaban",),
        ingredients=("ginkgo-extract-injection",),
        must=(want(CAUTION, "medication", "ginkgo-extract-injection", "apixaban"),),
    ),
    # ------------------------------------------------------------------ age
    Case(
        "age-16-deoxycholic-acid",
        "Kybella is not intended for children or adolescents (<18).",
        age=16,
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(
            want(CONTRA, "age", "deoxycholic-acid-10mg-ml", "age"),
            want(CAUTION, "age", "procedure", "age"),
        ),
        status=CONTRA,
    ),
    Case(
        "age-17-ha-booster",
        "HA boosters: safety under 18 not established; absolute for HA.",
        age=17,
        ingredients=("profhilo",),
        must=(want(CONTRA, "age", "profhilo", "age"),),
    ),
    Case(
        "age-18-deoxycholic-acid-is-fine",
        "At 18 the age limit is met.",
        age=18,
        ingredients=("deoxycholic-acid-10mg-ml",),
        must_not=(want(kind="age"),),
    ),
    # ------------------------------------------------------------------ sex
    Case(
        "sex-female-dutasteride-caution",
        "Avodart label: not for women, not to be handled by anyone who is or may become pregnant; "
        "a woman who is not pregnant gets a caution, not a contraindication.",
        sex="female",
        ingredients=("dutasteride-0-01pct",),
        must=(want(CAUTION, "sex", "dutasteride-0-01pct", "female"),),
        must_not=(want(CONTRA),),
    ),
    Case(
        "sex-unknown-dutasteride-caution",
        "An unknown sex is not male: the same caution as for a woman.",
        ingredients=("dutasteride-0-01pct",),
        must=(want(CAUTION, "sex", "dutasteride-0-01pct", "sex-unknown"),),
    ),
    Case(
        "sex-male-dutasteride-no-caution",
        "A patient recorded as male gets no sex caution for dutasteride.",
        sex="male",
        ingredients=("dutasteride-0-01pct",),
        must_not=(want(kind="sex"),),
    ),
    Case(
        "breastfeeding-dutasteride",
        "Avodart label: contraindicated in women, nursing women included.",
        sex="female",
        conditions=("breastfeeding",),
        ingredients=("dutasteride-0-01pct",),
        must=(want(CONTRA, "condition", "dutasteride-0-01pct", "breastfeeding"),),
        status=CONTRA,
    ),
    # ------------------------------------------------------------------ advisories
    Case(
        "biotin-advisory-laboratory-tests",
        "Biotin makes biotin-streptavidin immunoassays read falsely high or low (FDA safety "
        "communication): a standing note whenever biotin is used, whoever the patient is.",
        ingredients=("biotin-0-5mg-ml",),
        must=(want(INFO, "advisory", "biotin-0-5mg-ml", "biotin", in_message="immunoassays"),),
        status="ok",
    ),
    Case(
        "biotin-advisory-reaches-a-vitamin-mix",
        "The note follows biotin into a multi-vitamin product that holds it.",
        ingredients=("infuvite-adult-vial-2",),
        must=(want(INFO, "advisory", "infuvite-adult-vial-2", "biotin"),),
    ),
    Case(
        "no-advisory-without-biotin",
        "Another B vitamin (thiamine) carries no laboratory-test note.",
        ingredients=("thiamine-100mg-ml",),
        must_not=(want(kind="advisory"),),
    ),
    Case(
        "breastfeeding-ascorbic-acid-is-a-caution",
        "Ascor label: doses after delivery follow the recommended dietary allowance; ascorbic acid passes "
        "into breast milk.",
        conditions=("breastfeeding",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must=(want(CAUTION, "condition", "ascorbic-acid-500mg-ml", "breastfeeding", in_message="Ascor label",
                   evidence="label"),),
        must_not=(want(CONTRA),),
    ),
    Case(
        "breastfeeding-rule-does-not-reach-other-vitamins",
        "The ascorbic acid statement is about ascorbic acid: biotin gets only the procedure-wide note.",
        conditions=("breastfeeding",),
        ingredients=("biotin-0-5mg-ml",),
        must_not=(want(in_message="Ascor label"), want(CONTRA)),
    ),
    # ------------------------------------------------------------------ fit for the indication
    Case(
        "fit-minoxidil-hair-loss-principal",
        "Intradermal minoxidil 0.5% is a principal hair-loss ingredient (peer-reviewed RCT).",
        ingredients=("minoxidil-0-5pct",),
        indication="alopecia",
        must=(
            want(
                INFO,
                "fit",
                "minoxidil-0-5pct",
                "hair-loss",
                in_message="peer-reviewed",
                evidence="peer-reviewed",
            ),
        ),
        must_not=(want(CAUTION, "fit"),),
    ),
    Case(
        "fit-biotin-hair-loss-complementary",
        "Biotin is a complementary hair-loss ingredient (vendor evidence).",
        ingredients=("biotin-0-5mg-ml",),
        indication="hair-loss",
        must=(
            want(INFO, "fit", "biotin-0-5mg-ml", "hair-loss", in_message="complementary", evidence="vendor"),
        ),
    ),
    Case(
        "fit-none-ha-booster-for-hair-loss",
        "An ingredient with no recorded fit for the indication is a caution.",
        ingredients=("ha-nonxl-booster",),
        indication="hair-loss",
        must=(want(CAUTION, "fit", "ha-nonxl-booster", "hair-loss"),),
        status=CAUTION,
    ),
    Case(
        "fit-local-anaesthetic-conflicts-with-lipolysis",
        "Local anaesthetics mixed into lipolytic solutions inhibit the intended lipolysis.",
        ingredients=("pc-dc-injection", "lidocaine-1pct-sd"),
        indication="localized-fat",
        must=(
            want(CAUTION, "fit", "lidocaine-1pct-sd", "localized-fat"),
            want(INFO, "fit", "pc-dc-injection", "localized-fat"),
        ),
    ),
    Case(
        "fit-vasoconstrictor-discouraged",
        "Vasoconstrictors are described as contraindicated in mesotherapy mixtures.",
        ingredients=("lidocaine-1pct-epinephrine",),
        indication="skin-rejuvenation",
        must=(want(CAUTION, "fit", "lidocaine-1pct-epinephrine", "skin-rejuvenation"),),
    ),
    Case(
        "fit-restylane-vital-not-for-dark-circles",
        "Restylane Vital: not suitable for patients with pre-existing pigmented dark lower-lid circles.",
        ingredients=("restylane-vital-lidocaine",),
        indication="dark-circles",
        must=(want(CONTRA, "fit", "restylane-vital-lidocaine", "dark-circles"),),
    ),
    # ------------------------------------------------------------------ regulatory
    Case(
        "withdrawn-buflomedil",
        "EMA suspended all buflomedil medicines (2011-2012): withdrawn, do not use.",
        ingredients=("buflomedil-injection",),
        must=(want(CONTRA, "regulatory", "buflomedil-injection", "withdrawn"),),
        status=CONTRA,
    ),
    Case(
        "cosmetic-only-argireline-serum",
        "Argireline is a topical cosmetic peptide: not for injection.",
        ingredients=("argireline-serum",),
        must=(want(CONTRA, "regulatory", "argireline-serum", "cosmetic-only"),),
        status=CONTRA,
    ),
    Case(
        "cosmetic-only-ghk-cu-serum",
        "GHK-Cu has no approved injectable; the serum is topical.",
        ingredients=("ghk-cu-serum",),
        must=(want(CONTRA, "regulatory", "ghk-cu-serum", "cosmetic-only"),),
        status=CONTRA,
    ),
    Case(
        "cosmetic-only-vitamin-c-serum",
        "Granulomas after intradermal use of a topical vitamin C serum.",
        ingredients=("vitamin-c-topical-serum",),
        must=(want(CONTRA, "regulatory", "vitamin-c-topical-serum", "cosmetic-only"),),
    ),
    Case(
        "off-label-deoxycholic-acid-outside-chin",
        "Kybella: use outside the submental region is not established (off-label).",
        ingredients=("deoxycholic-acid-10mg-ml",),
        area="abdomen",
        must=(want(CAUTION, "regulatory", "deoxycholic-acid-10mg-ml", "abdomen"),),
    ),
    Case(
        "on-label-deoxycholic-acid-submental",
        "The submental area is on-label for deoxycholic acid.",
        ingredients=("deoxycholic-acid-10mg-ml",),
        area="chin",
        must_not=(want(kind="regulatory"),),
    ),
    Case(
        "glutathione-injection-unapproved",
        "Philippines FDA: no injectable glutathione is approved for skin lightening.",
        ingredients=("glutathione-injection",),
        must=(want(CAUTION, "regulatory", "glutathione-injection"),),
    ),
    # ------------------------------------------------------------------ vehicle
    Case(
        "oily-vitamin-a",
        "Oil-based vehicles must not be injected in mesotherapy (necrosis).",
        ingredients=("vitamin-a-oily",),
        must=(want(CONTRA, "vehicle", "vitamin-a-oily", "oily"),),
        status=CONTRA,
    ),
    Case(
        "unknown-vehicle-caution",
        "An extract ampoule with no recorded vehicle must be confirmed aqueous before injection.",
        ingredients=("caffeine-injection",),
        must=(want(CAUTION, "vehicle", "caffeine-injection", "unknown-vehicle"),),
    ),
    # ------------------------------------------------------------------ mixing
    Case(
        "do-not-admix-deoxycholic-acid-with-lidocaine",
        "Kybella label: dilution or admixture with other compounds is not recommended.",
        ingredients=("deoxycholic-acid-10mg-ml", "lidocaine-1pct-sd"),
        must=(want(CONTRA, "incompatibility", "deoxycholic-acid-10mg-ml", "lidocaine-1pct-sd"),),
        status=CONTRA,
    ),
    Case(
        "do-not-admix-aminophylline",
        "Aminophylline must not be mixed in a syringe with other components.",
        ingredients=("caffeine-injection", "aminophylline-25mg-ml"),
        must=(want(CONTRA, "incompatibility", "aminophylline-25mg-ml", "caffeine-injection"),),
    ),
    Case(
        "do-not-admix-restylane",
        "Restylane Skinboosters: do not mix with other products before injection.",
        ingredients=("restylane-vital-lidocaine", "biotin-0-5mg-ml"),
        must=(want(CONTRA, "incompatibility", "restylane-vital-lidocaine", "biotin-0-5mg-ml"),),
    ),
    Case(
        "do-not-admix-in-separate-syringes-is-fine",
        "Giving deoxycholic acid from its own syringe is what the label asks for.",
        recipe=recipe([product("deoxycholic-acid-10mg-ml", "2 mL")], [product("lidocaine-1pct-sd", "1 mL")]),
        treatment_area="25 cm^2",
        must_not=(want(kind="incompatibility"),),
    ),
    Case(
        "ascorbic-acid-degrades-ha",
        "Ascorbate degrades hyaluronan (hydroxyl radicals): flag vitamin C co-mixed with HA.",
        ingredients=("ascorbic-acid-500mg-ml", "ha-nonxl-booster"),
        must=(want(CONTRA, "incompatibility", "ascorbic-acid-500mg-ml", "ha-nonxl-booster"),),
        status=CONTRA,
    ),
    Case(
        "hyaluronidase-destroys-ha",
        "Hyaluronidase hydrolyses hyaluronic acid: never co-mix.",
        ingredients=("hyaluronidase-bovine-150", "profhilo"),
        must=(want(CONTRA, "incompatibility", "hyaluronidase-bovine-150", "profhilo"),),
    ),
    Case(
        "thiamine-inactivated-by-sulfites",
        "Thiamine is rapidly inactivated by sulfites (metabisulfite in epinephrine-containing LA).",
        ingredients=("thiamine-100mg-ml", "lidocaine-1pct-epinephrine"),
        must=(want(CONTRA, "incompatibility", "thiamine-100mg-ml", "lidocaine-1pct-epinephrine"),),
    ),
    Case(
        "cyanocobalamin-bisulfite-ascorbic-acid",
        "Cyanocobalamin is incompatible with bisulfite-containing ascorbic acid injections.",
        ingredients=("cyanocobalamin-injection", "ascorbic-acid-bisulfite"),
        must=(want(CONTRA, "incompatibility", "cyanocobalamin-injection", "ascorbic-acid-bisulfite"),),
    ),
    Case(
        "hyaluronidase-with-local-anaesthetic-caution",
        "Hyaluronidase increases local-anaesthetic absorption (more systemic reactions).",
        ingredients=("hyaluronidase-recombinant-150", "lidocaine-1pct-sd"),
        must=(want(CAUTION, "incompatibility", "hyaluronidase-recombinant-150", "lidocaine-1pct-sd"),),
    ),
    Case(
        "too-many-products-in-one-syringe",
        "Mixtures of more than 3 products are hard to calculate (USP <797> immediate use: <= 3).",
        ingredients=(
            "biotin-0-5mg-ml",
            "dexpanthenol-injection",
            "cyanocobalamin-injection",
            "ha-nonxl-booster",
        ),
        must=(want(CAUTION, "incompatibility", "ha-nonxl-booster", "max-products-per-syringe"),),
        status=CAUTION,
    ),
    Case(
        "four-products-allowed-with-a-raised-limit",
        "--max-products raises the limit deliberately.",
        ingredients=(
            "biotin-0-5mg-ml",
            "dexpanthenol-injection",
            "cyanocobalamin-injection",
            "ha-nonxl-booster",
        ),
        max_products=4,
        must_not=(want(trigger="max-products-per-syringe"),),
    ),
    # ------------------------------------------------------------------ dose
    Case(
        "lidocaine-over-per-kg-limit",
        "Plain lidocaine: 4.5 mg/kg, never above 300 mg. 20 mL of 2% = 400 mg; at 60 kg the limit is 270 mg.",
        weight="60 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "20 mL")]),
        must=(want(CONTRA, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="270 mg"),),
        status=CONTRA,
    ),
    Case(
        "lidocaine-cap-wins-at-100-kg",
        "At 100 kg, 4.5 mg/kg gives 450 mg but the absolute cap of 300 mg applies: 320 mg is over.",
        weight="100 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "16 mL")]),
        must=(want(CONTRA, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="300 mg"),),
    ),
    Case(
        "lidocaine-under-cap-at-100-kg",
        "280 mg at 100 kg is under the 300 mg cap.",
        weight="100 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "14 mL")]),
        must=(want(CAUTION, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="near the limit 300 mg"),),
        must_not=(want(CONTRA, "dose"),),
        status=CAUTION,
    ),
    Case(
        "lidocaine-per-kg-wins-at-50-kg",
        "At 50 kg the per-kg limit (225 mg) is lower than the cap: 240 mg is over.",
        weight="50 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "12 mL")]),
        must=(want(CONTRA, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="225 mg"),),
    ),
    Case(
        "lidocaine-under-per-kg-at-50-kg",
        "220 mg at 50 kg is under 225 mg.",
        weight="50 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "11 mL")]),
        must=(want(CAUTION, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="near the limit 225 mg"),),
        must_not=(want(CONTRA, "dose"),),
    ),
    Case(
        "lidocaine-amounts-add-up-across-syringes",
        "Amounts of one substance add up across the syringes of a session: 2 x 160 mg at 60 kg.",
        weight="60 kg",
        recipe=recipe(
            [product("lidocaine-2pct-sd", "8 mL")], [product("lidocaine-2pct-md-methylparaben", "8 mL")]
        ),
        must=(want(CONTRA, "dose", trigger="lidocaine", in_message="320 mg"),),
    ),
    Case(
        "lidocaine-over-cap-without-weight",
        "Without a weight the absolute cap (300 mg) still applies: 400 mg is over.",
        recipe=recipe([product("lidocaine-2pct-sd", "20 mL")]),
        must=(want(CONTRA, "dose", "lidocaine-2pct-sd", "lidocaine"),),
    ),
    Case(
        "lidocaine-with-epinephrine-higher-limit",
        "With epinephrine: 7 mg/kg, never above 500 mg. 400 mg at 60 kg (limit 420 mg) is allowed.",
        weight="60 kg",
        recipe=recipe([product("lidocaine-1pct-epinephrine", "40 mL")]),
        must=(want(CAUTION, "dose", "lidocaine-1pct-epinephrine", "lidocaine", in_message="near the limit 420 mg"),),
        must_not=(want(CONTRA, "dose"),),
    ),
    Case(
        "lidocaine-with-epinephrine-over-limit",
        "400 mg with epinephrine at 50 kg exceeds 350 mg.",
        weight="50 kg",
        recipe=recipe([product("lidocaine-1pct-epinephrine", "40 mL")]),
        must=(want(CONTRA, "dose", "lidocaine-1pct-epinephrine", "lidocaine", in_message="350 mg"),),
    ),
    Case(
        "plain-lidocaine-not-covered-by-epinephrine-in-another-syringe",
        "The higher with-epinephrine maximum applies to lidocaine given with epinephrine; 300 mg of "
        "plain lidocaine in its own syringe at 60 kg still exceeds 270 mg.",
        weight="60 kg",
        recipe=recipe(
            [product("lidocaine-2pct-sd", "15 mL")], [product("lidocaine-1pct-epinephrine", "1 mL")]
        ),
        must=(want(CONTRA, "dose", "lidocaine-2pct-sd", "lidocaine"),),
    ),
    Case(
        "lidocaine-amount-unknown-caution",
        "A booster whose lidocaine strength is not recorded: the limit cannot be checked, say so.",
        weight="100 kg",
        recipe=recipe([product("teosyal-redensity-i", "2 mL")]),
        must=(want(CAUTION, "dose", "teosyal-redensity-i", "lidocaine", in_message="cannot be worked out"),),
    ),
    Case(
        "lidocaine-amount-partly-unknown-caution",
        "280 mg of known lidocaine plus lidocaine of unknown strength: the session total is unknown "
        "and may exceed 300 mg, so the limit cannot be said to hold.",
        weight="100 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "14 mL")], [product("teosyal-redensity-i", "2 mL")]),
        must=(want(kind="dose", trigger="lidocaine"),),
    ),
    Case(
        "hand-mixed-lidocaine-percent-w-v",
        "2 % w/v = 20 mg/mL; 20 mL = 400 mg, over the limit at 60 kg.",
        weight="60 kg",
        recipe=recipe([mix("lidocaine", "2 % w/v", "20 mL")]),
        must=(want(CONTRA, "dose", "lidocaine", "lidocaine", in_message="400 mg"),),
    ),
    Case(
        "procaine-over-session-cap-caution",
        "Procaine for infiltration: 350-600 mg. 400 mg is a caution.",
        recipe=recipe([mix("procaine", "20 mg/mL", "20 mL")]),
        must=(want(CAUTION, "dose", "procaine", "procaine"),),
        must_not=(want(CONTRA, "dose"),),
    ),
    Case(
        "deoxycholic-acid-over-per-area-limit",
        "Kybella 2 mg/cm2: a 25 cm2 area allows 50 mg; 6 mL of 10 mg/mL = 60 mg is over.",
        recipe=recipe([product("deoxycholic-acid-10mg-ml", "6 mL")]),
        treatment_area="25 cm^2",
        must=(want(CONTRA, "dose", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="50 mg"),),
        status=CONTRA,
    ),
    Case(
        "deoxycholic-acid-at-per-area-limit",
        "5 mL = 50 mg on 25 cm2 is exactly the limit.",
        recipe=recipe([product("deoxycholic-acid-10mg-ml", "5 mL")]),
        treatment_area="25 cm**2",
        must_not=(want(kind="dose"),),
    ),
    Case(
        "deoxycholic-acid-over-session-cap",
        "Kybella: no more than 100 mg (10 mL) per session whatever the area.",
        recipe=recipe([product("deoxycholic-acid-10mg-ml", "12 mL")]),
        treatment_area="100 cm^2",
        must=(want(CONTRA, "dose", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="100 mg"),),
    ),
    Case(
        "deoxycholic-acid-area-missing",
        "The per-area limit cannot be checked without the treated area.",
        recipe=recipe([product("deoxycholic-acid-10mg-ml", "4 mL")]),
        must=(want(CAUTION, "dose", "deoxycholic-acid-10mg-ml", "deoxycholic-acid"),),
    ),
    Case(
        "deoxycholic-acid-points-and-volume-per-point",
        "Kybella: 0.2 mL per injection point, up to 50 points per session.",
        recipe=recipe(
            [product("deoxycholic-acid-10mg-ml", "4 mL")],
            protocol={"points": 60, "volume_per_point": "0.3 mL"},
        ),
        treatment_area="25 cm^2",
        must=(
            want(CONTRA, "dose", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="0.3 mL"),
            want(CONTRA, "dose", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="60 injection"),
        ),
    ),
    Case(
        "deoxycholic-acid-sessions-and-interval",
        "Kybella: up to 6 sessions, at least 1 month apart.",
        recipe=recipe(
            [product("deoxycholic-acid-10mg-ml", "4 mL")], protocol={"sessions": 8, "interval": "14 day"}
        ),
        treatment_area="25 cm^2",
        must=(
            want(CONTRA, "protocol", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="8 sessions"),
            want(CONTRA, "protocol", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="14"),
        ),
        status=CONTRA,
    ),
    Case(
        "deoxycholic-acid-protocol-as-meso-build-writes-it",
        "The recipe protocol written by meso build ({'max': ...}, {'min': {...}}) is read too; with "
        "the indication, the catalogue protocol is compared as well.",
        recipe=recipe(
            [product("deoxycholic-acid-10mg-ml", "4 mL")],
            indication="submental-fat",
            area="submental",
            protocol={
                "sessions": {"min": None, "max": 7},
                "interval": {"min": {"value": 21, "unit": "d"}, "max": None},
            },
        ),
        treatment_area="25 cm^2",
        must=(
            want(CONTRA, "protocol", "deoxycholic-acid-10mg-ml", "deoxycholic-acid"),
            want(CAUTION, "protocol", "procedure", "sessions"),
            want(CAUTION, "protocol", "procedure", "interval"),
            want(INFO, "fit", "deoxycholic-acid-10mg-ml", "submental-fat"),
        ),
    ),
    Case(
        "deoxycholic-acid-within-protocol",
        "6 sessions 28 days apart is within the label.",
        recipe=recipe(
            [product("deoxycholic-acid-10mg-ml", "4 mL")],
            protocol={"sessions": 6, "interval": "4 week", "points": 20, "volume_per_point": "0.2 mL"},
        ),
        treatment_area="25 cm^2",
        indication="submental-fat",
        must_not=(want(kind="protocol"), want(kind="dose")),
        status="ok",
    ),
    Case(
        "phosphatidylcholine-session-cap",
        "Network Lipolysis: at most 2,500 mg phosphatidylcholine per session.",
        recipe=recipe([product("pc-dc-injection", "60 mL")]),
        must=(want(CAUTION, "dose", "pc-dc-injection", "phosphatidylcholine", in_message="3000 mg"),),
    ),
    # ------------------------------------------------------------------ dose: no weight, near a limit
    Case(
        "lidocaine-240-mg-no-weight-is-a-caution-near-the-ceiling",
        "Without a weight only the absolute ceiling (300 mg plain) can be applied; 240 mg is 80 % of it "
        "and over the per-kg limit of anyone under 53 kg: a caution that asks for the weight.",
        recipe=recipe([product("lidocaine-2pct-sd", "12 mL")]),
        must=(want(CAUTION, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="near the ceiling",
                   unassessed="patient's weight"),),
        must_not=(want(CONTRA, "dose"), want(INFO, "dose", trigger="lidocaine")),
        status=CAUTION,
    ),
    Case(
        "lidocaine-small-amount-no-weight-still-asks-for-the-weight",
        "20 mg of lidocaine without a weight: the per-kg limit still could not be applied, so the weight is "
        "asked for, but the amount is far from the ceiling (within 4.5 mg/kg from 4.4 kg): information.",
        recipe=recipe([product("lidocaine-2pct-sd", "1 mL")]),
        must=(want(INFO, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="weight is not given",
                   unassessed="patient's weight"),),
        must_not=(want(in_message="near the ceiling"), want(CONTRA, "dose"), want(CAUTION, "dose")),
    ),
    Case(
        "lidocaine-over-the-ceiling-no-weight-is-contraindicated",
        "320 mg of plain lidocaine is over the 300 mg ceiling whatever the weight.",
        recipe=recipe([product("lidocaine-2pct-sd", "16 mL")]),
        must=(want(CONTRA, "dose", "lidocaine-2pct-sd", "lidocaine", in_message="300 mg"),),
    ),
    Case(
        "lidocaine-well-under-the-limit-with-weight-is-not-a-dose-caution",
        "100 mg at 70 kg (limit 300 mg) is a third of the limit: no dose finding on lidocaine.",
        weight="70 kg",
        recipe=recipe([product("lidocaine-2pct-sd", "5 mL")]),
        must_not=(want(kind="dose", trigger="lidocaine"),),
        status="ok",
    ),
    # ------------------------------------------------------------------ dose: limits held at one area
    Case(
        "kybella-caps-at-the-submental-area",
        "Kybella label: at most 100 mg (10 mL) per treatment of the submental area.",
        area="submental",
        treatment_area="100 cm^2",
        recipe=recipe([product("deoxycholic-acid-10mg-ml", "12 mL")]),
        must=(want(CONTRA, "dose", "deoxycholic-acid-10mg-ml", "deoxycholic-acid", in_message="100 mg"),),
    ),
    Case(
        "kybella-caps-do-not-govern-body-pc-dc",
        "The Kybella caps are the submental label's; off-label body PC/DC (40 mL, 1000 mg deoxycholate) is "
        "not held to them, and the check says that no sourced limit governs the deoxycholate there.",
        area="abdomen",
        recipe=recipe([product("pc-dc-injection", "40 mL")]),
        must=(want(INFO, "dose", "pc-dc-injection", "deoxycholic-acid", in_message="no sourced limit"),),
        must_not=(want(CONTRA, "dose"), want(in_message="Deoxycholic acid label")),
    ),
    Case(
        "kybella-caps-apply-when-the-area-is-not-given",
        "Without an area the submental caps are applied (fail closed), and the finding says so.",
        recipe=recipe([product("pc-dc-injection", "40 mL")]),
        must=(want(CONTRA, "dose", "pc-dc-injection", "deoxycholic-acid", in_message="the area was not given"),),
    ),
    # ------------------------------------------------------------------ dose: no sourced limit
    Case(
        "an-amount-with-no-sourced-limit-is-said-to-be-unchecked",
        "No source in the catalogue limits thiamine per session: 200 mg is reported as not checked.",
        recipe=recipe([product("thiamine-100mg-ml", "2 mL")]),
        must=(want(INFO, "dose", "thiamine-100mg-ml", "thiamine", in_message="no sourced limit"),),
    ),
    Case(
        "an-amount-under-a-sourced-limit-is-not-said-to-be-unchecked",
        "Minoxidil has sourced per-session limits: 5 mg is checked against them.",
        recipe=recipe([product("minoxidil-0-5pct", "1 mL")]),
        must_not=(want(in_message="no sourced limit"), want(kind="dose", severity=CAUTION)),
    ),
    # ------------------------------------------------------------------ unknown is never ok
    Case(
        "unknown-strength-is-a-caution",
        "Organic silicium is recorded without a strength: the amount cannot be known or checked.",
        ingredients=("organic-silicium",),
        must=(want(CAUTION, "dose", "organic-silicium", "monomethylsilanetriol-salicylate",
                   in_message="strength",
                   unassessed="strength of Monomethylsilanetriol salicylate (organic silicium)"),),
        status=CAUTION,
    ),
    Case(
        "unsourced-product-is-named",
        "The catalogue has no source for the Centella injectable: said, not passed as verified.",
        ingredients=("centella-extract-injection",),
        must=(want(INFO, "evidence", "centella-extract-injection", "unsourced", unassessed="source"),
              want(CAUTION, "vehicle", "centella-extract-injection", "unknown-vehicle", unassessed="vehicle")),
        status=CAUTION,
    ),
    Case(
        "unknown-market-status-is-named",
        "Levocarnitine 100 mg/mL has no recorded market status.",
        ingredients=("levocarnitine-100mg-ml",),
        must=(want(INFO, "regulatory", "levocarnitine-100mg-ml", "unknown-status", unassessed="market status"),),
    ),
    Case(
        "a-sourced-product-of-known-strength-and-status-has-nothing-unknown",
        "Biotin 0.5 mg/mL: sourced, of known strength, vehicle and status.",
        ingredients=("biotin-0-5mg-ml",),
        must_not=(want(kind="evidence"), want(trigger="unknown-status"), want(trigger="unknown-vehicle"),
                  want(in_message="is not known")),
        status="ok",
    ),
    # ------------------------------------------------------------------ negative: nothing known
    Case(
        "no-patient-data-no-patient-findings",
        "With no allergies, conditions, medications or age there is nothing patient-specific to say.",
        ingredients=("lidocaine-2pct-md-methylparaben", "ha-nonxl-booster", "pdrn-injection"),
        must_not=(want(kind="allergy"), want(kind="condition"), want(kind="medication"), want(kind="age")),
    ),
    # ------------------------------------------------------------------ vocabulary: terms that affect nothing
    Case(
        "penicillin-allergy-hides-nothing-sulfite-allergy-still-found",
        "A penicillin allergy concerns no catalogue item (no beta-lactam in it); it must neither stop "
        "the check nor hide the sulfite allergy that rules out a metabisulfite-containing anaesthetic.",
        allergies=("penicillin", "sulfites"),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CONTRA, "allergy", "lidocaine-1pct-epinephrine", "sulfites"),),
        status=CONTRA,
    ),
    Case(
        "sulfonamide-antibiotic-allergy-is-not-a-sulfite-allergy",
        "Sulfonamide antibiotics and sulfites are different chemicals (UIC drug information FAQ): a "
        "sulfa allergy gives no allergy finding on an anaesthetic with metabisulfite.",
        allergies=("sulfonamide antibiotic",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must_not=(want(kind="allergy"),),
    ),
    Case(
        "milk-allergy-lactose-excipient-caution",
        "Pharmaceutical lactose can rarely carry milk protein (Santoro et al., Acta Biomedica): a "
        "milk allergy is a caution with the lactose-containing ovine hyaluronidase.",
        allergies=("milk",),
        ingredients=("hyaluronidase-ovine-200",),
        must=(want(CAUTION, "allergy", "hyaluronidase-ovine-200", "cows-milk-protein", path="excipient"),),
    ),
    Case(
        "latex-chlorhexidine-plaster-allergies-affect-no-ingredient",
        "Latex, chlorhexidine and adhesive allergies concern gloves, stoppers, skin antisepsis and "
        "dressings, not what is injected: no allergy finding on a hyaluronic acid booster.",
        allergies=("latex", "chlorhexidine", "plasters"),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="allergy"),),
    ),
    Case(
        "cortisone-hyaluronidase-weaker-spreading",
        "The Vitrase label: patients on cortisone or ACTH may need more hyaluronidase (tissue partly "
        "resistant); cortisone is a systemic corticosteroid.",
        medications=("cortisone",),
        ingredients=("hyaluronidase-ovine-200",),
        must=(want(INFO, "medication", "hyaluronidase-ovine-200"),),
    ),
    # ------------------------------------------------------------------ NSAID hypersensitivity
    Case(
        "nsaid-allergy-salicylate-silanol-caution",
        "In cross-reactive NSAID hypersensitivity, salicylates (weak COX-1 inhibitors) occasionally "
        "cross-react (Stevenson 2004; salsalate challenges 1990): an ibuprofen allergy is a caution "
        "with the salicylate-stabilised organic silicium, never a contraindication.",
        allergies=("ibuprofen",),
        ingredients=("organic-silicium",),
        must=(want(CAUTION, "allergy", "organic-silicium", "nsaids", path="cross"),),
        must_not=(want(CONTRA),),
        status=CAUTION,
    ),
    Case(
        "nsaid-allergy-names-reach-the-salicylate-group",
        "The class name, its spelled-out form and the common NSAIDs all name the NSAID group.",
        allergies=("non-steroidal anti-inflammatory drugs", "naproxen", "diclofenac"),
        ingredients=("organic-silicium",),
        must=(want(CAUTION, "allergy", "organic-silicium", "nsaids", path="cross"),),
    ),
    Case(
        "nsaid-allergy-lidocaine-and-ha-unaffected",
        "No catalogue substance is an NSAID, and lidocaine and hyaluronic acid hold no salicylate: "
        "an NSAID allergy gives no allergy finding on them.",
        allergies=("nsaids",),
        ingredients=("lidocaine-1pct-sd", "ha-nonxl-booster"),
        must_not=(want(kind="allergy"),),
    ),
    # ------------------------------------------------------------------ condition names as labels write them
    Case(
        "cardiac-arrhythmias-aminophylline-caution",
        "Aminophylline labels ask for caution in cardiac arrhythmia, the label's own words for a "
        "cardiovascular condition.",
        conditions=("cardiac arrhythmias",),
        ingredients=("aminophylline",),
        must=(want(CAUTION, "condition", "aminophylline", "cardiovascular-disease"),),
    ),
    Case(
        "cardiac-arrhythmias-ha-booster-no-product-finding",
        "Nothing in a plain hyaluronic acid booster concerns an arrhythmia beyond the procedure-wide note.",
        conditions=("cardiac arrhythmias",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition", subject="ha-nonxl-booster"),),
    ),
    Case(
        "hypertensive-vascular-disease-epinephrine-caution",
        "Epinephrine-containing local anaesthetic labels call for caution in hypertensive vascular disease.",
        conditions=("hypertensive vascular disease",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "condition", "lidocaine-1pct-epinephrine", "hypertension"),),
    ),
    Case(
        "hypertensive-vascular-disease-plain-lidocaine-no-caution",
        "Plain lidocaine has no epinephrine: hypertension gives no caution on it.",
        conditions=("hypertensive vascular disease",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(CAUTION, "condition"), want(CONTRA, "condition")),
    ),
    # ------------------------------------------------------------------ clinicians' names for conditions
    Case(
        "thrombophilia-tranexamic-acid-contraindicated",
        "Oral tranexamic acid labels contraindicate an intrinsic risk of thrombosis (hypercoagulopathy); "
        "the Swiss label contraindicates manifest hypercoagulability. Thrombophilia is that tendency, "
        "its own condition, not a history of clots.",
        conditions=("thrombophilia",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "thrombophilia"),),
        must_not=(want(trigger="thrombosis-history"),),
        status=CONTRA,
    ),
    Case(
        "thrombosis-history-is-not-thrombophilia",
        "A past DVT is a history of thrombosis: it reaches tranexamic acid through that condition, "
        "never as thrombophilia.",
        conditions=("deep vein thrombosis",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "thrombosis-history"),),
        must_not=(want(trigger="thrombophilia"),),
    ),
    Case(
        "thrombophilia-vitamin-c-no-finding",
        "No label ties thrombophilia to ascorbic acid.",
        conditions=("hypercoagulability",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must_not=(want(kind="condition"),),
        status="ok",
    ),
    Case(
        "lupus-plinest-autoimmune-caution",
        "Lupus is an autoimmune disease: the Plinest warnings advise against treating such patients.",
        conditions=("lupus",),
        ingredients=("plinest",),
        must=(want(CAUTION, "condition", "plinest", "autoimmune-disease"),),
        must_not=(want(CONTRA), want(trigger="immunosuppression")),
        status=CAUTION,
    ),
    Case(
        "rheumatic-autoimmune-diseases-procedure-caution",
        "SLE, rheumatoid arthritis, scleroderma and dermatomyositis are autoimmune diseases: the "
        "procedure-wide caution applies.",
        conditions=("sle", "rheumatoid arthritis", "scleroderma", "dermatomyositis"),
        ingredients=("ha-nonxl-booster",),
        must=(want(CAUTION, "condition", "procedure", "autoimmune-disease"),),
        must_not=(want(CONTRA),),
    ),
    Case(
        "transplant-recipient-immunosuppression-caution",
        "An organ transplant recipient takes immunosuppressants: the immunosuppression caution applies, "
        "not the autoimmune one.",
        conditions=("organ transplant recipient",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CAUTION, "condition", "procedure", "immunosuppression"),),
        must_not=(want(trigger="autoimmune-disease"), want(CONTRA)),
        status=CAUTION,
    ),
    Case(
        "lymphoma-and-malignancy-are-cancer",
        "Lymphoma is a cancer and malignancy is another word for cancer: the cancer caution applies.",
        conditions=("lymphoma", "malignancy"),
        ingredients=("ha-nonxl-booster",),
        must=(want(CAUTION, "condition", "procedure", "cancer"),),
        must_not=(want(trigger="tumour-at-site"),),
        status=CAUTION,
    ),
    Case(
        "skin-cancer-at-site-contraindicated",
        "A skin cancer where the injections would go is a tumour at the site: HA-booster labels exclude it.",
        conditions=("skin cancer at site",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CONTRA, "condition", "procedure", "tumour-at-site"),),
        status=CONTRA,
    ),
    Case(
        "angina-epinephrine-caution",
        "Angina is a symptom of coronary artery disease: epinephrine-containing anaesthetic labels call "
        "for caution in cardiovascular disease.",
        conditions=("angina",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "condition", "lidocaine-1pct-epinephrine", "cardiovascular-disease"),),
        must_not=(want(CONTRA),),
    ),
    Case(
        "angina-ha-booster-no-product-finding",
        "A plain hyaluronic acid booster holds nothing a heart condition concerns beyond the procedure note.",
        conditions=("angina",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition", subject="ha-nonxl-booster"),),
    ),
    Case(
        "cirrhosis-lidocaine-hepatic-caution",
        "Cirrhosis impairs liver function; lidocaine is cleared by the liver.",
        conditions=("cirrhosis",),
        ingredients=("lidocaine-1pct-sd",),
        must=(want(CAUTION, "condition", "lidocaine-1pct-sd", "hepatic-impairment"),),
        status=CAUTION,
    ),
    Case(
        "cirrhosis-ha-booster-no-finding",
        "No catalogue rule ties liver disease to a plain hyaluronic acid booster.",
        conditions=("cirrhosis",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition"),),
        status="ok",
    ),
    Case(
        "abscess-infection-at-site-contraindicated",
        "An abscess is a collection of pus from infection: labels forbid injecting into infected skin.",
        conditions=("abscess",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CONTRA, "condition", "procedure", "infection-at-site"),),
        must_not=(want(trigger="inflammation-at-site"),),
        status=CONTRA,
    ),
    Case(
        "eczema-flare-and-inflamed-acne-inflammation-at-site",
        "An eczema flare (dermatitis) and inflamed acne lesions are active inflammation: labels say not "
        "to inject into inflamed tissue.",
        conditions=("eczema flare", "inflamed acne lesions"),
        ingredients=("ha-nonxl-booster",),
        must=(want(CONTRA, "condition", "procedure", "inflammation-at-site"),),
        must_not=(want(trigger="infection-at-site"),),
        status=CONTRA,
    ),
    Case(
        "skin-of-colour-pih-info-only",
        "Skin of colour is usually Fitzpatrick IV-VI: an information note on hyperpigmentation, never a caution.",
        conditions=("skin of colour",),
        ingredients=("ha-nonxl-booster",),
        must=(want(INFO, "condition", "procedure", "dark-phototype"),),
        must_not=(want(CAUTION), want(CONTRA)),
        status="ok",
    ),
    Case(
        "previous-neck-liposuction-deoxycholic-acid-caution",
        "Neck liposuction treats the submental fat: the deoxycholic acid label asks for care after prior "
        "submental surgery or aesthetic treatment.",
        conditions=("previous neck liposuction",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CAUTION, "condition", "deoxycholic-acid-10mg-ml", "prior-submental-treatment"),),
        status=CAUTION,
    ),
    Case(
        "neck-lift-ha-booster-no-finding",
        "A past neck lift concerns deoxycholic acid, not a hyaluronic acid booster.",
        conditions=("neck lift",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition"),),
        status="ok",
    ),
    Case(
        "cobalamin-deficiency-folic-acid-caution",
        "Cobalamin deficiency is vitamin B12 deficiency: the folic acid label warns it can mask it.",
        conditions=("cobalamin deficiency",),
        ingredients=("folic-acid-5mg-ml",),
        must=(want(CAUTION, "condition", "folic-acid-5mg-ml", "pernicious-anaemia"),),
    ),
    Case(
        "cobalamin-deficiency-cyanocobalamin-no-condition-finding",
        "Vitamin B12 itself is the treatment of the deficiency: no condition finding on it.",
        conditions=("cobalamin deficiency",),
        ingredients=("cyanocobalamin-injection",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "hepatolenticular-degeneration-copper-caution",
        "Hepatolenticular degeneration is Wilson disease: the cupric chloride label does not recommend copper.",
        conditions=("hepatolenticular degeneration",),
        ingredients=("cupric-chloride-0-4mg-ml",),
        must=(want(CAUTION, "condition", "cupric-chloride-0-4mg-ml", "wilson-disease"),),
    ),
    Case(
        "hepatolenticular-degeneration-folic-acid-no-finding",
        "Wilson disease concerns added copper, not folic acid.",
        conditions=("hepatolenticular degeneration",),
        ingredients=("folic-acid-5mg-ml",),
        must_not=(want(kind="condition"),),
        status="ok",
    ),
    Case(
        "acquired-dyschromatopsia-tranexamic-acid-contraindicated",
        "Acquired dyschromatopsia is an acquired colour vision defect: tranexamic acid labels say not to use it.",
        conditions=("acquired dyschromatopsia",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "acquired-colour-vision-defect"),),
        status=CONTRA,
    ),
    Case(
        "acquired-dyschromatopsia-vitamin-c-no-finding",
        "No label ties colour vision to ascorbic acid.",
        conditions=("acquired dyschromatopsia",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must_not=(want(kind="condition"),),
        status="ok",
    ),
    Case(
        "celecoxib-allergy-salicylate-silanol-caution",
        "A reaction to a COX-2 inhibitor may be part of cross-reactive NSAID hypersensitivity (21 % of "
        "NSAID-hypersensitive patients reacted to a COX-2 inhibitor in a challenge study): a caution on "
        "the salicylate-stabilised silanol that asks which kind of reaction it was.",
        allergies=("celecoxib",),
        ingredients=("organic-silicium",),
        must=(want(CAUTION, "allergy", "organic-silicium", "cox-2-inhibitors", path="cross"),),
        must_not=(want(CONTRA), want(trigger="nsaids")),
        status=CAUTION,
    ),
    Case(
        "celecoxib-allergy-lidocaine-and-ha-unaffected",
        "No catalogue substance is a COX-2 inhibitor or a salicylate in lidocaine or a plain HA booster.",
        allergies=("celecoxib",),
        ingredients=("lidocaine-1pct-sd", "ha-nonxl-booster"),
        must_not=(want(kind="allergy"),),
        status="ok",
    ),
    Case(
        "cholinesterase-deficiency-procaine-caution",
        "The cholinesterase measured in blood is butyrylcholinesterase (plasma cholinesterase), which "
        "breaks down ester anaesthetics such as procaine.",
        conditions=("cholinesterase deficiency",),
        ingredients=("procaine",),
        must=(want(CAUTION, "condition", "procaine", "pseudocholinesterase-deficiency"),),
    ),
    Case(
        "cholinesterase-deficiency-lidocaine-no-finding",
        "Lidocaine is an amide, cleared by the liver, not by plasma cholinesterase.",
        conditions=("cholinesterase deficiency",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="condition"),),
        status="ok",
    ),
    Case(
        "expecting-is-pregnancy",
        "'Expecting' is a common way of saying pregnant: elective mesotherapy is refused in pregnancy.",
        conditions=("expecting",),
        ingredients=("ha-nonxl-booster",),
        must=(want(CONTRA, "condition", "procedure", "pregnancy"),),
        status=CONTRA,
    ),
]


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


# ------------------------------------------------------------------------------ the check
def _args(case: Case, tmp_path) -> list[str]:
    args = ["check", "--json"]
    for flag, values in (
        ("--allergy", case.allergies),
        ("--condition", case.conditions),
        ("--medication", case.medications),
        ("--ingredient", case.ingredients),
    ):
        for value in values:
            args += [flag, value]
    for flag, value in (
        ("--age", case.age),
        ("--weight", case.weight),
        ("--sex", case.sex),
        ("--indication", case.indication),
        ("--area", case.area),
        ("--treatment-area", case.treatment_area),
        ("--max-products", case.max_products),
    ):
        if value is not None:
            args += [flag, str(value)]
    if case.recipe is not None:
        path = tmp_path / "recipe.json"
        path.write_text(json.dumps(case.recipe), encoding="utf-8")
        args += ["--recipe", str(path)]
    return args


@pytest.mark.parametrize("case", _params())
def test_clinical_case(case: Case, meso, tmp_path) -> None:
    result = meso(*_args(case, tmp_path))
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    doc = result.json()
    findings = doc["findings"]
    for pattern in case.must:
        assert any(matches(f, pattern) for f in findings), (
            f"{case.id}: expected a finding {pattern}\nbecause: {case.fact}\n"
            f"actual findings:\n{show(findings)}"
        )
    for pattern in case.must_not:
        hits = [f for f in findings if matches(f, pattern)]
        assert not hits, (
            f"{case.id}: no finding may match {pattern}\nbecause: {case.fact}\noffending:\n{show(hits)}"
        )
    if case.status is not None:
        assert doc["status"] == case.status, f"{case.id}: status {doc['status']}\n{show(findings)}"
    # The status is the worst severity, and the default --fail-on is contraindicated.
    worst = max((RANK[f["severity"]] for f in findings), default=0)
    assert doc["status"] == {3: "contraindicated", 2: "caution"}.get(worst, "ok")
    assert result.exit_code == (1 if doc["status"] == "contraindicated" else 0)


# ------------------------------------------------------------------------------ the table itself
def test_table_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len([c for c in CASES if not c.xfail]) >= 45


def test_table_covers_every_finding_kind_and_severity() -> None:
    from mesocli.domain.engine import FINDING_KINDS

    kinds = {p.get("kind") for c in CASES if not c.xfail for p in c.must}
    assert set(FINDING_KINDS) <= kinds, f"no case expects kinds {set(FINDING_KINDS) - kinds}"
    severities = {p.get("severity") for c in CASES if not c.xfail for p in c.must}
    assert set(SEVERITIES) <= severities
    paths = {p.get("path") for c in CASES if not c.xfail for p in c.must} - {None}
    assert {"direct", "group", "excipient", "origin", "cross", "pre-mixed"} <= paths


def test_table_refers_only_to_catalogue_entries(catalogue) -> None:
    """A typo in the table would otherwise show up as a confusing exit 2."""
    for case in CASES:
        if case.xfail:
            continue
        for term in case.ingredients:
            catalogue.resolve_ingredient(term)
        for term in case.allergies:
            catalogue.resolve_allergy(term)
        for term in case.conditions:
            catalogue.resolve_condition(term)
        for term in case.medications:
            catalogue.resolve_medication(term)
        for pattern in case.must + case.must_not:
            subject = pattern.get("subject")
            if subject is not None:
                assert (
                    subject == "procedure" or subject in catalogue.products or subject in catalogue.substances
                )
