"""The catalogue commands through meso's real entry point: listings, details, search, errors,
plain output off a terminal, JSON contracts and help text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import __version__

# Every command here runs on the shipped SQLite file and on PostgreSQL (see conftest.backend).
pytestmark = pytest.mark.usefixtures("backend")

REPO = Path(__file__).resolve().parents[2]
ANSI = "\x1b["
BOX_DRAWING = re.compile("[\u2500-\u257f]")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

LISTINGS = [
    (("ingredients", "list"), "ingredients", "Ingredients"),
    (("products", "list"), "products", "Products"),
    (("indications", "list"), "indications", "Indications"),
    (("allergens", "list"), "allergens", "Allergen groups"),
    (("conditions", "list"), "conditions", "Conditions"),
    (("medications", "list"), "medications", "Medications"),
]
DETAILS = [
    (("ingredients", "show", "lidocaine"), "ingredient"),
    (("ingredients", "show", "lidocaine-2pct-md-methylparaben"), "ingredient"),
    (("products", "show", "lidocaine-2pct-sd"), "ingredient"),
    (("indications", "show", "hair-loss"), "indication"),
    (("allergens", "show", "parabens"), "allergen"),
]
UNKNOWN = [
    (("ingredients", "show", "lidocane"), "ingredient", "lidocaine"),
    (("products", "show", "lidocane-2pct-sd"), "product", "lidocaine-2pct-sd"),
    (("indications", "show", "hair-los"), "indication", "hair-loss"),
    (("allergens", "show", "parabenz"), "allergen group", "parabens"),
    (("ingredients", "list", "--indication", "celulite"), "indication", "cellulite"),
    (("ingredients", "list", "--class", "vitamins"), "class", "vitamin"),
    (("products", "list", "--substance", "lidocane"), "substance", "lidocaine"),
]


def assert_clean(outcome) -> None:  # type: ignore[no-untyped-def]
    """No traceback, no ANSI escapes and no box-drawing characters anywhere in the output."""
    for stream in (outcome.stdout, outcome.stderr):
        assert "Traceback" not in stream
        assert ANSI not in stream
        assert not BOX_DRAWING.search(stream), BOX_DRAWING.search(stream)


def items_of(outcome) -> list[dict]:  # type: ignore[no-untyped-def]
    assert outcome.exit_code == 0, outcome.stderr
    return outcome.json()["items"]


@pytest.fixture
def terminal_like_env(monkeypatch):
    """An environment that would allow colour (no NO_COLOR, a colour TERM) but stdout is not a tty."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("FORCE_COLOR", "1")


# --------------------------------------------------------------------------- listings


@pytest.mark.parametrize(("args", "kind", "title"), LISTINGS, ids=[a[0][0] for a in LISTINGS])
def test_listing_json_envelope(meso, catalogue, args, kind, title):
    """Every list command with --json writes {schema_version: 1, kind, items: [...]} with unique ids,
    then which meso and which catalogue answered."""
    from mesocli.domain.identity import catalogue_identity

    outcome = meso(*args, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    doc = outcome.json()
    assert list(doc) == ["schema_version", "kind", "items", "meso_version", "catalogue"]
    assert (doc["schema_version"], doc["kind"]) == (1, kind)
    assert doc["meso_version"] == __version__
    assert doc["catalogue"] == catalogue_identity(catalogue)
    ids = [item["id"] for item in doc["items"]]
    assert ids and len(ids) == len(set(ids))
    assert outcome.stderr == ""


@pytest.mark.parametrize(("args", "kind", "title"), LISTINGS, ids=[a[0][0] for a in LISTINGS])
def test_listing_human_matches_json(meso, args, kind, title):
    """The human listing is a titled plain table with one line per item the JSON lists."""
    items = items_of(meso(*args, "--json"))
    outcome = meso(*args)
    assert outcome.exit_code == 0
    assert_clean(outcome)
    lines = outcome.stdout.splitlines()
    assert lines[0] == f"{title} ({len(items)})"
    assert set(lines[2]) <= {"-", " "}
    rows = [line for line in lines[3:] if not line.startswith(" ")]  # a wrapped cell continues indented
    assert len(rows) == len(items)
    assert [row.split()[0] for row in rows] == [i["id"] for i in items]


def test_ingredients_list_holds_every_substance(meso, catalogue):
    """'ingredients list' lists every substance, sorted by id."""
    ids = [i["id"] for i in items_of(meso("ingredients", "list", "--json"))]
    assert ids == sorted(catalogue.substances)


def test_ingredients_list_by_class(meso, catalogue):
    """'--class vitamin' lists exactly the vitamins."""
    items = items_of(meso("ingredients", "list", "--class", "vitamin", "--json"))
    expected = sorted(s.id for s in catalogue.substances.values() if s.cls == "vitamin")
    assert [i["id"] for i in items] == expected
    assert {i["class"] for i in items} == {"vitamin"}


def test_ingredients_list_by_indication(meso, catalogue):
    """'--indication hair-loss' lists the substances that fit hair loss, and accepts an alias."""
    items = items_of(meso("ingredients", "list", "--indication", "hair-loss", "--json"))
    ids = {i["id"] for i in items}
    assert "minoxidil" in ids
    assert "lidocaine" not in ids
    fits = {f.target for f in catalogue.indications["hair-loss"].fits}
    assert {t for t in fits if t in catalogue.substances} <= ids
    by_alias = items_of(meso("ingredients", "list", "--indication", "Androgenetic Alopecia", "--json"))
    assert by_alias == items


def test_ingredients_list_by_class_and_indication(meso):
    """Class and indication filters combine."""
    items = items_of(meso("ingredients", "list", "--class", "vitamin", "--indication", "hair-loss", "--json"))
    assert items
    assert {i["class"] for i in items} == {"vitamin"}


def test_products_list_by_substance(meso, catalogue):
    """'products list --substance lidocaine' lists exactly the products containing lidocaine."""
    items = items_of(meso("products", "list", "--substance", "lignocaine", "--json"))
    assert [i["id"] for i in items] == sorted(catalogue.products_by_substance["lidocaine"])
    assert all("lidocaine" in i["substances"] for i in items)


def test_medications_list_has_medications_then_classes(meso):
    """'medications list' gives named medications with their classes, then the classes themselves."""
    items = items_of(meso("medications", "list", "--json"))
    types = [i["type"] for i in items]
    assert types == sorted(types, key=lambda t: t != "medication")
    warfarin = next(i for i in items if i["id"] == "warfarin")
    assert "anticoagulant" in warfarin["classes"]
    assert {"id": "anticoagulant", "type": "class"}.items() <= next(
        i for i in items if i["id"] == "anticoagulant"
    ).items()


def test_conditions_list_shows_aliases(meso):
    """'conditions list' includes pregnancy with its aliases."""
    items = items_of(meso("conditions", "list", "--json"))
    pregnancy = next(i for i in items if i["id"] == "pregnancy")
    assert "pregnant" in pregnancy["aliases"]


# --------------------------------------------------------------------------- details


@pytest.mark.parametrize(
    "name", ["lidocaine", "Lidocaine", "LIDOCAINE", "lignocaine", "Xylocaine", "  lidocaine hydrochloride "]
)
def test_ingredients_show_by_id_name_or_alias(meso, name):
    """'ingredients show' finds a substance by id, name or alias in any case."""
    doc = meso("ingredients", "show", name, "--json").json()
    assert (doc["kind"], doc["type"], doc["id"]) == ("ingredient", "substance", "lidocaine")


def test_ingredients_show_substance_json(meso):
    """A substance's detail lists its allergen groups, the rules that concern it and its sources."""
    outcome = meso("ingredients", "show", "lidocaine", "--json")
    assert outcome.exit_code == 0
    doc = outcome.json()
    assert doc["schema_version"] == 1
    assert doc["allergen_groups"] == ["amide-local-anaesthetics"]
    assert doc["evidence"] == "label"
    assert doc["sources"] and all(s["url"].startswith("https://") for s in doc["sources"] if "url" in s)
    assert "lidocaine-2pct-sd" in doc["products"]
    kinds = {(r["kind"], r.get("dose_kind")) for r in doc["rules"]}
    assert ("dose_limit", "per-kg") in kinds
    assert any(r["kind"] == "contraindication" and r.get("condition") == "heart-block" for r in doc["rules"])
    assert all(r["evidence"] for r in doc["rules"])


def test_ingredients_show_product_has_composition(meso):
    """A product's detail gives its composition with concentrations and its allergen groups."""
    doc = meso("ingredients", "show", "lidocaine-2pct-md-methylparaben", "--json").json()
    assert doc["type"] == "product"
    assert [(c["id"], c["role"], c["concentration"]) for c in doc["composition"]] == [
        ("lidocaine", "active", {"value": 20, "unit": "mg/mL"}),
        ("methylparaben", "excipient", {"value": 1, "unit": "mg/mL"}),
    ]
    assert doc["dose"] == "multi"
    assert set(doc["allergen_groups"]) == {"amide-local-anaesthetics", "parabens"}


def test_ingredients_show_indications_and_protocols(meso, catalogue):
    """A substance that fits indications shows them and their protocols."""
    doc = meso("ingredients", "show", "hyaluronic acid", "--json").json()
    assert doc["id"] == "hyaluronic-acid"
    indications = {i["indication"] for i in doc["indications"]}
    assert "skin-rejuvenation" in indications
    assert {p["indication"] for p in doc["protocols"]} == indications
    # a technique, or null where no source gives one (unknown)
    assert all(p["technique"] is None or p["technique"].strip() for p in doc["protocols"])
    assert any(p["technique"] for p in doc["protocols"])


def test_ingredients_show_human_output(meso):
    """The human detail is plain text with a heading, evidence, a URL, rules and composition."""
    outcome = meso("ingredients", "show", "lidocaine-1pct-epinephrine")
    assert outcome.exit_code == 0
    assert_clean(outcome)
    text = outcome.stdout
    assert text.splitlines()[0].endswith("(lidocaine-1pct-epinephrine)")
    assert "Evidence: " in text
    assert re.search(r"https?://\S+", text)
    assert "Composition" in text
    assert "sodium-metabisulfite" in text
    assert "Allergen groups: " in text and "sulfites" in text
    assert "Rules that concern it" in text


def test_ingredients_show_substance_human_lists_protocols(meso):
    """The human detail of a fitting substance includes its protocols table."""
    outcome = meso("ingredients", "show", "minoxidil")
    assert outcome.exit_code == 0
    assert "Protocols" in outcome.stdout
    assert "hair-loss" in outcome.stdout
    assert "nappage" in outcome.stdout


def test_products_show(meso):
    """'products show' gives a product's composition and label facts, by id or name."""
    doc = meso("products", "show", "lidocaine-2pct-sd", "--json").json()
    assert doc["composition"] == [
        {
            "id": "lidocaine",
            "name": "Lidocaine",
            "role": "active",
            "concentration": {"value": 20, "unit": "mg/mL"},
        }
    ]
    assert (doc["generic"], doc["dose"]) == (True, "single")
    by_name = meso("products", "show", doc["name"].upper(), "--json").json()
    assert by_name["id"] == "lidocaine-2pct-sd"
    human = meso("products", "show", "lidocaine-2pct-sd")
    assert human.exit_code == 0 and "Composition" in human.stdout and "20 mg/mL" in human.stdout


def test_products_show_refuses_a_substance(meso):
    """'products show' of a substance that is not a product is an unknown product (exit 2)."""
    outcome = meso("products", "show", "methylparaben")
    assert outcome.exit_code == 2
    assert "unknown product 'methylparaben'" in outcome.stderr


def test_indications_show(meso, catalogue):
    """'indications show' gives areas, fits with evidence, and protocols; human output too."""
    doc = meso("indications", "show", "Alopecia", "--json").json()
    assert (doc["kind"], doc["id"]) == ("indication", "hair-loss")
    assert doc["areas"] == list(catalogue.indications["hair-loss"].areas)
    assert [f["target"] for f in doc["fits"]] == [f.target for f in catalogue.indications["hair-loss"].fits]
    assert all(
        f["evidence"] in {"label", "peer-reviewed", "reference", "vendor", "expert", "unsourced"}
        for f in doc["fits"]
    )
    assert doc["protocols"] and {p["area"] for p in doc["protocols"]} == set(doc["areas"])
    human = meso("indications", "show", "hair-loss")
    assert human.exit_code == 0
    assert_clean(human)
    for word in ("Areas: scalp", "Ingredients", "minoxidil", "Protocols", "Evidence"):
        assert word in human.stdout


def test_allergens_show(meso, catalogue):
    """'allergens show' gives members, the products containing them and cross-reactions."""
    doc = meso("allergens", "show", "parabens", "--json").json()
    assert (doc["kind"], doc["id"]) == ("allergen", "parabens")
    assert "methylparaben" in doc["members"]
    assert "lidocaine-2pct-md-methylparaben" in doc["products"]
    assert "lidocaine-2pct-sd" not in doc["products"]
    soy = meso("allergens", "show", "soy", "--json").json()
    assert "peanut-legumes" in {c["to"] for c in soy["cross_reactions"]}
    human = meso("allergens", "show", "soy")
    assert human.exit_code == 0
    assert "Cross-reactivity" in human.stdout and "peanut-legumes" in human.stdout


def test_allergens_show_by_alias(meso):
    """An allergen group resolves by alias, case-insensitively."""
    assert meso("allergens", "show", "PEANUT", "--json").json()["id"] == "peanut-legumes"


@pytest.mark.parametrize(("args", "kind"), DETAILS, ids=[" ".join(a[0]) for a in DETAILS])
def test_detail_commands_plain_and_json(meso, args, kind):
    """Each show command writes plain text, or with --json a document of its kind."""
    human = meso(*args)
    assert human.exit_code == 0
    assert_clean(human)
    assert "Evidence: " in human.stdout
    doc = meso(*args, "--json").json()
    assert (doc["schema_version"], doc["kind"]) == (1, kind)


# --------------------------------------------------------------------------- search


def test_search_lido_finds_lidocaine_first(meso):
    """'ingredients search lido' ranks the substance lidocaine first."""
    items = items_of(meso("ingredients", "search", "lido", "--json"))
    assert items[0]["id"] == "lidocaine"
    assert items[0]["type"] == "substance"
    substances = [i["id"] for i in items if i["type"] == "substance"]
    assert substances[0] == "lidocaine"
    assert all("lido" in i["matched"] for i in items)


def test_search_ranks_are_ordered(meso):
    """Search results come best rank first."""
    items = items_of(meso("ingredients", "search", "acid", "--json"))
    ranks = [i["rank"] for i in items]
    assert ranks == sorted(ranks)
    assert len(items) > 1


def test_search_by_exact_id_comes_first_for_every_entry(catalogue):
    """For every substance and product, searching its exact id puts it first."""
    from mesocli.api import search

    wrong = []
    for entry_id in [*catalogue.substances, *catalogue.products]:
        hits = search(entry_id, limit=5)
        if not hits or (hits[0].id, hits[0].rank) != (entry_id, 0):
            wrong.append((entry_id, hits[:2]))
    assert wrong == []


def test_search_finds_aliases_and_classes(meso):
    """Search matches aliases and classes, case-insensitively."""
    assert items_of(meso("ingredients", "search", "Lignocaine", "--json"))[0]["id"] == "lidocaine"
    by_class = items_of(meso("ingredients", "search", "local-anaesthetic", "--json"))
    assert "lidocaine" in {i["id"] for i in by_class}


def test_search_limit(meso):
    """'--limit' caps the number of results."""
    assert len(items_of(meso("ingredients", "search", "a", "--limit", "3", "--json"))) == 3


def test_search_human_output(meso):
    """The human search output is a plain titled table."""
    outcome = meso("ingredients", "search", "lido")
    assert outcome.exit_code == 0
    assert_clean(outcome)
    assert outcome.stdout.splitlines()[0].startswith("Matches for 'lido' (")
    assert outcome.stdout.splitlines()[3].split()[0] == "lidocaine"


@pytest.mark.parametrize(
    "text", ["%", "%%", "' OR 1=1 --", "lid_caine", "l%e", "100%", "\\", "*", "'; DROP TABLE substance; --"]
)
def test_search_sql_metacharacters_are_literal(meso, catalogue, text):
    """SQL metacharacters in search text are matched literally: no error and not everything."""
    outcome = meso("ingredients", "search", text, "--limit", "1000", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert "Traceback" not in outcome.stderr
    items = outcome.json()["items"]
    assert len(items) < len(catalogue.substances) + len(catalogue.products)
    assert "lidocaine" not in {i["id"] for i in items}


def test_search_percent_only_matches_names_with_a_percent_sign(meso):
    """Searching '%' returns exactly the entries whose names contain a literal '%'."""
    items = items_of(meso("ingredients", "search", "%", "--limit", "1000", "--json"))
    assert items
    assert all("%" in i["matched"] for i in items)


def test_search_sql_injection_leaves_catalogue_intact(meso, catalogue):
    """An injection attempt in search text changes nothing: the catalogue still lists every substance."""
    meso("ingredients", "search", "'; DROP TABLE substance; --")
    assert len(items_of(meso("ingredients", "list", "--json"))) == len(catalogue.substances)


def test_search_underscore_alone_is_an_input_error(meso):
    """'_' folds to an empty search (separators are ignored) and is refused with exit 2, not a
    match-all; the message says what is wrong with it rather than calling it empty."""
    outcome = meso("ingredients", "search", "_", "--json")
    assert outcome.exit_code == 2
    message = "search text '_' has no letters or digits to search for"
    assert outcome.stderr == f"meso: error: {message}\n"
    assert outcome.json() == {"schema_version": 1, "kind": "error", "code": 2, "message": message,
                              "meso_version": __version__, "catalogue": None}  # refused before it was read
    blank = meso("ingredients", "search", "  ")
    assert blank.exit_code == 2 and blank.stderr == "meso: error: search text is empty\n"


def test_search_too_long_is_an_input_error(meso):
    """Search text over 200 characters is refused with exit 2."""
    outcome = meso("ingredients", "search", "a" * 201)
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith("meso: error: search text longer than 200")


@FUZZ
@given(text=st.text(max_size=40).filter(lambda t: not t.startswith("-")))
def test_search_never_crashes(meso, text):
    """Any search text gives exit 0 with ranked JSON, or exit 2 with one error line; never a traceback."""
    outcome = meso("ingredients", "search", text, "--json")
    assert "Traceback" not in outcome.stderr
    assert outcome.exit_code in (0, 2), outcome.stderr
    doc = outcome.json()
    if outcome.exit_code == 0:
        ranks = [i["rank"] for i in doc["items"]]
        assert ranks == sorted(ranks)
    else:
        assert doc["kind"] == "error" and doc["code"] == 2
        assert len(outcome.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- unknown names and errors


@pytest.mark.parametrize(("args", "what", "suggestion"), UNKNOWN, ids=[" ".join(u[0]) for u in UNKNOWN])
def test_unknown_name_is_exit_2_with_suggestions(meso, args, what, suggestion):
    """An unknown name is exit 2 with one stderr line naming the term and the closest match."""
    outcome = meso(*args)
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1
    term = args[-1]
    assert lines[0].startswith(f"meso: error: unknown {what} '{term}'; did you mean: ")
    assert suggestion in lines[0].split("did you mean: ")[1]


def test_lidocane_suggests_lidocaine_first(meso):
    """The misspelling 'lidocane' suggests lidocaine first."""
    outcome = meso("ingredients", "show", "lidocane")
    assert outcome.stderr.split("did you mean: ")[1].startswith("lidocaine")


@pytest.mark.parametrize(("args", "what", "suggestion"), UNKNOWN, ids=[" ".join(u[0]) for u in UNKNOWN])
def test_unknown_name_with_json_writes_an_error_document(meso, args, what, suggestion):
    """With --json an unknown name also writes the error document to stdout."""
    outcome = meso(*args, "--json")
    assert outcome.exit_code == 2
    doc = outcome.json()
    assert list(doc) == ["schema_version", "kind", "code", "message", "meso_version", "catalogue"]
    assert (doc["schema_version"], doc["kind"], doc["code"]) == (1, "error", 2)
    assert doc["catalogue"]["content_sha256"]  # the name was looked up in this catalogue
    assert doc["message"] == outcome.stderr.removeprefix("meso: error: ").rstrip("\n")
    assert suggestion in doc["message"]


def test_unknown_name_without_close_match_points_to_the_listing(meso):
    """A name with no close match tells the user which command lists the known names."""
    outcome = meso("indications", "show", "qqqqqqqq")
    assert outcome.exit_code == 2
    assert (
        outcome.stderr
        == "meso: error: unknown indication 'qqqqqqqq'; list the known ones with 'meso indications list'\n"
    )


def test_control_characters_in_a_name_stay_on_one_line(meso):
    """A name containing newlines and escapes is reported on one line without raw control characters."""
    outcome = meso("ingredients", "show", "lido\ncaine\x1b[31m")
    assert outcome.exit_code == 2
    assert len(outcome.stderr.splitlines()) == 1
    assert "\x1b" not in outcome.stderr


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_empty_or_overlong_name_is_an_input_error(meso, name):
    """An empty or over-long name is exit 2 with one error line."""
    outcome = meso("ingredients", "show", name)
    assert outcome.exit_code == 2
    assert len(outcome.stderr.splitlines()) == 1
    assert outcome.stderr.startswith("meso: error: ingredient: ")


def test_usage_error_with_json_writes_an_error_document(meso):
    """A click usage error (unknown option) with --json is exit 2 with an error document."""
    outcome = meso("ingredients", "list", "--json", "--no-such-option")
    assert outcome.exit_code == 2
    doc = outcome.json()
    assert (doc["kind"], doc["code"]) == ("error", 2)
    assert "--no-such-option" in doc["message"]
    assert "Traceback" not in outcome.stderr


def test_unknown_command_is_exit_2(meso):
    """An unknown sub-command is a usage error (exit 2)."""
    outcome = meso("ingredients", "frobnicate")
    assert outcome.exit_code == 2
    assert "frobnicate" in outcome.stderr
    assert "Traceback" not in outcome.stderr


SHOW_COMMANDS = [
    ("ingredients", "show"),
    ("products", "show"),
    ("indications", "show"),
    ("allergens", "show"),
]


@FUZZ
@given(
    command=st.sampled_from(SHOW_COMMANDS), text=st.text(max_size=60).filter(lambda t: not t.startswith("-"))
)
def test_show_never_crashes(meso, command, text):
    """Any name given to a show command is found (exit 0) or refused with one error line (exit 2)."""
    outcome = meso(*command, text)
    assert "Traceback" not in outcome.stderr
    assert outcome.exit_code in (0, 2), outcome.stderr
    if outcome.exit_code == 2:
        lines = outcome.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("meso: error: ")


# --------------------------------------------------------------------------- plain text and JSON hygiene


@pytest.mark.parametrize(
    "args",
    [a for a, _, _ in LISTINGS] + [a for a, _ in DETAILS] + [("ingredients", "search", "lido")],
    ids=lambda a: " ".join(a),
)
def test_human_output_is_plain_when_not_a_terminal(meso, terminal_like_env, args):
    """Off a terminal, even with colour allowed, human output has no ANSI codes or box drawing."""
    assert "NO_COLOR" not in os.environ
    outcome = meso(*args)
    assert outcome.exit_code == 0
    assert outcome.stdout.strip()
    assert_clean(outcome)


@pytest.mark.parametrize(
    "args",
    [a for a, _, _ in LISTINGS]
    + [a for a, _ in DETAILS]
    + [("ingredients", "search", "lido"), ("db", "path"), ("db", "current")],
    ids=lambda a: " ".join(a),
)
def test_json_output_parses_and_has_no_ansi(meso, terminal_like_env, args):
    """JSON output is a single JSON document with no ANSI codes, even where colour is allowed."""
    outcome = meso(*args, "--json")
    assert outcome.exit_code == 0
    assert ANSI not in outcome.stdout and "\x1b" not in outcome.stdout
    doc = json.loads(outcome.stdout)
    assert doc["schema_version"] == 1
    assert outcome.stdout.endswith("}\n")


# --------------------------------------------------------------------------- help and version


def test_help_lists_exit_codes(meso):
    """'meso --help' lists exit codes 0, 1, 2 and 3 and every command group."""
    outcome = meso("--help")
    assert outcome.exit_code == 0
    text = outcome.stdout
    assert "Exit codes:" in text
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\s+{code}\s+\S", text, re.MULTILINE), code
    for group in ("ingredients", "products", "indications", "allergens", "conditions", "medications", "db"):
        assert re.search(rf"^\s+{group}\s", text, re.MULTILINE), group


def test_version(meso):
    """'meso --version' prints the package version."""
    outcome = meso("--version")
    assert outcome.exit_code == 0
    assert outcome.stdout == f"meso {__version__}\n"


def test_python_dash_m_mesocli_help(tmp_path):
    """'python -m mesocli --help' runs from any directory and lists the exit codes."""
    env = {k: v for k, v in os.environ.items() if k != "MESO_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "mesocli", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Exit codes:" in result.stdout
    assert "Usage: " in result.stdout


def test_python_dash_m_mesocli_exit_code_and_error(tmp_path):
    """'python -m mesocli' exits with meso's code: an unknown name is exit 2 with one stderr line."""
    env = {k: v for k, v in os.environ.items() if k != "MESO_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "mesocli", "ingredients", "show", "lidocane"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("meso: error: unknown ingredient 'lidocane'; did you mean: lidocaine")
    assert len(result.stderr.splitlines()) == 1


def _walk(command, path=()):  # type: ignore[no-untyped-def]
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


def test_every_command_has_help_text():
    """Every command and sub-command of meso has help text."""
    from mesocli.cli.app import app

    commands = list(_walk(typer.main.get_command(app)))
    names = {" ".join(path) for path, _ in commands}
    assert {
        "ingredients list",
        "ingredients show",
        "ingredients search",
        "products list",
        "products show",
        "indications list",
        "indications show",
        "allergens list",
        "allergens show",
        "conditions list",
        "medications list",
        "db build",
        "db upgrade",
        "db path",
        "db current",
    } <= names
    missing = [
        " ".join(path) or "meso"
        for path, cmd in commands
        if not ((cmd.help or "").strip() or (cmd.short_help or "").strip())
    ]
    assert missing == []


@pytest.mark.parametrize(
    "group", ["ingredients", "products", "indications", "allergens", "conditions", "medications", "db"]
)
def test_group_help_lists_its_commands(meso, group):
    """'meso GROUP --help' exits 0 and lists the group's sub-commands."""
    from mesocli.cli.app import app

    outcome = meso(group, "--help")
    assert outcome.exit_code == 0
    sub = typer.main.get_command(app).commands[group]
    for name in sub.commands:
        assert re.search(rf"^\s+{name}\s", outcome.stdout, re.MULTILINE), name
