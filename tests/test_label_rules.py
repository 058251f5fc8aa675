"""The label rules: contraindications, warnings, interactions and mixing statements read from each
product's label or each substance's monograph (the 'Label rules' section of ``data/rules.toml``).

Every rule of that section has a case here that must fire it (exit code, status, finding kind,
subject, trigger, severity) and a neighbour that must not: a selective beta-blocker does not fire
the non-selective rule, a plain anaesthetic does not fire the epinephrine rules, two vitamins in
separate syringes are not a mixing problem. The cases run through the real command line
(``meso check ... --json``); a coverage test ties each case to the rule it exercises, so a new
label rule without its pair of cases fails here.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _findings import matches, show, want
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.api import check, load_catalogue
from mesocli.domain.patient import Patient

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules.toml"
SECTION = "# Label rules:"
SECTION_END = "# End of label rules."
CONTRA, CAUTION, INFO = "contraindicated", "caution", "info"
RANK = {"ok": 0, "info": 1, "caution": 2, "contraindicated": 3}
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------ the label rules
def label_rules() -> list[tuple[str, dict[str, Any]]]:
    """(kind, row) for every rule of the 'Label rules' section, read from the source file."""
    text = RULES_FILE.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index(SECTION_END, start)
    section = tomllib.loads(text[start:end])
    return [(kind, row) for kind, rows in section.items() for row in rows]


def rule_key(kind: str, row: dict[str, Any]) -> tuple[str, str, str]:
    """What identifies a rule: its kind, what fires it and what it concerns."""
    if kind == "incompatibility":
        return (kind, row["a"], row["b"])
    trigger = row.get("condition") or row.get("medication") or row.get("medication_class")
    scope = row.get("substance") or row.get("product") or row.get("class") or "procedure"
    return (kind, trigger, scope)


# ------------------------------------------------------------------------------ the table
def syringes(*products: list[str]) -> dict[str, Any]:
    return {"syringes": [{"components": [{"id": p} for p in group]} for group in products]}


@dataclass(frozen=True)
class Case:
    id: str
    rule: tuple[str, str, str]
    fact: str
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    ingredients: tuple[str, ...] = ()
    recipe: dict[str, Any] | None = None
    must: tuple[dict[str, Any], ...] = ()
    must_not: tuple[dict[str, Any], ...] = ()
    status: str | None = None


# ------------------------------------------------------------------ pregnancy and breastfeeding
# (condition, scope, product that must fire it, a piece of the message, neighbour that must not,
#  the label's statement, why the neighbour is untouched). The procedure-wide pregnancy and
# breastfeeding rules fire for every product; these cases match the label's own finding, whose
# subject is the product, so the neighbour is a product with no such statement in its label.
PREGNANCY_LABELS = (
    ("pregnancy", "deoxycholic-acid", "deoxycholic-acid-10mg-ml", "Kybella label", "caffeine-injection",
     "Kybella: no human pregnancy data; a fetal lung-lobe malformation in rabbits.",
     "Caffeine is another fat-reduction ingredient, but the Kybella statement is about deoxycholic acid."),
    ("breastfeeding", "deoxycholic-acid", "pc-dc-injection", "breast milk", "caffeine-injection",
     "Kybella: unknown whether deoxycholic acid passes into milk; it reaches a PC/DC mix that holds it.",
     "Caffeine holds no deoxycholic acid."),
    ("pregnancy", "enzyme", "hyaluronidase-recombinant-150", "only if clearly needed", "lidocaine-1pct-sd",
     "Hylenex: give hyaluronidase to a pregnant woman only if clearly needed.",
     "Plain lidocaine is not an enzyme."),
    ("breastfeeding", "enzyme", "hyaluronidase-ovine-200", "nursing woman", "lidocaine-1pct-sd",
     "Hylenex 8.3: caution when hyaluronidase is given to a nursing woman; every hyaluronidase shares it.",
     "Plain lidocaine is not an enzyme."),
    ("pregnancy", "tranexamic-acid", "tranexamic-acid-100mg-ml", "placenta", "glutathione-injection",
     "Cyklokapron: tranexamic acid crosses the placenta; use in pregnancy is a risk-benefit decision.",
     "Glutathione is another depigmenting ingredient with no such label statement."),
    ("breastfeeding", "tranexamic-acid", "tranexamic-acid-100mg-ml", "one hundredth", "glutathione-injection",
     "Cyklokapron: tranexamic acid passes into milk at about 1/100 of the serum concentration.",
     "Glutathione is another depigmenting ingredient with no such label statement."),
    ("pregnancy", "restylane-vital-lidocaine", "restylane-vital-lidocaine", "not been established",
     "teosyal-redensity-ii",
     "Restylane Skinboosters: safety in pregnancy not established.",
     "Another HA skin booster whose label statement is not encoded."),
    ("breastfeeding", "restylane-vital-lidocaine", "restylane-vital-lidocaine", "not been established",
     "teosyal-redensity-ii",
     "Restylane Skinboosters: safety in breastfeeding women not established.",
     "Another HA skin booster whose label statement is not encoded."),
    ("pregnancy", "restylane-vital-light-lidocaine", "restylane-vital-light-lidocaine", "not been established",
     "profhilo",
     "Restylane Skinboosters (Vital Light): safety in pregnancy not established.",
     "Another HA product whose label statement is not encoded."),
    ("breastfeeding", "restylane-vital-light-lidocaine", "restylane-vital-light-lidocaine",
     "not been established", "profhilo",
     "Restylane Skinboosters (Vital Light): safety in breastfeeding women not established.",
     "Another HA product whose label statement is not encoded."),
    ("pregnancy", "levocarnitine", "levocarnitine-100mg-ml", "Carnitor label", "r-gene-10",
     "Carnitor: no adequate studies in pregnant women; only if clearly needed.",
     "Arginine is another amino acid with no such label statement."),
    ("breastfeeding", "levocarnitine", "levocarnitine-200mg-ml", "excess carnitine", "r-gene-10",
     "Carnitor: weigh the child's risk of excess carnitine against the benefit to the mother.",
     "Arginine is another amino acid with no such label statement."),
    ("pregnancy", "ascorbic-acid", "ascorbic-acid-500mg-ml", "dietary allowance", "biotin-0-5mg-ml",
     "Ascor: doses in pregnancy follow the recommended dietary allowance.",
     "Biotin is another vitamin with no such statement."),
    ("pregnancy", "infuvite-adult-vial-1", "infuvite-adult-vial-1", "Infuvite Adult", "pyridoxine-100mg-ml",
     "Infuvite Adult: not studied in pregnant women.",
     "A single-vitamin injection whose label statement is not encoded."),
    ("pregnancy", "infuvite-adult-vial-2", "infuvite-adult-vial-2", "Infuvite Adult", "pyridoxine-100mg-ml",
     "Infuvite Adult (vial 2): not studied in pregnant women.",
     "A single-vitamin injection whose label statement is not encoded."),
    ("breastfeeding", "infuvite-adult-vial-1", "infuvite-adult-vial-1", "nursing mother", "pyridoxine-100mg-ml",
     "Infuvite Adult: not studied in lactating women; caution in a nursing mother.",
     "A single-vitamin injection whose label statement is not encoded."),
    ("breastfeeding", "infuvite-adult-vial-2", "infuvite-adult-vial-2", "nursing mother", "pyridoxine-100mg-ml",
     "Infuvite Adult (vial 2): not studied in lactating women; caution in a nursing mother.",
     "A single-vitamin injection whose label statement is not encoded."),
    ("pregnancy", "placentex-2-25mg-3ml", "placentex-2-25mg-3ml", "absent or limited", "pdrn-injection",
     "Placentex SmPC 4.6: data in pregnant women absent or limited.",
     "A vendor PDRN product is not Placentex: its label says nothing we encode."),
    ("pregnancy", "placentex-5-625mg-3ml", "placentex-5-625mg-3ml", "absent or limited", "pdrn-injection",
     "Placentex SmPC 4.6 (5.625 mg): data in pregnant women absent or limited.",
     "A vendor PDRN product is not Placentex: its label says nothing we encode."),
    ("pregnancy", "copper", "multrys", "only if clearly indicated", "zinc-sulfate-3mg-ml",
     "Cupric chloride label: give to a pregnant woman only if clearly indicated; it reaches a trace-element "
     "mix that holds copper.",
     "Zinc sulfate is another trace element; no pregnancy statement of its label is encoded."),
    ("breastfeeding", "copper", "cupric-chloride-0-4mg-ml", "nursing woman", "zinc-sulfate-3mg-ml",
     "Cupric chloride label: caution in a nursing woman.",
     "Zinc sulfate is another trace element; no breastfeeding statement of its label is encoded."),
)

PREGNANCY_AND_BREASTFEEDING: list[Case] = [
    case
    for condition, scope, fires, text, neighbour, fact, why in PREGNANCY_LABELS
    for case in (
        Case(
            f"{condition}-{scope}-label-fires-on-{fires}",
            ("contraindication", condition, scope),
            fact,
            conditions=(condition,),
            ingredients=(fires,),
            must=(want(CAUTION, "condition", fires, condition, in_message=text, evidence="label"),),
            must_not=(want(CONTRA, subject=fires),),
        ),
        Case(
            f"{condition}-{scope}-label-not-on-{neighbour}",
            ("contraindication", condition, scope),
            why,
            conditions=(condition,),
            ingredients=(neighbour,),
            must_not=(want(subject=neighbour, trigger=condition),),
        ),
    )
]


# ------------------------------------------------------------------ vitamin and aminophylline labels
# (kind, trigger as typed, trigger id, scope, product that must fire it, a piece of the message,
#  neighbour product, neighbour trigger as typed, the label's statement, why the neighbour is untouched)
OTHER_LABELS = (
    ("medication", "coumadin", "warfarin", "phytonadione", "infuvite-adult-vial-1", "vitamin K",
     "infuvite-adult-vial-2", "warfarin",
     "M.V.I. Adult label: its vitamin K may decrease the anticoagulant effect of warfarin.",
     "Infuvite vial 2 holds no vitamin K."),
    ("medication", "cimetidine", "cimetidine", "aminophylline", "aminophylline-25mg-ml", "theophylline clearance",
     "caffeine-injection", "cimetidine",
     "Phyllocontin SmPC 4.5: cimetidine reduces theophylline clearance.",
     "Caffeine is another methylxanthine, but the statement is the aminophylline label's."),
    ("medication", "clarithromycin", "clarithromycin", "aminophylline", "aminophylline-25mg-ml",
     "theophylline clearance", "caffeine-injection", "clarithromycin",
     "Phyllocontin SmPC 4.5: clarithromycin reduces theophylline clearance.",
     "Caffeine is another methylxanthine, but the statement is the aminophylline label's."),
    ("medication", "diltiazem", "diltiazem", "aminophylline", "aminophylline-25mg-ml", "theophylline clearance",
     "caffeine-injection", "diltiazem",
     "Phyllocontin SmPC 4.5: diltiazem reduces theophylline clearance.",
     "Caffeine is another methylxanthine, but the statement is the aminophylline label's."),
    ("condition", "pernicious anemia", "pernicious-anaemia", "folic-acid", "folic-acid-5mg-ml",
     "pernicious anaemia", "cyanocobalamin-injection", "pernicious anaemia",
     "Folic acid label: doses above 0.1 mg a day may obscure pernicious anaemia.",
     "Vitamin B12 itself is the treatment of pernicious anaemia, not a masking agent."),
    ("medication", "dilantin", "phenytoin", "folic-acid", "infuvite-adult-vial-2", "phenytoin",
     "pyridoxine-100mg-ml", "phenytoin",
     "Folic acid label: folic acid antagonises phenytoin; it reaches the vitamin mix that holds folic acid.",
     "Pyridoxine is another B vitamin with no such statement."),
    ("condition", "renal impairment", "renal-impairment", "magnesium-sulfate", "magnesium-sulfate-50pct",
     "kidneys", "zinc-sulfate-injection-1mg-ml", "renal impairment",
     "Magnesium sulfate label: give very cautiously when renal function is seriously impaired.",
     "Zinc sulfate is another mineral salt; no renal statement of its label is encoded."),
    ("condition", "severe-renal-impairment", "severe-renal-impairment", "magnesium-sulfate",
     "magnesium-sulfate-50pct", "20 g in 48 hours", "zinc-sulfate-injection-1mg-ml", "severe-renal-impairment",
     "Magnesium sulfate label: no more than 20 g in 48 hours in severe renal insufficiency.",
     "Zinc sulfate is another mineral salt; no renal statement of its label is encoded."),
    ("condition", "liver disease", "hepatic-impairment", "copper", "cupric-chloride-0-4mg-ml", "bile",
     "zinc-sulfate-injection-1mg-ml", "liver disease",
     "Cupric chloride label: liver or biliary dysfunction may call for omitting or reducing copper.",
     "Zinc is not eliminated in the bile the way copper is; no hepatic statement of its label is encoded."),
    ("condition", "Wilson's disease", "wilson-disease", "copper", "tralement", "Wilson disease",
     "selenious-acid-40mcg-ml", "Wilson's disease",
     "Cupric chloride label: copper is not recommended in Wilson disease; it reaches a trace-element mix.",
     "Selenium holds no copper."),
)


def _trigger_args(kind: str, term: str) -> dict[str, tuple[str, ...]]:
    return {"conditions": (term,)} if kind == "condition" else {"medications": (term,)}


VITAMIN_AND_AMINOPHYLLINE_LABELS: list[Case] = [
    case
    for kind, typed, trigger, scope, fires, text, neighbour, typed_n, fact, why in OTHER_LABELS
    for case in (
        Case(
            f"{trigger}-{scope}-label-fires-on-{fires}",
            ("contraindication", trigger, scope),
            fact,
            ingredients=(fires,),
            must=(want(CAUTION, kind, fires, trigger, in_message=text, evidence="label"),),
            **_trigger_args(kind, typed),
        ),
        Case(
            f"{trigger}-{scope}-label-not-on-{neighbour}",
            ("contraindication", trigger, scope),
            why,
            ingredients=(neighbour,),
            must_not=(want(kind=kind, subject=neighbour),),
            **_trigger_args(kind, typed_n),
        ),
    )
]


HYAL_EPI = ("incompatibility", "class:enzyme", "class:vasoconstrictor")
ALPHA = "alpha-agonists"

CASES: list[Case] = [
    # ------------------------------------------------------------------ hyaluronidase
    Case(
        "hyaluronidase-recombinant-with-epinephrine",
        HYAL_EPI,
        "Hylenex: not to be used to enhance the dispersion of alpha-agonists such as epinephrine.",
        ingredients=("hyaluronidase-recombinant-150", "lidocaine-1pct-epinephrine"),
        must=(
            want(
                CAUTION,
                "incompatibility",
                "hyaluronidase-recombinant-150",
                "lidocaine-1pct-epinephrine",
                in_message=ALPHA,
                evidence="label",
            ),
        ),
        status=CAUTION,
    ),
    Case(
        "hyaluronidase-ovine-with-epinephrine",
        HYAL_EPI,
        "The statement is made for hyaluronidase as such: the ovine product is reached too.",
        ingredients=("hyaluronidase-ovine-200", "lidocaine-1pct-epinephrine-md"),
        must=(
            want(
                CAUTION, "incompatibility", "hyaluronidase-ovine-200", "lidocaine-1pct-epinephrine-md", in_message=ALPHA
            ),
        ),
    ),
    Case(
        "hyaluronidase-with-plain-lidocaine-no-alpha-agonist",
        HYAL_EPI,
        "Plain lidocaine holds no alpha-agonist: only the existing local-anaesthetic caution applies.",
        ingredients=("hyaluronidase-recombinant-150", "lidocaine-1pct-sd"),
        must=(want(CAUTION, "incompatibility", "hyaluronidase-recombinant-150", "lidocaine-1pct-sd"),),
        must_not=(want(in_message=ALPHA),),
    ),
    Case(
        "hyaluronidase-and-epinephrine-in-separate-syringes",
        HYAL_EPI,
        "The statement is about mixing the two; separate syringes are not a mixing finding.",
        recipe=syringes(["hyaluronidase-bovine-150"], ["lidocaine-1pct-epinephrine"]),
        must_not=(want(kind="incompatibility"),),
    ),
    Case(
        "aspirin-hyaluronidase-salicylates",
        ("contraindication", "aspirin", "enzyme"),
        "Vitrase: patients on large doses of salicylates may need more hyaluronidase.",
        medications=("acetylsalicylic acid",),
        ingredients=("hyaluronidase-ovine-200",),
        must=(want(INFO, "medication", "hyaluronidase-ovine-200", "aspirin", in_message="salicylates"),),
    ),
    Case(
        "clopidogrel-hyaluronidase-not-a-salicylate",
        ("contraindication", "aspirin", "enzyme"),
        "Clopidogrel is an antiplatelet but not a salicylate: the note does not apply.",
        medications=("clopidogrel",),
        ingredients=("hyaluronidase-ovine-200",),
        must_not=(want(kind="medication", subject="hyaluronidase-ovine-200"),),
    ),
    Case(
        "prednisolone-hyaluronidase",
        ("contraindication", "corticosteroid", "enzyme"),
        "Vitrase: cortisone and ACTH make tissue partly resistant to hyaluronidase.",
        medications=("prednisolone",),
        ingredients=("hyaluronidase-bovine-150",),
        must=(want(INFO, "medication", "hyaluronidase-bovine-150", "prednisolone", in_message="cortisone"),),
    ),
    Case(
        "prednisolone-lidocaine-no-hyaluronidase-note",
        ("contraindication", "corticosteroid", "enzyme"),
        "The note concerns hyaluronidase only.",
        medications=("prednisolone",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="medication", subject="lidocaine-1pct-sd"),),
    ),
    Case(
        "estradiol-hyaluronidase",
        ("contraindication", "oestrogen", "enzyme"),
        "Vitrase: patients on oestrogens may need more hyaluronidase.",
        medications=("Estrogel",),
        ingredients=("hyaluronidase-recombinant-150",),
        must=(want(INFO, "medication", "hyaluronidase-recombinant-150", "estradiol"),),
    ),
    Case(
        "estradiol-ha-booster-nothing",
        ("contraindication", "oestrogen", "enzyme"),
        "An HA booster holds no hyaluronidase.",
        medications=("estradiol",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "combined-pill-hyaluronidase",
        ("contraindication", "hormonal-contraceptive", "enzyme"),
        "The combined pill contains an oestrogen.",
        medications=("combined pill",),
        ingredients=("hyaluronidase-ovine-200",),
        must=(want(INFO, "medication", "hyaluronidase-ovine-200", "ethinylestradiol-combined-contraceptive"),),
    ),
    Case(
        "combined-pill-lidocaine-no-hyaluronidase-note",
        ("contraindication", "hormonal-contraceptive", "enzyme"),
        "Without hyaluronidase there is nothing to note.",
        medications=("combined pill",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "cetirizine-hyaluronidase",
        ("contraindication", "antihistamine", "enzyme"),
        "Vitrase: patients on antihistamines may need more hyaluronidase.",
        medications=("Zyrtec",),
        ingredients=("hyaluronidase-bovine-150",),
        must=(want(INFO, "medication", "hyaluronidase-bovine-150", "cetirizine", in_message="antihistamines"),),
    ),
    Case(
        "cetirizine-lidocaine-nothing",
        ("contraindication", "antihistamine", "enzyme"),
        "An antihistamine says nothing about lidocaine.",
        medications=("cetirizine",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="medication"),),
    ),
    # ------------------------------------------------------------------ aminophylline
    Case(
        "porphyria-aminophylline",
        ("contraindication", "porphyria", "aminophylline"),
        "Aminophylline SmPCs (hameln, Phyllocontin): contraindicated in acute porphyria.",
        conditions=("acute intermittent porphyria",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CONTRA, "condition", "aminophylline-25mg-ml", "porphyria", evidence="label"),),
        status=CONTRA,
    ),
    Case(
        "porphyria-caffeine-not-aminophylline",
        ("contraindication", "porphyria", "aminophylline"),
        "Caffeine is a methylxanthine but not aminophylline: the aminophylline label does not reach it.",
        conditions=("porphyria",),
        ingredients=("caffeine-injection",),
        must_not=(want(kind="condition", subject="caffeine-injection"),),
    ),
    Case(
        "epilepsy-aminophylline",
        ("contraindication", "seizure-disorder", "aminophylline"),
        "Theophylline can make seizures more frequent and longer.",
        conditions=("epilepsy",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "condition", "aminophylline-25mg-ml", "seizure-disorder", in_message="seizure"),),
        status=CAUTION,
    ),
    Case(
        "epilepsy-lidocaine-no-aminophylline-rule",
        ("contraindication", "seizure-disorder", "aminophylline"),
        "The aminophylline warning does not reach lidocaine.",
        conditions=("epilepsy",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="condition", subject="lidocaine-1pct-sd"),),
    ),
    Case(
        "arrhythmia-aminophylline",
        ("contraindication", "cardiovascular-disease", "aminophylline"),
        "Theophylline can worsen arrhythmias.",
        conditions=("arrhythmia",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "condition", "aminophylline-25mg-ml", "cardiovascular-disease", in_message="arrhythmias"),),
    ),
    Case(
        "heart-block-aminophylline-not-the-arrhythmia-rule",
        ("contraindication", "cardiovascular-disease", "aminophylline"),
        "The US label's arrhythmia warning excludes bradyarrhythmias; heart block is its own condition.",
        conditions=("av block",),
        ingredients=("aminophylline-25mg-ml",),
        must_not=(want(kind="condition", subject="aminophylline-25mg-ml"),),
    ),
    Case(
        "hypertension-aminophylline",
        ("contraindication", "hypertension", "aminophylline"),
        "Swiss label: severe hypertension needs a strict indication and caution.",
        conditions=("high blood pressure",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "condition", "aminophylline-25mg-ml", "hypertension"),),
    ),
    Case(
        "hypertension-ha-booster-no-ingredient-rule",
        ("contraindication", "hypertension", "aminophylline"),
        "An HA booster carries no hypertension warning of its own.",
        conditions=("hypertension",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition", subject="ha-nonxl-booster"),),
    ),
    Case(
        "hyperthyroidism-aminophylline",
        ("contraindication", "hyperthyroidism", "aminophylline"),
        "Swiss and Irish labels: caution in hyperthyroidism.",
        conditions=("Graves disease",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "condition", "aminophylline-25mg-ml", "hyperthyroidism"),),
    ),
    Case(
        "hyperthyroidism-caffeine-nothing",
        ("contraindication", "hyperthyroidism", "aminophylline"),
        "The aminophylline label does not reach the caffeine ampoule.",
        conditions=("hyperthyroidism",),
        ingredients=("caffeine-injection",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "peptic-ulcer-aminophylline",
        ("contraindication", "peptic-ulcer", "aminophylline"),
        "Theophylline raises gastric secretion: caution in peptic ulcer.",
        conditions=("stomach ulcer",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "condition", "aminophylline-25mg-ml", "peptic-ulcer"),),
    ),
    Case(
        "peptic-ulcer-lidocaine-nothing",
        ("contraindication", "peptic-ulcer", "aminophylline"),
        "A peptic ulcer says nothing about lidocaine.",
        conditions=("duodenal ulcer",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "theophylline-aminophylline",
        ("contraindication", "methylxanthine-bronchodilator", "aminophylline"),
        "hameln SmPC 4.3: not with other xanthine drugs.",
        medications=("Uniphyllin",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CONTRA, "medication", "aminophylline-25mg-ml", "theophylline"),),
        status=CONTRA,
    ),
    Case(
        "theophylline-lidocaine-nothing",
        ("contraindication", "methylxanthine-bronchodilator", "aminophylline"),
        "Theophylline says nothing about lidocaine.",
        medications=("theophylline",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "fluvoxamine-aminophylline",
        ("contraindication", "cyp1a2-inhibitor", "aminophylline"),
        "Fluvoxamine inhibits CYP1A2 and slows theophylline clearance.",
        medications=("Luvox",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "medication", "aminophylline-25mg-ml", "fluvoxamine", evidence="reference"),),
    ),
    Case(
        "ciprofloxacin-aminophylline",
        ("contraindication", "cyp1a2-inhibitor", "aminophylline"),
        "Quinolones such as ciprofloxacin raise theophylline levels.",
        medications=("cipro",),
        ingredients=("aminophylline-25mg-ml",),
        must=(want(CAUTION, "medication", "aminophylline-25mg-ml", "ciprofloxacin"),),
    ),
    Case(
        "amitriptyline-aminophylline-not-a-cyp1a2-inhibitor",
        ("contraindication", "cyp1a2-inhibitor", "aminophylline"),
        "A tricyclic is not recorded as a CYP1A2 inhibitor: no theophylline-clearance finding.",
        medications=("amitriptyline",),
        ingredients=("aminophylline-25mg-ml",),
        must_not=(want(kind="medication", subject="aminophylline-25mg-ml"),),
    ),
    # ------------------------------------------------------------------ epinephrine
    Case(
        "phenelzine-lidocaine-epinephrine",
        ("contraindication", "maoi", "epinephrine"),
        "Lidocaine with epinephrine, section 7.2: MAOIs may produce severe, prolonged hypertension.",
        medications=("Nardil",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "phenelzine", in_message="MAO"),),
        status=CAUTION,
    ),
    Case(
        "maoi-class-lidocaine-epinephrine",
        ("contraindication", "maoi", "epinephrine"),
        "The rule also fires when only the class is recorded.",
        medications=("MAOI",),
        ingredients=("lidocaine-1pct-epinephrine-md",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-epinephrine-md", "maoi"),),
    ),
    Case(
        "phenelzine-plain-lidocaine-nothing",
        ("contraindication", "maoi", "epinephrine"),
        "Plain lidocaine holds no epinephrine.",
        medications=("phenelzine",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "amitriptyline-lidocaine-epinephrine",
        ("contraindication", "tricyclic-antidepressant", "epinephrine"),
        "Lidocaine with epinephrine, section 7.2: tricyclics may produce severe, prolonged hypertension.",
        medications=("amitriptyline",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "amitriptyline", in_message="tricyclic"),),
    ),
    Case(
        "amitriptyline-plain-lidocaine-nothing",
        ("contraindication", "tricyclic-antidepressant", "epinephrine"),
        "Plain lidocaine holds no epinephrine.",
        medications=("Elavil",),
        ingredients=("lidocaine-2pct-md-methylparaben",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "propranolol-lidocaine-epinephrine",
        ("contraindication", "non-selective-beta-blocker", "epinephrine"),
        "Lidocaine with epinephrine, section 7.4: non-selective beta-blockers, severe hypertension and bradycardia.",
        medications=("Inderal",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "propranolol", in_message="bradycardia"),),
        status=CAUTION,
    ),
    Case(
        "metoprolol-lidocaine-epinephrine-selective",
        ("contraindication", "non-selective-beta-blocker", "epinephrine"),
        "Metoprolol is beta-1 selective: the non-selective rule does not fire.",
        medications=("metoprolol",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must_not=(want(kind="medication"),),
        status="ok",
    ),
    Case(
        "unnamed-beta-blocker-lidocaine-epinephrine",
        ("contraindication", "beta-blocker", "epinephrine"),
        "A beta-blocker recorded without its name may be non-selective: fail closed with a caution.",
        medications=("beta blocker",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(
            want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "beta-blocker", in_message="without its name"),
        ),
    ),
    Case(
        "bisoprolol-lidocaine-epinephrine-named-selective",
        ("contraindication", "beta-blocker", "epinephrine"),
        "Once the selective drug is named, the 'which beta-blocker?' caution goes away.",
        medications=("bisoprolol",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "hyperthyroidism-lidocaine-epinephrine",
        ("contraindication", "hyperthyroidism", "epinephrine"),
        "Epinephrine carries precautions in thyroid disease.",
        conditions=("thyrotoxicosis",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "condition", "lidocaine-1pct-epinephrine", "hyperthyroidism"),),
    ),
    Case(
        "hyperthyroidism-plain-lidocaine-nothing",
        ("contraindication", "hyperthyroidism", "epinephrine"),
        "Plain lidocaine holds no epinephrine.",
        conditions=("hyperthyroidism",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "haloperidol-lidocaine-epinephrine",
        ("contraindication", "phenothiazine-or-butyrophenone", "epinephrine"),
        "Xylocaine with epinephrine: phenothiazines and butyrophenones may reverse its pressor effect.",
        medications=("Haldol",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "haloperidol", in_message="pressor"),),
    ),
    Case(
        "promethazine-plain-lidocaine-nothing",
        ("contraindication", "phenothiazine-or-butyrophenone", "epinephrine"),
        "Plain lidocaine holds no epinephrine.",
        medications=("promethazine",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="medication"),),
    ),
    # ------------------------------------------------------------------ lidocaine
    Case(
        "porphyria-lidocaine",
        ("contraindication", "porphyria", "lidocaine"),
        "Labels disagree on lidocaine in acute porphyria: a caution, never silence.",
        conditions=("porphyria",),
        ingredients=("lidocaine-1pct-sd",),
        must=(want(CAUTION, "condition", "lidocaine-1pct-sd", "porphyria"),),
        must_not=(want(CONTRA),),
        status=CAUTION,
    ),
    Case(
        "porphyria-premixed-lidocaine-booster",
        ("contraindication", "porphyria", "lidocaine"),
        "Restylane Vital comes pre-mixed with lidocaine 3 mg/mL: the caution reaches it.",
        conditions=("porphyria",),
        ingredients=("restylane-vital-lidocaine",),
        must=(want(CAUTION, "condition", "restylane-vital-lidocaine", "porphyria"),),
    ),
    Case(
        "porphyria-plain-ha-booster-nothing",
        ("contraindication", "porphyria", "lidocaine"),
        "A lidocaine-free HA booster is not concerned.",
        conditions=("porphyria",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "amiodarone-lidocaine",
        ("contraindication", "class-iii-antiarrhythmic", "lidocaine"),
        "Amiodarone raises lidocaine levels; class III effects add to lidocaine's.",
        medications=("Cordarone",),
        ingredients=("lidocaine-2pct-sd",),
        must=(want(CAUTION, "medication", "lidocaine-2pct-sd", "amiodarone", in_message="Amiodarone"),),
    ),
    Case(
        "sotalol-lidocaine-epinephrine-both-rules",
        ("contraindication", "class-iii-antiarrhythmic", "lidocaine"),
        "Sotalol is a class III antiarrhythmic and a non-selective beta-blocker: both rules fire.",
        medications=("sotalol",),
        ingredients=("lidocaine-1pct-epinephrine",),
        must=(
            want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "sotalol", in_message="class III"),
            want(CAUTION, "medication", "lidocaine-1pct-epinephrine", "sotalol", in_message="bradycardia"),
        ),
    ),
    Case(
        "amiodarone-procaine-not-lidocaine",
        ("contraindication", "class-iii-antiarrhythmic", "lidocaine"),
        "The statement is in the lidocaine label; the procaine product is not reached.",
        medications=("amiodarone",),
        ingredients=("procaine-injection",),
        must_not=(want(kind="medication"),),
    ),
    # ------------------------------------------------------------------ deoxycholic acid
    Case(
        "goitre-deoxycholic-acid",
        ("contraindication", "thyroid-enlargement", "deoxycholic-acid"),
        "Kybella: screen for other causes of submental fullness such as thyromegaly.",
        conditions=("goitre",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CAUTION, "condition", "deoxycholic-acid-10mg-ml", "thyroid-enlargement"),),
    ),
    Case(
        "goitre-pc-dc-contains-deoxycholate",
        ("contraindication", "thyroid-enlargement", "deoxycholic-acid"),
        "A PC/DC product holds deoxycholate: the caution reaches it too.",
        conditions=("thyromegaly",),
        ingredients=("pc-dc-injection",),
        must=(want(CAUTION, "condition", "pc-dc-injection", "thyroid-enlargement"),),
    ),
    Case(
        "goitre-ha-booster-nothing",
        ("contraindication", "thyroid-enlargement", "deoxycholic-acid"),
        "An HA booster is not concerned.",
        conditions=("goiter",),
        ingredients=("profhilo",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "lymphadenopathy-deoxycholic-acid",
        ("contraindication", "cervical-lymphadenopathy", "deoxycholic-acid"),
        "Kybella: screen for cervical lymphadenopathy; keep away from lymph nodes.",
        conditions=("swollen neck glands",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CAUTION, "condition", "deoxycholic-acid-10mg-ml", "cervical-lymphadenopathy"),),
    ),
    Case(
        "lymphadenopathy-lidocaine-nothing",
        ("contraindication", "cervical-lymphadenopathy", "deoxycholic-acid"),
        "Lidocaine is not concerned.",
        conditions=("cervical lymphadenopathy",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "submental-surgery-deoxycholic-acid",
        ("contraindication", "prior-submental-treatment", "deoxycholic-acid"),
        "Kybella: care after surgery or aesthetic treatment of the submental area.",
        conditions=("previous submental surgery",),
        ingredients=("deoxycholic-acid-10mg-ml",),
        must=(want(CAUTION, "condition", "deoxycholic-acid-10mg-ml", "prior-submental-treatment"),),
    ),
    Case(
        "submental-liposuction-profhilo-nothing",
        ("contraindication", "prior-submental-treatment", "deoxycholic-acid"),
        "An HA booster is not concerned.",
        conditions=("submental liposuction",),
        ingredients=("profhilo",),
        must_not=(want(kind="condition"),),
    ),
    # ------------------------------------------------------------------ interactions
    Case(
        "ritonavir-dutasteride",
        ("contraindication", "cyp3a4-inhibitor", "dutasteride"),
        "Avodart: CYP3A4/5 inhibitors such as ritonavir may raise dutasteride levels.",
        medications=("Norvir",),
        ingredients=("dutasteride-0-01pct",),
        must=(want(CAUTION, "medication", "dutasteride-0-01pct", "ritonavir", in_message="CYP3A4"),),
    ),
    Case(
        "ciprofloxacin-dutasteride",
        ("contraindication", "cyp3a4-inhibitor", "dutasteride"),
        "The Avodart label names ciprofloxacin among the inhibitors.",
        medications=("ciprofloxacin",),
        ingredients=("dutasteride-0-05pct",),
        must=(want(CAUTION, "medication", "dutasteride-0-05pct", "ciprofloxacin", in_message="CYP3A4"),),
    ),
    Case(
        "fluvoxamine-dutasteride-not-named",
        ("contraindication", "cyp3a4-inhibitor", "dutasteride"),
        "Fluvoxamine is recorded as a CYP1A2 inhibitor only: no dutasteride finding.",
        medications=("fluvoxamine",),
        ingredients=("dutasteride-0-01pct",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "co-trimoxazole-procaine",
        ("contraindication", "sulfonamide-antibiotic", "procaine"),
        "Ester anaesthetics release PABA, which antagonises sulfonamides.",
        medications=("Bactrim",),
        ingredients=("procaine-injection",),
        must=(want(CAUTION, "medication", "procaine-injection", "co-trimoxazole", in_message="para-aminobenzoic"),),
    ),
    Case(
        "co-trimoxazole-lidocaine-amide-no-paba",
        ("contraindication", "sulfonamide-antibiotic", "procaine"),
        "Lidocaine is an amide: no PABA, no sulfonamide antagonism.",
        medications=("co-trimoxazole",),
        ingredients=("lidocaine-1pct-sd",),
        must_not=(want(in_message="para-aminobenzoic"),),
    ),
    Case(
        "dapsone-lidocaine-methaemoglobinaemia",
        ("contraindication", "methaemoglobin-inducing-drug", "local-anaesthetic"),
        "Lidocaine label 7.5: oxidising drugs add to the risk of methaemoglobinaemia.",
        medications=("oral dapsone",),
        ingredients=("lidocaine-1pct-sd",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-sd", "dapsone", in_message="methaemoglobinaemia"),),
    ),
    Case(
        "nitroglycerin-premixed-lidocaine-booster",
        ("contraindication", "methaemoglobin-inducing-drug", "local-anaesthetic"),
        "The pre-mixed lidocaine in Restylane Vital is reached too.",
        medications=("GTN",),
        ingredients=("restylane-vital-lidocaine",),
        must=(want(CAUTION, "medication", "restylane-vital-lidocaine", "glyceryl-trinitrate"),),
    ),
    Case(
        "dapsone-plain-ha-booster-nothing",
        ("contraindication", "methaemoglobin-inducing-drug", "local-anaesthetic"),
        "Without a local anaesthetic there is no methaemoglobinaemia interaction.",
        medications=("dapsone",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="medication"),),
    ),
    Case(
        "cimetidine-lidocaine",
        ("contraindication", "cimetidine", "lidocaine"),
        "Lidocaine leaflet: cimetidine raises lidocaine blood levels.",
        medications=("Tagamet",),
        ingredients=("lidocaine-1pct-sd",),
        must=(want(CAUTION, "medication", "lidocaine-1pct-sd", "cimetidine", in_message="Cimetidine"),),
    ),
    Case(
        "cimetidine-procaine-not-lidocaine",
        ("contraindication", "cimetidine", "lidocaine"),
        "The statement is in the lidocaine leaflet; the procaine product is not reached.",
        medications=("cimetidine",),
        ingredients=("procaine-injection",),
        must_not=(want(kind="medication"),),
    ),
    # ------------------------------------------------------------------ levocarnitine, tranexamic acid
    Case(
        "warfarin-levocarnitine-inr",
        ("contraindication", "warfarin", "levocarnitine"),
        "Swiss L-carnitine label: isolated INR rises with oral anticoagulants.",
        medications=("Coumadin",),
        ingredients=("levocarnitine-200mg-ml",),
        must=(want(CAUTION, "medication", "levocarnitine-200mg-ml", "warfarin", in_message="INR"),),
    ),
    Case(
        "apixaban-levocarnitine-no-inr-note",
        ("contraindication", "warfarin", "levocarnitine"),
        "The INR note concerns vitamin K antagonists, not apixaban.",
        medications=("apixaban",),
        ingredients=("levocarnitine-200mg-ml",),
        must_not=(want(kind="medication", subject="levocarnitine-200mg-ml"),),
    ),
    Case(
        "acenocoumarol-levocarnitine-inr",
        ("contraindication", "acenocoumarol", "levocarnitine"),
        "Swiss L-carnitine label: isolated INR rises with oral anticoagulants.",
        medications=("Sintrom",),
        ingredients=("levocarnitine-200mg-ml",),
        must=(want(CAUTION, "medication", "levocarnitine-200mg-ml", "acenocoumarol", in_message="INR"),),
    ),
    Case(
        "acenocoumarol-ha-booster-no-inr-note",
        ("contraindication", "acenocoumarol", "levocarnitine"),
        "Without levocarnitine there is no INR note.",
        medications=("acenocoumarol",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(in_message="INR"),),
    ),
    Case(
        "colour-vision-tranexamic-acid",
        ("contraindication", "acquired-colour-vision-defect", "tranexamic-acid"),
        "Tranexamic acid labels: not in acquired defective colour vision.",
        conditions=("acquired defective colour vision",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "acquired-colour-vision-defect"),),
        status=CONTRA,
    ),
    Case(
        "colour-vision-vitamin-c-nothing",
        ("contraindication", "acquired-colour-vision-defect", "tranexamic-acid"),
        "Another depigmenting injection is not concerned.",
        conditions=("acquired defective color vision",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "subarachnoid-haemorrhage-tranexamic-acid",
        ("contraindication", "subarachnoid-haemorrhage", "tranexamic-acid"),
        "Injectable tranexamic acid is contraindicated in subarachnoid haemorrhage.",
        conditions=("subarachnoid hemorrhage",),
        ingredients=("tranexamic-acid-100mg-ml",),
        must=(want(CONTRA, "condition", "tranexamic-acid-100mg-ml", "subarachnoid-haemorrhage"),),
        status=CONTRA,
    ),
    Case(
        "subarachnoid-haemorrhage-ha-booster-nothing",
        ("contraindication", "subarachnoid-haemorrhage", "tranexamic-acid"),
        "An HA booster is not concerned by the tranexamic acid contraindication.",
        conditions=("subarachnoid haemorrhage",),
        ingredients=("ha-nonxl-booster",),
        must_not=(want(kind="condition"),),
    ),
    Case(
        "planned-tests-vitamin-c",
        ("contraindication", "laboratory-tests-planned", "ascorbic-acid"),
        "Ascor: ascorbic acid distorts redox-based laboratory tests such as glucose.",
        conditions=("upcoming blood tests",),
        ingredients=("ascorbic-acid-500mg-ml",),
        must=(want(CAUTION, "condition", "ascorbic-acid-500mg-ml", "laboratory-tests-planned", in_message="glucose"),),
    ),
    Case(
        "planned-tests-thiamine-nothing",
        ("contraindication", "laboratory-tests-planned", "ascorbic-acid"),
        "Thiamine is not ascorbic acid: no laboratory note for it.",
        conditions=("pending blood tests",),
        ingredients=("thiamine-100mg-ml",),
        must_not=(want(kind="condition"),),
    ),
    # ------------------------------------------------------------------ vitamins
    Case(
        "copper-with-vitamin-c-one-syringe",
        ("incompatibility", "copper", "ascorbic-acid"),
        "Cupric chloride label: cupric ions degrade ascorbic acid in an admixture.",
        ingredients=("cupric-chloride-0-4mg-ml", "ascorbic-acid-500mg-ml"),
        must=(
            want(CAUTION, "incompatibility", "cupric-chloride-0-4mg-ml", "ascorbic-acid-500mg-ml",
                 in_message="cupric ions", evidence="label"),
        ),
        status=CAUTION,
    ),
    Case(
        "copper-and-vitamin-c-separate-syringes",
        ("incompatibility", "copper", "ascorbic-acid"),
        "Given from separate syringes, copper does not meet the vitamin C.",
        recipe=syringes(["cupric-chloride-0-4mg-ml"], ["ascorbic-acid-500mg-ml"]),
        must_not=(want(kind="incompatibility"),),
    ),
    Case(
        "b12-with-vitamin-c-one-syringe",
        ("incompatibility", "cyanocobalamin", "ascorbic-acid"),
        "Ascorbic acid degrades vitamin B12 in solution.",
        ingredients=("cyanocobalamin-injection", "ascorbic-acid-500mg-ml"),
        must=(
            want(CAUTION, "incompatibility", "cyanocobalamin-injection", "ascorbic-acid-500mg-ml", evidence="vendor"),
        ),
        status=CAUTION,
    ),
    Case(
        "b12-and-vitamin-c-separate-syringes",
        ("incompatibility", "cyanocobalamin", "ascorbic-acid"),
        "Given from separate syringes, they do not meet.",
        recipe=syringes(["cyanocobalamin-injection"], ["ascorbic-acid-500mg-ml"]),
        must_not=(want(kind="incompatibility"),),
    ),
    Case(
        "b12-with-biotin-no-vitamin-c",
        ("incompatibility", "cyanocobalamin", "ascorbic-acid"),
        "Biotin is not ascorbic acid.",
        ingredients=("cyanocobalamin-injection", "biotin-0-5mg-ml"),
        must_not=(want(kind="incompatibility"),),
    ),
    Case(
        "biotin-planned-troponin-test",
        ("contraindication", "laboratory-tests-planned", "biotin"),
        "FDA: biotin interferes with immunoassays, notably falsely low troponin.",
        conditions=("troponin test",),
        ingredients=("biotin-0-5mg-ml",),
        must=(
            want(
                CAUTION,
                "condition",
                "biotin-0-5mg-ml",
                "laboratory-tests-planned",
                in_message="troponin",
                evidence="reference",
            ),
        ),
    ),
    Case(
        "planned-tests-dexpanthenol-nothing",
        ("contraindication", "laboratory-tests-planned", "biotin"),
        "Dexpanthenol is a B vitamin but not biotin.",
        conditions=("blood tests planned",),
        ingredients=("dexpanthenol-injection",),
        must_not=(want(kind="condition"),),
    ),
    *PREGNANCY_AND_BREASTFEEDING,
    *VITAMIN_AND_AMINOPHYLLINE_LABELS,
]


# ------------------------------------------------------------------------------ the check
def _args(case: Case, tmp_path: Path) -> list[str]:
    args = ["check", "--json"]
    for flag, values in (
        ("--condition", case.conditions),
        ("--medication", case.medications),
        ("--ingredient", case.ingredients),
    ):
        for value in values:
            args += [flag, value]
    if case.recipe is not None:
        path = tmp_path / "recipe.json"
        path.write_text(json.dumps(case.recipe), encoding="utf-8")
        args += ["--recipe", str(path)]
    return args


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_label_rule_case(case: Case, meso, tmp_path: Path) -> None:
    result = meso(*_args(case, tmp_path))
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.stderr}"
    doc = result.json()
    findings = doc["findings"]
    for pattern in case.must:
        assert any(matches(f, pattern) for f in findings), (
            f"{case.id}: expected {pattern}\nbecause: {case.fact}\nactual:\n{show(findings)}"
        )
    for pattern in case.must_not:
        hits = [f for f in findings if matches(f, pattern)]
        assert not hits, f"{case.id}: no finding may match {pattern}\nbecause: {case.fact}\n{show(hits)}"
    if case.status is not None:
        assert doc["status"] == case.status, f"{case.id}: status {doc['status']}\n{show(findings)}"
    worst = max((RANK[f["severity"]] for f in findings), default=0)
    assert doc["status"] == {3: CONTRA, 2: CAUTION, 1: "ok", 0: "ok"}[worst]
    assert result.exit_code == (1 if doc["status"] == CONTRA else 0)


# ------------------------------------------------------------------------------ the table itself
def test_every_label_rule_has_a_firing_case_and_a_neighbour() -> None:
    keys = {rule_key(kind, row) for kind, row in label_rules()}
    firing = {c.rule for c in CASES if c.must}
    neighbours = {c.rule for c in CASES if c.must_not and not c.must}
    assert keys - firing == set(), f"label rules with no case that must fire: {sorted(keys - firing)}"
    assert keys - neighbours == set(), f"label rules with no neighbour case: {sorted(keys - neighbours)}"
    strays = {c.rule for c in CASES} - keys
    assert not strays, f"cases name rules that are not label rules: {sorted(strays)}"
    assert len({c.id for c in CASES}) == len(CASES)


def test_label_rules_are_sourced_and_graded_honestly() -> None:
    """Each label rule cites at least one source; a 'label' grade needs a label-like document, and
    a row graded otherwise says why in its notes."""
    label_words = re.compile(
        r"label|prescribing information|SmPC|summary of product characteristics|"
        r"package leaflet|professional information|important safety information",
        re.IGNORECASE,
    )
    for kind, row in label_rules():
        assert row["sources"], (kind, row)
        titles = " ".join(s.get("title", "") for s in row["sources"])
        if row["evidence"] == "label":
            assert label_words.search(titles), f"{rule_key(kind, row)} is graded 'label' but cites no label"
        else:
            assert row.get("notes") or row["evidence"] == "reference", rule_key(kind, row)
        for source in row["sources"]:
            url = source.get("url", "")
            assert not re.search(r"://(sit|staging|test|dev|preview|internal)[.-]|mimsdev|awsprod", url), url


def test_label_rules_name_catalogue_entries(catalogue) -> None:
    for _kind, row in label_rules():
        if "condition" in row:
            assert row["condition"] in catalogue.conditions, row["condition"]
        if "medication" in row:
            assert row["medication"] in catalogue.medications, row["medication"]
        if "medication_class" in row:
            assert row["medication_class"] in catalogue.medication_classes, row["medication_class"]
        for ref in (row.get("substance"), row.get("a"), row.get("b")):
            if ref and not ref.startswith("class:") and ref != "*":
                assert ref in catalogue.substances or ref in catalogue.products, ref


@pytest.mark.parametrize(
    ("term", "kind", "entry"),
    [
        ("Inderal", "medication", "propranolol"),
        ("metoprolol", "medication", "metoprolol"),
        ("beta blocker", "medication-class", "beta-blocker"),
        ("MAOI", "medication-class", "maoi"),
        ("Nardil", "medication", "phenelzine"),
        ("TCA", "medication-class", "tricyclic-antidepressant"),
        ("Tofranil", "medication", "imipramine"),
        ("Cordarone", "medication", "amiodarone"),
        ("class III antiarrhythmic", "medication-class", "class-iii-antiarrhythmic"),
        ("Luvox", "medication", "fluvoxamine"),
        ("Cipro", "medication", "ciprofloxacin"),
        ("Uniphyllin", "medication", "theophylline"),
        ("HRT", "medication-class", "oestrogen"),
        ("Piriton", "medication", "chlorphenamine"),
        ("Bactrim", "medication", "co-trimoxazole"),
        ("GTN", "medication", "glyceryl-trinitrate"),
        ("Norvir", "medication", "ritonavir"),
        ("Epanutin", "medication", "phenytoin"),
        ("antiepileptic", "medication-class", "anticonvulsant"),
    ],
)
def test_medication_vocabulary(catalogue, term: str, kind: str, entry: str) -> None:
    found = catalogue.resolve_medication(term)
    assert (found.kind, found.id) == (kind, entry)


@pytest.mark.parametrize(
    ("term", "entry"),
    [
        ("acute intermittent porphyria", "porphyria"),
        ("overactive thyroid", "hyperthyroidism"),
        ("Graves' disease", "hyperthyroidism"),
        ("stomach ulcer", "peptic-ulcer"),
        ("goitre", "thyroid-enlargement"),
        ("swollen neck glands", "cervical-lymphadenopathy"),
        ("submental liposuction", "prior-submental-treatment"),
        ("troponin test", "laboratory-tests-planned"),
        ("acquired defective color vision", "acquired-colour-vision-defect"),
        ("vitamin B12 deficiency", "pernicious-anaemia"),
        ("pernicious anemia", "pernicious-anaemia"),
        ("Wilson's disease", "wilson-disease"),
    ],
)
def test_condition_vocabulary(catalogue, term: str, entry: str) -> None:
    assert catalogue.resolve_condition(term).id == entry


def test_beta_blocker_drugs_are_either_selective_or_not(catalogue) -> None:
    """No named beta-blocker is in both camps, so the non-selective rule can never be ambiguous."""
    for med in catalogue.medications.values():
        classes = set(med.classes)
        assert not {"selective-beta-blocker", "non-selective-beta-blocker"} <= classes, med.id


# ------------------------------------------------------------------------------ properties
def _medications_in(class_id: str) -> list[str]:
    return sorted(m.id for m in load_catalogue().medications.values() if class_id in m.classes)


def _products_with(substance_id: str, present: bool) -> list[str]:
    cat = load_catalogue()
    return sorted(
        p.id for p in cat.products.values() if (substance_id in {c.substance for c in p.components}) == present
    )


def _epinephrine_medication_findings(medication: str, product: str) -> list[Any]:
    result = check(Patient(medications=(medication,)), ingredients=(product,))
    return [f for f in result.findings if f.kind == "medication" and f.subject == product]


@FEW
@given(data=st.data())
def test_non_selective_beta_blockers_always_fire_on_epinephrine(data: st.DataObject) -> None:
    medication = data.draw(st.sampled_from(_medications_in("non-selective-beta-blocker")))
    product = data.draw(st.sampled_from(_products_with("epinephrine", True)))
    found = _epinephrine_medication_findings(medication, product)
    assert any(f.severity == CAUTION and "bradycardia" in f.message for f in found), (medication, product)


@FEW
@given(data=st.data())
def test_selective_beta_blockers_never_fire_on_epinephrine(data: st.DataObject) -> None:
    medication = data.draw(st.sampled_from(_medications_in("selective-beta-blocker")))
    product = data.draw(st.sampled_from(_products_with("epinephrine", True)))
    assert _epinephrine_medication_findings(medication, product) == [], (medication, product)


@FEW
@given(data=st.data())
def test_epinephrine_interactions_never_reach_a_product_without_epinephrine(data: st.DataObject) -> None:
    class_id = data.draw(st.sampled_from(["maoi", "tricyclic-antidepressant", "non-selective-beta-blocker"]))
    medication = data.draw(st.sampled_from(_medications_in(class_id)))
    product = data.draw(
        st.sampled_from([p for p in _products_with("epinephrine", False) if p in _products_with("lidocaine", True)])
    )
    found = _epinephrine_medication_findings(medication, product)
    assert not any("epinephrine" in f.message.lower() for f in found), (medication, product, found)


@FEW
@given(data=st.data())
def test_hyaluronidase_and_epinephrine_in_one_syringe_always_caution(data: st.DataObject) -> None:
    enzyme = data.draw(
        st.sampled_from(
            [
                p.id
                for p in load_catalogue().products.values()
                if any(c.substance.startswith("hyaluronidase") for c in p.components)
            ]
        )
    )
    product = data.draw(st.sampled_from(_products_with("epinephrine", True)))
    result = check(Patient(), ingredients=(enzyme, product))
    assert any(f.kind == "incompatibility" and f.severity == CAUTION and ALPHA in f.message for f in result.findings), (
        enzyme,
        product,
    )
