"""Verbs: ``meso check`` (and, as they land, ``build``, ``batch``, ``schema``)."""

from __future__ import annotations

import typer

from mesocli.cli import completion as complete
from mesocli.cli.io import read_document, write_json

FAIL_ON = ("caution", "contraindicated")


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("check")(check)
    app.command("schema")(schema)


def patient_from_options(patient_file: str | None, allergy: list[str], condition: list[str],
                         medication: list[str], age: int | None, weight: str | None):  # type: ignore[no-untyped-def]
    """A patient file (JSON/TOML or '-') plus the command-line options."""
    from mesocli.domain.patient import Patient, merge, patient_from_mapping

    base = Patient()
    if patient_file is not None:
        base = patient_from_mapping(read_document(patient_file, "--patient"), what=_named("--patient", patient_file))
    return merge(base, allergies=allergy, conditions=condition, medications=medication, age=age,
                 weight=weight)


def _named(option: str, source: str) -> str:
    """How errors in a file's content name it: the option and the file."""
    return f"{option} {'standard input' if source == '-' else source}"


def check(
    allergy: list[str] = typer.Option([], "--allergy", "-a",
                                      help="An allergy (substance, group or alias). Repeatable.",
                                      autocompletion=complete.allergies),
    condition: list[str] = typer.Option([], "--condition", "-c", help="A patient condition. Repeatable.",
                                        autocompletion=complete.conditions),
    medication: list[str] = typer.Option([], "--medication", "-m", help="A medication or class. Repeatable.",
                                         autocompletion=complete.medications),
    age: int | None = typer.Option(None, "--age", help="Age in whole years."),
    weight: str | None = typer.Option(None, "--weight", help='Body weight, e.g. "70 kg".'),
    patient: str | None = typer.Option(None, "--patient",
                                       help="Patient file (JSON, TOML or a FHIR R4 Bundle), or - for stdin."),
    ingredient: list[str] = typer.Option([], "--ingredient", "-i",
                                         help="A product or substance; several are mixed in one syringe.",
                                         autocompletion=complete.ingredients),
    recipe: str | None = typer.Option(None, "--recipe", help="Recipe JSON (as meso build --json writes), or -."),
    indication: str | None = typer.Option(None, "--indication", help="Check fit for this indication.",
                                          autocompletion=complete.indications),
    area: str | None = typer.Option(None, "--area", help="Body area, for on-label and per-area rules.",
                                    autocompletion=complete.areas),
    treatment_area: str | None = typer.Option(None, "--treatment-area", help='Treated area, e.g. "25 cm^2".'),
    max_products: int = typer.Option(3, "--max-products", help="Most products in one syringe."),
    fail_on: str = typer.Option("contraindicated", "--fail-on", help="caution|contraindicated: what makes exit 1."),
    output_format: str = typer.Option("table", "--format", help="table|json|csv|fhir.",
                                      autocompletion=complete.formats("table", "json", "csv", "fhir")),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json: the JSON contract."),
    compact: bool = typer.Option(False, "--compact",
                                 help="Screen as a table, one row and a one-line why per finding."),
) -> int:
    """Report every allergy, contraindication, incompatibility and dose problem.

    With no --ingredient and no --recipe, screen the patient against the whole catalogue:
    everything to avoid, everything that needs caution, and safe alternatives.

    \b
    Examples:
      meso check --allergy lidocaine
      meso check --allergy lidocaine --ingredient restylane-vital-lidocaine
      meso check --condition pregnancy --recipe recipe.json --json
    """
    from mesocli.api import check as run_check
    from mesocli.errors import InputError

    if fail_on not in FAIL_ON:
        raise InputError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    fmt = "json" if as_json else output_format
    if fmt not in ("table", "json", "csv", "fhir"):
        raise InputError(f"--format must be table, json, csv or fhir, not {fmt!r}")
    if patient == "-" and recipe == "-":
        raise InputError("--patient and --recipe cannot both read standard input")
    person = patient_from_options(patient, allergy, condition, medication, age, weight)
    recipe_doc = None
    if recipe is not None:
        from mesocli.domain.recipe import recipe_from_mapping

        recipe_doc = recipe_from_mapping(read_document(recipe, "--recipe"), what=_named("--recipe", recipe))
    result = run_check(person, ingredients=ingredient, recipe=recipe_doc, indication=indication, area=area,
                       treatment_area=treatment_area, max_products=max_products)
    if fmt == "json":
        from mesocli.render.documents import check_document

        write_json(check_document(result))
    elif fmt == "fhir":
        from mesocli.api import load_catalogue
        from mesocli.render.fhir import check_bundle

        write_json(check_bundle(result, load_catalogue()))
    elif fmt == "csv":
        from mesocli.render.tabular import findings_csv

        findings_csv(result.findings)
    else:
        from mesocli.api import load_catalogue
        from mesocli.render.check_view import patient_line, render_check
        from mesocli.render.human import Printer

        render_check(Printer(), load_catalogue(), result, patient_line(result), compact=compact)
    return 1 if result.at_or_above(fail_on) else 0


def build(
    indication: str = typer.Option(..., "--indication", help="What to treat, e.g. hair-loss.",
                                   autocompletion=complete.indications),
    area: str | None = typer.Option(None, "--area", help="Body area (default: the indication's first).",
                                    autocompletion=complete.areas),
    allergy: list[str] = typer.Option([], "--allergy", "-a", help="An allergy. Repeatable.",
                                      autocompletion=complete.allergies),
    condition: list[str] = typer.Option([], "--condition", "-c", help="A patient condition. Repeatable.",
                                        autocompletion=complete.conditions),
    medication: list[str] = typer.Option([], "--medication", "-m", help="A medication or class. Repeatable.",
                                         autocompletion=complete.medications),
    age: int | None = typer.Option(None, "--age", help="Age in whole years."),
    weight: str | None = typer.Option(None, "--weight", help='Body weight, e.g. "70 kg".'),
    patient: str | None = typer.Option(None, "--patient",
                                       help="Patient file (JSON, TOML or a FHIR R4 Bundle), or - for stdin."),
    volume: str | None = typer.Option(None, "--volume", help='Cocktail volume for the session, e.g. "4 mL".'),
    treatment_area: str | None = typer.Option(None, "--treatment-area", help='Treated area, e.g. "25 cm^2".'),
    max_products: int = typer.Option(3, "--max-products",
                                     help="Most products in one syringe, and most actives in the recipe."),
    output_format: str = typer.Option("table", "--format", help="table|json|markdown|fhir.",
                                      autocompletion=complete.formats("table", "json", "markdown", "fhir")),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    explain: bool = typer.Option(False, "--explain", help="Show the arithmetic behind every amount and cap."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> int:
    """Print a dosed cocktail for an indication, safe for the patient, or refuse.

    \b
    Examples:
      meso build --indication hair-loss
      meso build --indication submental-fat --volume "10 mL" --treatment-area "25 cm^2" --weight "60 kg"
      meso build --indication skin-rejuvenation --allergy lidocaine --format markdown -o card.md
    """
    from mesocli.api import build as run_build
    from mesocli.api import load_catalogue
    from mesocli.errors import InputError

    fmt = "json" if as_json else output_format
    if fmt not in ("table", "json", "markdown", "fhir"):
        raise InputError(f"--format must be table, json, markdown or fhir, not {fmt!r}")
    person = patient_from_options(patient, allergy, condition, medication, age, weight)
    recipe = run_build(indication, person, area=area, volume=volume, treatment_area=treatment_area,
                       max_products=max_products)
    cat = load_catalogue()
    with _Destination(output) as stream:
        if fmt == "json":
            from mesocli.render.recipe import recipe_document

            write_json(recipe_document(recipe, cat), stream)
        elif fmt == "fhir":
            from mesocli.render.fhir import recipe_bundle

            write_json(recipe_bundle(recipe, cat), stream)
        elif fmt == "markdown":
            from mesocli.render.recipe import recipe_markdown

            stream.write(recipe_markdown(recipe, cat))
        else:
            from mesocli.render.human import Printer
            from mesocli.render.recipe import render_recipe

            render_recipe(Printer(stream), recipe, cat, explain=explain)
    return 1 if recipe.status == "refused" else 0


class _Destination:
    """stdout (also for ``-o -``), or a file written whole and atomically (see write_output)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.buffer = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        import io
        import sys

        if self.path is None or self.path == "-":
            return sys.stdout
        self.buffer = io.StringIO()
        return self.buffer

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if self.path is None or exc_type is not None or self.buffer is None:
            return
        from mesocli.cli.io import write_output

        write_output(self.path, self.buffer.getvalue())


def schema(
    name: str = typer.Argument(..., metavar="recipe|check|batch|error",
                               help="Which output contract: recipe, check, batch or error."),
) -> int:
    """Print the JSON Schema (draft 2020-12) of an output contract.

    \b
    Examples:
      meso schema recipe > recipe.schema.json
      meso schema batch
    """
    from mesocli import schemas
    from mesocli.errors import InputError

    if name not in schemas.NAMES:
        raise InputError(f"unknown schema {name!r}; choose one of {', '.join(schemas.NAMES)}")
    write_json(schemas.load(name))
    return 0
